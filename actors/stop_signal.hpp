#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace tidesync::actors {

/// A stop request shared by the agent and its table actors: actors check it
/// between batches and wait on it instead of sleeping, so a SIGTERM ends a
/// backoff at once and never interrupts a batch in flight.
class stop_signal {
public:
  /// Asks everyone waiting or working to stop. Idempotent.
  void request_stop();

  bool stop_requested() const;

  /// Waits up to `timeout`; true when a stop was requested (at once, if it already was).
  bool wait_for(std::chrono::milliseconds timeout) const;

  /// Clears a previous request so the owner can run again.
  void reset();

private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopped_ = false;
};

} // namespace tidesync::actors
