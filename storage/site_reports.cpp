// The fleet view's side of postgres_store: site contacts saved in batches,
// the fleet gauges, the tenants listing.
#include "storage/postgres_store.hpp"

#include "storage/store_connection.hpp"

#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <pqxx/except>

namespace tidesync::storage {

namespace {

std::optional<double> epoch_seconds(
  const std::optional<std::chrono::system_clock::time_point>& at) {
  if (!at)
    return std::nullopt;
  return std::chrono::duration<double>(at->time_since_epoch()).count();
}

template <class T> std::optional<T> optional_of(const pqxx::field& field) {
  if (field.is_null())
    return std::nullopt;
  return field.as<T>();
}

} // namespace

std::size_t postgres_store::save_site_contacts(const std::vector<site_contact>& contacts) {
  if (contacts.empty())
    return 0;
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    std::size_t refused = 0;
    for (const auto& contact : contacts) {
      const auto& report = contact.report;
      std::optional<std::int64_t> tables, not_equal, lag_versions;
      std::optional<double> lag_seconds;
      std::optional<std::string> lagging;
      if (report) {
        tables = report->tables;
        not_equal = report->not_equal;
        lag_seconds = report->lag_seconds;
        lag_versions = report->lag_versions;
        lagging = protocol::lagging_text(report->lagging);
      }
      // One contact the store refuses (what no report should carry) is left
      // out; it must not keep every other site's contact from being saved.
      // A contact without a listing (an upload only) keeps the last report.
      tx.exec0("SAVEPOINT site_contact");
      try {
        tx.exec_params(
          "INSERT INTO tidesync.site_reports AS r (client_id, database_id, last_contact,"
          " last_upload, agent_version, tables, tables_not_equal, lag_seconds, lag_versions,"
          " lagging)"
          " VALUES ($1, $2::uuid, to_timestamp(coalesce($3::float8, $4::float8)),"
          " to_timestamp($4::float8), $5, $6::integer, $7::integer, $8::float8, $9::bigint,"
          " $10::text)"
          " ON CONFLICT (client_id, database_id) DO UPDATE SET"
          " last_contact = greatest(r.last_contact, excluded.last_contact),"
          " last_upload = greatest(r.last_upload, excluded.last_upload),"
          " agent_version = CASE WHEN excluded.agent_version = '' THEN r.agent_version"
          "   ELSE excluded.agent_version END,"
          " tables = coalesce(excluded.tables, r.tables),"
          " tables_not_equal = coalesce(excluded.tables_not_equal, r.tables_not_equal),"
          " lag_seconds = coalesce(excluded.lag_seconds, r.lag_seconds),"
          " lag_versions = coalesce(excluded.lag_versions, r.lag_versions),"
          " lagging = coalesce(excluded.lagging, r.lagging)",
          contact.client_id, contact.database_id, epoch_seconds(contact.listed_at),
          epoch_seconds(contact.uploaded_at), contact.agent_version, tables, not_equal,
          lag_seconds, lag_versions, lagging);
        tx.exec0("RELEASE SAVEPOINT site_contact");
      } catch (const pqxx::data_exception&) {
        tx.exec0("ROLLBACK TO SAVEPOINT site_contact");
        ++refused;
      }
    }
    tx.commit();
    return refused;
  });
}

fleet_summary postgres_store::summarize_fleet(std::chrono::seconds seen,
                                              std::chrono::seconds silent) {
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    fleet_summary out;
    const auto seen_s = static_cast<double>(seen.count());
    const auto silent_s = static_cast<double>(silent.count());
    // A database's reported tables not in sync count at most as many as it
    // declared: a site's report cannot inflate the fleet's figure.
    auto counts = tx.exec_params(
      "WITH sites AS (SELECT r.client_id, max(r.last_contact) AS last_contact,"
      "   sum(least(coalesce(r.tables_not_equal, 0),"
      "     (SELECT count(*) FROM tidesync.tenant_tables t"
      "       WHERE t.client_id = r.client_id AND t.database_id = r.database_id))) AS not_equal"
      "   FROM tidesync.site_reports r GROUP BY r.client_id)"
      " SELECT count(*) FILTER (WHERE last_contact > now() - make_interval(secs => $1)),"
      "  count(*) FILTER (WHERE last_contact <= now() - make_interval(secs => $2)),"
      "  coalesce(sum(not_equal) FILTER (WHERE last_contact > now() - make_interval(secs => $2)),"
      "   0)"
      " FROM sites",
      seen_s, silent_s);
    out.sites_seen = counts[0][0].as<std::int64_t>();
    out.sites_silent = counts[0][1].as<std::int64_t>();
    out.tables_not_in_sync = counts[0][2].as<std::int64_t>();
    // A site counts once, under the version of its latest contact.
    for (const auto& row : tx.exec_params(
           "SELECT agent_version, count(*) FROM ("
           "  SELECT DISTINCT ON (client_id) client_id, agent_version"
           "  FROM tidesync.site_reports"
           "  WHERE last_contact > now() - make_interval(secs => $1)"
           "  ORDER BY client_id, last_contact DESC) latest"
           " GROUP BY agent_version",
           silent_s))
      out.agents_by_version[row[0].as<std::string>()] = row[1].as<std::int64_t>();
    return out;
  });
}

std::vector<tenant_database> postgres_store::list_tenant_databases() {
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    std::vector<tenant_database> out;
    for (const auto& row : tx.exec(
           "SELECT d.client_id, d.database_id::text, d.name,"
           "  (SELECT count(*) FROM tidesync.tenant_tables t"
           "    WHERE t.client_id = d.client_id AND t.database_id = d.database_id),"
           "  (SELECT coalesce(sum(t.row_count), 0) FROM tidesync.tenant_tables t"
           "    WHERE t.client_id = d.client_id AND t.database_id = d.database_id),"
           "  to_char(r.last_contact AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
           "  to_char(r.last_upload AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
           "  extract(epoch FROM now() - r.last_contact)::double precision,"
           "  coalesce(r.agent_version, ''), r.tables_not_equal, r.lag_seconds, r.lag_versions,"
           "  coalesce(r.lagging, '')"
           " FROM tidesync.databases d"
           " LEFT JOIN tidesync.site_reports r"
           "   ON r.client_id = d.client_id AND r.database_id = d.database_id"
           " ORDER BY d.client_id, d.name")) {
      tenant_database db;
      db.client_id = row[0].as<std::string>();
      db.database_id = row[1].as<std::string>();
      db.database = row[2].as<std::string>();
      db.tables = row[3].as<std::int64_t>();
      db.rows = row[4].as<std::int64_t>();
      db.last_contact = optional_of<std::string>(row[5]);
      db.last_upload = optional_of<std::string>(row[6]);
      db.silent_seconds = optional_of<double>(row[7]);
      db.agent_version = row[8].as<std::string>();
      db.tables_not_equal = optional_of<std::int64_t>(row[9]);
      db.lag_seconds = optional_of<double>(row[10]);
      db.lag_versions = optional_of<std::int64_t>(row[11]);
      db.lagging = row[12].as<std::string>();
      out.push_back(std::move(db));
    }
    return out;
  });
}

} // namespace tidesync::storage
