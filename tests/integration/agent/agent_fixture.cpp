#include "tests/integration/agent/agent_fixture.hpp"

#include "config/server_config.hpp"
#include "protocol/cell_codec.hpp"
#include "protocol/content_digest.hpp"
#include "storage/version_tracking.hpp"
#include "tests/support/time_scale.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <filesystem>

namespace tidesync::testing {

namespace {

// One comparable form per cell: the wire form, with JSON documents re-serialised
// (jsonb reorders keys and drops spaces) and numerics without trailing zeros.
std::string hex_of_bytes(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : bytes) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0f]);
  }
  return out;
}

std::string comparable(storage::text_cell cell, protocol::column_type type) {
  if (!cell)
    return "NULL";
  auto wire = protocol::cell_from_pg_text(*cell, type);
  if ((type == protocol::column_type::json || type == protocol::column_type::jsonb) &&
      wire.is_string())
    return boost::json::serialize(boost::json::parse(wire.as_string()));
  // Spellings of one value (upper-case uuids, 'T' in timestamps, exponents)
  // compare as the value, as PostgreSQL stores it.
  if (type == protocol::column_type::uuid || type == protocol::column_type::date ||
      type == protocol::column_type::timestamp || type == protocol::column_type::timestamptz) {
    std::optional<std::string_view> view{*cell};
    return hex_of_bytes(protocol::canonical_key({&view, 1}, {&type, 1}));
  }
  if (type == protocol::column_type::numeric) {
    auto text = protocol::canonical_numeric(*cell).value_or(*cell);
    if (text.find('.') == std::string::npos)
      return text;
    while (text.back() == '0')
      text.pop_back();
    if (text.back() == '.')
      text.pop_back();
    return text;
  }
  return boost::json::serialize(wire);
}

protocol::table_schema describe_site(const std::string& url, const std::string& table) {
  auto source = storage::open_source(url);
  return source->describe(table, {}, "tidesync_version", std::nullopt);
}

std::string quoted_name(const std::string& name) { return "\"" + name + "\""; }

// CREATE/DROP DATABASE can't run inside a transaction block.
void admin_exec(const std::string& sql) {
  pqxx::connection admin{test_database::cluster_url()};
  pqxx::nontransaction tx{admin};
  tx.exec(sql);
}

std::vector<std::string> key_of(const protocol::table_schema& schema,
                                const std::vector<std::string>& cells) {
  std::vector<std::string> key;
  for (const auto& name : schema.key)
    key.push_back(cells.at(column_index(schema, name)));
  return key;
}

} // namespace

std::string site_name(const ::testing::TestParamInfo<site_kind>& info) {
  return info.param == site_kind::sqlite ? "sqlite" : "postgresql";
}

void agent_fixture::SetUp() {
  store_ = std::make_unique<storage::postgres_store>(storage::store_options{store_db_.url()});
  store_->migrate();
  token_ = store_->create_client("acme").secret;
  start_server(0);
  if (is_postgres()) {
    site_db_ = std::make_unique<test_database>();
    site_url_ = site_db_->url();
  } else {
    site_url_ = dir_.sqlite_url("site.db");
  }
}

void agent_fixture::start_server(std::uint16_t port) {
  config::server_config server;
  server.listen = {"127.0.0.1", port};
  server.database = store_db_.url();
  server.pool_size = 2;
  server.max_waiting = 16;
  server.io_threads = 2;
  server.max_body_bytes = max_body_bytes_;
  server.tls = server_tls_;
  server.report_interval = std::chrono::milliseconds{200};  // the fleet view, within a test's wait
  server_ = std::make_unique<server::api_server>(server);
  port_ = server_->start();
}

void agent_fixture::restart_server_with_body_limit(std::uint64_t bytes) {
  server_->stop();
  max_body_bytes_ = bytes;
  start_server(port_);
}

void agent_fixture::restart_server_with_tls(const config::tls_files& tls) {
  server_->stop();
  server_tls_ = tls;
  start_server(port_);
}

void agent_fixture::TearDown() {
  if (server_)
    server_->stop();
  if (!site_backup_.empty())
    admin_exec("DROP DATABASE IF EXISTS " + quoted_name(site_backup_) + " WITH (FORCE)");
}

void agent_fixture::site_exec(const std::string& sql) {
  if (is_postgres())
    pg_exec(site_url_, sql);
  else
    sqlite_exec(dir_.path() / "site.db", sql);
}

void agent_fixture::prepare(const std::vector<std::string>& tables) {
  std::vector<storage::table_ref> refs;
  for (const auto& table : tables)
    refs.push_back(tracked(table));
  storage::apply_version_tracking(site_url_, refs);
}

void agent_fixture::back_up_site() {
  if (!is_postgres()) {
    std::filesystem::copy_file(dir_.path() / "site.db", dir_.path() / "backup.db");
    return;
  }
  // A template copy keeps every row's version column as it was, as a restore does.
  site_backup_ = site_db_->name() + "_backup";
  admin_exec("CREATE DATABASE " + quoted_name(site_backup_) + " TEMPLATE " +
             quoted_name(site_db_->name()));
}

void agent_fixture::restore_site() {
  if (!is_postgres()) {
    std::filesystem::copy_file(dir_.path() / "backup.db", dir_.path() / "site.db",
                               std::filesystem::copy_options::overwrite_existing);
    return;
  }
  admin_exec("DROP DATABASE " + quoted_name(site_db_->name()) + " WITH (FORCE)");
  admin_exec("CREATE DATABASE " + quoted_name(site_db_->name()) + " TEMPLATE " +
             quoted_name(site_backup_));
}

