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
/// time. What comes back is kept for the next borrower until
/// close_idle_beyond() closes it, so a burst of borrowers opens each object
/// once. Thread-safe; borrow() waits while all `limit` are lent out.
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

  lending_pool(factory make, std::size_t limit)
    : make_(std::move(make)), limit_(std::max<std::size_t>(limit, 1)) {}

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

  std::size_t limit() const { return limit_; }

  /// Closes idle objects until at most `keep` are idle; lent ones are not
  /// touched (they come back and stay until the next call).
  void close_idle_beyond(std::size_t keep) {
    std::vector<std::unique_ptr<T>> closing;
    {
      std::lock_guard lock{mutex_};
      while (idle_.size() > keep) {
        closing.push_back(std::move(idle_.back()));
        idle_.pop_back();
      }
    }
  }  // `closing` closes here, outside the lock

private:
  void give_back(std::unique_ptr<T> item) {
    {
      std::lock_guard lock{mutex_};
      --lent_;
      if (item)
        idle_.push_back(std::move(item));
    }
    returned_.notify_one();
  }

  factory make_;
  std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<T>> idle_;
  std::size_t lent_ = 0;
};

} // namespace tidesync::actors
