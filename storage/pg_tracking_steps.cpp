// Runs version tracking steps on PostgreSQL so that no write of the site waits
// long on them: locks that conflict with writes are asked for with a short
// lock_timeout and retried, rows are versioned in short batches.
#include "storage/pg_tracking.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace tidesync::storage::detail {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

// A writer queues behind a lock request for at most this long; 150 ms keeps
// it far under the 1 s a site tolerates even when the retry comes back often.
constexpr milliseconds ddl_lock_timeout{150};
constexpr milliseconds first_backoff{100};
constexpr milliseconds max_backoff{5000};
// Each batch holds its rows' locks this long at most, about.
constexpr milliseconds batch_target{100};
constexpr std::int64_t first_batch_pages = 8;
constexpr std::int64_t max_batch_pages = 8192;
constexpr std::chrono::seconds progress_interval{2};
constexpr const char* lock_not_available = "55P03";
constexpr const char* insufficient_privilege = "42501";

double seconds_of(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string fixed(double value, int digits = 1) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  return out.str();
}

// Who holds a lock on the table now, oldest transaction first. Our own lock
// request is gone once lock_timeout fired, so pg_blocking_pids() of this
// backend would say nothing; the holders are what the operator can act on.
std::string lock_holders(pqxx::connection& conn, const std::string& table) {
  if (table.empty())
    return "another session";
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec_params(
    "SELECT l.pid, coalesce(a.state, '?'), "
    "coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0) AS age "
    "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.granted "
    "AND l.pid <> pg_backend_pid() GROUP BY 1, 2, 3 ORDER BY age DESC LIMIT 3",
    quote_identifier(table, "table"));
  if (rows.empty())
    return "a session that has let go since";
  std::string out;
  for (const auto& row : rows)
    out += (out.empty() ? "pid " : ", pid ") + row[0].as<std::string>() + " (" +
           row[1].as<std::string>() + ", transaction open " + row[2].as<std::string>() + " s)";
  return out;
}

milliseconds jittered(milliseconds base) {
  static thread_local std::minstd_rand random{std::random_device{}()};
  return base + milliseconds{std::uniform_int_distribution<long>{0, base.count() / 2}(random)};
}

// Runs `work` in a transaction whose locks are asked for with a short
// lock_timeout. On a timeout it says who holds the table and tries again
// after a growing pause: prepare waits behind a long application
// transaction instead of making every writer queue behind its lock request.
template <class Work>
void with_lock_retry(pqxx::connection& conn, const std::string& table,
                     const tracking_progress& progress, Work&& work) {
  auto backoff = first_backoff;
  for (;;) {
    try {
      pqxx::work tx{conn};
      tx.exec("SET LOCAL lock_timeout = '" + std::to_string(ddl_lock_timeout.count()) + "ms'");
      work(tx);
      tx.commit();
      return;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != lock_not_available)
        throw;
    }
    auto pause = jittered(backoff);
    progress(table, "waiting for a lock on " + (table.empty() ? "the database" : table) +
                      ", held by " + lock_holders(conn, table) + "; retrying in " +
                      fixed(pause.count() / 1000.0) + " s");
    std::this_thread::sleep_for(pause);
    backoff = std::min(backoff * 2, max_backoff);
  }
}

std::int64_t relation_pages(pqxx::connection& conn, const std::string& table) {
  pqxx::nontransaction tx{conn};
  return tx.exec_params("SELECT pg_relation_size(to_regclass($1)) / "
                        "current_setting('block_size')::bigint",
                        table)[0][0]
    .as<std::int64_t>();
}

// The page of some row still without a version: rows an application
// transaction held were skipped by their batch and need another pass.
std::optional<std::int64_t> first_unversioned_page(pqxx::connection& conn,
                                                   const tracking_step& step) {
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec(step.statements.at(1));
  if (rows.empty())
    return std::nullopt;
  return rows[0][0].as<std::int64_t>();
}

// The table's own triggers that the replica role turns off: the backfill must
// not fire them (an audit log or an updated_at would record a write the
// application never made). ENABLE REPLICA and ALWAYS ones are refused at
// planning, as the replica role would fire them.
std::vector<std::string> application_triggers(pqxx::connection& conn, const std::string& table) {
  pqxx::nontransaction tx{conn};
  std::vector<std::string> out;
  for (const auto& row : tx.exec_params(
         "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal "
         "AND tgenabled = 'O' AND tgname NOT IN ($2, $3) ORDER BY tgname",
         table, std::string{pg_trigger}, std::string{pg_notify_trigger}))
    out.push_back(row[0].as<std::string>());
  return out;
}

[[noreturn]] void refuse_replica_role(pqxx::connection& conn, const std::string& table,
                                      const std::vector<std::string>& triggers) {
  pqxx::nontransaction tx{conn};
  auto role = tx.exec("SELECT current_user")[0][0].as<std::string>();
  std::string names;
  for (const auto& name : triggers)
    names += (names.empty() ? "" : ", ") + name;
  throw storage_error(storage_errc::failed,
                      "table " + table + " has triggers of its own (" + names +
                        ") that giving existing rows a version must not fire, and role " + role +
                        " may not set session_replication_role to turn them off: run "
                        "GRANT SET ON PARAMETER session_replication_role TO " + role +
                        " as a superuser (PostgreSQL 15+), or prepare as a superuser");
}

