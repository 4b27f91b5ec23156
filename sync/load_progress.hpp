#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tidesync::sync {

/// How far a table's load (an upload that spans pages) has gone, and when to
/// say so: an operator watching a million-row load sees a line every
/// `every` (rows done, rate, time left), not one per batch and not silence.
class load_progress {
public:
  using clock = std::chrono::steady_clock;

  /// `expected`: the rows the load should send (the site's count less the
  /// cloud's), 0 when unknown.
  load_progress(std::int64_t expected, clock::time_point started,
                clock::duration every = std::chrono::seconds(10));

  /// Rows the server acknowledged.
  void add(std::int64_t rows) { done_ += rows; }

  std::int64_t done() const { return done_; }
  std::int64_t expected() const { return expected_; }

  double seconds_since_start(clock::time_point now) const {
    return std::chrono::duration<double>(now - started_).count();
  }

  /// Rows per second since the start; 0 before any time passed.
  double rate(clock::time_point now) const;

  /// Seconds left at the current rate; std::nullopt while unknown (no rate,
  /// no expected count, or more done than expected).
  std::optional<double> seconds_left(clock::time_point now) const;

  /// True once per `every` after the start; a load shorter than that never says anything.
  bool due(clock::time_point now);

  /// "350000 of about 1000000 rows (35%), 52000 rows/s, about 13 s left".
  std::string describe(clock::time_point now) const;

private:
  std::int64_t expected_;
  std::int64_t done_ = 0;
  clock::time_point started_;
  clock::duration every_;
  clock::time_point next_;
};

/// "45 s", "12 min", "3 h 5 min": a duration as an operator reads it.
std::string duration_text(double seconds);

} // namespace tidesync::sync
