#include "actors/blocking_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <memory>

#include <pthread.h>

namespace tidesync::actors {

blocking_pool::blocking_pool(std::size_t threads, std::string name) {
  threads = std::max<std::size_t>(threads, 1);
  name.resize(std::min<std::size_t>(name.size(), 15));  // the kernel's limit
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this] { work_loop(); });
    pthread_setname_np(workers_.back().native_handle(), name.c_str());
  }
}

blocking_pool::~blocking_pool() {
  {
    std::lock_guard lock{mutex_};
    closing_ = true;
    jobs_.clear();
  }
  posted_.notify_all();
  for (auto& worker : workers_)
    worker.join();
}

void blocking_pool::post(job work) {
  {
    std::lock_guard lock{mutex_};
    if (closing_)
      return;
    jobs_.push_back(std::move(work));
  }
  posted_.notify_one();
}

std::future<void> blocking_pool::submit(job work) {
  auto promise = std::make_shared<std::promise<void>>();
  auto done = promise->get_future();
  post([promise, work = std::move(work)] {
    try {
      work();
      promise->set_value();
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  return done;
}

std::size_t blocking_pool::queued() const {
  std::lock_guard lock{mutex_};
  return jobs_.size();
}

std::size_t blocking_pool::busy() const {
  std::lock_guard lock{mutex_};
  return running_;
}

void blocking_pool::work_loop() {
  for (;;) {
    job next;
    {
      std::unique_lock lock{mutex_};
      posted_.wait(lock, [this] { return closing_ || !jobs_.empty(); });
      if (closing_)
        return;
      next = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    try {
      next();
    } catch (const std::exception& e) {
      spdlog::error("agent: a background job failed: {}", e.what());
    } catch (...) {
      spdlog::error("agent: a background job failed with an unknown error");
    }
    next = nullptr;  // what the job held goes before it counts as done
    std::lock_guard lock{mutex_};
    --running_;
  }
}

} // namespace tidesync::actors
