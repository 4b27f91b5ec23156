#pragma once

#include "actors/table_selection.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace tidesync::actors {

/// The tables a committed change woke since the agent last took them: the
/// change watcher marks, agent::run waits and takes. Marks coalesce, so a
/// burst of changes between two takes costs one cycle. Thread-safe.
class change_set {
public:
  using clock = std::chrono::steady_clock;

  /// `tables_per_database[d]`: the number of configured tables of database d.
  explicit change_set(std::vector<std::size_t> tables_per_database);

  void mark_table(std::size_t database, std::size_t table);
  void mark_database(std::size_t database);

  /// Wakes wait() to look at `stopped` again; call after setting the flag it reads.
  void interrupt();

  /// Waits until `deadline`, until `stopped()` holds, or until a table is
  /// marked and `not_before` has passed (so woken cycles start at most once
  /// per gap however fast changes arrive).
  void wait(clock::time_point not_before, clock::time_point deadline,
            const std::function<bool()>& stopped);

  /// The marked tables, cleared.
  table_selection take();

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::size_t> shape_;
  table_selection marked_;
  bool any_ = false;
};

} // namespace tidesync::actors
