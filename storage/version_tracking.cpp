// Version tracking's entry points: pick the dialect, plan, run.
#include "storage/version_tracking.hpp"

#include "storage/source.hpp"
#include "storage/tracking_sql.hpp"

#include <cstdint>
#include <cstdio>

namespace tidesync::storage {

namespace detail {

std::string derived_bare_name(const std::string& table, std::string_view suffix) {
  auto name = "tidesync_" + table;
  if (name.size() + suffix.size() <= max_identifier_bytes)
    return name + std::string{suffix};
  // Cut to fit, the names of tables sharing a long prefix (partitions named
  // by date, say) would be one name: a hash of the whole name keeps them apart.
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : table)
    hash = (hash ^ c) * 16777619u;
  char tag[10];
  std::snprintf(tag, sizeof tag, "_%08x", hash);
  return name.substr(0, max_identifier_bytes - suffix.size() - 9) + tag + std::string{suffix};
}

std::vector<std::string> derived_bare_names(const std::string& table, std::string_view suffix) {
  std::vector<std::string> out{derived_bare_name(table, suffix)};
  auto cut = ("tidesync_" + table).substr(0, max_identifier_bytes - suffix.size()) +
             std::string{suffix};
  if (cut != out.front())
    out.push_back(std::move(cut));
  return out;
}

std::string derived_name(const std::string& table, std::string_view suffix) {
  return "\"" + derived_bare_name(table, suffix) + "\"";
}

const catalog_column* find_column(const catalog_table& catalog, const std::string& name) {
  for (const auto& column : catalog.columns)
    if (column.name == name)
      return &column;
  return nullptr;
}

// Text key columns take `text_collation`, the bytewise one page queries order
// by, or the index can't serve them.
std::string index_columns(const table_ref& ref, const catalog_table& catalog,
                          std::string_view text_collation) {
  std::string out = quote_identifier(ref.version_column, "version column");
  for (const auto& column : ref.key.empty() ? catalog.primary_key : ref.key) {
    out += ", " + quote_identifier(column, "key column");
    const auto* found = find_column(catalog, column);
    if (found != nullptr && found->type == protocol::column_type::text)
      out += text_collation;
  }
  return out;
}

void require_bigint(const catalog_column& column, const std::string& table,
                    const std::string& label) {
  if (column.type != protocol::column_type::bigint)
    throw storage_error(storage_errc::unsupported,
                        "version column " + column.name + " of table " + table + " in " + label +
                          " has type " + column.declared_type + "; it must be bigint");
}

std::vector<std::string> flatten(const std::vector<tracking_step>& steps) {
  std::vector<std::string> out;
  for (const auto& step : steps)
    out.insert(out.end(), step.statements.begin(), step.statements.end());
  return out;
}

} // namespace detail

namespace {

bool is_sqlite(const std::string& url) {
  return source_kind(url) == "sqlite";
}

void run_steps(const std::string& url, const std::vector<tracking_step>& steps,
               const tracking_progress& progress) {
  tracking_progress sink = progress ? progress : [](const std::string&, const std::string&) {};
  if (is_sqlite(url))
    detail::run_sqlite_steps(sqlite_path(url), steps, sink);
  else
    detail::run_pg_steps(url, steps, sink);
}

// Planning reads the catalog the run then changes: one run at a time, from
// plan to last step. SQLite's writer lock already serialises its steps.
std::unique_ptr<detail::pg_tracking_lock> lock_tracking(const std::string& url) {
  if (is_sqlite(url))
    return nullptr;
  return std::make_unique<detail::pg_tracking_lock>(url);
}

} // namespace

std::vector<tracking_step> plan_tracking_steps(const std::string& url,
                                               const std::vector<table_ref>& tables) {
  if (is_sqlite(url))
    return detail::plan_sqlite_tracking(sqlite_path(url), tables);
  return detail::plan_pg_tracking(url, tables);
}

std::vector<std::string> tracking_warnings(const std::string& url) {
  if (is_sqlite(url))
    return {};
  return detail::pg_tracking_warnings(url);
}

std::vector<std::string> plan_version_tracking(const std::string& url,
                                               const std::vector<table_ref>& tables) {
  return detail::flatten(plan_tracking_steps(url, tables));
}

std::vector<std::string> apply_version_tracking(const std::string& url,
                                                const std::vector<table_ref>& tables,
                                                const tracking_progress& progress) {
  auto lock = lock_tracking(url);
  auto steps = plan_tracking_steps(url, tables);
  run_steps(url, steps, progress);
  return detail::flatten(steps);
}

std::vector<tracking_step> plan_tracking_removal(const std::string& url,
                                                 const std::vector<table_ref>& tables,
                                                 const removal_options& options) {
  if (is_sqlite(url))
    return detail::plan_sqlite_removal(sqlite_path(url), tables, options);
  return detail::plan_pg_removal(url, tables, options);
}

std::vector<std::string> apply_tracking_removal(const std::string& url,
                                                const std::vector<table_ref>& tables,
                                                const removal_options& options,
                                                const tracking_progress& progress) {
  auto lock = lock_tracking(url);
  auto steps = plan_tracking_removal(url, tables, options);
  run_steps(url, steps, progress);
  return detail::flatten(steps);
}

} // namespace tidesync::storage
