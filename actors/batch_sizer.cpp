#include "actors/batch_sizer.hpp"

#include "storage/state_store.hpp"

#include <spdlog/spdlog.h>

namespace tidesync::actors {

namespace {

sync::batch_size_policy restored(sync::batch_size_bounds bounds, storage::state_store* state,
                                 const std::string& database, const std::string& table) {
  if (state) {
    if (auto text = state->batch_history(database, table)) {
      if (auto policy = sync::batch_size_policy::from_string(*text, bounds))
        return *policy;
      // A history we can't read only costs the tuning; start over rather than fail.
      spdlog::warn("{}.{}: saved batch history is unreadable, starting from the initial size",
                   database, table);
    }
  }
  return sync::batch_size_policy{bounds};
}

} // namespace

policy_batch_sizer::policy_batch_sizer(sync::batch_size_bounds bounds,
                                       storage::state_store* state, std::string database,
                                       std::string table)
  : state_(state),
    database_(std::move(database)),
    table_(std::move(table)),
    policy_(restored(bounds, state, database_, table_)) {}

void policy_batch_sizer::record(const sync::batch_outcome& outcome) {
  policy_.record(outcome);
  save();
}

void policy_batch_sizer::save() {
  if (state_)
    state_->set_batch_history(database_, table_, policy_.to_string());
}

} // namespace tidesync::actors
