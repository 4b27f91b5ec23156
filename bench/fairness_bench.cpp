// fairness_bench: how much one tenant uploading flat out slows another
// tenant's requests, as the ratio of the quiet tenant's p99 latency with the
// flood to its p99 alone, both measured in one run against one server and
// one cluster. The bound is 3×. See docs/benchmarks.md.
//
//   fairness_bench --pg-url URL [--seconds N] [--rate N] [--a-connections N]
//                  [--a-batch N] [--pool N] [--client-workers N] [--client-waiting N]
#include "bench/api_upload.hpp"
#include "bench/bench_database.hpp"
#include "bench/bench_rows.hpp"
#include "bench/copy_baseline.hpp"
#include "bench/tenant_load.hpp"
#include "server/api_server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

using namespace tidesync;

constexpr double bound_ratio = 3;
constexpr int default_seconds = 30;
constexpr double default_rate = 40;
constexpr int default_a_connections = 4;
constexpr std::int64_t default_a_batch = 10'000;
// Two workers: what a small deployment runs, and where sharing hurts most.
constexpr int default_pool_size = 2;
constexpr int waiting_per_worker = 4; // the server's default max_waiting
constexpr std::int64_t b_preload_rows = 20'000;
constexpr std::int64_t b_preload_batch = 10'000;
constexpr std::int64_t b_upload_rows = 100;
constexpr auto flood_start_timeout = std::chrono::seconds(120);
constexpr auto warm_up = std::chrono::seconds(3);
constexpr const char* table = "orders";
constexpr int usage_exit = 2;

struct bench_options {
  std::string pg_url;
  int seconds = default_seconds;
  double rate = default_rate;
  int a_connections = default_a_connections;
  std::int64_t a_batch = default_a_batch;
  int pool_size = default_pool_size;
  /// The server's max_workers_per_client and max_waiting_per_client; left
  /// out, the server derives them from the pool as it does from a config file.
  int client_workers = config::derived_from_pool;
  int client_waiting = config::derived_from_pool;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "fairness_bench: " << problem
            << "\nusage: fairness_bench --pg-url URL [--seconds N] [--rate N] [--a-connections N]"
               " [--a-batch N] [--pool N] [--client-workers N] [--client-waiting N]\n";
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
    if (i + 1 >= argc)
      usage(flag.starts_with("--") ? flag + " needs a value" : "unknown option '" + flag + "'");
    std::string value = argv[++i];
    if (flag == "--pg-url")
      options.pg_url = value;
    else if (flag == "--seconds")
      options.seconds = static_cast<int>(positive(flag, value));
    else if (flag == "--rate")
      options.rate = static_cast<double>(positive(flag, value));
    else if (flag == "--a-connections")
      options.a_connections = static_cast<int>(positive(flag, value));
    else if (flag == "--a-batch")
      options.a_batch = positive(flag, value);
    else if (flag == "--pool")
      options.pool_size = static_cast<int>(positive(flag, value));
    else if (flag == "--client-workers")
      options.client_workers = static_cast<int>(positive(flag, value));
    else if (flag == "--client-waiting")
      options.client_waiting = static_cast<int>(positive(flag, value));
    else
      usage("unknown option '" + flag + "'");
  }
  if (options.pg_url.empty())
    usage("--pg-url is required");
  return options;
}

config::server_config server_config_for(const bench_options& options, const std::string& url) {
  config::server_config config;
  config.listen = {"127.0.0.1", 0};
  config.database = url;
  config.pool_size = options.pool_size;
  config.max_waiting = waiting_per_worker * options.pool_size;
  config.max_workers_per_client = options.client_workers;
  config.max_waiting_per_client = options.client_waiting;
  return config;
}

/// The machine's 1, 5 and 15 minute load averages, as uptime prints them.
std::string load_average() {
  std::ifstream file{"/proc/loadavg"};
  std::string one, five, fifteen;
  if (!(file >> one >> five >> fifteen))
    return "unknown";
  return one + ", " + five + ", " + fifteen;
}

/// A client with its token, a registered database and the table declared.
bench::bench_tenant make_tenant(const std::string& url, std::uint16_t port,
                                const std::string& client_id) {
  bench::bench_tenant tenant{client_id, bench::create_client_token(url, client_id), {}};
  auto client = bench::make_client(port, tenant.token, false);
  tenant.database_id = bench::register_database(client, client_id, "store-01");
  bench::declare_table(client, tenant, table, bench::bench_schema());
  return tenant;
}

void print_row(const std::string& label, const bench::latency_summary& alone,
               const bench::latency_summary& with) {
  std::printf("  %-18s %6zu %7.1f %7.1f %7.1f   %6zu %7.1f %7.1f %7.1f   %6.2f×\n", label.c_str(),
              alone.count, alone.p50, alone.p99, alone.max, with.count, with.p50, with.p99,
              with.max, alone.p99 > 0 ? with.p99 / alone.p99 : 0.0);
}

