#include "bench/copy_baseline.hpp"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <chrono>
#include <iostream>

namespace tidesync::bench {

namespace {

// Lines go to libpq in chunks of about this size, as the server sends them:
// large enough that the per-call cost vanishes.
constexpr std::size_t copy_chunk_bytes = 1 << 20;

void stream_text(pqxx::transaction_base& tx, const std::string& table, const std::string& text) {
  // tablewriter is deprecated, but its raw-line writer is the only public way
  // in libpqxx 6.4 to hand over many pre-rendered lines per call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter writer{tx, table};
#pragma GCC diagnostic pop
  std::size_t begin = 0;
  while (begin < text.size()) {
    auto end = text.size();
    if (end - begin > copy_chunk_bytes)
      end = text.find('\n', begin + copy_chunk_bytes) + 1;
    // write_raw_line adds the newline that ends the chunk.
    writer.write_raw_line(text.substr(begin, end - 1 - begin));
    begin = end;
  }
  writer.complete();
}

} // namespace

void create_table_like(const std::string& url, const std::string& table,
                       const std::string& model) {
  pqxx::connection connection{url};
  pqxx::work tx{connection};
  tx.exec("CREATE TABLE " + table + " (LIKE " + model + " INCLUDING ALL)");
  tx.commit();
}

void checkpoint(const std::string& url) {
  try {
    pqxx::connection connection{url};
    pqxx::nontransaction tx{connection};
    tx.exec("CHECKPOINT");
  } catch (const pqxx::insufficient_privilege&) {
    std::cerr << "upload_bench: no privilege for CHECKPOINT; figures may vary more\n";
  }
}

double timed_copy(const std::string& url, const std::string& table, const std::string& copy_text) {
  pqxx::connection connection{url};
  auto started = std::chrono::steady_clock::now();
  pqxx::work tx{connection};
  stream_text(tx, table, copy_text);
  tx.commit();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

std::string server_version(const std::string& url) {
  pqxx::connection connection{url};
  pqxx::nontransaction tx{connection};
  return tx.exec1("SHOW server_version")[0].as<std::string>();
}

std::int64_t tenant_row_count(const std::string& url, const std::string& table,
                              const std::string& client_id, const std::string& database_id) {
  pqxx::connection connection{url};
  pqxx::read_transaction tx{connection};
  return tx
      .exec_params1("SELECT count(*) FROM " + table + " WHERE client_id = $1 AND database_id = $2",
                    client_id, database_id)[0]
      .as<std::int64_t>();
}

} // namespace tidesync::bench
