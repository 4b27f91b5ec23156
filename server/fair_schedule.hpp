#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace tidesync::server {

/// Decides which queued job a free database worker runs next, so that one
/// client cannot take the pool from the others. Jobs wait in one FIFO queue
/// per lane (a client id; the server also keeps lanes for requests of no
/// client and for checks of unknown tokens). A lane may run at most
/// `lane_max_running` jobs at once and keep at most `lane_max_waiting` more
/// queued; when a worker frees up, the lanes take turns (round-robin), and a
/// lane at its share is passed over until one of its jobs finishes. Pure
/// bookkeeping: no threads, no locks (db_pool holds its own mutex around it).
class fair_schedule {
public:
  using ticket = std::uint64_t;

  struct limits {
    /// Jobs that may run at once (the pool's workers).
    std::size_t workers = 1;
    /// Jobs, over every lane, that may be queued beyond those a free worker
    /// could start now.
    std::size_t max_waiting = 0;
    /// Jobs of one lane that may run at once.
    std::size_t lane_max_running = 1;
    /// Jobs of one lane that may be queued beyond its running share.
    std::size_t lane_max_waiting = 0;
  };

  /// What enqueue did, or would do.
  enum class verdict {
    queued,
    pool_full, // the pool's workers and its whole wait queue are taken
    lane_full, // the lane holds its share of workers and of the wait queue
  };

  /// A job that a worker should run now.
  struct start {
    std::string lane;
    ticket job = 0;
  };

  /// `limits` are taken as given, except that every count of running jobs is
  /// at least 1 and a lane may never run more jobs than there are workers.
  explicit fair_schedule(limits limits);

  /// Queues `job` at the back of `lane`'s queue, or refuses it (and keeps
  /// nothing) when the lane or the pool has no room.
  verdict enqueue(const std::string& lane, ticket job);

  /// What enqueue would answer for `lane` now.
  verdict admits(const std::string& lane) const;

  /// The job a free worker runs next, counted as running from now on: the
  /// oldest job of the first lane in turn that is under its share. Nothing
  /// when no worker is free or no queued job may start.
  std::optional<start> start_next();

  /// A job of `lane` ended: its worker, and its place in the lane's share,
  /// are free again.
  void finish(const std::string& lane);

  /// Jobs running now.
  std::size_t running() const { return running_; }
  /// Jobs queued, whether or not a worker could start them now.
  std::size_t queued() const { return queued_; }
  /// Queued jobs that no free worker could start now: those of lanes at
  /// their share, and those beyond the free workers.
  std::size_t waiting() const;
  /// Jobs of `lane` running now.
  std::size_t running(const std::string& lane) const;
  /// Jobs of `lane` queued now.
  std::size_t queued(const std::string& lane) const;

  const limits& bounds() const { return limits_; }

private:
  struct lane_state {
    std::deque<ticket> queue;
    std::size_t running = 0;
  };

  /// Queued jobs that free workers could start now, with `extra_in` holding
  /// one more job when it is not null.
  std::size_t startable(const std::string* extra_in) const;

  limits limits_;
  std::unordered_map<std::string, lane_state> lanes_;
  /// Lanes with queued jobs, in the order they take turns.
  std::deque<std::string> turns_;
  std::size_t running_ = 0;
  std::size_t queued_ = 0;
};

} // namespace tidesync::server
