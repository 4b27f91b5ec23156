#include "server/db_pool.hpp"

#include "protocol/error.hpp"
#include "storage/postgres_store.hpp"

#include <spdlog/spdlog.h>

namespace tidesync::server {

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

db_pool::db_pool(std::size_t size, std::size_t max_waiting, db_worker::store_factory factory)
    : max_waiting_(max_waiting) {
  size = std::max<std::size_t>(size, 1);
  free_ = size;
  threads_.reserve(size);
  for (std::size_t i = 0; i < size; ++i)
    threads_.emplace_back([this, factory] { run_worker(factory); });
}

db_pool::~db_pool() {
  stop();
}

bool db_pool::try_submit(job work) {
  return try_submit(std::move(work), nullptr);
}

bool db_pool::try_submit(job work, std::function<void()> then) {
  {
    std::lock_guard lock{mutex_};
    // Queued jobs first take the free workers; the rest are the ones waiting.
    if (stopping_ || queue_.size() >= free_ + max_waiting_)
      return false;
    queue_.push_back({std::move(work), std::move(then)});
  }
  wake_.notify_one();
  return true;
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
  return threads_.size() - free_;
}

std::size_t db_pool::waiting() const {
  std::lock_guard lock{mutex_};
  return queue_.size() > free_ ? queue_.size() - free_ : 0;
}

void db_pool::run_worker(db_worker::store_factory factory) {
  db_worker worker{std::move(factory)};
  while (true) {
    queued next;
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping still drains the queue: those requests were accepted.
      if (queue_.empty())
        return;
      next = std::move(queue_.front());
      queue_.pop_front();
      --free_;
    }
    try {
      next.work(worker);
    } catch (const protocol::api_error& e) {
      if (e.code() == protocol::error_code::unavailable)
        worker.reset();
    } catch (const std::exception& e) {
      spdlog::error("database worker: a job failed: {}", e.what());
    }
    {
      std::lock_guard lock{mutex_};
      ++free_;
    }
    if (next.then)
      next.then();
  }
}

} // namespace tidesync::server
