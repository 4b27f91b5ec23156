#pragma once

#include "sync/batch_outcome.hpp"

#include <chrono>
#include <cstddef>
#include <optional>

namespace tidesync::sync {

/// True when the rows of a failed batch are to be skipped (recorded as
/// `skipped_row`s and retried later) instead of sent again: only when the
/// server rejected the data and the batch could not get any smaller, i.e. the
/// current size or the rejected batch's own size is at `min_size`. A transient
/// failure never skips: it is the network or the server, not the rows.
bool should_skip(const batch_outcome& outcome, std::size_t current_size, std::size_t min_size);

/// Backoff between retries of a transiently failed request.
struct retry_settings {
  static constexpr std::chrono::milliseconds default_first_delay{1000};
  static constexpr std::chrono::milliseconds default_max_delay{60000};

  /// The ceiling of the first retry's delay; it doubles per attempt.
  std::chrono::milliseconds first_delay = default_first_delay;
  /// No computed delay exceeds this (a server's Retry-After may).
  std::chrono::milliseconds max_delay = default_max_delay;
};

/// The delay before retry number `attempt` (1 for the first retry; 0 is
/// treated as 1). The ceiling is `first_delay * 2^(attempt-1)`, capped at
/// `max_delay`; the delay lies in `[ceiling/2, ceiling)`, placed by `jitter`
/// (a random draw in [0, 1), clamped into it), so agents that failed together
/// do not retry together. Never less than `retry_after` when the server sent one.
std::chrono::milliseconds retry_delay(unsigned attempt,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      double jitter, const retry_settings& settings = {});

} // namespace tidesync::sync
