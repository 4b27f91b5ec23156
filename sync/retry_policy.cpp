#include "sync/retry_policy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tidesync::sync {

namespace {

// Past this many doublings every realistic cap has been reached; stopping
// here keeps the shift from overflowing.
constexpr unsigned max_doublings = 30;
// The largest double below 1, so a jitter of 1.0 or more still stays under the ceiling.
const double max_jitter = std::nextafter(1.0, 0.0);

std::chrono::milliseconds ceiling_for(unsigned attempt, const retry_settings& settings) {
  const unsigned doublings = std::min(std::max(attempt, 1u) - 1, max_doublings);
  const auto first = std::max(settings.first_delay, std::chrono::milliseconds{0});
  const auto cap = std::max(settings.max_delay, first);
  if (first.count() > cap.count() >> doublings)
    return cap;
  return first * (std::int64_t{1} << doublings);
}

} // namespace

bool should_skip(const batch_outcome& outcome, std::size_t current_size, std::size_t min_size) {
  if (outcome.kind != outcome_kind::rejected)
    return false;
  return std::min(current_size, outcome.size) <= min_size;
}

std::chrono::milliseconds retry_delay(unsigned attempt,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      double jitter, const retry_settings& settings) {
  const auto ceiling = ceiling_for(attempt, settings);
  // NaN fails every comparison; treat it as the smallest draw.
  const double draw = std::isnan(jitter) ? 0.0 : std::clamp(jitter, 0.0, max_jitter);
  const auto half = ceiling / 2;
  const auto spread = static_cast<std::chrono::milliseconds::rep>(
      static_cast<double>((ceiling - half).count()) * draw);
  const auto delay = half + std::chrono::milliseconds{spread};
  if (retry_after && *retry_after > delay)
    return *retry_after;
  return delay;
}

} // namespace tidesync::sync
