// upload_bench: rows/s of uploads through the tidesync API as a ratio to
// PostgreSQL's COPY of the same rows into the same table layout, both
// measured in one run on one cluster. See docs/benchmarks.md.
//
//   upload_bench --pg-url URL [--rows N] [--batch N] [--no-gzip] [--phases]
#include "bench/api_upload.hpp"
#include "bench/bench_database.hpp"
#include "bench/bench_rows.hpp"
#include "bench/copy_baseline.hpp"
#include "bench/server_phases.hpp"
#include "server/api_server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using namespace tidesync;

constexpr std::int64_t default_rows = 1'000'000;
constexpr std::int64_t default_batch_rows = 50'000;
constexpr double target_ratio = 0.5;
// Two workers: what a small deployment runs; one agent table uses one at a time.
constexpr int bench_pool_size = 2;
// Above the 64 MiB default so that --batch can try larger batches.
constexpr std::uint64_t bench_max_body_bytes = 1ull << 30;
constexpr const char* client_id = "bench";
constexpr const char* data_schema = "tidesync_data";
constexpr const char* plain_table = "orders";
constexpr const char* gzip_table = "orders_gzip";
constexpr const char* copy_table = "orders_copy";
constexpr const char* phases_table = "orders_phases";
constexpr int usage_exit = 2;

struct bench_options {
  std::string pg_url;
  std::int64_t rows = default_rows;
  std::int64_t batch_rows = default_batch_rows;
  bool gzip = true;
  bool phases = false;
};

/// One timed section's outcome.
struct measurement {
  std::string label;
  double seconds = 0;
  /// For uploads through the API: the part the server spent between a
  /// complete request and its response.
  std::optional<double> server_seconds;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "upload_bench: " << problem
            << "\nusage: upload_bench --pg-url URL [--rows N] [--batch N] [--no-gzip] [--phases]\n";
  std::exit(usage_exit);
}

std::int64_t positive(const std::string& flag, const std::string& text) {
  try {
    std::size_t used = 0;
    auto value = std::stoll(text, &used);
    if (used == text.size() && value > 0)
      return value;
  } catch (const std::exception&) {
  }
  usage(flag + " needs a positive integer, got '" + text + "'");
}

bench_options parse_options(int argc, char** argv) {
  bench_options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&] {
      if (i + 1 >= argc)
        usage(flag + " needs a value");
      return std::string(argv[++i]);
    };
    if (flag == "--pg-url")
      options.pg_url = value();
    else if (flag == "--rows")
      options.rows = positive(flag, value());
    else if (flag == "--batch")
      options.batch_rows = positive(flag, value());
    else if (flag == "--no-gzip")
      options.gzip = false;
    else if (flag == "--phases")
      options.phases = true;
    else
      usage("unknown option '" + flag + "'");
  }
  if (options.pg_url.empty())
    usage("--pg-url is required");
  return options;
}

std::string qualified(const std::string& table) {
  return std::string(data_schema) + ".\"" + table + "\"";
}

double seconds_since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

std::string rate(double rows, double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0fk", rows / seconds / 1000);
  return text;
}

double mebibytes(std::size_t bytes) {
  return static_cast<double>(bytes) / (1 << 20);
}


config::server_config server_config_for(const std::string& url) {
  config::server_config config;
  config.listen = {"127.0.0.1", 0};
  config.database = url;
  config.data_schema = data_schema;
  config.pool_size = bench_pool_size;
  config.max_waiting = 4 * bench_pool_size;
  config.max_body_bytes = bench_max_body_bytes;
  return config;
}

measurement measure_copy(const bench_options& options, const std::string& url,
                         const std::string& database_id) {
  auto started = std::chrono::steady_clock::now();
  auto text = bench::render_copy_text(options.rows, client_id, database_id);
  std::printf("  COPY text:   %7.1f MiB, rendered in %5.2f s (before the clock)\n",
              mebibytes(text.size()), seconds_since(started));
  bench::checkpoint(url);
  return {"COPY (baseline)", bench::timed_copy(url, qualified(copy_table), text), std::nullopt};
}

measurement measure_api(const std::string& url, std::uint16_t port,
                        const bench::bench_tenant& tenant, const std::string& table,
                        const std::vector<std::string>& bodies, bool gzip) {
  auto client = bench::make_client(port, tenant.token, gzip);
  bench::checkpoint(url);
  auto server_before = bench::server_upload_seconds(client);
  auto seconds = bench::timed_upload(client, tenant, table, bodies);
  return {gzip ? "API, gzip on" : "API, gzip off", seconds,
          bench::server_upload_seconds(client) - server_before};
}

// Fails loudly unless the tenant's copy holds exactly `rows` rows, counted
// both with a scan and from the server's maintained summary.
void verify(const std::string& url, std::uint16_t port, const bench::bench_tenant& tenant,
            const std::string& table, std::int64_t rows, bool through_api) {
  auto counted = bench::tenant_row_count(url, qualified(table), tenant.client_id,
                                         tenant.database_id);
  if (counted != rows)
    throw std::runtime_error(table + " holds " + std::to_string(counted) + " rows, expected " +
                             std::to_string(rows));
  if (!through_api)
    return;
  auto client = bench::make_client(port, tenant.token, false);
  auto reported = bench::reported_count(client, tenant, table);
  if (reported != rows)
    throw std::runtime_error("the server reports " + std::to_string(reported) + " rows in " +
                             table + ", expected " + std::to_string(rows));
}

