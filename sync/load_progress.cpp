#include "sync/load_progress.hpp"

#include <cmath>

namespace tidesync::sync {

load_progress::load_progress(std::int64_t expected, clock::time_point started,
                             clock::duration every)
  : expected_(expected > 0 ? expected : 0), started_(started), every_(every),
    next_(started + every) {}

double load_progress::rate(clock::time_point now) const {
  const auto seconds = std::chrono::duration<double>(now - started_).count();
  return seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
}

std::optional<double> load_progress::seconds_left(clock::time_point now) const {
  const auto per_second = rate(now);
  if (expected_ == 0 || per_second <= 0 || done_ > expected_)
    return std::nullopt;
  return static_cast<double>(expected_ - done_) / per_second;
}

bool load_progress::due(clock::time_point now) {
  if (now < next_)
    return false;
  // Steady: the next line one period after this one, however late this one came.
  next_ = now + every_;
  return true;
}

std::string duration_text(double seconds) {
  auto whole = static_cast<long long>(std::llround(seconds < 0 ? 0 : seconds));
  if (whole < 120)
    return std::to_string(whole) + " s";
  if (whole < 7200)
    return std::to_string(whole / 60) + " min";
  return std::to_string(whole / 3600) + " h " + std::to_string(whole / 60 % 60) + " min";
}

std::string load_progress::describe(clock::time_point now) const {
  std::string text = std::to_string(done_);
  if (expected_ > 0 && done_ <= expected_)
    text += " of about " + std::to_string(expected_) + " rows (" +
            std::to_string(done_ * 100 / expected_) + "%)";
  else
    text += " rows";
  text += ", " + std::to_string(std::llround(rate(now))) + " rows/s";
  if (auto left = seconds_left(now))
    text += ", about " + duration_text(*left) + " left";
  return text;
}

} // namespace tidesync::sync
