#pragma once

#include "protocol/http_client.hpp"
#include "protocol/table_schema.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tidesync::bench {

/// A client of the server under test with a registered database.
struct bench_tenant {
  std::string client_id;
  std::string token;
  std::string database_id;

  /// `/v1/customers/{client}/databases/{db}/tables/{table}`.
  std::string table_path(const std::string& table) const;
};

/// Creates the client in the store at `store_url` (as `tidesync admin
/// create-client` does) and returns its token.
std::string create_client_token(const std::string& store_url, const std::string& client_id);

/// An http_client for the server on 127.0.0.1:`port` that sends `token`.
protocol::http_client make_client(std::uint16_t port, const std::string& token, bool gzip);

/// Registers database `name` through the API; returns its id.
std::string register_database(protocol::http_client& client, const std::string& client_id,
                              const std::string& name);

/// PUTs the table's schema; throws std::runtime_error unless the server says 200.
void declare_table(protocol::http_client& client, const bench_tenant& tenant,
                   const std::string& table, const protocol::table_schema& schema);

/// POSTs every body to the table, one after the other as one table actor
/// does, and returns the seconds from the first request to the last answer.
/// Throws std::runtime_error on any answer but 200.
double timed_upload(protocol::http_client& client, const bench_tenant& tenant,
                    const std::string& table, const std::vector<std::string>& bodies);

/// POSTs every body with a Content-Encoding the server refuses (415) only
/// once the whole request is read, and returns the seconds it took: the
/// cost of moving the bodies from client to server, without any handling.
double timed_transfer(protocol::http_client& client, const bench_tenant& tenant,
                      const std::string& table, const std::vector<std::string>& bodies);

/// Seconds the server has spent on upload requests so far, from a complete
/// request to its response (its own histogram on GET /metrics): what is left
/// of a timed upload is the body's transfer and the client's side.
double server_upload_seconds(protocol::http_client& client);

/// The row count the server reports for the tenant's copy of the table.
std::int64_t reported_count(protocol::http_client& client, const bench_tenant& tenant,
                            const std::string& table);

} // namespace tidesync::bench
