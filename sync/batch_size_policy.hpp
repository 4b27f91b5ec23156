#pragma once

#include "sync/batch_outcome.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace tidesync::sync {

/// The rows a batch may hold. The policy repairs inconsistent bounds rather
/// than refusing them: `min` at least 1, `max` at least `min`, `initial`
/// clamped into `[min, max]`.
struct batch_size_bounds {
  std::size_t min = 1;
  std::size_t initial = 1000;
  std::size_t max = 50000;

  friend bool operator==(const batch_size_bounds&, const batch_size_bounds&) = default;
};

/// How fast the policy moves; the defaults suit a one-minute cycle.
struct batch_size_tuning {
  static constexpr std::chrono::milliseconds default_target_duration{2000};
  static constexpr std::size_t default_growth_factor = 2;
  static constexpr std::size_t default_shrink_divisor = 2;
  static constexpr std::size_t default_history_limit = 32;

  /// A batch that takes longer than this is too big.
  std::chrono::milliseconds target_duration = default_target_duration;
  std::size_t growth_factor = default_growth_factor;
  std::size_t shrink_divisor = default_shrink_divisor;
  /// Outcomes kept for inspection and persistence.
  std::size_t history_limit = default_history_limit;
  /// Largest request body wanted (e.g. the server's max_body_bytes); growth
  /// stops where the bytes per row seen so far would pass it. 0: no limit.
  std::size_t max_bytes = 0;
};

/// Chooses the next batch size from how earlier batches went.
///
/// - success at or under the target duration, batch at least the current size
///   divided by `growth_factor` → grow by `growth_factor` (a batch sized one
///   growth before counts: the agent reads a page ahead of the upload, so
///   each page is sized before the outcome of the one in flight; a shorter
///   final batch proves nothing about size);
/// - success over the target duration, or rejected → shrink to the smaller of
///   the current size and the batch's size, divided by `shrink_divisor`;
/// - transient → unchanged: a timeout or a 5xx says nothing about the size.
/// Always within the bounds.
class batch_size_policy {
public:
  explicit batch_size_policy(batch_size_bounds bounds, batch_size_tuning tuning = {});

  /// Adjusts the size for `outcome` and keeps it in the history.
  void record(const batch_outcome& outcome);

  /// Rows to ask for in the next batch.
  std::size_t next_size() const { return current_; }

  /// True when the next batch is as small as the bounds allow.
  bool at_minimum() const { return current_ <= bounds_.min; }

  /// The last `history_limit` outcomes, oldest first.
  const std::deque<batch_outcome>& history() const { return history_; }

  const batch_size_bounds& bounds() const { return bounds_; }

  /// Text for the state store: the current size and the history.
  std::string to_string() const;

  /// Restores a policy from `to_string()`'s text under the bounds and tuning
  /// in force now (a size outside new bounds is clamped into them); its next
  /// size equals the saved policy's. std::nullopt when the text is malformed.
  static std::optional<batch_size_policy>
  from_string(std::string_view text, batch_size_bounds bounds, batch_size_tuning tuning = {});

private:
  std::size_t clamp(std::size_t size) const;
  bool full_for_growth(std::size_t size) const;
  std::size_t grown(const batch_outcome& outcome) const;
  std::size_t shrunk(const batch_outcome& outcome) const;
  void remember(const batch_outcome& outcome);

  batch_size_bounds bounds_;
  batch_size_tuning tuning_;
  std::size_t current_;
  std::deque<batch_outcome> history_;
};

} // namespace tidesync::sync
