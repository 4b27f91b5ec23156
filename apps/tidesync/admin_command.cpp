// tidesync admin: clients and their bearer tokens, straight on the store.
#include "apps/tidesync/admin_removal.hpp"
#include "apps/tidesync/commands.hpp"
#include "apps/tidesync/terminal_text.hpp"

#include "config/config_error.hpp"
#include "config/server_config.hpp"
#include "protocol/error.hpp"
#include "storage/postgres_store.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <optional>

namespace tidesync::app {

namespace {

constexpr const char* admin_usage =
    "usage: tidesync admin --config FILE <command> [--json]\n\n"
    "commands:\n"
    "  create-client ID                     create a client; prints its first token\n"
    "  create-token CLIENT [--database DB]  a new token, optionally narrowed to one database\n"
    "                                       (a name not yet registered is registered)\n"
    "  revoke-token TOKEN_ID                revoke a token\n"
    "  list-clients                         clients with their databases and active tokens\n"
    "  list-tokens CLIENT                   a client's tokens: id, database, created, revoked\n"
    "  list-tables                          shared tables: columns, tenants, schema lock\n"
    "  lock-schema TABLE                    no tenant may add a column to TABLE (their\n"
    "                                       declarations get 409 columns_refused)\n"
    "  unlock-schema TABLE                  tenants may add columns to TABLE again\n"
    "  tenants [--silent DURATION] [--lagging]\n"
    "                                       every client's databases: tables, rows, last\n"
    "                                       contact and upload, lag and agent version as the\n"
    "                                       agent last reported; --silent 15m only those not\n"
    "                                       heard from for 15 minutes, --lagging only those\n"
    "                                       with tables not in sync\n"
    "  remove-client ID [--batch N]         delete every row, table, database and token of a\n"
    "                                       client (tokens revoked first; N rows a transaction,\n"
    "                                       default 10000); running it again removes nothing\n"
    "  remove-database CLIENT DATABASE [--batch N]\n"
    "                                       the same for one database (name or id) and the\n"
    "                                       tokens narrowed to it\n"
    "  remove-table CLIENT DATABASE TABLE [--batch N]\n"
    "                                       the same for one table of a database\n\n"
    "A token is printed once, alone on stdout, and stored only hashed; its id goes to\n"
    "stderr. --json prints JSON instead.\n";

struct admin_request {
  std::string config_path;
  std::string command;
  std::vector<std::string> operands;
  std::optional<std::string> database;
  bool json = false;
  std::optional<std::chrono::milliseconds> silent;  // tenants --silent
  bool lagging = false;                              // tenants --lagging
  std::optional<std::int64_t> batch;                 // remove-* --batch
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::size_t operand_count(const std::string& command) {
  if (command == "create-client" || command == "create-token" || command == "revoke-token" ||
      command == "list-tokens" || command == "lock-schema" || command == "unlock-schema")
    return 1;
  if (command == "list-clients" || command == "list-tables" || command == "tenants")
    return 0;
  if (command == "remove-client")
    return 1;
  if (command == "remove-database")
    return 2;
  if (command == "remove-table")
    return 3;
  throw usage_error("unknown admin command '" + command + "'");
}

admin_request parse_admin_args(const arguments& args) {
  admin_request request;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if ((arg == "--config" || arg == "--database" || arg == "--silent" || arg == "--batch") &&
        i + 1 >= args.size())
      throw usage_error(arg + " needs a value");
    if (arg == "--batch") {
      const auto& text = args[++i];
      std::int64_t rows = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rows);
      if (ec != std::errc{} || end != text.data() + text.size() || rows < 1 || rows > 1'000'000)
        throw usage_error("--batch needs a number of rows from 1 to 1000000, not '" + text + "'");
      request.batch = rows;
      continue;
    }
    if (arg == "--silent") {
      std::chrono::milliseconds silent{};
      if (!config::parse_duration(args[++i], silent))
        throw usage_error("--silent needs a duration such as 15m or 1h, not '" + args[i] + "'");
      request.silent = silent;
    } else if (arg == "--lagging")
      request.lagging = true;
    else if (arg == "--config")
      request.config_path = args[++i];
    else if (arg == "--database")
      request.database = args[++i];
    else if (arg == "--json")
      request.json = true;
    else if (arg.starts_with("-"))
      throw usage_error("unknown option '" + arg + "'");
    else if (request.command.empty())
      request.command = arg;
    else
      request.operands.push_back(arg);
  }
  if (request.config_path.empty())
    throw usage_error("--config FILE is required");
  if (request.command.empty())
    throw usage_error("a command is required");
  if (request.operands.size() != operand_count(request.command))
    throw usage_error(request.command + ": wrong number of arguments");
  if (request.database && request.command != "create-token")
    throw usage_error("--database only applies to create-token");
  if ((request.silent || request.lagging) && request.command != "tenants")
    throw usage_error("--silent and --lagging only apply to tenants");
  if (request.batch && !request.command.starts_with("remove-"))
    throw usage_error("--batch only applies to remove-client, remove-database and remove-table");
  return request;
}

boost::json::value database_json(const std::optional<storage::database_info>& database) {
  if (!database)
    return nullptr;
  return boost::json::object{{"database_id", database->database_id}, {"name", database->name}};
}

// "store-01 (<id>)", or "all databases" for a token that is not narrowed.
std::string database_text(const std::optional<storage::database_info>& database) {
  return database ? terminal_text(database->name) + " (" + database->database_id + ")"
                  : "all databases";
}

// Stdout gets the secret alone, for scripts to capture; the id needed to revoke
// it goes to stderr so that a token created without --json stays revocable.
void print_token(const admin_request& request, const std::string& client_id,
                 const storage::new_token& token) {
  if (request.json)
    std::cout << boost::json::serialize(
                     boost::json::object{{"client_id", client_id},
                                         {"token_id", token.token_id},
                                         {"token", token.secret},
                                         {"database", database_json(token.database)}})
              << "\n";
  else
    std::cout << token.secret << "\n";
  std::cerr << "token id: " << token.token_id << ", for " << (token.database ? "database " : "")
            << database_text(token.database) << "; revoke with: tidesync admin --config "
            << request.config_path << " revoke-token " << token.token_id << "\n";
}

void print_tokens(const admin_request& request, const std::vector<storage::token_summary>& tokens) {
  auto or_null = [](const std::optional<std::string>& text) -> boost::json::value {
    return text ? boost::json::value(*text) : boost::json::value(nullptr);
  };
  if (request.json) {
    boost::json::array out;
    for (const auto& t : tokens)
      out.push_back(boost::json::object{{"token_id", t.token_id},
                                        {"database", database_json(t.database)},
                                        {"created_at", t.created_at},
                                        {"revoked_at", or_null(t.revoked_at)}});
    std::cout << boost::json::serialize(out) << "\n";
    return;
  }
  std::size_t id_width = 8;       // "TOKEN_ID"
  std::size_t database_width = 8; // "DATABASE"
  for (const auto& t : tokens) {
    id_width = std::max(id_width, t.token_id.size());
    database_width = std::max(database_width, database_text(t.database).size());
  }
  auto id_column = std::setw(static_cast<int>(id_width + 2));
  auto database_column = std::setw(static_cast<int>(database_width + 2));
  std::cout << std::left << id_column << "TOKEN_ID" << database_column << "DATABASE"
            << std::setw(31) << "CREATED_AT"
            << "REVOKED_AT\n";
  for (const auto& t : tokens)
    std::cout << id_column << t.token_id << database_column << database_text(t.database)
              << std::setw(31) << t.created_at << t.revoked_at.value_or("-") << "\n";
}

void print_clients(const admin_request& request,
                   const std::vector<storage::client_summary>& clients) {
  if (request.json) {
    boost::json::array out;
    for (const auto& c : clients)
      out.push_back(boost::json::object{{"client_id", c.client_id},
                                        {"created_at", c.created_at},
                                        {"databases", c.databases},
                                        {"active_tokens", c.active_tokens}});
    std::cout << boost::json::serialize(out) << "\n";
    return;
  }
  std::size_t width = 9; // "CLIENT_ID"
  for (const auto& c : clients)
    width = std::max(width, c.client_id.size());
  std::cout << std::left << std::setw(static_cast<int>(width + 2)) << "CLIENT_ID" << std::setw(11)
            << "DATABASES" << std::setw(15) << "ACTIVE_TOKENS"
            << "CREATED_AT\n";
  for (const auto& c : clients)
    std::cout << std::setw(static_cast<int>(width + 2)) << c.client_id << std::setw(11)
              << c.databases << std::setw(15) << c.active_tokens << c.created_at << "\n";
}

void print_tables(const admin_request& request,
                  const std::vector<storage::remote_table_summary>& tables) {
  if (request.json) {
    boost::json::array out;
    for (const auto& t : tables)
      out.push_back(boost::json::object{{"table", t.table},
                                        {"columns", t.columns},
                                        {"tenants", t.tenants},
                                        {"schema_locked", t.schema_locked}});
    std::cout << boost::json::serialize(out) << "\n";
    return;
  }
  std::size_t width = 5; // "TABLE"
  for (const auto& t : tables)
    width = std::max(width, t.table.size());
  std::cout << std::left << std::setw(static_cast<int>(width + 2)) << "TABLE" << std::setw(9)
            << "COLUMNS" << std::setw(9) << "TENANTS"
            << "SCHEMA\n";
  for (const auto& t : tables)
    std::cout << std::setw(static_cast<int>(width + 2)) << t.table << std::setw(9) << t.columns
              << std::setw(9) << t.tenants << (t.schema_locked ? "locked" : "open") << "\n";
}

// Seconds as "45s", "12m", "3h", "2d": how long ago, at a glance.
std::string age_text(double seconds) {
  // A stored figure is bounded by what a report may carry; the clamp keeps
  // the conversion defined whatever the store holds.
  auto whole = static_cast<long long>(seconds > 0 ? std::min(seconds, 1e15) : 0.0);
  if (whole < 120)
    return std::to_string(whole) + "s";
  if (whole < 7200)
    return std::to_string(whole / 60) + "m";
  if (whole < 172800)
    return std::to_string(whole / 3600) + "h";
  return std::to_string(whole / 86400) + "d";
}

void print_tenants(const admin_request& request,
                   const std::vector<storage::tenant_database>& all) {
  std::vector<const storage::tenant_database*> shown;
  for (const auto& db : all) {
    if (request.silent) {
      const auto limit = std::chrono::duration<double>(*request.silent).count();
      // Never heard from counts as silent.
      if (db.silent_seconds && *db.silent_seconds <= limit)
        continue;
    }
    if (request.lagging && db.tables_not_equal.value_or(0) == 0)
      continue;
    shown.push_back(&db);
  }
  if (request.json) {
    boost::json::array out;
    auto or_null = [](const auto& value) -> boost::json::value {
      if (value)
        return boost::json::value_from(*value);
      return nullptr;
    };
    for (const auto* db : shown)
      out.push_back(boost::json::object{{"client_id", db->client_id},
                                        {"database_id", db->database_id},
                                        {"database", db->database},
                                        {"tables", db->tables},
                                        {"rows", db->rows},
                                        {"last_contact", or_null(db->last_contact)},
                                        {"last_upload", or_null(db->last_upload)},
                                        {"silent_seconds", or_null(db->silent_seconds)},
                                        {"agent_version", db->agent_version},
                                        {"tables_not_equal", or_null(db->tables_not_equal)},
                                        {"lag_seconds", or_null(db->lag_seconds)},
                                        {"lag_versions", or_null(db->lag_versions)},
                                        {"lagging", db->lagging}});
    std::cout << boost::json::serialize(out) << "\n";
    return;
  }
  std::size_t client_width = 6, database_width = 8;  // "CLIENT", "DATABASE"
  for (const auto* db : shown) {
    client_width = std::max(client_width, db->client_id.size());
    database_width = std::max(database_width, terminal_text(db->database).size());
  }
  auto column = [](std::size_t width) { return std::setw(static_cast<int>(width + 2)); };
  std::cout << std::left << column(client_width) << "CLIENT" << column(database_width)
            << "DATABASE" << std::setw(8) << "TABLES" << std::setw(12) << "ROWS" << std::setw(14)
            << "LAST_CONTACT" << std::setw(22) << "LAST_UPLOAD" << std::setw(12) << "NOT_EQUAL"
            << std::setw(10) << "LAG" << "AGENT\n";
  for (const auto* db : shown) {
    auto contact = db->silent_seconds ? age_text(*db->silent_seconds) + " ago" : "never";
    auto not_equal =
      db->tables_not_equal ? std::to_string(*db->tables_not_equal) : std::string{"-"};
    auto lag = db->lag_seconds && db->tables_not_equal.value_or(0) > 0
                 ? age_text(*db->lag_seconds)
                 : std::string{"-"};
    std::cout << column(client_width) << db->client_id << column(database_width)
              << terminal_text(db->database)
              << std::setw(8) << db->tables << std::setw(12) << db->rows << std::setw(14)
              << contact << std::setw(22) << db->last_upload.value_or("-")
              << std::setw(12) << not_equal << std::setw(10) << lag
              << (db->agent_version.empty() ? "-" : terminal_text(db->agent_version)) << "\n";
  }
}

int set_schema_lock(const admin_request& request, storage::postgres_store& store, bool locked) {
  const auto& table = request.operands[0];
  if (!store.set_schema_locked(table, locked)) {
    std::cerr << "tidesync admin: no shared table '" << table
              << "' (it exists once a site has declared it; see list-tables)\n";
    return exit_failure;
  }
  if (request.json)
    std::cout << boost::json::serialize(
                     boost::json::object{{"table", table}, {"schema_locked", locked}})
              << "\n";
  else
    std::cerr << "table " << table << ": schema " << (locked ? "locked" : "unlocked") << "\n";
  return exit_ok;
}

int run_admin_request(const admin_request& request, storage::postgres_store& store) {
  const auto& command = request.command;
  if (command == "create-client") {
    print_token(request, request.operands[0], store.create_client(request.operands[0]));
  } else if (command == "create-token") {
    print_token(request, request.operands[0],
                store.create_token(request.operands[0], request.database));
  } else if (command == "revoke-token") {
    if (!store.revoke_token(request.operands[0])) {
      std::cerr << "tidesync admin: no active token with id '" << request.operands[0] << "'\n";
      return exit_failure;
    }
    if (request.json)
      std::cout << boost::json::serialize(
                       boost::json::object{{"token_id", request.operands[0]}, {"revoked", true}})
                << "\n";
  } else if (command == "list-tokens") {
    print_tokens(request, store.list_tokens(request.operands[0]));
  } else if (command == "list-tables") {
    print_tables(request, store.list_remote_tables());
  } else if (command == "tenants") {
    print_tenants(request, store.list_tenant_databases());
  } else if (command.starts_with("remove-")) {
    storage::removal_scope scope{request.operands[0], std::nullopt, std::nullopt};
    if (request.operands.size() > 1)
      scope.database = request.operands[1];
    if (request.operands.size() > 2)
      scope.table = request.operands[2];
    return run_removal(store, scope, request.batch.value_or(default_removal_batch_rows),
                       request.json);
  } else if (command == "lock-schema" || command == "unlock-schema") {
    return set_schema_lock(request, store, command == "lock-schema");
  } else {
    print_clients(request, store.list_clients());
  }
  return exit_ok;
}

} // namespace

int run_admin(const arguments& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << admin_usage;
    return exit_ok;
  }
  admin_request request;
  try {
    request = parse_admin_args(args);
  } catch (const usage_error& e) {
    std::cerr << "tidesync admin: " << e.what() << "\n" << admin_usage;
    return exit_usage;
  }
  try {
    auto config = config::load_server_config(request.config_path);
    storage::postgres_store store{{config.database, config.data_schema}};
    store.migrate();
    return run_admin_request(request, store);
  } catch (const std::exception& e) {
    std::cerr << "tidesync admin: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