config::agent_config agent_fixture::agent_config(const std::vector<std::string>& tables) const {
  config::agent_config config;
  config.server = {"http://127.0.0.1:" + std::to_string(port_), "acme", token_, std::nullopt,
                   std::nullopt};
  config.state_dir = (dir_.path() / "state").string();
  config.interval = std::chrono::milliseconds(200);
  config.request_timeout = scaled(std::chrono::seconds(10));
  config.batch = {1, 50, 50};
  config::database_config database{"store-01", site_url_, {}};
  for (const auto& table : tables) {
    config::table_config entry;
    entry.name = table;
    entry.version_column = "tidesync_version";
    database.tables.push_back(std::move(entry));
  }
  config.databases.push_back(database);
  return config;
}

actors::agent_report agent_fixture::run_once(const std::vector<std::string>& tables) {
  return run_with(agent_config(tables));
}

actors::agent_report agent_fixture::run_with(const config::agent_config& config) {
  actors::agent agent{config, quick_retries()};
  return agent.run_once();
}

std::string rows_of(const std::string& insert_head, const std::string& values, int count) {
  return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
         std::to_string(count) + ") " + insert_head + " SELECT " + values + " FROM n";
}

actors::agent_hooks quick_retries() {
  actors::agent_hooks hooks;
  hooks.retry = sync::retry_settings{std::chrono::milliseconds(50), std::chrono::seconds(1)};
  return hooks;
}

actors::table_report agent_fixture::table_of(const actors::agent_report& report,
                                          const std::string& table) {
  for (const auto& database : report.databases)
    for (const auto& t : database.tables)
      if (t.table == table)
        return t;
  ADD_FAILURE() << "no report for table " << table << "\n" << report.summary_lines();
  return {};
}

agent_fixture::row_map agent_fixture::site_rows(const std::string& table) {
  auto source = storage::open_source(site_url_);
  auto schema = source->describe(table, {}, "tidesync_version", std::nullopt);
  row_map out;
  for (const auto& row : read_all_rows(*source, table, schema, 500)) {
    std::vector<std::string> cells;
    for (std::size_t i = 0; i < row.size(); ++i)
      cells.push_back(comparable(row[i], schema.columns[i].type));
    auto key = key_of(schema, cells);
    out.emplace(std::move(key), std::move(cells));
  }
  return out;
}

agent_fixture::row_map agent_fixture::remote_rows(const std::string& table,
                                                  const std::string& remote_name) {
  auto schema = describe_site(site_url_, table);
  const auto& remote = remote_name.empty() ? table : remote_name;
  std::string select;
  for (const auto& column : schema.columns)
    select += (select.empty() ? "" : ", ") + ("\"" + column.name + "\"::text");
  pqxx::connection conn{store_db_.url()};
  pqxx::work tx{conn};
  tx.exec("SET TIME ZONE 'UTC'");
  row_map out;
  auto exists = tx.exec_params("SELECT to_regclass($1) IS NOT NULL",
                               "tidesync_data.\"" + remote + "\"");
  if (!exists[0][0].as<bool>())
    return out;  // nothing declared yet
  auto result = tx.exec_params("SELECT " + select + " FROM tidesync_data.\"" + remote +
                                 "\" WHERE client_id::text = $1 AND database_id::text = $2",
                               "acme", database_id());
  for (const auto& row : result) {
    std::vector<std::string> cells;
    for (std::size_t i = 0; i < schema.columns.size(); ++i) {
      storage::text_cell cell;
      if (!row[static_cast<int>(i)].is_null())
        cell = row[static_cast<int>(i)].as<std::string>();
      cells.push_back(comparable(cell, schema.columns[i].type));
    }
    auto key = key_of(schema, cells);
    out.emplace(std::move(key), std::move(cells));
  }
  return out;
}

void agent_fixture::expect_remote_matches(const std::string& table,
                                          const std::string& remote_name) {
  auto site = site_rows(table);
  auto remote = remote_rows(table, remote_name);
  EXPECT_EQ(remote.size(), site.size()) << "table " << table;
  std::size_t shown = 0;
  for (const auto& [key, cells] : site) {
    auto found = remote.find(key);
    if (found == remote.end()) {
      if (shown++ < 5)
        ADD_FAILURE() << table << ": row " << key.front() << " missing remotely";
    } else if (found->second != cells) {
      if (shown++ < 5)
        ADD_FAILURE() << table << ": row " << key.front() << " differs: site "
                      << ::testing::PrintToString(cells) << " remote "
                      << ::testing::PrintToString(found->second);
    }
  }
  for (const auto& [key, cells] : remote)
    if (!site.count(key) && shown++ < 5)
      ADD_FAILURE() << table << ": remote row " << key.front() << " is not at the site";
}

std::string agent_fixture::database_id() {
  storage::state_store state{(dir_.path() / "state").string()};
  return state.database_id("store-01").value_or("");
}

std::vector<storage::skipped_row> agent_fixture::skipped_rows() {
  storage::state_store state{(dir_.path() / "state").string()};
  return state.skipped_rows("store-01");
}

// Every agent test runs once per kind of site database.
INSTANTIATE_TEST_SUITE_P(sites, agent_test,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

bool settles_unread(actors::agent& agent, const std::string& table) {
  for (int cycle = 0; cycle < 5; ++cycle)
    for (const auto& database : agent.run_cycle(false).databases)
      for (const auto& line : database.tables)
        if (line.table == table && line.unread)
          return true;
  return false;
}

} // namespace tidesync::testing
