#pragma once

#include "config/server_config.hpp"
#include "server/api_server.hpp"
#include "storage/postgres_store.hpp"
#include "tests/integration/server/test_http_client.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace tidesync::testing {

/// Small enough that the tests can pass it cheaply.
inline constexpr std::uint64_t test_max_body_bytes = 256 * 1024;

/// A real api_server on 127.0.0.1 (a free port) against a fresh database,
/// with a tenant "acme" that registered database "store-01".
class server_test : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  /// The config SetUp starts the server with; tests may start another.
  config::server_config test_config() const;
  /// Replaces the running server with one built from `config`.
  void restart_server(config::server_config config);

  /// A new client and its first token.
  std::string create_client(const std::string& client_id);
  /// Registers `name` for `client_id` over HTTP and returns its id.
  std::string register_database(const std::string& client_id, const std::string& token,
                                const std::string& name);

  std::string database_path(const std::string& client_id, const std::string& database_id) const;
  std::string table_path(const std::string& table) const;
  /// Declares the table `orders` (id bigint key, note text, price numeric,
  /// tidesync_version) for acme/store-01.
  void declare_orders();
  /// Uploads `rows` (JSON array text) with columns id, note, price, tidesync_version.
  http_reply upload_orders(const std::string& rows);

  test_http_client& client() { return *client_; }

  test_database db_;
  std::unique_ptr<storage::postgres_store> admin_;
  std::unique_ptr<server::api_server> server_;
  std::uint16_t port_ = 0;
  std::unique_ptr<test_http_client> client_;
  std::string token_;       // acme's token
  std::string database_id_; // acme's store-01
};

/// Polls `condition` until it holds or `timeout` (scaled: time_scale.hpp) passes;
/// true when it held.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));


/// A table schema body: `columns` is the JSON array of column objects.
std::string schema_body(const std::string& columns, const std::string& key,
                        const std::string& version_column = "tidesync_version");

} // namespace tidesync::testing