void print_flood(const bench::flood_totals& before, const bench::flood_totals& after,
                 double seconds) {
  auto rows = after.rows_uploaded - before.rows_uploaded;
  std::printf("\n  tenant A while B was measured (%.1f s): %lld rows uploaded (%.0fk rows/s) in %lld"
              " uploads, %lld rows deleted in %lld deletes, %lld answered 503, %lld failed\n",
              seconds, static_cast<long long>(rows), static_cast<double>(rows) / seconds / 1000,
              static_cast<long long>(after.uploads - before.uploads),
              static_cast<long long>(after.rows_deleted - before.rows_deleted),
              static_cast<long long>(after.deletes - before.deletes),
              static_cast<long long>(after.refused - before.refused),
              static_cast<long long>(after.failures - before.failures));
  if (!after.first_failure.empty())
    std::printf("  tenant A's first failure: %s\n", after.first_failure.c_str());
}

// Prints the table and the verdict; true when the bound holds.
bool report(const bench::latency_record& alone, const bench::latency_record& with) {
  std::printf("\n  tenant B, ms        %6s %7s %7s %7s   %6s %7s %7s %7s   %7s\n", "alone", "p50",
              "p99", "max", "with A", "p50", "p99", "max", "p99 ×");
  for (const auto& route : alone.routes())
    print_row(route, alone.summary(route), with.summary(route));
  auto a = alone.summary(), w = with.summary();
  print_row("every request", a, w);
  for (const auto* record : {&alone, &with})
    if (record->failures() > 0)
      std::printf("  tenant B: %zu requests failed %s; first: %s\n", record->failures(),
                  record == &alone ? "alone" : "with A", record->first_failure().c_str());
  auto ratio = w.p99 / a.p99;
  bool holds = ratio <= bound_ratio && alone.failures() == 0 && with.failures() == 0;
  std::printf("\nfairness: tenant B's p99 with A uploading flat out %.1f ms vs. %.1f ms alone ="
              " %.2f× (bound ≤ %.0f×%s): %s\n",
              w.p99, a.p99, ratio, bound_ratio,
              with.failures() > 0 ? ", and none of B's requests may fail" : "",
              holds ? "PASS" : "FAIL");
  return holds;
}

int run(const bench_options& options) {
  bench::scratch_database database{options.pg_url};
  const auto& url = database.url();
  auto config = server_config_for(options, url);
  server::api_server server{config};
  auto port = server.start();
  auto quiet = make_tenant(url, port, "tenant_b");
  auto noisy = make_tenant(url, port, "tenant_a");
  {
    auto client = bench::make_client(port, quiet.token, true);
    auto preload = bench::render_upload_bodies(bench::bench_schema(), b_preload_rows,
                                               b_preload_batch);
    bench::timed_upload(client, quiet, table, preload.bodies);
  }
  auto client_workers = options.client_workers == config::derived_from_pool
                            ? config::client_workers_for(config.pool_size)
                            : options.client_workers;
  auto client_waiting = options.client_waiting == config::derived_from_pool
                            ? config::client_waiting_for(config.max_waiting)
                            : options.client_waiting;
  std::printf("fairness_bench: one server (pool %d workers, %d may wait; per client %d workers,"
              " %d waiting; %d I/O threads), PostgreSQL %s\n"
              "  tenant B: %.0f requests/s for %d s per phase, in turn: the database's summary GET,"
              " an upload of %lld new rows, a manifest GET of its latest 1000 versions\n"
              "  tenant A: %d connections uploading %lld-row batches back to back, each deleting"
              " its last 4 batches by key after every 4 uploads\n",
              config.pool_size, config.max_waiting, client_workers, client_waiting,
              config.io_threads,
              bench::server_version(url).c_str(), options.rate, options.seconds,
              static_cast<long long>(b_upload_rows), options.a_connections,
              static_cast<long long>(options.a_batch));
  std::fflush(stdout);

  bench::site_mix site{port, quiet, table, bench::bench_schema(), b_preload_rows, b_upload_rows};
  bench::upload_flood flood{port,    noisy, table, bench::bench_schema(), options.a_connections,
                            options.a_batch};
  bench::checkpoint(url);
  const std::chrono::seconds phase{options.seconds};
  // Tenant A's refusals are expected; one warning per refused request would drown the figures.
  spdlog::set_level(spdlog::level::err);
  // Unrecorded: the first requests pay for cold caches and plans, which
  // would flatter the flood's phase.
  site.run(options.rate, warm_up);
  std::printf("  phase 1: tenant B alone, %d s (load average %s)\n", options.seconds,
              load_average().c_str());
  std::fflush(stdout);
  auto alone = site.run(options.rate, phase);

  flood.start();
  if (!flood.wait_until_every_connection_uploaded(flood_start_timeout))
    throw std::runtime_error("tenant A's connections did not all get an upload through");
  std::printf("  phase 2: tenant B with tenant A uploading flat out, %d s (load average %s)\n",
              options.seconds, load_average().c_str());
  std::fflush(stdout);
  auto before = flood.totals();
  auto started = std::chrono::steady_clock::now();
  auto with = site.run(options.rate, phase);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto after = flood.totals();
  flood.stop();
  spdlog::set_level(spdlog::level::warn);

  auto client = bench::make_client(port, quiet.token, false);
  auto expected = b_preload_rows + site.rows_uploaded();
  if (bench::reported_count(client, quiet, table) != expected)
    throw std::runtime_error("tenant B's table does not hold the " + std::to_string(expected) +
                             " rows it uploaded");
  server.stop();
  print_flood(before, after, seconds);
  report(alone, with);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "fairness_bench: FAILED: " << e.what() << "\n";
    return 1;
  }
}
