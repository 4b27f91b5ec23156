#include "actors/content_verify.hpp"

#include "actors/digest_walk.hpp"
#include "actors/http_remote.hpp"
#include "storage/source.hpp"
#include "storage/state_store.hpp"
#include "sync/retry_policy.hpp"

#include <chrono>
#include <exception>
#include <random>
#include <stdexcept>
#include <thread>

namespace tidesync::actors {

namespace {

// Transient failures (timeouts, 503) tolerated in a row before giving up.
constexpr unsigned max_attempts = 3;

// Asks for digests, backing off on transient failures; throws when the server won't answer.
digest_call retrying_call(remote_api& remote, const std::string& database_id,
                          const std::string& table, const protocol::table_schema& schema) {
  return [&remote, database_id, table, &schema](const protocol::digest_request& request) {
    std::mt19937_64 random{std::random_device{}()};
    for (unsigned attempt = 1;; ++attempt) {
      auto answer = remote.digests(database_id, table, schema, request);
      if (answer.status.ok())
        return answer.value;
      if (answer.status.result != call_result::transient || attempt == max_attempts)
        throw std::runtime_error("server: " + answer.status.message);
      std::uniform_real_distribution<double> jitter{0.0, 1.0};
      std::this_thread::sleep_for(
        sync::retry_delay(attempt, answer.status.retry_after, jitter(random)));
    }
  };
}

void verify_table(storage::source& source, remote_api& remote, const std::string& database_id,
                  const config::table_config& table, table_verification& out) {
  auto start = std::chrono::steady_clock::now();
  auto schema =
      protocol::without_columns(source.describe(table.name, table.key, table.version_column,
                                                table.modified_column, table.exclude_columns),
                                out.not_replicated);
  schema.site_filter = table.where;  // the cloud holds only the rows it keeps
  digest_walk walk{source, table.name, schema,
                   retrying_call(remote, database_id, table.remote(), schema)};
  auto result = walk.run(std::nullopt, 0);
  out.site_rows = result.rows_compared;
  out.cloud_rows = result.cloud_rows;
  out.diff = std::move(result.diff);
  out.state = out.diff.empty() ? content_state::identical : content_state::different;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The columns the agent's last declaration found refused, as it saved them.
std::vector<protocol::refused_column> saved_refusal(const storage::state_snapshot& snapshot,
                                                    const std::string& database,
                                                    const std::string& table) {
  auto found = snapshot.refused_columns.find({database, table});
  if (found == snapshot.refused_columns.end())
    return {};
  return protocol::refused_columns_from_text(found->second);
}

void verify_database(const config::agent_config& config, const config::database_config& database,
                     const storage::state_snapshot& snapshot,
                     const verify_selection& selection, std::vector<table_verification>& out) {
  std::optional<std::string> database_id;
  if (auto found = snapshot.database_ids.find(database.name); found != snapshot.database_ids.end())
    database_id = found->second;
  std::unique_ptr<storage::source> source;
  std::unique_ptr<remote_api> remote;
  std::string database_error;
  if (!database_id)
    database_error = "not registered with the server yet (the agent registers it on its first cycle)";
  try {
    if (database_error.empty()) {
      source = storage::open_source(database.source);
      remote = std::make_unique<http_remote>(config.server, config.request_timeout);
    }
  } catch (const std::exception& e) {
    database_error = e.what();
  }
  for (const auto& table : database.tables) {
    if (selection.table && *selection.table != table.name)
      continue;
    auto& verification = out.emplace_back();
    verification.database = database.name;
    verification.table = table.name;
    if (!database_error.empty()) {
      verification.error = database_error;
      continue;
    }
    try {
      verification.not_replicated = saved_refusal(snapshot, database.name, table.name);
      verify_table(*source, *remote, *database_id, table, verification);
    } catch (const std::exception& e) {
      verification.state = content_state::error;
      verification.error = e.what();
    }
  }
}

} // namespace

std::string_view to_string(content_state state) {
  switch (state) {
    case content_state::identical:
      return "identical";
    case content_state::different:
      return "different";
    case content_state::error:
      break;
  }
  return "error";
}

std::vector<table_verification> verify_content(const config::agent_config& config,
                                               const verify_selection& selection) {
  auto snapshot = storage::state_store::read_snapshot(config.state_dir);
  std::vector<table_verification> out;
  for (const auto& database : config.databases) {
    if (selection.database && *selection.database != database.name)
      continue;
    verify_database(config, database, snapshot, selection, out);
  }
  return out;
}

} // namespace tidesync::actors
