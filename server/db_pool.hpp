#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tidesync::storage {
class postgres_store;
} // namespace tidesync::storage

namespace tidesync::server {

/// What a job gets on a database worker: that worker's own store.
class db_worker {
public:
  using store_factory = std::function<std::unique_ptr<storage::postgres_store>()>;

  explicit db_worker(store_factory factory);
  ~db_worker();

  /// The worker's store, connecting on first use (and again after a lost
  /// connection). Throws protocol::api_error(unavailable) when it can't.
  storage::postgres_store& store();

  /// Drops the connection so the next store() reconnects.
  void reset();

private:
  store_factory factory_;
  std::unique_ptr<storage::postgres_store> store_;
};

/// A fixed set of threads, each owning one database connection, that run
/// the server's database work off the I/O threads. At most `max_waiting`
/// jobs wait for a free worker; beyond that try_submit refuses at once, so
/// an overloaded server answers 503 instead of queueing without bound.
class db_pool {
public:
  using job = std::function<void(db_worker&)>;

  /// Starts `size` workers (at least one). Connections open lazily.
  db_pool(std::size_t size, std::size_t max_waiting, db_worker::store_factory factory);
  /// Calls stop().
  ~db_pool();
  db_pool(const db_pool&) = delete;
  db_pool& operator=(const db_pool&) = delete;

  /// Queues `work`; false when the pool is stopping, or when no worker is
  /// free and `max_waiting` jobs already wait. A job that throws
  /// protocol::api_error(unavailable) makes its worker reconnect next time;
  /// anything else a job throws is logged and swallowed.
  bool try_submit(job work);

  /// try_submit, then calls `then` on the worker once it counts as free
  /// again, so work that `then` submits can take the same worker.
  bool try_submit(job work, std::function<void()> then);

  /// Finishes the running and queued jobs, then joins the workers.
  /// Idempotent; later try_submit calls return false.
  void stop();

  /// Workers running a job right now.
  std::size_t busy() const;
  /// Jobs queued for a worker.
  std::size_t waiting() const;
  std::size_t size() const { return threads_.size(); }

private:
  void run_worker(db_worker::store_factory factory);

  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  struct queued {
    job work;
    std::function<void()> then;
  };

  std::deque<queued> queue_;
  std::size_t free_ = 0; // workers not running a job
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace tidesync::server