class backfill {
public:
  backfill(pqxx::connection& conn, const tracking_step& step, const tracking_progress& progress)
    : conn_(conn), step_(step), progress_(progress),
      table_(quote_identifier(step.table, "table")) {}

  void run() {
    auto triggers = application_triggers(conn_, table_);
    replica_role_ = !triggers.empty();
    auto pages = relation_pages(conn_, table_);
    progress_(step_.table, "giving " + std::to_string(step_.rows) + " rows a version (" +
                             std::to_string(pages) + " pages) in short batches" +
                             (replica_role_ ? ", with the table's own triggers off" : ""));
    std::int64_t start = 0;
    auto pass_pause = first_backoff;
    for (;;) {
      if (start >= pages && (pages = relation_pages(conn_, table_)) <= start) {
        auto left = first_unversioned_page(conn_, step_);
        if (!left)
          break;
        progress_(step_.table, "another pass from page " + std::to_string(*left) +
                                 " for rows a transaction held");
        std::this_thread::sleep_for(jittered(pass_pause));
        pass_pause = std::min(pass_pause * 2, max_backoff);
        start = *left;
      }
      try {
        start = run_batch(start);
      } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() == insufficient_privilege && replica_role_)
          refuse_replica_role(conn_, step_.table, triggers);
        throw;
      }
      report(false);
    }
    report(true);
  }

private:
  // Versions the rows of pages [start, start + batch_pages_) and sizes the
  // next batch so it takes about batch_target. Returns the next page.
  std::int64_t run_batch(std::int64_t start) {
    auto end = start + batch_pages_;
    auto began = clock_type::now();
    with_lock_retry(conn_, step_.table, progress_, [&](pqxx::work& tx) {
      if (replica_role_)
        tx.exec("SET LOCAL session_replication_role = replica");
      done_ += tx.exec_params(step_.statements.at(0), "(" + std::to_string(start) + ",0)",
                              "(" + std::to_string(end) + ",0)")
                 .affected_rows();
    });
    auto took = clock_type::now() - began;
    if (took < batch_target / 2)
      batch_pages_ = std::min(batch_pages_ * 2, max_batch_pages);
    else if (took > batch_target)
      batch_pages_ = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(batch_pages_ * (seconds_of(batch_target) / seconds_of(took))));
    return end;
  }

  void report(bool finished) {
    auto now = clock_type::now();
    if (!finished && now - last_report_ < progress_interval)
      return;
    last_report_ = now;
    auto elapsed = std::max(seconds_of(now - began_), 0.001);
    auto rate = static_cast<double>(done_) / elapsed;
    if (finished) {
      progress_(step_.table, "gave " + std::to_string(done_) + " rows a version in " +
                               fixed(elapsed) + " s");
      return;
    }
    auto total = std::max(step_.rows, done_);
    auto left = rate > 0 ? static_cast<double>(total - done_) / rate : 0.0;
    progress_(step_.table, "versioned " + std::to_string(done_) + " of ~" +
                             std::to_string(total) + " rows (" +
                             fixed(100.0 * static_cast<double>(done_) /
                                   static_cast<double>(std::max<std::int64_t>(total, 1)),
                                   0) +
                             "%), " + fixed(rate, 0) + " rows/s, about " + fixed(left, 0) +
                             " s left");
  }

  pqxx::connection& conn_;
  const tracking_step& step_;
  const tracking_progress& progress_;
  std::string table_;
  bool replica_role_ = false;
  std::int64_t batch_pages_ = first_batch_pages;
  std::int64_t done_ = 0;
  clock_type::time_point began_ = clock_type::now();
  clock_type::time_point last_report_ = clock_type::now();
};

// Steps whose locks don't conflict with writes (a concurrent index build, a
// constraint validation) may wait as long as they need: a timeout would only
// throw their work away (a concurrent build would leave an invalid index).
void run_unbounded(pqxx::connection& conn, const tracking_step& step) {
  pqxx::nontransaction tx{conn};
  tx.exec("SET lock_timeout = 0");
  for (const auto& statement : step.statements)
    tx.exec(statement);
}

} // namespace

std::string pg_label(const std::string& url) {
  std::string label = "PostgreSQL database " + url.substr(url.rfind('/') + 1);
  return label.substr(0, label.find('?'));
}

void rethrow_pg_error(const std::string& label, std::string_view context) {
  try {
    throw;
  } catch (const storage_error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw storage_error(storage_errc::unavailable, label + ": " + e.what());
  } catch (const std::exception& e) {
    std::string message = e.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    throw storage_error(storage_errc::failed, label + ": " + std::string{context} + ": " + message);
  }
}

void run_pg_steps(const std::string& url, const std::vector<tracking_step>& steps,
                  const tracking_progress& progress) {
  auto label = pg_label(url);
  try {
    pqxx::connection conn{url};
    for (const auto& step : steps) {
      progress(step.table, step.summary);
      switch (step.mode) {
      case step_mode::transaction:
        with_lock_retry(conn, step.table, progress, [&](pqxx::work& tx) {
          for (const auto& statement : step.statements)
            tx.exec(statement);
        });
        break;
      case step_mode::unbounded:
        run_unbounded(conn, step);
        break;
      case step_mode::backfill:
        backfill{conn, step, progress}.run();
        break;
      }
    }
  } catch (...) {
    rethrow_pg_error(label, "version tracking");
  }
}

} // namespace tidesync::storage::detail
