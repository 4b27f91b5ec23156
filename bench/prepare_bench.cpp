// prepare_bench: how long the site's own writes wait while `tidesync prepare`
// installs version tracking on a big PostgreSQL table. An application writer
// updates one random row every 50 ms on its own connection throughout; the
// report puts its longest wait and p99 next to prepare's duration, for:
//
//   single-transaction   what prepare did before: column, backfill, NOT NULL
//                        and index in one transaction (the baseline)
//   new-column           online prepare of a table without a version column
//   backfill             online prepare of a table whose nullable version
//                        column has no versions yet (batched backfill)
//   held                 backfill, with an application transaction holding
//                        the table --hold seconds when prepare starts
//
// scripts/bench-prepare builds and runs it.
#include "bench/bench_database.hpp"
#include "bench/latency_record.hpp"
#include "storage/version_tracking.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace tidesync;
using clock_type = std::chrono::steady_clock;

constexpr std::chrono::milliseconds write_interval{50};

struct options {
  std::string pg_url;
  std::int64_t rows = 2000000;
  int hold_seconds = 10;
  std::vector<std::string> modes{"single-transaction", "new-column", "backfill", "held"};
};

options parse(int argc, char** argv) {
  options out;
  std::vector<std::string> modes;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--pg-url")
      out.pg_url = value();
    else if (arg == "--rows")
      out.rows = std::stoll(value());
    else if (arg == "--hold")
      out.hold_seconds = std::stoi(value());
    else if (arg == "--mode")
      modes.push_back(value());
    else
      throw std::invalid_argument("unknown option " + arg);
  }
  if (out.pg_url.empty())
    throw std::invalid_argument("--pg-url is required");
  if (!modes.empty())
    out.modes = modes;
  return out;
}

double ms_since(clock_type::time_point since) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - since).count();
}

/// The application: one UPDATE of a random row (never row 1) every 50 ms.
class app_writer {
public:
  app_writer(const std::string& url, std::int64_t rows)
    : thread_([this, url, rows] { run(url, rows); }) {}
  ~app_writer() { stop(); }
  bench::latency_summary stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
    return bench::summarise(samples_);
  }

private:
  void run(const std::string& url, std::int64_t rows) {
    pqxx::connection conn{url};
    std::mt19937_64 random{42};
    std::uniform_int_distribution<std::int64_t> pick{2, rows};
    while (!stop_) {
      auto began = clock_type::now();
      pqxx::nontransaction tx{conn};
      tx.exec("UPDATE bench_orders SET note = md5(random()::text) WHERE id = " +
              std::to_string(pick(random)));
      samples_.push_back(ms_since(began));
      std::this_thread::sleep_until(began + write_interval);
    }
  }

  std::atomic<bool> stop_{false};
  std::vector<double> samples_;
  std::thread thread_;
};

void create_table(const std::string& url, std::int64_t rows, bool nullable_column) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  tx.exec("CREATE TABLE bench_orders (id int PRIMARY KEY, customer int NOT NULL, "
          "note text NOT NULL, amount numeric(12,2) NOT NULL" +
          std::string{nullable_column ? ", tidesync_version bigint" : ""} + ")");
  tx.exec("INSERT INTO bench_orders (id, customer, note, amount) SELECT g, g % 5000, "
          "md5(g::text), (g % 100000) / 100.0 FROM generate_series(1, " +
          std::to_string(rows) + ") g");
  tx.exec("VACUUM ANALYZE bench_orders");
}

// What `tidesync prepare` ran before it went online, as it ran it.
void prepare_in_one_transaction(const std::string& url) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  tx.exec("CREATE OR REPLACE FUNCTION bench_set_version() RETURNS trigger LANGUAGE plpgsql AS "
          "$$ BEGIN NEW.tidesync_version := pg_current_xact_id()::text::bigint; RETURN NEW; "
          "END $$");
  tx.exec("ALTER TABLE bench_orders ADD COLUMN tidesync_version bigint");
  tx.exec("CREATE TRIGGER tidesync_version BEFORE INSERT OR UPDATE ON bench_orders FOR EACH "
          "ROW EXECUTE FUNCTION bench_set_version()");
  tx.exec("UPDATE bench_orders SET tidesync_version = pg_current_xact_id()::text::bigint "
          "WHERE tidesync_version IS NULL");
  tx.exec("ALTER TABLE bench_orders ALTER COLUMN tidesync_version SET NOT NULL");
  tx.exec("CREATE INDEX tidesync_bench_orders_version ON bench_orders (tidesync_version, id)");
  tx.commit();
}

void run_mode(const options& opts, const std::string& mode) {
  bench::scratch_database db{opts.pg_url};
  create_table(db.url(), opts.rows, mode == "backfill" || mode == "held");
  app_writer writer{db.url(), opts.rows};
  std::this_thread::sleep_for(std::chrono::seconds{1});  // the writer's own baseline

  std::unique_ptr<pqxx::connection> app;
  std::unique_ptr<pqxx::work> held;
  if (mode == "held") {
    app = std::make_unique<pqxx::connection>(db.url());
    held = std::make_unique<pqxx::work>(*app);
    held->exec("UPDATE bench_orders SET note = 'held' WHERE id = 1");
  }
  std::thread release;
  if (held)
    release = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::seconds{opts.hold_seconds});
      held->commit();
    });

  auto began = clock_type::now();
  if (mode == "single-transaction")
    prepare_in_one_transaction(db.url());
  else
    storage::apply_version_tracking(db.url(), {{"bench_orders", {}, "tidesync_version", {}}});
  auto took = ms_since(began) / 1000.0;
  if (release.joinable())
    release.join();
  std::this_thread::sleep_for(std::chrono::seconds{1});
  auto waits = writer.stop();
  std::printf("%-19s %9lld rows  prepare %7.1f s  writer: %5zu writes, p99 %7.1f ms, "
              "longest %7.1f ms\n",
              mode.c_str(), static_cast<long long>(opts.rows), took, waits.count, waits.p99,
              waits.max);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  try {
    auto opts = parse(argc, argv);
    std::printf("prepare_bench: one UPDATE of a random row every %lld ms during prepare; "
                "held: a transaction holds the table %d s\n",
                static_cast<long long>(write_interval.count()), opts.hold_seconds);
    for (const auto& mode : opts.modes)
      run_mode(opts, mode);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "prepare_bench: " << e.what() << "\n";
    return 1;
  }
}
