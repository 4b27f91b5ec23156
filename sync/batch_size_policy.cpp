#include "sync/batch_size_policy.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>
#include <vector>

namespace tidesync::sync {

namespace {

// Text form: a header line "batch_size_policy/1 <current size>", then one
// line per outcome, oldest first: "<kind> <rows> <bytes> <milliseconds>".
constexpr std::string_view format_tag = "batch_size_policy/1";
constexpr char field_separator = ' ';
constexpr char line_separator = '\n';
constexpr std::size_t outcome_fields = 4;

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    const auto end = text.find(separator);
    parts.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  }
  return parts;
}

template <class Integer> std::optional<Integer> parse_number(std::string_view text) {
  Integer value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::optional<batch_outcome> parse_outcome(std::string_view line) {
  const auto fields = split(line, field_separator);
  if (fields.size() != outcome_fields)
    return std::nullopt;
  const auto kind = outcome_kind_from_string(fields[0]);
  const auto size = parse_number<std::size_t>(fields[1]);
  const auto bytes = parse_number<std::size_t>(fields[2]);
  const auto millis = parse_number<std::chrono::milliseconds::rep>(fields[3]);
  if (!kind || !size || !bytes || !millis)
    return std::nullopt;
  return batch_outcome{*size, *bytes, std::chrono::milliseconds{*millis}, *kind};
}

batch_size_bounds repaired(batch_size_bounds bounds) {
  bounds.min = std::max<std::size_t>(bounds.min, 1);
  bounds.max = std::max(bounds.max, bounds.min);
  bounds.initial = std::clamp(bounds.initial, bounds.min, bounds.max);
  return bounds;
}

batch_size_tuning repaired(batch_size_tuning tuning) {
  // A factor of 0 would zero the size or divide by zero; 1 means "never move".
  tuning.growth_factor = std::max<std::size_t>(tuning.growth_factor, 1);
  tuning.shrink_divisor = std::max<std::size_t>(tuning.shrink_divisor, 1);
  return tuning;
}

} // namespace

batch_size_policy::batch_size_policy(batch_size_bounds bounds, batch_size_tuning tuning)
    : bounds_(repaired(bounds)), tuning_(repaired(tuning)), current_(bounds_.initial) {}

void batch_size_policy::record(const batch_outcome& outcome) {
  switch (outcome.kind) {
  case outcome_kind::success:
    if (outcome.duration > tuning_.target_duration)
      current_ = shrunk(outcome);
    else if (full_for_growth(outcome.size))
      current_ = grown(outcome);
    break;
  case outcome_kind::rejected:
    current_ = shrunk(outcome);
    break;
  case outcome_kind::transient:
    break;
  }
  remember(outcome);
}

bool batch_size_policy::full_for_growth(std::size_t size) const {
  // A batch one step smaller than the current size counts: the agent reads
  // the next page while this one uploads, so that page was sized before the
  // last growth. Only a batch short of both says nothing about the size.
  const auto one_step_back = (current_ + tuning_.growth_factor - 1) / tuning_.growth_factor;
  return size >= one_step_back;
}

std::size_t batch_size_policy::clamp(std::size_t size) const {
  return std::clamp(size, bounds_.min, bounds_.max);
}

std::size_t batch_size_policy::grown(const batch_outcome& outcome) const {
  const bool overflows = current_ > std::numeric_limits<std::size_t>::max() / tuning_.growth_factor;
  std::size_t size = overflows ? bounds_.max : current_ * tuning_.growth_factor;
  if (tuning_.max_bytes > 0 && outcome.bytes > 0 && outcome.size > 0) {
    const std::size_t bytes_per_row = (outcome.bytes + outcome.size - 1) / outcome.size;
    // The byte limit stops growth; it never shrinks a size that already worked.
    size = std::min(size, std::max(current_, tuning_.max_bytes / bytes_per_row));
  }
  return clamp(size);
}

std::size_t batch_size_policy::shrunk(const batch_outcome& outcome) const {
  // Halve what actually failed: a short batch that was slow or refused says
  // its own size was too big, not the (larger) current size.
  const std::size_t failed = outcome.size > 0 ? std::min(current_, outcome.size) : current_;
  return clamp(failed / tuning_.shrink_divisor);
}

void batch_size_policy::remember(const batch_outcome& outcome) {
  history_.push_back(outcome);
  while (history_.size() > tuning_.history_limit)
    history_.pop_front();
}

std::string batch_size_policy::to_string() const {
  std::string text(format_tag);
  text += field_separator;
  text += std::to_string(current_);
  text += line_separator;
  for (const auto& outcome : history_) {
    text += sync::to_string(outcome.kind);
    for (auto number : {outcome.size, outcome.bytes}) {
      text += field_separator;
      text += std::to_string(number);
    }
    text += field_separator;
    text += std::to_string(outcome.duration.count());
    text += line_separator;
  }
  return text;
}

std::optional<batch_size_policy> batch_size_policy::from_string(std::string_view text,
                                                                batch_size_bounds bounds,
                                                                batch_size_tuning tuning) {
  const auto lines = split(text, line_separator);
  if (lines.empty())
    return std::nullopt;
  const auto header = split(lines.front(), field_separator);
  if (header.size() != 2 || header[0] != format_tag)
    return std::nullopt;
  const auto current = parse_number<std::size_t>(header[1]);
  if (!current)
    return std::nullopt;
  batch_size_policy policy(bounds, tuning);
  policy.current_ = policy.clamp(*current);
  for (auto line = lines.begin() + 1; line != lines.end(); ++line) {
    const auto outcome = parse_outcome(*line);
    if (!outcome)
      return std::nullopt;
    policy.remember(*outcome);
  }
  return policy;
}

} // namespace tidesync::sync
