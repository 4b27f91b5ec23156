#include "actors/pooled_remote.hpp"

namespace tidesync::actors {

remote_answer<std::string> pooled_remote::register_database(const std::string& name) {
  return pool_->borrow()->register_database(name);
}

remote_answer<table_listing> pooled_remote::list_tables(const std::string& database_id,
                                                        const std::string& report) {
  return pool_->borrow()->list_tables(database_id, report);
}

remote_answer<std::optional<protocol::table_version>>
pooled_remote::table_summary(const std::string& database_id, const std::string& table) {
  return pool_->borrow()->table_summary(database_id, table);
}

remote_answer<std::vector<protocol::refused_column>>
pooled_remote::declare_schema(const std::string& database_id, const std::string& table,
                              const protocol::table_schema& schema) {
  return pool_->borrow()->declare_schema(database_id, table, schema);
}

remote_answer<protocol::table_version> pooled_remote::upload(const std::string& database_id,
                                                             const std::string& table,
                                                             const std::string& body,
                                                             bool recount) {
  return pool_->borrow()->upload(database_id, table, body, recount);
}

remote_answer<protocol::table_version>
pooled_remote::upload_compressed(const std::string& database_id, const std::string& table,
                                 const std::string& body, protocol::content_coding coding,
                                 bool recount) {
  return pool_->borrow()->upload_compressed(database_id, table, body, coding, recount);
}

remote_answer<std::int64_t> pooled_remote::delete_rows(const std::string& database_id,
                                                       const std::string& table,
                                                       const std::string& body) {
  return pool_->borrow()->delete_rows(database_id, table, body);
}

remote_answer<manifest_page>
pooled_remote::manifest(const std::string& database_id, const std::string& table,
                        const protocol::table_schema& schema,
                        std::optional<std::int64_t> min_version,
                        std::optional<std::int64_t> max_version, std::int64_t limit,
                        const std::optional<std::string>& after) {
  return pool_->borrow()->manifest(database_id, table, schema, min_version, max_version, limit,
                                   after);
}

remote_answer<protocol::digest_answer>
pooled_remote::digests(const std::string& database_id, const std::string& table,
                       const protocol::table_schema& schema,
                       const protocol::digest_request& request) {
  return pool_->borrow()->digests(database_id, table, schema, request);
}

remote_answer<protocol::table_version> pooled_remote::recount(const std::string& database_id,
                                                              const std::string& table) {
  return pool_->borrow()->recount(database_id, table);
}

} // namespace tidesync::actors
