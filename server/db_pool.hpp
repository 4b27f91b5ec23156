#pragma once

#include "server/fair_schedule.hpp"

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
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

/// How many jobs a db_pool runs and keeps waiting, in all and per client.
struct pool_limits {
  std::size_t workers = 1;
  /// Jobs that may wait for a worker, over every client.
  std::size_t max_waiting = 0;
  /// Workers one client's jobs may hold at once.
  std::size_t client_max_workers = 1;
  /// Jobs of one client that may wait beyond those.
  std::size_t client_max_waiting = 0;
};

/// A fixed set of threads, each owning one database connection, that run
/// the server's database work off the I/O threads. Every job belongs to a
/// client (its lane, see fair_schedule): one client holds at most its share
/// of the workers and of the wait queue, and when a worker frees up the
/// clients with waiting jobs take turns. Beyond the queue's room try_submit
/// refuses at once, so an overloaded server answers 503 instead of queueing
/// without bound, and a client over its share gets 503 while others are served.
class db_pool {
public:
  using job = std::function<void(db_worker&)>;

  /// Why try_submit refused a job, or that it took it.
  enum class outcome {
    accepted,
    pool_full,   // every worker busy and the wait queue full
    client_full, // the client holds its share of workers and of the queue
    stopping,
  };

  /// Starts `limits.workers` workers (at least one). Connections open lazily.
  db_pool(pool_limits limits, db_worker::store_factory factory);
  /// Calls stop().
  ~db_pool();
  db_pool(const db_pool&) = delete;
  db_pool& operator=(const db_pool&) = delete;

  /// Queues `work` for `client`, or says why not. A job that throws
  /// protocol::api_error(unavailable) makes its worker reconnect next time;
  /// anything else a job throws is logged and swallowed. `then`, when
  /// given, is called on the worker once the job counts as done, so work
  /// that `then` submits can take the same worker.
  outcome try_submit(const std::string& client, job work, std::function<void()> then = {});

  /// Finishes the running and queued jobs, then joins the workers.
  /// Idempotent; later try_submit calls return stopping.
  void stop();

  /// Workers running a job right now.
  std::size_t busy() const;
  /// Jobs queued that no free worker may start now.
  std::size_t waiting() const;
  std::size_t size() const { return threads_.size(); }
  const pool_limits& limits() const { return limits_; }

private:
  struct queued {
    job work;
    std::function<void()> then;
  };

  void run_worker(db_worker::store_factory factory);
  void run_job(db_worker& worker, queued& next);

  const pool_limits limits_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  fair_schedule schedule_;
  std::unordered_map<fair_schedule::ticket, queued> jobs_;
  fair_schedule::ticket next_ticket_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace tidesync::server
