#include "storage/copy_batch.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/upload_body_stream.hpp"

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

// A guess at the bytes of one rendered cell, until the first rows tell.
constexpr std::size_t bytes_per_cell_estimate = 12;
// Rows rendered before the text's final size is estimated from them.
constexpr std::size_t rows_before_sizing = 64;
// A body's text is read this much at a time.
constexpr std::size_t body_read_bytes = 64 << 10;

[[noreturn]] void bad(std::string message) {
  throw api_error(error_code::bad_request, std::move(message));
}

std::string row_name(std::size_t row) {
  return "row " + std::to_string(row);
}

std::vector<protocol::column_def> batch_columns(const protocol::table_schema& schema,
                                                const std::vector<std::string>& names) {
  std::vector<protocol::column_def> columns;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
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

std::vector<std::string> column_names(const boost::json::value& json) {
  const auto& names = jf::as_array(json, "columns");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out.push_back(jf::as_string(names[i], jf::index_path("columns", i)));
  return out;
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

struct upload_renderer::state : upload_body_stream::sink {
  copy_batch batch;
  std::string tenant;
  const protocol::table_schema* schema = nullptr;
  std::vector<bool> is_key; // per batch column
  const boost::json::array* rows = nullptr;      // a document's rows
  std::unique_ptr<upload_body_stream> stream;   // or a body's text, read as it renders
  duplicate_key_finder duplicates;
  bool sized = false;
  std::string where;         // the row being rendered, for messages
  std::size_t complete = 0;  // bytes of copy_text holding whole lines
  std::size_t handed = 0;    // `complete` when render_some last returned

  void set_columns(const std::vector<std::string>& names);
  void append_row(const boost::json::value& row, std::size_t index);
  void begin_row(std::size_t index);
  void append(std::size_t index, const boost::json::value& cell);
  void end_row();
  void size_from_first_rows(std::size_t expected_rows,
                            std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

  // upload_body_stream::sink. Whatever it throws sends the body to the
  // document reader, which names the row, so a wrong width needs no message.
  void columns(const std::vector<std::string>& names) override { set_columns(names); }
  void cell(std::size_t row, std::size_t column, const boost::json::value& value) override {
    if (column >= batch.columns.size())
      throw upload_body_stream::off_shape{};
    if (column == 0)
      begin_row(row);
    append(column, value);
  }
  void row_end(std::size_t, std::size_t cells) override {
    if (cells != batch.columns.size())
      throw upload_body_stream::off_shape{};
    end_row();
  }
};

void upload_renderer::state::set_columns(const std::vector<std::string>& names) {
  batch.columns = batch_columns(*schema, names);
  is_key = key_flags(*schema, batch.columns);
}

void upload_renderer::state::begin_row(std::size_t index) {
  where = row_name(index);
  batch.copy_text += tenant;
}

void upload_renderer::state::append(std::size_t index, const boost::json::value& cell) {
  auto& out = batch.copy_text;
  if (index != 0)
    out += '\t';
  auto cell_start = out.size();
  // Both readers of a body check its UTF-8 as they parse.
  append_cell(out, cell, batch.columns[index], protocol::utf8_state::checked, where);
  if (is_key[index])
    duplicates.add_cell(std::string_view(out).substr(cell_start));
}

void upload_renderer::state::end_row() {
  batch.copy_text += '\n';
  complete = batch.copy_text.size();
  duplicates.end_row();
  ++batch.rows;
}

void upload_renderer::state::append_row(const boost::json::value& row, std::size_t index) {
  const auto* cells = row.if_array();
  auto width = batch.columns.size();
  if (cells == nullptr)
    bad(row_name(index) + ": expected an array of " + std::to_string(width) + " values");
  if (cells->size() != width)
    bad(row_name(index) + ": expected " + std::to_string(width) + " values, got "
        + std::to_string(cells->size()));
  begin_row(index);
  for (std::size_t i = 0; i < width; ++i)
    append(i, (*cells)[i]);
  end_row();
}

// The whole batch's text is kept (an upsert needs it again): sized once from
// the first rows, a large batch is not copied each time it doubles. A body
// read from its text caps the guess by its size (`max_bytes`), so small
// first rows before huge ones cannot make it reserve many times the body.
void upload_renderer::state::size_from_first_rows(std::size_t expected_rows,
                                                  std::size_t max_bytes) {
  sized = true;
  auto per_row = batch.copy_text.size() / batch.rows;
  batch.copy_text.reserve(std::min(max_bytes, expected_rows * (per_row + per_row / 8)));
  duplicates.reserve(std::min(expected_rows, max_bytes / per_row + 1));
}

upload_renderer::upload_renderer(const protocol::table_schema& schema,
                                 const boost::json::value& body, const std::string& client_id,
                                 const std::string& database_id)
    : state_(std::make_unique<state>()) {
  const auto& object = jf::as_object(body, "body");
  jf::reject_unknown(object, {"columns", "rows"}, "body");
  auto& batch = state_->batch;
  batch.tenant_columns = true;
  state_->schema = &schema;
  state_->tenant = tenant_prefix(client_id, database_id);
  state_->set_columns(column_names(jf::required(object, "columns", "body")));
  state_->rows = &jf::as_array(jf::required(object, "rows", "body"), "rows");
  state_->duplicates.reserve(state_->rows->size());
  auto line_estimate = state_->tenant.size() + batch.columns.size() * bytes_per_cell_estimate;
  batch.copy_text.reserve(state_->rows->size() * line_estimate);
}

upload_renderer::upload_renderer(const protocol::table_schema& schema, body_text body,
                                 const std::string& client_id, const std::string& database_id)
    : state_(std::make_unique<state>()) {
  state_->batch.tenant_columns = true;
  state_->schema = &schema;
  state_->tenant = tenant_prefix(client_id, database_id);
  state_->stream = std::make_unique<upload_body_stream>(body.text, *state_);
  // Up to the first row, so that empty() can tell.
  while (state_->batch.rows == 0 && state_->stream->read_some(body_read_bytes)) {
  }
}

upload_renderer::~upload_renderer() = default;

bool upload_renderer::render_some(std::size_t min_bytes) {
  auto& st = *state_;
  auto& batch = st.batch;
  const auto room = std::numeric_limits<std::size_t>::max() - st.handed;
  const auto target = st.handed + std::min(min_bytes, room);
  if (auto* stream = st.stream.get()) {
    // A slice of text may end inside a row: only whole lines are handed on,
    // and lines rendered while the constructor looked for the first row too.
    if (stream->done() && st.handed == st.complete)
      return false;
    while (st.complete < target && stream->read_some(body_read_bytes)) {
      if (!st.sized && batch.rows >= rows_before_sizing) {
        // The rows still to come, estimated from the text the first ones took.
        auto bytes_per_row =
            static_cast<double>(stream->consumed()) / static_cast<double>(batch.rows);
        // At most twice the body: lines are about as long as their JSON,
        // longer only by the tenant columns, for rows of a few narrow cells.
        st.size_from_first_rows(
            static_cast<std::size_t>(static_cast<double>(stream->size()) / bytes_per_row) + 1,
            2 * stream->size());
      }
    }
  } else {
    const auto& rows = *st.rows;
    if (batch.rows == rows.size())
      return false;
    while (batch.rows < rows.size() && st.complete < target) {
      st.append_row(rows[batch.rows], batch.rows);
      if (!st.sized && batch.rows == rows_before_sizing)
        st.size_from_first_rows(rows.size());
    }
  }
  st.handed = st.complete;
  return true;
}

std::size_t upload_renderer::rendered_bytes() const {
  return state_->complete;
}

void upload_renderer::finish() {
  while (render_some(std::numeric_limits<std::size_t>::max())) {
  }
  state_->duplicates.check();
}

bool upload_renderer::empty() const {
  return state_->stream ? state_->batch.rows == 0 && state_->stream->done()
                        : state_->rows->empty();
}

std::size_t upload_renderer::row_count() const {
  return state_->stream ? state_->batch.rows : state_->rows->size();
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
