#pragma once

#include "actors/lending_pool.hpp"
#include "actors/remote_api.hpp"

#include <memory>

namespace tidesync::actors {

/// The agent's clients of the server: at most `max_in_flight` (engine
/// config), each keeping its connection alive between requests.
using remote_pool = lending_pool<remote_api>;

/// A remote_api for one table or database that borrows a client from the
/// agent-wide pool for each call, so thousands of tables share a few
/// connections and the requests in flight stay bounded.
class pooled_remote : public remote_api {
public:
  explicit pooled_remote(std::shared_ptr<remote_pool> pool) : pool_(std::move(pool)) {}

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
  remote_answer<std::int64_t> delete_rows(const std::string& database_id, const std::string& table,
                                          const std::string& body) override;
  remote_answer<manifest_page> manifest(const std::string& database_id, const std::string& table,
                                        const protocol::table_schema& schema,
                                        std::optional<std::int64_t> min_version,
                                        std::optional<std::int64_t> max_version, std::int64_t limit,
                                        const std::optional<std::string>& after) override;
  remote_answer<protocol::digest_answer> digests(const std::string& database_id,
                                                 const std::string& table,
                                                 const protocol::table_schema& schema,
                                                 const protocol::digest_request& request) override;
  remote_answer<protocol::table_version> recount(const std::string& database_id,
                                                 const std::string& table) override;

private:
  std::shared_ptr<remote_pool> pool_;
};

} // namespace tidesync::actors
