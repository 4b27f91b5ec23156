#include "actors/change_set.hpp"

#include <algorithm>

namespace tidesync::actors {

change_set::change_set(std::vector<std::size_t> tables_per_database)
  : shape_(std::move(tables_per_database)), marked_(table_selection::none(shape_)) {}

void change_set::mark_table(std::size_t database, std::size_t table) {
  {
    std::lock_guard lock{mutex_};
    marked_.add(database, table);
    any_ = marked_.any_in(database) || any_;
  }
  changed_.notify_all();
}

void change_set::mark_database(std::size_t database) {
  {
    std::lock_guard lock{mutex_};
    marked_.add_database(database);
    any_ = marked_.any_in(database) || any_;
  }
  changed_.notify_all();
}

void change_set::interrupt() {
  // Taking the mutex orders this after a waiter's look at `stopped`: no lost wake-up.
  { std::lock_guard lock{mutex_}; }
  changed_.notify_all();
}

void change_set::wait(clock::time_point not_before, clock::time_point deadline,
                      const std::function<bool()>& stopped) {
  std::unique_lock lock{mutex_};
  for (;;) {
    if (stopped())
      return;
    const auto now = clock::now();
    if (now >= deadline || (any_ && now >= not_before))
      return;
    changed_.wait_until(lock, any_ ? std::min(not_before, deadline) : deadline);
  }
}

table_selection change_set::take() {
  std::lock_guard lock{mutex_};
  auto taken = std::move(marked_);
  marked_ = table_selection::none(shape_);
  any_ = false;
  return taken;
}

} // namespace tidesync::actors
