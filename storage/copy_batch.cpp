#include "storage/copy_batch.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <string_view>
#include <unordered_map>

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
                 const protocol::column_def& column, const std::string& where) {
  std::optional<std::string> text;
  try {
    text = protocol::cell_to_pg_text(cell, column.type);
  } catch (const api_error& e) {
    bad(where + ", column " + jf::quoted(column.name) + ": " + e.what());
  }
  if (!text) {
    if (!column.nullable)
      bad(where + ", column " + jf::quoted(column.name) + ": null in a non-nullable column");
    out += "\\N";
    return;
  }
  protocol::append_copy_escaped(out, *text);
}

// Finds two rows with the same key. Keys are compared in their rendered
// text, one tab-joined string per row in a single buffer.
class duplicate_key_finder {
public:
  explicit duplicate_key_finder(std::vector<std::size_t> key_positions)
    : positions_(std::move(key_positions)) {}

  /// Records the key of the line whose cells start at `line_start` of `copy_text`.
  void add(const std::string& copy_text, std::size_t line_start) {
    starts_.push_back(keys_.size());
    std::size_t field = 0, begin = line_start;
    for (std::size_t i = line_start;; ++i) {
      bool end = copy_text[i] == '\t' || copy_text[i] == '\n';
      if (end) {
        if (std::find(positions_.begin(), positions_.end(), field) != positions_.end())
          keys_.append(copy_text, begin, i - begin).push_back('\t');
        ++field;
        begin = i + 1;
      }
      if (copy_text[i] == '\n')
        break;
    }
  }

  /// Throws naming both rows when a key repeats.
  void check() const {
    std::unordered_map<std::string_view, std::size_t> seen;
    seen.reserve(starts_.size());
    for (std::size_t row = 0; row < starts_.size(); ++row) {
      auto end = row + 1 < starts_.size() ? starts_[row + 1] : keys_.size();
      std::string_view key(keys_.data() + starts_[row], end - starts_[row]);
      auto [it, inserted] = seen.emplace(key, row);
      if (!inserted)
        bad(row_name(row) + " has the same key as " + row_name(it->second));
    }
  }

private:
  std::vector<std::size_t> positions_;
  std::vector<std::size_t> starts_;
  std::string keys_;
};

std::vector<std::size_t> key_positions(const protocol::table_schema& schema,
                                       const std::vector<protocol::column_def>& columns) {
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (std::find(schema.key.begin(), schema.key.end(), columns[i].name) != schema.key.end())
      positions.push_back(i);
  return positions;
}

void append_row(copy_batch& batch, const boost::json::value& row, std::size_t index) {
  const auto* cells = row.if_array();
  auto where = row_name(index);
  if (cells == nullptr)
    bad(where + ": expected an array of " + std::to_string(batch.columns.size()) + " values");
  if (cells->size() != batch.columns.size())
    bad(where + ": expected " + std::to_string(batch.columns.size()) + " values, got "
        + std::to_string(cells->size()));
  for (std::size_t i = 0; i < cells->size(); ++i) {
    if (i != 0)
      batch.copy_text += '\t';
    append_cell(batch.copy_text, (*cells)[i], batch.columns[i], where);
  }
  batch.copy_text += '\n';
  ++batch.rows;
}

} // namespace

copy_batch prepare_upload(const protocol::table_schema& schema, const boost::json::value& body,
                          const std::string& client_id, const std::string& database_id) {
  const auto& object = jf::as_object(body, "body");
  jf::reject_unknown(object, {"columns", "rows"}, "body");
  copy_batch batch;
  batch.tenant_columns = true;
  std::string tenant;
  protocol::append_copy_escaped(tenant, client_id);
  tenant += '\t';
  protocol::append_copy_escaped(tenant, database_id);
  tenant += '\t';
  batch.columns = batch_columns(schema, jf::required(object, "columns", "body"));
  const auto& rows = jf::as_array(jf::required(object, "rows", "body"), "rows");
  batch.copy_text.reserve(rows.size()
                          * (tenant.size() + batch.columns.size() * bytes_per_cell_estimate));
  duplicate_key_finder duplicates(key_positions(schema, batch.columns));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    batch.copy_text += tenant;
    auto line_start = batch.copy_text.size();
    append_row(batch, rows[i], i);
    duplicates.add(batch.copy_text, line_start);
  }
  duplicates.check();
  return batch;
}

copy_batch prepare_keys(const protocol::table_schema& schema, const boost::json::array& keys) {
  copy_batch batch;
  for (const auto& name : schema.key)
    batch.columns.push_back(*schema.find(name));
  for (auto& column : batch.columns)
    column.nullable = false;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto where = jf::index_path("keys", i);
    const auto* cells = keys[i].if_array();
    if (cells == nullptr && batch.columns.size() == 1) {
      append_cell(batch.copy_text, keys[i], batch.columns[0], where);
    } else {
      if (cells == nullptr || cells->size() != batch.columns.size())
        bad(where + ": expected an array of " + std::to_string(batch.columns.size())
            + " key values");
      for (std::size_t c = 0; c < cells->size(); ++c) {
        if (c != 0)
          batch.copy_text += '\t';
        append_cell(batch.copy_text, (*cells)[c], batch.columns[c], where);
      }
    }
    batch.copy_text += '\n';
    ++batch.rows;
  }
  return batch;
}

} // namespace tidesync::storage
