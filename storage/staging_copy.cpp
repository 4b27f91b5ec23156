#include "storage/staging_copy.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/sql_names.hpp"

#include <pqxx/except>
#include <pqxx/tablewriter>

#include <regex>

namespace tidesync::storage {

namespace {

// Lines are sent in chunks of about this size: large enough that per-call
// overhead vanishes, small enough not to copy the whole batch again at once.
constexpr std::size_t copy_chunk_bytes = 1 << 20;

// Rendered lines are sent in chunks of about this size while the rest are
// checked: small, so PostgreSQL starts early and the last chunk's check is short.
constexpr std::size_t stream_chunk_bytes = 256 << 10;

std::vector<std::string> quoted_columns(const pqxx::transaction_base& tx,
                                        const copy_batch& batch) {
  std::vector<std::string> names;
  if (batch.tenant_columns)
    names = {"client_id", "database_id"};
  for (const auto& column : batch.columns)
    names.push_back(tx.quote_name(column.name));
  return names;
}

void create_staging(pqxx::transaction_base& tx, const copy_batch& batch) {
  std::string sql = std::string("CREATE TEMP TABLE ") + sql_names::staging_table + " (";
  if (batch.tenant_columns)
    sql += "client_id text, database_id uuid, ";
  for (std::size_t i = 0; i < batch.columns.size(); ++i)
    sql += (i == 0 ? "" : ", ") + tx.quote_name(batch.columns[i].name) + " "
           + std::string(protocol::type_name(batch.columns[i].type));
  tx.exec(sql + ") ON COMMIT DROP");
}

// tablewriter is deprecated in favour of stream_to, whose raw-line writer is
// private in libpqxx 6.4; raw lines are what lets us send many rows per call.
// It puts `table` and `columns` into the COPY statement as given.
// The pragma covers every use of it, down to stream_rendered.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
using raw_line_writer = pqxx::tablewriter;

// Sends text[begin, end) whose lines each end in '\n'; write_raw_line adds
// the one ending the chunk.
void send_lines(raw_line_writer& writer, const std::string& text, std::size_t begin,
                std::size_t end) {
  writer.write_raw_line(text.substr(begin, end - 1 - begin));
}

void stream_lines(pqxx::transaction_base& tx, const std::string& table,
                  const std::vector<std::string>& columns, const std::string& text) {
  raw_line_writer writer{tx, table, columns.begin(), columns.end()};
  std::size_t begin = 0;
  while (begin < text.size()) {
    auto end = text.size();
    if (end - begin > copy_chunk_bytes)
      end = text.find('\n', begin + copy_chunk_bytes) + 1;
    send_lines(writer, text, begin, end);
    begin = end;
  }
  writer.complete();
}

// Ends a COPY that will be rolled back, so the renderer's error is the one
// reported rather than whatever PostgreSQL makes of the partial data.
void abandon(raw_line_writer& writer) noexcept {
  try {
    writer.complete();
  } catch (const std::exception&) {
    // The transaction rolls back anyway.
  }
}

void stream_rendered(pqxx::transaction_base& tx, const std::string& table,
                     const std::vector<std::string>& columns, upload_renderer& renderer) {
  raw_line_writer writer{tx, table, columns.begin(), columns.end()};
  const auto& text = renderer.batch().copy_text;
  std::size_t sent = 0;
  try {
    while (renderer.render_some(stream_chunk_bytes)) {
      auto end = renderer.rendered_bytes();
      if (end != sent)
        send_lines(writer, text, sent, end);
      sent = end;
    }
    renderer.finish();
  } catch (...) {
    // A bad cell, or a body to be read again as a document.
    abandon(writer);
    throw;
  }
  writer.complete();
}
#pragma GCC diagnostic pop

// PostgreSQL's message without the "ERROR:" prefix, on one line, plus the row
// and column from its "COPY <table>, line N, column C" context.
std::string describe_copy_error(const std::string& what) {
  static const std::regex context(R"(COPY [^,]+, line (\d+)(?:, column (\w+))?)");
  auto message = what.substr(0, what.find('\n'));
  if (message.rfind("ERROR:", 0) == 0)
    message = message.substr(message.find_first_not_of(' ', 6));
  std::smatch match;
  if (!std::regex_search(what, match, context))
    return message;
  auto where = "row " + std::to_string(std::stoll(match[1].str()) - 1);
  if (match[2].matched)
    where += ", column " + protocol::json_fields::quoted(match[2].str());
  return where + ": " + message;
}

void copy_lines(pqxx::transaction_base& tx, const std::string& table, const copy_batch& batch) {
  if (batch.rows == 0)
    return;
  try {
    stream_lines(tx, table, quoted_columns(tx, batch), batch.copy_text);
  } catch (const pqxx::data_exception& e) {
    throw protocol::api_error(protocol::error_code::bad_request, describe_copy_error(e.what()));
  }
}

} // namespace

void copy_to_staging(pqxx::transaction_base& tx, const copy_batch& batch) {
  create_staging(tx, batch);
  copy_lines(tx, sql_names::staging_table, batch);
}

void copy_to_table(pqxx::transaction_base& tx, const std::string& target, const copy_batch& batch) {
  copy_lines(tx, target, batch);
}

void stream_to_table(pqxx::transaction_base& tx, const std::string& target,
                     upload_renderer& renderer) {
  if (renderer.empty()) {
    renderer.finish();
    return;
  }
  try {
    stream_rendered(tx, target, quoted_columns(tx, renderer.batch()), renderer);
  } catch (const pqxx::data_exception& e) {
    throw protocol::api_error(protocol::error_code::bad_request, describe_copy_error(e.what()));
  }
}

} // namespace tidesync::storage
