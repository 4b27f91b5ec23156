#include "storage/copy_batch.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_set>

namespace tidesync::storage {

namespace {

using protocol::api_error;
using protocol::error_code;
namespace jf = protocol::json_fields;

// A guess at the bytes of one rendered cell, so the buffer grows rarely.
constexpr std::size_t bytes_per_cell_estimate = 12;

[[noreturn]] void bad(std::string message) {
  throw api_error(error_code::bad_request, std::move(message));
}

std::string row_name(std::size_t row) {
  return "row " + std::to_string(row);
}

std::vector<protocol::column_def> batch_columns(const protocol::table_schema& schema,
                                                const boost::json::value& json) {
  const auto& names = jf::as_array(json, "columns");
  std::vector<protocol::column_def> columns;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto name = jf::as_string(names[i], jf::index_path("columns", i));
    const auto* column = schema.find(name);
    if (column == nullptr)
      bad("columns[" + std::to_string(i) + "]: unknown column " + jf::quoted(name));
    if (std::any_of(columns.begin(), columns.end(), [&](auto& c) { return c.name == name; }))
      bad("columns[" + std::to_string(i) + "]: column " + jf::quoted(name) + " appears twice");
    columns.push_back(*column);
    // The version column is never NULL: every batch is ordered by it.
    if (name == schema.version_column)
      columns.back().nullable = false;
  }
  auto has = [&](const std::string& name) {
    return std::any_of(columns.begin(), columns.end(), [&](auto& c) { return c.name == name; });
  };
  for (const auto& key : schema.key)
    if (!has(key))
      bad("columns: the key column " + jf::quoted(key) + " is missing");
  if (!has(schema.version_column))
    bad("columns: the version column " + jf::quoted(schema.version_column) + " is missing");
  return columns;
}

// Appends one cell to the line; `where` names the row for messages.
void append_cell(std::string& out, const boost::json::value& cell,
                 const protocol::column_def& column, protocol::utf8_state utf8,
                 const std::string& where) {
  bool appended = false;
  try {
    appended = protocol::append_copy_cell(out, cell, column.type, utf8);
  } catch (const api_error& e) {
    bad(where + ", column " + jf::quoted(column.name) + ": " + e.what());
  }
  if (appended)
    return;
  if (!column.nullable)
    bad(where + ", column " + jf::quoted(column.name) + ": null in a non-nullable column");
  out += "\\N";
}

// Finds two rows with the same key as rows are added. Keys are compared in
// their rendered text, one tab-joined string per row in a single buffer; the
// set holds row numbers, so it never points into a buffer that moved.
class duplicate_key_finder {
public:
  duplicate_key_finder() : seen_(0, key_hash{this}, key_equal{this}) {}
  duplicate_key_finder(const duplicate_key_finder&) = delete;
  duplicate_key_finder& operator=(const duplicate_key_finder&) = delete;

  /// Makes room for `rows` rows, so the set never rehashes.
  void reserve(std::size_t rows) {
    starts_.reserve(rows + 1);
    seen_.reserve(rows);
  }

  /// Appends one key cell of the row being added.
  void add_cell(std::string_view text) { keys_.append(text).push_back('\t'); }

  /// Ends the row being added; remembers the first repeat.
  void end_row() {
    auto row = starts_.size() - 1;
    auto [it, inserted] = seen_.insert(row);
    if (!inserted && !repeat_)
      repeat_ = row_name(row) + " has the same key as " + row_name(*it);
    starts_.push_back(keys_.size());
  }

  /// Throws naming both rows of the first repeated key.
  void check() const {
    if (repeat_)
      bad(*repeat_);
  }

private:
  std::string_view key(std::size_t row) const {
    return std::string_view(keys_).substr(starts_[row], starts_[row + 1] - starts_[row]);
  }

  std::string_view open_key(std::size_t row) const {
    return row + 1 < starts_.size() ? key(row) : std::string_view(keys_).substr(starts_[row]);
  }

  struct key_hash {
    const duplicate_key_finder* finder;
    std::size_t operator()(std::size_t row) const {
      return std::hash<std::string_view>{}(finder->open_key(row));
    }
  };

  struct key_equal {
    const duplicate_key_finder* finder;
    bool operator()(std::size_t a, std::size_t b) const {
      return finder->open_key(a) == finder->open_key(b);
    }
  };

  std::vector<std::size_t> starts_{0}; // where each row's key begins in keys_
  std::string keys_;
  std::unordered_set<std::size_t, key_hash, key_equal> seen_;
  std::optional<std::string> repeat_;
};

std::vector<bool> key_flags(const protocol::table_schema& schema,
                            const std::vector<protocol::column_def>& columns) {
  std::vector<bool> is_key;
  for (const auto& column : columns)
    is_key.push_back(std::find(schema.key.begin(), schema.key.end(), column.name)
                     != schema.key.end());
  return is_key;
}

std::string tenant_prefix(const std::string& client_id, const std::string& database_id) {
  std::string tenant;
  protocol::append_copy_escaped(tenant, client_id);
  tenant += '\t';
  protocol::append_copy_escaped(tenant, database_id);
  tenant += '\t';
  return tenant;
}

} // namespace

