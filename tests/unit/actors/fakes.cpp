#include "tests/unit/actors/fakes.hpp"

#include "protocol/content_digest.hpp"
#include "protocol/content_coding.hpp"
#include "protocol/manifest_cursor.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <tuple>
#include <vector>

namespace tidesync::testing {

namespace json = boost::json;

namespace {

struct entry {
  std::int64_t version;
  std::int64_t id;
  const fake_row* row;
};

// Rows in (version, id) order.
std::vector<entry> ordered(const fake_rows& rows) {
  std::vector<entry> out;
  for (const auto& [id, row] : rows)
    out.push_back({row.version, id, &row});
  std::sort(out.begin(), out.end(),
            [](const entry& a, const entry& b) { return std::tie(a.version, a.id) <
                                                        std::tie(b.version, b.id); });
  return out;
}

bool after_position(const entry& e, const std::optional<storage::row_position>& after) {
  if (!after)
    return true;
  auto id = std::stoll(after->key.at(0));
  return std::tie(e.version, e.id) > std::tie(after->version, id);
}

storage::text_row text_of(const entry& e) {
  return {std::to_string(e.id), e.row->note, std::to_string(e.version)};
}

protocol::table_version summary_of(const fake_rows& rows) {
  protocol::table_version summary;
  summary.count = static_cast<std::int64_t>(rows.size());
  for (const auto& [id, row] : rows)
    summary.max_version = std::max(summary.max_version.value_or(row.version), row.version);
  return summary;
}

// The summary the server keeps, which misses rows written around the API.
protocol::table_version kept_summary(const fake_server& server, const fake_rows& rows) {
  if (server.uncounted_ids.empty())
    return summary_of(rows);
  fake_rows counted = rows;
  for (auto id : server.uncounted_ids)
    counted.erase(id);
  return summary_of(counted);
}

bool in_range(std::int64_t id, const protocol::key_range& range) {
  return (!range.from || id >= std::stoll(range.from->at(0))) &&
         (!range.to || id < std::stoll(range.to->at(0)));
}

// The fakes' rows as text cells: id, note, version.
std::vector<std::optional<std::string_view>> cells_of(const std::vector<std::string>& text) {
  return {text[0], text[1], text[2]};
}

const std::vector<protocol::column_type> fake_types{
  protocol::column_type::bigint, protocol::column_type::text, protocol::column_type::bigint};

actors::call_status failure(actors::call_result result, int status, std::string message) {
  actors::call_status out;
  out.result = result;
  out.http_status = status;
  out.message = std::move(message);
  return out;
}

} // namespace

void fake_site::put(const std::string& table, std::int64_t id, const std::string& note) {
  std::lock_guard lock{mutex};
  tables[table][id] = fake_row{note, ++counter};
}

std::int64_t fake_site::begin_transaction() {
  std::lock_guard lock{mutex};
  open_versions.insert(++counter);
  return counter;
}

void fake_site::commit(const std::string& table, std::int64_t id, const std::string& note,
                       std::int64_t version) {
  std::lock_guard lock{mutex};
  tables[table][id] = fake_row{note, version};
  open_versions.erase(version);
}

void fake_site::erase(const std::string& table, std::int64_t id) {
  std::lock_guard lock{mutex};
  tables[table].erase(id);
}

protocol::table_schema fake_source::describe(const std::string& table,
                                             const std::vector<std::string>&,
                                             const std::string& version_column,
                                             const std::optional<std::string>&,
                                             const std::vector<std::string>&) {
  std::lock_guard lock{site_->mutex};
  if (!site_->tables.count(table))
    throw storage::storage_error(storage::storage_errc::not_found, "no table " + table);
  return {{{"id", protocol::column_type::bigint, false},
           {"note", protocol::column_type::text, true},
           {version_column, protocol::column_type::bigint, false}},
          {"id"},
          version_column,
          std::nullopt,
          std::nullopt};
}

fake_source::fake_source(std::shared_ptr<fake_site> site) : site_(std::move(site)) {
  std::lock_guard lock{site_->mutex};
  site_->most_open_sources = std::max(site_->most_open_sources, ++site_->open_sources);
}

fake_source::~fake_source() {
  std::lock_guard lock{site_->mutex};
  --site_->open_sources;
}

protocol::table_version fake_source::summary(const std::string& table,
                                             const protocol::table_schema&) {
  if (site_->on_summary)
    site_->on_summary(table);
  std::lock_guard lock{site_->mutex};
  return summary_of(site_->tables[table]);
}

std::int64_t fake_source::safe_version() {
  // As SQLite's: one writer at a time, so every version up to the counter is
  // final; as PostgreSQL's while a transaction is open.
  std::lock_guard lock{site_->mutex};
  return site_->open_versions.empty() ? site_->counter + 1 : *site_->open_versions.begin();
}

std::vector<storage::text_row>
fake_source::read_rows(const std::string& table, const protocol::table_schema&,
                       const std::optional<storage::row_position>& after,
                       std::optional<std::int64_t> min_version, std::int64_t limit) {
  std::vector<storage::text_row> out;
  {
    std::lock_guard lock{site_->mutex};
    for (const auto& e : ordered(site_->tables[table])) {
      if (static_cast<std::int64_t>(out.size()) >= limit)
        break;
      if ((!min_version || e.version >= *min_version) && after_position(e, after))
        out.push_back(text_of(e));
    }
  }
  if (site_->on_read_rows)
    site_->on_read_rows(table);
  return out;
}

std::vector<storage::key_version>
fake_source::read_keys(const std::string& table, const protocol::table_schema&,
                       std::optional<std::int64_t> min_version,
                       std::optional<std::int64_t> max_version, std::int64_t limit,
                       const std::optional<storage::row_position>& after) {
  std::lock_guard lock{site_->mutex};
  std::vector<storage::key_version> out;
  for (const auto& e : ordered(site_->tables[table])) {
    if (static_cast<std::int64_t>(out.size()) >= limit)
      break;
    if ((!min_version || e.version >= *min_version) &&
        (!max_version || e.version <= *max_version) && after_position(e, after))
      out.push_back({{std::to_string(e.id)}, e.version});
  }
  return out;
}

std::vector<storage::text_row>
fake_source::read_rows_by_keys(const std::string& table, const protocol::table_schema&,
                               const std::vector<storage::key_cells>& keys) {
  std::lock_guard lock{site_->mutex};
  std::set<std::int64_t> wanted;
  for (const auto& key : keys)
    if (!key.empty())
      wanted.insert(std::stoll(key.front()));
  std::vector<storage::text_row> out;
  for (const auto& e : ordered(site_->tables[table]))
    if (wanted.count(e.id))
      out.push_back(text_of(e));
  return out;
}

void fake_source::scan_key_range(const std::string& table, const protocol::table_schema&,
                                 const std::optional<storage::key_cells>& from,
                                 const std::optional<storage::key_cells>& to,
                                 const std::function<bool(const storage::text_row&)>& visit) {
  std::vector<storage::text_row> rows;
  {
    std::lock_guard lock{site_->mutex};
    for (const auto& [id, row] : site_->tables[table])
      if (in_range(id, {from, to}))
        rows.push_back({std::to_string(id), row.note, std::to_string(row.version)});
  }
  for (const auto& row : rows)
    if (!visit(row))
      return;
}

int fake_server::total_calls() {
  std::lock_guard lock{mutex};
  int total = 0;
  for (const auto& [name, count] : calls)
    total += count;
  return total;
}

int fake_server::calls_of(const std::string& name) {
  std::lock_guard lock{mutex};
  return calls[name];
}

fake_rows fake_server::rows(const std::string& database_id, const std::string& table) {
  std::lock_guard lock{mutex};
  return databases[database_id][table];
}

actors::remote_answer<std::string> fake_remote::register_database(const std::string& name) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["register"];
  server_->databases["db-" + name];
  return {{}, "db-" + name};
}

