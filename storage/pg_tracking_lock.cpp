// One prepare or unprepare at a time per PostgreSQL database.
#include "storage/tracking_sql.hpp"

#include "storage/pg_tracking.hpp"

#include <pqxx/pqxx>

namespace tidesync::storage::detail {

namespace {

// The two-key advisory lock tidesync's version tracking takes: "tide", 1.
constexpr int lock_class = 0x74696465;
constexpr int lock_id = 1;

std::string holder_of_lock(pqxx::connection& conn) {
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec_params("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                             "AND classid = $1 AND objid = $2 AND objsubid = 2 AND database = "
                             "(SELECT oid FROM pg_database WHERE datname = current_database())",
                             lock_class, lock_id);
  return rows.empty() ? std::string{"a session that has let go since"}
                      : "pid " + rows[0][0].as<std::string>();
}

} // namespace

struct pg_tracking_lock::impl {
  explicit impl(const std::string& url) : conn{url} {}
  pqxx::connection conn;
};

pg_tracking_lock::pg_tracking_lock(const std::string& url) {
  auto label = pg_label(url);
  try {
    auto held = std::make_unique<impl>(url);
    pqxx::nontransaction tx{held->conn};
    auto locked = tx.exec_params("SELECT pg_try_advisory_lock($1, $2)", lock_class, lock_id)[0][0]
                    .as<bool>();
    tx.commit();
    if (!locked)
      throw storage_error(storage_errc::failed,
                          label + ": another tidesync prepare or unprepare is running on this "
                                  "database (" + holder_of_lock(held->conn) +
                                  "); run this one again once it has finished");
    impl_ = std::move(held);
  } catch (...) {
    rethrow_pg_error(label, "version tracking");
  }
}

// Closing the connection lets go of the lock.
pg_tracking_lock::~pg_tracking_lock() = default;

} // namespace tidesync::storage::detail
