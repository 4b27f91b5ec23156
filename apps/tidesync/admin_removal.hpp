#pragma once

// tidesync admin remove-client / remove-database / remove-table: a tenant's
// data out of the store, in batches, its tokens revoked first.

#include "storage/postgres_store.hpp"

#include <cstdint>

namespace tidesync::app {

/// Rows deleted per transaction unless --batch says otherwise.
inline constexpr std::int64_t default_removal_batch_rows = 10'000;

/// Revokes the scope's tokens, waits until no server still accepts them,
/// removes the data (progress on stderr) and prints what was removed on
/// stdout, as JSON with `json`. Returns the exit status.
int run_removal(storage::postgres_store& store, const storage::removal_scope& scope,
                std::int64_t batch_rows, bool json);

} // namespace tidesync::app
