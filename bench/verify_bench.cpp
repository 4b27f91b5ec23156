// verify_bench: how long `tidesync verify` takes on a table identical on both
// sides, as a ratio to one full read of the table on the slower side, both
// measured in one run on one cluster. See docs/benchmarks.md.
//
//   verify_bench --pg-url URL [--rows N]
#include "actors/digest_walk.hpp"
#include "actors/http_remote.hpp"
#include "bench/api_upload.hpp"
#include "bench/bench_database.hpp"
#include "bench/bench_rows.hpp"
#include "bench/copy_baseline.hpp"
#include "protocol/cell_codec.hpp"
#include "server/api_server.hpp"
#include "storage/source.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

using namespace tidesync;

constexpr std::int64_t default_rows = 1'000'000;
constexpr double target_seconds = 10;
constexpr double target_ratio = 2;
constexpr const char* client_id = "bench";
constexpr const char* table = "orders";
constexpr int usage_exit = 2;
constexpr int fetch_rows = 10'000;

struct bench_options {
  std::string pg_url;
  std::int64_t rows = default_rows;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "verify_bench: " << problem << "\nusage: verify_bench --pg-url URL [--rows N]\n";
  std::exit(usage_exit);
}

bench_options parse_options(int argc, char** argv) {
  bench_options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc)
      usage(flag == "--pg-url" || flag == "--rows" ? flag + " needs a value"
                                                   : "unknown option '" + flag + "'");
    std::string value = argv[++i];
    if (flag == "--pg-url") {
      options.pg_url = value;
    } else if (flag == "--rows") {
      char* end = nullptr;
      options.rows = std::strtoll(value.c_str(), &end, 10);
      if (*end != '\0' || options.rows <= 0)
        usage("--rows needs a positive integer, got '" + value + "'");
    } else {
      usage("unknown option '" + flag + "'");
    }
  }
  if (options.pg_url.empty())
    usage("--pg-url is required");
  return options;
}

double seconds_since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

// COPY text of the site's rows: bench_schema()'s columns, no tenant columns.
std::string site_copy_text(std::int64_t rows) {
  std::string text;
  for (std::int64_t i = 0; i < rows; ++i) {
    auto row = bench::make_row(i);
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c > 0)
        text.push_back('\t');
      if (row[c])
        protocol::append_copy_escaped(text, *row[c]);
      else
        text += "\\N";
    }
    text.push_back('\n');
  }
  return text;
}

void create_site_table(const std::string& url, const protocol::table_schema& schema) {
  std::string columns;
  for (const auto& column : schema.columns)
    columns += "\"" + column.name + "\" " + std::string(protocol::type_name(column.type)) +
               (column.nullable ? "" : " NOT NULL") + ", ";
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  tx.exec0("CREATE TABLE " + std::string(table) + " (" + columns + "PRIMARY KEY (\"" +
           schema.key.front() + "\"))");
  tx.commit();
}

/// One full read of the site table in key order, as a source reads it.
double site_read_seconds(const std::string& url, const protocol::table_schema& schema,
                         std::int64_t expected) {
  auto source = storage::open_source(url);
  auto started = std::chrono::steady_clock::now();
  std::int64_t rows = 0;
  source->scan_key_range(table, schema, std::nullopt, std::nullopt, [&](const auto&) {
    ++rows;
    return true;
  });
  auto seconds = seconds_since(started);
  if (rows != expected)
    throw std::runtime_error("the site read " + std::to_string(rows) + " rows");
  return seconds;
}