actors::remote_answer<actors::table_listing> fake_remote::list_tables(const std::string& database_id,
                                                                     const std::string& report) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["list_tables"];
  server_->last_report = report;
  if (server_->transient_listings > 0) {
    --server_->transient_listings;
    return {failure(actors::call_result::transient, 503, "all connections busy"), {}};
  }
  if (server_->forget_unknown_databases && !server_->databases.count(database_id))
    return {failure(actors::call_result::failed, 404, "unknown database"), {}};
  std::map<std::string, protocol::table_version> out;
  for (const auto& [table, rows] : server_->databases[database_id])
    out.emplace(table, kept_summary(*server_, rows));
  return {{}, std::make_shared<const std::map<std::string, protocol::table_version>>(std::move(out))};
}

actors::remote_answer<std::optional<protocol::table_version>>
fake_remote::table_summary(const std::string& database_id, const std::string& table) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["table_summary"];
  auto& tables = server_->databases[database_id];
  if (!tables.count(table))
    return {};
  return {{}, kept_summary(*server_, tables[table])};
}

actors::remote_answer<std::vector<protocol::refused_column>>
fake_remote::declare_schema(const std::string& database_id, const std::string& table,
                            const protocol::table_schema&) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["declare_schema"];
  server_->databases[database_id][table];
  return {};
}

