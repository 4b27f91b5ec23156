// table_sync: declaring the table to the server, and the columns it refuses.
#include "actors/table_sync.hpp"

#include "actors/table_sync_detail.hpp"
#include "actors/wire_body.hpp"
#include "storage/state_store.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

namespace tidesync::actors {

namespace {

// A refusal is a server's answer of the moment (an operator may unlock the
// schema): asked again at most this many times per declaration.
constexpr int max_declaration_rounds = 3;

std::vector<protocol::refused_column> parse_refused(const std::optional<std::string>& saved) {
  if (!saved)
    return {};
  try {
    return protocol::refused_columns_from_text(*saved);
  } catch (const std::exception&) {
    return {};  // unreadable: declaring again finds out
  }
}

} // namespace

void table_sync::prepare_schema(bool remote_declared) {
  const auto& table = parts_.table;
  auto described = source_->describe(table.name, table.key, table.version_column,
                                     table.modified_column, table.exclude_columns);
  described.site_filter = table.where;
  if (table.where && !filter_checked_) {
    check_row_filter(described);
    filter_checked_ = true;
  }
  auto hash = schema_hash(described);
  refused_ = parse_refused(parts_.state->refused_columns(parts_.database, table.name));
  bool declared = remote_declared && parts_.state->schema_hash(parts_.database, table.name) == hash;
  if (!declared || refusal_recheck_due())
    declare_schema(described, hash);
  schema_ = protocol::without_columns(described, refused_);
  order_ = std::make_unique<sync::position_order>(key_types(schema_));
}

// A `where` the site's database refuses (a misspelt column, a volatile
// function, a subquery) fails the table with the condition named, before
// any row is read.
void table_sync::check_row_filter(const protocol::table_schema& schema) {
  try {
    source_->check_row_condition(table_name(), *schema.site_filter);
  } catch (const storage::storage_error& e) {
    if (e.code() == storage::storage_errc::unavailable)
      throw;
    throw storage::storage_error(
      storage::storage_errc::invalid,
      "the where of table " + table_name() + " (\"" + *schema.site_filter +
        "\") is not a condition on the row alone that this database accepts: " + e.what());
  }
}

// Refused columns are asked for again now and then: the operator may have
// unlocked the schema or raised the limit.
bool table_sync::refusal_recheck_due() const {
  if (refused_.empty())
    return false;
  auto now = std::chrono::steady_clock::now();
  return !declared_at_ || now - *declared_at_ >= parts_.verify_interval;
}

void table_sync::declare_schema(const protocol::table_schema& described, const std::string& hash) {
  const auto& name = table_name();
  std::vector<protocol::refused_column> refused;
  for (int round = 1;; ++round) {
    auto answer = with_retry("declare schema", [&] {
      return parts_.remote->declare_schema(database_id_, remote_table(),
                                           protocol::without_columns(described, refused));
    });
    if (answer.status.ok())
      break;
    // Without its key or version column the table cannot sync at all.
    if (answer.value.empty() || round == max_declaration_rounds ||
        protocol::refuses_key_or_version(described, answer.value))
      fail("declare schema", answer.status);
    refused.insert(refused.end(), answer.value.begin(), answer.value.end());
  }
  declared_at_ = std::chrono::steady_clock::now();
  if (refused != refused_ && !refused.empty())
    spdlog::warn("{}.{}: the server does not replicate {} of its columns: {}; the others sync",
                 parts_.database, name, refused.size(), protocol::describe(refused));
  else if (refused != refused_)
    spdlog::info("{}.{}: the server now replicates every column", parts_.database, name);
  refused_ = std::move(refused);
  parts_.state->set_refused_columns(
      parts_.database, name,
      refused_.empty() ? std::nullopt
                       : std::optional{boost::json::serialize(protocol::to_json(refused_))});
  parts_.state->set_schema_hash(parts_.database, name, hash);
  spdlog::info("{}.{}: schema declared ({} columns, key {})", parts_.database, name,
               protocol::without_columns(described, refused_).columns.size(), described.key.size());
}

} // namespace tidesync::actors
