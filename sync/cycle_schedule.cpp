#include "sync/cycle_schedule.hpp"

#include <algorithm>
#include <cstdint>

namespace tidesync::sync {

namespace {

schedule_clock::duration at_least_a_millisecond(schedule_clock::duration interval) {
  return std::max<schedule_clock::duration>(interval, std::chrono::milliseconds{1});
}

} // namespace

schedule_clock::duration phase_of(std::string_view database, schedule_clock::duration interval) {
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : database)
    hash = (hash ^ c) * 16777619u;
  const auto slots = interval / phase_slot;
  if (slots <= 1)
    return schedule_clock::duration::zero();
  return phase_slot * static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(slots));
}

schedule_clock::time_point phase_anchor(schedule_clock::time_point now,
                                       schedule_clock::duration interval,
                                       schedule_clock::duration phase) {
  interval = at_least_a_millisecond(interval);
  const auto since_epoch = now.time_since_epoch();
  auto start = schedule_clock::time_point{since_epoch - since_epoch % interval + phase % interval};
  if (start < now)
    start += interval;
  return start;
}

schedule_clock::time_point next_start(schedule_clock::time_point anchor,
                                      schedule_clock::time_point now,
                                      schedule_clock::duration interval) {
  interval = at_least_a_millisecond(interval);
  auto next = anchor + interval;
  if (now >= next)
    next += ((now - next) / interval + 1) * interval;
  return next;
}

} // namespace tidesync::sync