actors::remote_answer<protocol::table_version>
fake_remote::upload(const std::string& database_id, const std::string& table,
                    const std::string& body, bool recount) {
  auto rows = json::parse(body).at("rows").as_array();
  const std::int64_t first_id = rows.empty() ? 0 : rows.front().as_array().at(0).as_int64();
  {
    std::lock_guard lock{server_->mutex};
    ++server_->calls["upload"];
    server_->upload_first_ids.push_back(first_id);
    server_->most_uploads_in_flight =
      std::max(server_->most_uploads_in_flight, ++server_->uploads_in_flight);
  }
  if (server_->on_upload)
    server_->on_upload(first_id);
  std::lock_guard lock{server_->mutex};
  --server_->uploads_in_flight;
  if (server_->transient_uploads > 0) {
    --server_->transient_uploads;
    auto status = failure(actors::call_result::transient, 503, "all connections busy");
    status.retry_after = std::chrono::milliseconds(1);
    return {status, {}};
  }
  bool oversized = server_->max_upload_rows > 0 && rows.size() > server_->max_upload_rows;
  for (const auto& row : rows) {
    const auto id = row.as_array().at(0).as_int64();
    oversized = oversized || server_->oversized_ids.count(id) > 0;
    if (server_->failing_ids.count(id))
      return {failure(actors::call_result::failed, 401, "token revoked"), {}};
    if (auto found = server_->transient_ids.find(id);
        found != server_->transient_ids.end() && found->second > 0) {
      --found->second;
      return {failure(actors::call_result::transient, 503, "all connections busy"), {}};
    }
  }
  if (oversized)
    return {failure(actors::call_result::rejected, 413,
                    "request body is larger than max_body_bytes"),
            {}};
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (server_->poison_ids.count(rows[i].as_array().at(0).as_int64()))
      return {failure(actors::call_result::rejected, 400,
                      "row " + std::to_string(i) + ", column \"note\": poison"),
              {}};
  auto& stored = server_->databases[database_id][table];
  for (const auto& row : rows) {
    const auto& cells = row.as_array();
    stored[cells.at(0).as_int64()] =
      fake_row{cells.at(1).is_null() ? "" : std::string(cells.at(1).as_string()),
               cells.at(2).as_int64()};
  }
  server_->stored_first_ids.push_back(first_id);
  if (recount) {
    ++server_->recounting_uploads;
    server_->uncounted_ids.clear();  // as recount(): the summary now counts every row
  }
  return {{}, kept_summary(*server_, stored)};
}

actors::remote_answer<protocol::table_version>
fake_remote::upload_compressed(const std::string& database_id, const std::string& table,
                               const std::string& body, protocol::content_coding coding,
                               bool recount) {
  {
    std::lock_guard lock{server_->mutex};
    if (server_->refused_codings.count(coding) != 0) {
      ++server_->refused_coding_uploads;
      return {failure(actors::call_result::failed, 415,
                      "Content-Encoding \"" + std::string(protocol::header_value(coding)) +
                        "\" is not supported"),
              {}};
    }
  }
  auto plain = protocol::decompress(coding, body, std::size_t{1} << 30);
  if (!plain.ok())
    return {failure(actors::call_result::rejected, 400, plain.error), {}};
  {
    std::lock_guard lock{server_->mutex};
    ++(coding == protocol::content_coding::zstd ? server_->zstd_uploads
                                                : server_->gzipped_uploads);
  }
  return upload(database_id, table, plain.data, recount);
}

