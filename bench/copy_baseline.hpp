#pragma once

#include <cstdint>
#include <string>

namespace tidesync::bench {

/// Creates `table` with exactly the layout of `model` (columns, collations,
/// NOT NULLs, primary key and indexes), both schema-qualified and quoted.
void create_table_like(const std::string& url, const std::string& table, const std::string& model);

/// Asks PostgreSQL for a checkpoint, so that one timed section does not pay
/// for the dirty pages of the one before. A no-op without the privilege.
void checkpoint(const std::string& url);

/// Loads `copy_text` (COPY text lines) into `table` with one COPY in one
/// transaction on an already open connection; returns the seconds it took,
/// from BEGIN to COMMIT.
double timed_copy(const std::string& url, const std::string& table, const std::string& copy_text);

/// PostgreSQL's version, e.g. "15.5 (Debian 15.5-0+deb12u1)".
std::string server_version(const std::string& url);

/// Rows of `table` that belong to the tenant, counted with a scan.
std::int64_t tenant_row_count(const std::string& url, const std::string& table,
                              const std::string& client_id, const std::string& database_id);

} // namespace tidesync::bench
