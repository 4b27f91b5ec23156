#pragma once

#include <pqxx/pqxx>

#include <string>

namespace tidesync::storage {

/// Brings the metadata schema `tidesync` up to date and makes sure the data
/// schema exists.
///
/// Runs in one transaction that first takes a fixed advisory lock, so servers
/// starting at the same time apply each migration exactly once, one after the
/// other. Migrations already recorded in `tidesync.schema_migrations` are
/// skipped, which makes this idempotent.
void apply_migrations(pqxx::connection& connection, const std::string& data_schema);

} // namespace tidesync::storage
