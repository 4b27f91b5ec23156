#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tidesync::actors {

/// The agent's threads for blocking work: a fixed number of workers that run
/// posted jobs in order. Actors never block a CAF scheduler thread; they post
/// the blocking step (a source read, an upload, a state write) here and react
/// to the message the job sends back when it is done.
class blocking_pool {
public:
  using job = std::function<void()>;

  /// Starts `threads` workers (at least one), named `name` (at most 15
  /// characters, as `top -H` and `perf` show them).
  explicit blocking_pool(std::size_t threads, std::string name = "ts-worker");
  /// Drops the jobs not yet started, waits for the running ones.
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues `work`; a job that throws is logged and dropped.
  void post(job work);

  /// Queues `work` for a caller that waits for its end: the future is ready
  /// when it returned, holds its exception when it threw, and holds
  /// std::future_error (broken_promise) when the pool closed before it ran,
  /// so a waiter never waits forever.
  std::future<void> submit(job work);

  std::size_t threads() const { return workers_.size(); }

  /// Jobs waiting for a worker.
  std::size_t queued() const;
  /// Jobs running now.
  std::size_t busy() const;

private:
  void work_loop();

  mutable std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<job> jobs_;
  bool closing_ = false;
  std::size_t running_ = 0;  // jobs taken by a worker and not finished
  std::vector<std::thread> workers_;
};

/// Waits, as it goes out of scope, for a submitted job that is still running:
/// a job that uses its submitter's locals must not outlive them when the
/// submitter unwinds with an exception.
class unwind_wait {
public:
  explicit unwind_wait(std::future<void>& job) : job_(job) {}
  ~unwind_wait() {
    if (job_.valid())
      job_.wait();
  }
  unwind_wait(const unwind_wait&) = delete;
  unwind_wait& operator=(const unwind_wait&) = delete;

private:
  std::future<void>& job_;
};

} // namespace tidesync::actors
