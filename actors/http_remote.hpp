#pragma once

#include "actors/listing_cache.hpp"
#include "actors/remote_api.hpp"
#include "config/agent_config.hpp"

#include <memory>
#include <optional>

namespace tidesync::protocol {
class http_client;
} // namespace tidesync::protocol

namespace tidesync::actors {

/// The proxy requests to `server` go through: `server.proxy`, else the
/// environment's HTTPS_PROXY/HTTP_PROXY unless NO_PROXY names the server.
/// Throws std::runtime_error naming where a proxy URL that can't be used
/// came from.
std::optional<std::string> server_proxy(const config::server_endpoint& server);

/// remote_api over HTTP: one kept-alive protocol::http_client, bearer token,
/// gzip request bodies unless `compress` is off, the configured request timeout.
/// Table listings are asked conditionally against `listings` (a cache of its
/// own when none is given).
class http_remote : public remote_api {
public:
  /// Throws std::invalid_argument for a server URL the client can't use.
  http_remote(const config::server_endpoint& server, std::chrono::milliseconds request_timeout,
              bool compress = true, std::shared_ptr<listing_cache> listings = nullptr);
  ~http_remote() override;

  remote_answer<std::string> register_database(const std::string& name) override;
  remote_answer<table_listing> list_tables(const std::string& database_id,
                                           const std::string& report = {}) override;
  remote_answer<std::optional<protocol::table_version>>
  table_summary(const std::string& database_id, const std::string& table) override;
  remote_answer<std::vector<protocol::refused_column>>
  declare_schema(const std::string& database_id, const std::string& table,
                             const protocol::table_schema& schema) override;
  remote_answer<protocol::table_version> upload(const std::string& database_id,
                                                const std::string& table,
                                                const std::string& body, bool recount) override;
  remote_answer<protocol::table_version>
  upload_compressed(const std::string& database_id, const std::string& table,
                    const std::string& body, protocol::content_coding coding,
                    bool recount) override;
  remote_answer<std::int64_t> delete_rows(const std::string& database_id,
                                          const std::string& table,
                                          const std::string& body) override;
  remote_answer<manifest_page> manifest(const std::string& database_id, const std::string& table,
                                        const protocol::table_schema& schema,
                                        std::optional<std::int64_t> min_version,
                                        std::optional<std::int64_t> max_version,
                                        std::int64_t limit,
                                        const std::optional<std::string>& after) override;
  remote_answer<protocol::digest_answer> digests(const std::string& database_id,
                                                 const std::string& table,
                                                 const protocol::table_schema& schema,
                                                 const protocol::digest_request& request) override;
  remote_answer<protocol::table_version> recount(const std::string& database_id,
                                                 const std::string& table) override;

private:
  std::string database_path(const std::string& database_id) const;
  std::string table_path(const std::string& database_id, const std::string& table) const;

  std::string client_id_;
  std::unique_ptr<protocol::http_client> client_;
  std::shared_ptr<listing_cache> listings_;
};

} // namespace tidesync::actors
