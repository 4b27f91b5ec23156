#pragma once

#include "storage/copy_batch.hpp"

#include <pqxx/transaction_base>

#include <string>

namespace tidesync::storage {

/// Creates the transaction's staging table with the batch's columns (same
/// names and types, the tenant columns first if the batch has them; dropped
/// at commit) and COPYs the batch into it.
///
/// A value PostgreSQL refuses although the codec let it through (a numeric
/// beyond its range, say) becomes api_error(bad_request) with PostgreSQL's
/// message and, when it says so, the row and column.
void copy_to_staging(pqxx::transaction_base& tx, const copy_batch& batch);

/// COPYs a batch with tenant columns straight into `target` (quoted and
/// qualified). Errors as copy_to_staging; a key that exists already throws
/// pqxx::unique_violation for the caller to fall back to an upsert.
void copy_to_table(pqxx::transaction_base& tx, const std::string& target, const copy_batch& batch);

/// Starts a COPY into `target` as copy_to_table, then has `renderer` check
/// and render the body a chunk at a time and sends each chunk at once, so
/// PostgreSQL loads while the next one is checked. A bad cell or repeated key
/// ends the COPY and throws the renderer's api_error: the caller's
/// transaction must then roll back. On return the renderer is finished.
void stream_to_table(pqxx::transaction_base& tx, const std::string& target,
                     upload_renderer& renderer);

} // namespace tidesync::storage
