#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace tidesync::actors {

/// At most `limit` objects of one kind (source connections of one database,
/// HTTP clients to the server), made on demand and lent out one borrower at a
/// time. Up to `keep_idle` idle ones are kept for the next borrower, so a
/// connection stays open across cycles; one returned beyond that is closed.
/// Thread-safe; borrow() waits while all `limit` are lent out.
template <class T>
class lending_pool {
public:
  using factory = std::function<std::unique_ptr<T>()>;

  /// An object on loan; returned to the pool when destroyed, unless discarded.
  class loan {
  public:
    loan(loan&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)), item_(std::move(other.item_)) {}
    loan& operator=(loan&&) = delete;
    ~loan() {
      if (pool_)
        pool_->give_back(std::move(item_));
    }

    T& operator*() const { return *item_; }
    T* operator->() const { return item_.get(); }

    /// Closes the object instead of keeping it (a lost connection).
    void discard() { item_.reset(); }

  private:
    friend class lending_pool;
    loan(lending_pool* pool, std::unique_ptr<T> item) : pool_(pool), item_(std::move(item)) {}

    lending_pool* pool_;
    std::unique_ptr<T> item_;
  };

  /// `keep_idle` 0 keeps every idle one (up to `limit`).
  lending_pool(factory make, std::size_t limit, std::size_t keep_idle = 0)
    : make_(std::move(make)), limit_(std::max<std::size_t>(limit, 1)),
      keep_idle_(keep_idle == 0 ? limit_ : keep_idle) {}

  /// Lends an idle object, or makes one while fewer than `limit` exist;
  /// waits otherwise. What `make` throws reaches the caller.
  loan borrow() {
    std::unique_lock lock{mutex_};
    returned_.wait(lock, [this] { return !idle_.empty() || lent_ < limit_; });
    ++lent_;
    if (!idle_.empty()) {
      auto item = std::move(idle_.back());
      idle_.pop_back();
      return loan{this, std::move(item)};
    }
    lock.unlock();
    try {
      return loan{this, make_()};
    } catch (...) {
      give_back(nullptr);
      throw;
    }
  }

  /// Objects that exist now, lent out or idle.
  std::size_t open() const {
    std::lock_guard lock{mutex_};
    return idle_.size() + lent_;
  }

  /// Objects lent out now.
  std::size_t lent() const {
    std::lock_guard lock{mutex_};
    return lent_;
  }

  std::size_t limit() const { return limit_; }

private:
  void give_back(std::unique_ptr<T> item) {
    {
      std::lock_guard lock{mutex_};
      --lent_;
      if (item && idle_.size() < keep_idle_)
        idle_.push_back(std::move(item));
    }
    returned_.notify_one();
    item.reset();  // one not kept closes outside the lock
  }

  factory make_;
  std::size_t limit_;
  std::size_t keep_idle_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<T>> idle_;
  std::size_t lent_ = 0;
};

} // namespace tidesync::actors
