#include "server/db_pool.hpp"

#include "protocol/error.hpp"
#include "storage/postgres_store.hpp"

#include <spdlog/spdlog.h>

#include <optional>

namespace tidesync::server {

namespace {

fair_schedule::limits schedule_limits(const pool_limits& limits) {
  return {limits.workers, limits.max_waiting, limits.client_max_workers,
          limits.client_max_waiting};
}

pool_limits at_least_one_worker(pool_limits limits) {
  limits.workers = std::max<std::size_t>(limits.workers, 1);
  return limits;
}

} // namespace

db_worker::db_worker(store_factory factory) : factory_(std::move(factory)) {}

db_worker::~db_worker() = default;

storage::postgres_store& db_worker::store() {
  if (!store_)
    store_ = factory_();
  return *store_;
}

void db_worker::reset() {
  store_.reset();
}

db_pool::db_pool(pool_limits limits, db_worker::store_factory factory)
    : limits_(at_least_one_worker(limits)), schedule_(schedule_limits(limits_)) {
  threads_.reserve(limits_.workers);
  for (std::size_t i = 0; i < limits_.workers; ++i)
    threads_.emplace_back([this, factory] { run_worker(factory); });
}

db_pool::~db_pool() {
  stop();
}

db_pool::outcome db_pool::try_submit(const std::string& client, job work,
                                     std::function<void()> then) {
  {
    std::lock_guard lock{mutex_};
    if (stopping_)
      return outcome::stopping;
    auto ticket = next_ticket_++;
    switch (schedule_.enqueue(client, ticket)) {
    case fair_schedule::verdict::pool_full:
      return outcome::pool_full;
    case fair_schedule::verdict::lane_full:
      return outcome::client_full;
    case fair_schedule::verdict::queued:
      break;
    }
    jobs_.emplace(ticket, queued{std::move(work), std::move(then)});
  }
  wake_.notify_one();
  return outcome::accepted;
}

void db_pool::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_)
    if (thread.joinable())
      thread.join();
}

std::size_t db_pool::busy() const {
  std::lock_guard lock{mutex_};
  return schedule_.running();
}

std::size_t db_pool::waiting() const {
  std::lock_guard lock{mutex_};
  return schedule_.waiting();
}

void db_pool::run_worker(db_worker::store_factory factory) {
  db_worker worker{std::move(factory)};
  while (true) {
    std::optional<fair_schedule::start> start;
    queued next;
    {
      std::unique_lock lock{mutex_};
      // Stopping still drains the queue: those requests were accepted.
      wake_.wait(lock, [&] {
        start = schedule_.start_next();
        return start || (stopping_ && schedule_.queued() == 0);
      });
      if (!start)
        return;
      auto found = jobs_.find(start->job);
      next = std::move(found->second);
      jobs_.erase(found);
    }
    run_job(worker, next);
    bool stopping = false;
    {
      std::lock_guard lock{mutex_};
      schedule_.finish(start->lane);
      stopping = stopping_;
    }
    // The client's share just freed up: an idle worker may start its next
    // job now, while this one runs `then`. When stopping, idle workers may
    // be waiting for the queue to drain.
    if (stopping)
      wake_.notify_all();
    else
      wake_.notify_one();
    if (next.then)
      next.then();
  }
}

void db_pool::run_job(db_worker& worker, queued& next) {
  try {
    next.work(worker);
  } catch (const protocol::api_error& e) {
    if (e.code() == protocol::error_code::unavailable)
      worker.reset();
  } catch (const std::exception& e) {
    spdlog::error("database worker: a job failed: {}", e.what());
  }
}

} // namespace tidesync::server
