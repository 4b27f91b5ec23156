#pragma once

// When a running agent's databases start their own cycles: each at a fixed
// phase within the interval, from one start to the next.

#include <chrono>
#include <string_view>

namespace tidesync::sync {

using schedule_clock = std::chrono::steady_clock;

/// How far apart the phases a database can take are. Databases whose phase
/// falls in the same slot start at the very same instants: their timers fire
/// in one wake of the clock thread and their listings reach the pool as one
/// burst. At 100 databases every 2 s a thread wake per database cycle cost
/// more than its listing request; 100 ms slots leave 20 wakes an interval.
inline constexpr std::chrono::milliseconds phase_slot{100};

/// The database's place within the interval: one of the interval's slots
/// (a whole number of phase_slot, or 0 for an interval shorter than one),
/// picked by the database's name, so an agent's databases spread over the
/// interval and each keeps its place from one run to the next.
schedule_clock::duration phase_of(std::string_view database, schedule_clock::duration interval);

/// What a database's own cycles count from: the first instant at `phase`
/// within an interval (intervals counted from the clock's epoch) not before
/// `now`. Its starts are this plus whole intervals, so databases with the
/// same phase get the same instants whenever each began.
schedule_clock::time_point phase_anchor(schedule_clock::time_point now,
                                       schedule_clock::duration interval,
                                       schedule_clock::duration phase);

/// The next start after a cycle that ended at `now`: `anchor` plus whole
/// intervals, the first still ahead. A cycle that ran past a start skips
/// it rather than starting again at once.
schedule_clock::time_point next_start(schedule_clock::time_point anchor,
                                      schedule_clock::time_point now,
                                      schedule_clock::duration interval);

} // namespace tidesync::sync