struct upload_renderer::state {
  copy_batch batch;
  std::string tenant;
  std::vector<bool> is_key; // per batch column
  const boost::json::array* rows = nullptr;
  duplicate_key_finder duplicates;

  void append_row(const boost::json::value& row, std::size_t index);
};

void upload_renderer::state::append_row(const boost::json::value& row, std::size_t index) {
  const auto* cells = row.if_array();
  auto where = row_name(index);
  auto width = batch.columns.size();
  if (cells == nullptr)
    bad(where + ": expected an array of " + std::to_string(width) + " values");
  if (cells->size() != width)
    bad(where + ": expected " + std::to_string(width) + " values, got "
        + std::to_string(cells->size()));
  auto& out = batch.copy_text;
  out += tenant;
  for (std::size_t i = 0; i < width; ++i) {
    if (i != 0)
      out += '\t';
    auto cell_start = out.size();
    // The body came from boost::json::parse, which has checked its UTF-8.
    append_cell(out, (*cells)[i], batch.columns[i], protocol::utf8_state::checked, where);
    if (is_key[i])
      duplicates.add_cell(std::string_view(out).substr(cell_start));
  }
  out += '\n';
  duplicates.end_row();
  ++batch.rows;
}

upload_renderer::upload_renderer(const protocol::table_schema& schema,
                                 const boost::json::value& body, const std::string& client_id,
                                 const std::string& database_id)
    : state_(std::make_unique<state>()) {
  const auto& object = jf::as_object(body, "body");
  jf::reject_unknown(object, {"columns", "rows"}, "body");
  auto& batch = state_->batch;
  batch.tenant_columns = true;
  state_->tenant = tenant_prefix(client_id, database_id);
  batch.columns = batch_columns(schema, jf::required(object, "columns", "body"));
  state_->is_key = key_flags(schema, batch.columns);
  state_->rows = &jf::as_array(jf::required(object, "rows", "body"), "rows");
  state_->duplicates.reserve(state_->rows->size());
  auto line_estimate = state_->tenant.size() + batch.columns.size() * bytes_per_cell_estimate;
  batch.copy_text.reserve(state_->rows->size() * line_estimate);
}

upload_renderer::~upload_renderer() = default;

bool upload_renderer::render_some(std::size_t min_bytes) {
  auto& batch = state_->batch;
  const auto& rows = *state_->rows;
  if (batch.rows == rows.size())
    return false;
  auto target = batch.copy_text.size() + min_bytes;
  while (batch.rows < rows.size() && batch.copy_text.size() < target)
    state_->append_row(rows[batch.rows], batch.rows);
  return true;
}

void upload_renderer::finish() {
  while (render_some(std::numeric_limits<std::size_t>::max())) {
  }
  state_->duplicates.check();
}

std::size_t upload_renderer::row_count() const {
  return state_->rows->size();
}

const copy_batch& upload_renderer::batch() const {
  return state_->batch;
}

copy_batch upload_renderer::take_batch() {
  return std::move(state_->batch);
}

copy_batch prepare_upload(const protocol::table_schema& schema, const boost::json::value& body,
                          const std::string& client_id, const std::string& database_id) {
  upload_renderer renderer(schema, body, client_id, database_id);
  renderer.finish();
  return renderer.take_batch();
}

copy_batch prepare_keys(const protocol::table_schema& schema, const boost::json::array& keys) {
  copy_batch batch;
  for (const auto& name : schema.key)
    batch.columns.push_back(*schema.find(name));
  for (auto& column : batch.columns)
    column.nullable = false;
  // Deletes are small: check UTF-8 again rather than trust the caller.
  constexpr auto utf8 = protocol::utf8_state::unchecked;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto where = jf::index_path("keys", i);
    const auto* cells = keys[i].if_array();
    if (cells == nullptr && batch.columns.size() == 1) {
      append_cell(batch.copy_text, keys[i], batch.columns[0], utf8, where);
    } else {
      if (cells == nullptr || cells->size() != batch.columns.size())
        bad(where + ": expected an array of " + std::to_string(batch.columns.size())
            + " key values");
      for (std::size_t c = 0; c < cells->size(); ++c) {
        if (c != 0)
          batch.copy_text += '\t';
        append_cell(batch.copy_text, (*cells)[c], batch.columns[c], utf8, where);
      }
    }
    batch.copy_text += '\n';
    ++batch.rows;
  }
  return batch;
}

} // namespace tidesync::storage