void print_results(const bench_options& options, const std::vector<measurement>& results) {
  const auto rows = static_cast<double>(options.rows);
  const auto copy_seconds = results.front().seconds;
  std::printf("\n  %-16s %9s %9s %9s %8s %10s\n", "", "rows", "seconds", "rows/s", "vs COPY",
              "in server");
  for (const auto& r : results) {
    char server[16] = "";
    if (r.server_seconds)
      std::snprintf(server, sizeof server, "%.2f", *r.server_seconds);
    std::printf("  %-16s %9lld %9.2f %9s %8.2f %10s\n", r.label.c_str(),
                static_cast<long long>(options.rows), r.seconds, rate(rows, r.seconds).c_str(),
                copy_seconds / r.seconds, server);
  }
  const auto& api = results[1];
  const auto ratio = copy_seconds / api.seconds;
  std::printf("\nupload via API: %lld rows in %.1f s (%s rows/s) = %.2f × COPY (target ≥ %.1f: %s)\n",
              static_cast<long long>(options.rows), api.seconds, rate(rows, api.seconds).c_str(),
              ratio, target_ratio, ratio >= target_ratio ? "met" : "NOT met");
}

// Where the API's time goes: the bodies' transfer alone, then the server's
// steps replayed in this thread on the same bodies.
void print_phases(const bench::phase_times& phases, double transfer, const measurement& api) {
  auto sum = transfer + phases.parse + phases.validate + phases.copy;
  std::printf("  the API's steps, each timed alone on the same bodies (--phases):\n"
              "    transfer to the server %.2f s, JSON parse %.2f s,"
              " validate + render COPY text %.2f s, COPY + commit %.2f s;\n"
              "    sum %.2f s of the API's %.2f s (the difference, %.2f s, is auth, summary and"
              " hand-offs, plus noise)\n",
              transfer, phases.parse, phases.validate, phases.copy, sum, api.seconds,
              api.seconds - sum);
}

void measure_phases(const std::string& url, std::uint16_t port, const bench::bench_tenant& tenant,
                    const std::vector<std::string>& bodies, const measurement& api) {
  auto client = bench::make_client(port, tenant.token, false);
  // The server logs each refused request; these are refused on purpose.
  spdlog::set_level(spdlog::level::err);
  auto transfer = bench::timed_transfer(client, tenant, phases_table, bodies);
  spdlog::set_level(spdlog::level::warn);
  auto phases = bench::replay_server_phases(url, qualified(phases_table), bench::bench_schema(),
                                            tenant.client_id, tenant.database_id, bodies);
  print_phases(phases, transfer, api);
}

std::vector<measurement> measure_all(const bench_options& options, const std::string& url,
                                     std::uint16_t port, const bench::bench_tenant& tenant) {
  std::vector<measurement> results;
  results.push_back(measure_copy(options, url, tenant.database_id));
  auto rendered = bench::render_upload_bodies(bench::bench_schema(), options.rows,
                                              options.batch_rows);
  std::size_t json_bytes = 0;
  for (const auto& body : rendered.bodies)
    json_bytes += body.size();
  std::printf("  JSON bodies: %7.1f MiB in %zu batches, rendered in %5.2f s (before the clock,"
              " as the agent does: actors::upload_body)\n",
              mebibytes(json_bytes), rendered.bodies.size(), rendered.render_seconds);
  results.push_back(measure_api(url, port, tenant, plain_table, rendered.bodies, false));
  if (options.gzip)
    results.push_back(measure_api(url, port, tenant, gzip_table, rendered.bodies, true));
  if (options.phases)
    measure_phases(url, port, tenant, rendered.bodies, results[1]);
  return results;
}

int run(const bench_options& options) {
  bench::scratch_database database{options.pg_url};
  const auto& url = database.url();
  server::api_server server{server_config_for(url)};
  auto port = server.start();
  bench::bench_tenant tenant{client_id, bench::create_client_token(url, client_id), {}};
  auto client = bench::make_client(port, tenant.token, false);
  tenant.database_id = bench::register_database(client, client_id, "store-01");
  const auto schema = bench::bench_schema();
  bench::declare_table(client, tenant, plain_table, schema);
  if (options.gzip)
    bench::declare_table(client, tenant, gzip_table, schema);
  if (options.phases)
    bench::declare_table(client, tenant, phases_table, schema);
  bench::create_table_like(url, qualified(copy_table), qualified(plain_table));

  std::printf("upload_bench: %lld rows of %zu columns (version included), batches of %lld rows, PostgreSQL %s\n",
              static_cast<long long>(options.rows), schema.columns.size(),
              static_cast<long long>(options.batch_rows), bench::server_version(url).c_str());
  auto results = measure_all(options, url, port, tenant);
  verify(url, port, tenant, copy_table, options.rows, false);
  verify(url, port, tenant, plain_table, options.rows, true);
  if (options.gzip)
    verify(url, port, tenant, gzip_table, options.rows, true);
  if (options.phases)
    verify(url, port, tenant, phases_table, options.rows, false);
  server.stop();
  print_results(options, results);
  std::printf("verified: every table holds exactly %lld rows for the tenant\n",
              static_cast<long long>(options.rows));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  // The server's per-request info lines would drown the figures.
  spdlog::set_level(spdlog::level::warn);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "upload_bench: FAILED: " << e.what() << "\n";
    return 1;
  }
}
