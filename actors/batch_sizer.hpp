#pragma once

#include "sync/batch_outcome.hpp"
#include "sync/batch_size_policy.hpp"

#include <cstddef>
#include <string>

namespace tidesync::storage {
class state_store;
} // namespace tidesync::storage

namespace tidesync::actors {

/// Where a table gets its next batch size and reports how each batch went.
/// The table actor talks to its batch-size actor through this; unit tests use
/// a policy_batch_sizer directly.
class batch_sizer {
public:
  virtual ~batch_sizer() = default;

  /// Rows to put in the next batch.
  virtual std::size_t next_size() = 0;

  /// The smallest batch the bounds allow.
  virtual std::size_t min_size() = 0;

  /// Records one finished batch.
  virtual void record(const sync::batch_outcome& outcome) = 0;
};

/// A sync::batch_size_policy whose history is loaded from and saved to the
/// state store after every outcome, so it survives restarts.
class policy_batch_sizer : public batch_sizer {
public:
  /// `state` may be null (nothing persisted).
  policy_batch_sizer(sync::batch_size_bounds bounds, storage::state_store* state,
                     std::string database, std::string table);

  std::size_t next_size() override { return policy_.next_size(); }
  std::size_t min_size() override { return policy_.bounds().min; }
  void record(const sync::batch_outcome& outcome) override;

  /// Records without saving; save() writes the history later.
  void record_unsaved(const sync::batch_outcome& outcome) { policy_.record(outcome); }
  /// Writes the history to the state store (nothing when it is null).
  void save();

  const sync::batch_size_policy& policy() const { return policy_; }

private:
  storage::state_store* state_;
  std::string database_;
  std::string table_;
  sync::batch_size_policy policy_;
};

} // namespace tidesync::actors