actors::remote_answer<std::int64_t> fake_remote::delete_rows(const std::string& database_id,
                                                             const std::string& table,
                                                             const std::string& body) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["delete"];
  auto request = json::parse(body).as_object();
  auto& stored = server_->databases[database_id][table];
  std::int64_t deleted = 0;
  if (request.contains("all")) {
    deleted = static_cast<std::int64_t>(stored.size());
    stored.clear();
  } else if (request.contains("above_version")) {
    auto above = request.at("above_version").as_int64();
    deleted = static_cast<std::int64_t>(
      std::erase_if(stored, [&](const auto& item) { return item.second.version > above; }));
  } else {
    for (const auto& key : request.at("keys").as_array())
      deleted += static_cast<std::int64_t>(stored.erase(key.as_array().at(0).as_int64()));
  }
  return {{}, deleted};
}

actors::remote_answer<actors::manifest_page>
fake_remote::manifest(const std::string& database_id, const std::string& table,
                      const protocol::table_schema& schema,
                      std::optional<std::int64_t> min_version,
                      std::optional<std::int64_t> max_version, std::int64_t limit,
                      const std::optional<std::string>& after) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["manifest"];
  // The same continuation form as the real store: (version, key) of the last entry.
  std::optional<storage::row_position> start;
  if (after) {
    auto cursor = protocol::decode_cursor(*after, schema);
    start = storage::row_position{cursor.version, cursor.key_text};
  }
  actors::manifest_page page;
  for (const auto& e : ordered(server_->databases[database_id][table])) {
    if ((min_version && e.version < *min_version) || (max_version && e.version > *max_version) ||
        !after_position(e, start))
      continue;
    if (static_cast<std::int64_t>(page.entries.size()) >= limit) {
      const auto& last = page.entries.back();
      page.next = protocol::encode_cursor(last.version, {json::value(std::stoll(last.key[0]))});
      break;
    }
    page.entries.push_back({e.version, {std::to_string(e.id)}});
  }
  server_->manifest_entries += static_cast<std::int64_t>(page.entries.size());
  return {{}, page};
}

actors::remote_answer<protocol::digest_answer>
fake_remote::digests(const std::string& database_id, const std::string& table,
                     const protocol::table_schema&, const protocol::digest_request& request) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["digests"];
  const auto& stored = server_->databases[database_id][table];
  auto text_of_row = [](std::int64_t id, const fake_row& row) {
    return std::vector<std::string>{std::to_string(id), row.note, std::to_string(row.version)};
  };
  protocol::digest_answer answer;
  answer.columns = request.columns;
  for (const auto& range : request.ranges) {
    protocol::row_digest digest;
    for (const auto& [id, row] : stored) {
      if (!in_range(id, range))
        continue;
      auto text = text_of_row(id, row);
      auto cells = cells_of(text);
      for (std::size_t i = 0; i < cells.size(); ++i)
        digest.add_cell(cells[i], fake_types[i]);
      digest.end_row();
    }
    auto count = digest.rows();
    answer.ranges.push_back({count, digest.finish()});
  }
  if (request.list) {
    auto after = request.list->after ? std::optional{std::stoll(request.list->after->at(0))}
                                     : std::nullopt;
    for (const auto& [id, row] : stored) {
      if (!in_range(id, request.list->range) || (after && id <= *after))
        continue;
      if (static_cast<std::int64_t>(answer.rows.size()) == request.list->limit) {
        answer.next = answer.rows.back().key;
        break;
      }
      auto text = text_of_row(id, row);
      answer.rows.push_back({{text[0]}, protocol::single_row_digest(cells_of(text), fake_types)});
    }
  }
  return {{}, answer};
}

actors::remote_answer<protocol::table_version> fake_remote::recount(const std::string& database_id,
                                                                    const std::string& table) {
  std::lock_guard lock{server_->mutex};
  ++server_->calls["recount"];
  server_->uncounted_ids.clear();
  return {{}, summary_of(server_->databases[database_id][table])};
}

actors::agent_hooks fake_hooks(std::shared_ptr<fake_server> server,
                               std::map<std::string, std::shared_ptr<fake_site>> sites) {
  actors::agent_hooks out;
  out.make_remote = [server] { return std::make_unique<fake_remote>(server); };
  out.open_source = [sites](const std::string& url) {
    return std::make_unique<fake_source>(sites.at(url));
  };
  out.retry = sync::retry_settings{std::chrono::milliseconds(1), std::chrono::milliseconds(5)};
  return out;
}

} // namespace tidesync::testing