/// One full read of the tenant's rows in the store in key order, as the server reads them.
double store_read_seconds(const std::string& url, const bench::bench_tenant& tenant,
                          std::int64_t expected) {
  pqxx::connection conn{url};
  pqxx::read_transaction tx{conn};
  auto started = std::chrono::steady_clock::now();
  tx.exec0("DECLARE bench_read NO SCROLL CURSOR FOR SELECT * FROM tidesync_data.orders "
           "WHERE client_id = " + tx.quote(tenant.client_id) + " AND database_id = " +
           tx.quote(tenant.database_id) + "::uuid ORDER BY id");
  std::int64_t rows = 0;
  std::size_t bytes = 0;  // every field is looked at, as the digest does
  for (;;) {
    auto page = tx.exec("FETCH FORWARD " + std::to_string(fetch_rows) + " FROM bench_read");
    for (const auto& row : page)
      for (const auto& field : row)
        bytes += field.size();
    rows += static_cast<std::int64_t>(page.size());
    if (page.size() < static_cast<std::size_t>(fetch_rows))
      break;
  }
  auto seconds = seconds_since(started);
  if (rows != expected || bytes == 0)
    throw std::runtime_error("the store read " + std::to_string(rows) + " rows");
  return seconds;
}

int run(const bench_options& options) {
  bench::scratch_database store_db{options.pg_url};
  bench::scratch_database site_db{options.pg_url};
  config::server_config server_config;
  server_config.listen = {"127.0.0.1", 0};
  server_config.database = store_db.url();
  server_config.pool_size = 2;
  server::api_server server{server_config};
  auto port = server.start();
  bench::bench_tenant tenant{client_id, bench::create_client_token(store_db.url(), client_id), {}};
  auto client = bench::make_client(port, tenant.token, false);
  tenant.database_id = bench::register_database(client, client_id, "store-01");
  const auto schema = bench::bench_schema();
  bench::declare_table(client, tenant, table, schema);
  std::printf("verify_bench: %lld rows of %zu columns, PostgreSQL %s\n",
              static_cast<long long>(options.rows), schema.columns.size(),
              bench::server_version(options.pg_url).c_str());

  // The same rows on both sides, loaded with COPY before the clock.
  bench::timed_copy(store_db.url(), "tidesync_data.orders",
                    bench::render_copy_text(options.rows, client_id, tenant.database_id));
  create_site_table(site_db.url(), schema);
  bench::timed_copy(site_db.url(), table, site_copy_text(options.rows));
  for (const auto& url : {store_db.url(), site_db.url()}) {
    pqxx::connection conn{url};
    pqxx::nontransaction{conn}.exec0("VACUUM ANALYZE");
  }
  bench::checkpoint(options.pg_url);

  auto site_read = site_read_seconds(site_db.url(), schema, options.rows);
  auto store_read = store_read_seconds(store_db.url(), tenant, options.rows);

  auto source = storage::open_source(site_db.url());
  config::server_endpoint endpoint{"http://127.0.0.1:" + std::to_string(port), client_id,
                                   tenant.token, std::nullopt};
  actors::http_remote remote{endpoint, std::chrono::minutes(5)};
  actors::digest_walk walk{*source, table, schema, [&](const protocol::digest_request& request) {
                             auto answer = remote.digests(tenant.database_id, table, schema, request);
                             if (!answer.status.ok())
                               throw std::runtime_error(answer.status.message);
                             return answer.value;
                           }};
  auto started = std::chrono::steady_clock::now();
  auto result = walk.run(std::nullopt, 0);
  auto verify = seconds_since(started);
  server.stop();
  if (!result.diff.empty() || result.rows_compared != options.rows ||
      result.cloud_rows != options.rows)
    throw std::runtime_error("the copies were expected identical: " +
                             std::to_string(result.diff.size()) + " rows differ");

  auto slower = std::max(site_read, store_read);
  std::printf("\n  one full read, site (source, key order):  %6.2f s\n"
              "  one full read, store (tenant, key order): %6.2f s\n"
              "  verify (digests, %lld ranges):            %6.2f s\n",
              site_read, store_read, static_cast<long long>(result.ranges_compared), verify);
  std::printf("\nverify: %lld identical rows in %.1f s = %.2f × one read of the slower side "
              "(targets: < %.0f s: %s; ≤ %.0f×: %s)\n",
              static_cast<long long>(options.rows), verify, verify / slower, target_seconds,
              verify < target_seconds ? "met" : "NOT met", target_ratio,
              verify / slower <= target_ratio ? "met" : "NOT met");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "verify_bench: FAILED: " << e.what() << "\n";
    return 1;
  }
}
