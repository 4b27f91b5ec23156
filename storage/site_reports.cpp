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

// The lagging tables of a report that is newer than the last one saved:
// each keeps (or gets) a row with its state and the moment it was last seen
// equal, which is the database's `in_sync_as_of` when the table had no row
// under a complete report. A complete report also drops the rows of tables
// it no longer lists: they are equal again. Runs before the database's own
// row is updated, whose old values it reads.
void save_lagging_tables(pqxx::work& tx, const site_contact& contact, double reported_at,
                         bool complete) {
  for (const auto& lag : contact.report->lagging)
    // A table the server does not hold for the database has no freshness row.
    tx.exec_params(
      "INSERT INTO tidesync.site_report_tables AS l (client_id, database_id, table_name,"
      " agent_state, lag_versions, in_sync_as_of, reported_at)"
      " SELECT $1, $2::uuid, $3, $4, $5::bigint,"
      "  (SELECT r.in_sync_as_of FROM tidesync.site_reports r"
      "    JOIN tidesync.tenant_tables t ON t.client_id = r.client_id"
      "     AND t.database_id = r.database_id AND t.table_name = $3"
      "    WHERE r.client_id = $1 AND r.database_id = $2::uuid AND r.report_complete"
      "     AND r.in_sync_as_of >= t.declared_at),"
      "  to_timestamp($6::float8)"
      " WHERE EXISTS (SELECT 1 FROM tidesync.tenant_tables WHERE client_id = $1"
      "  AND database_id = $2::uuid AND table_name = $3)"
      " ON CONFLICT (client_id, database_id, table_name) DO UPDATE SET"
      " agent_state = excluded.agent_state, lag_versions = excluded.lag_versions,"
      " reported_at = excluded.reported_at",
      contact.client_id, contact.database_id, lag.table, lag.state, lag.lag_versions,
      reported_at);
  if (complete)
    tx.exec_params("DELETE FROM tidesync.site_report_tables WHERE client_id = $1"
                   " AND database_id = $2::uuid AND reported_at < to_timestamp($3::float8)",
                   contact.client_id, contact.database_id, reported_at);
}

// What a contact's report says of its tables' freshness, or nothing when it
// is not newer than the report saved (two servers may save one database's
// reports out of order). `complete` when the report vouches for every table
// the server holds for the database: each one not equal named, none fewer
// reported than held, none named that the server does not hold (a table
// swapped for another in the agent's configuration).
struct freshness_update {
  double reported_at = 0;
  bool complete = false;
  std::optional<double> in_sync_as_of;
};

std::optional<freshness_update> freshness_of(pqxx::work& tx, const site_contact& contact) {
  const auto& report = *contact.report;
  auto at = epoch_seconds(contact.reported_at ? contact.reported_at : contact.listed_at);
  if (!at)
    return std::nullopt;
  freshness_update out;
  out.reported_at = *at;
  auto query_says = [&](const std::string& sql, const auto&... more) {
    return tx.exec_params(sql, contact.client_id, contact.database_id, more...)[0][0]
      .template as<bool>();
  };
  if (query_says("SELECT EXISTS (SELECT 1 FROM tidesync.site_reports WHERE client_id = $1"
                 " AND database_id = $2::uuid AND reported_at >= to_timestamp($3::float8))",
                 out.reported_at))
    return std::nullopt;
  out.complete = report.not_equal == static_cast<std::int64_t>(report.lagging.size()) &&
                 query_says("SELECT count(*) <= $3::bigint FROM tidesync.tenant_tables"
                            " WHERE client_id = $1 AND database_id = $2::uuid",
                            report.tables);
  for (const auto& lag : report.lagging)
    out.complete = out.complete &&
                   query_says("SELECT EXISTS (SELECT 1 FROM tidesync.tenant_tables"
                              " WHERE client_id = $1 AND database_id = $2::uuid"
                              " AND table_name = $3)",
                              lag.table);
  if (out.complete && report.in_sync_age)
    out.in_sync_as_of = out.reported_at - *report.in_sync_age;
  return out;
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
        std::optional<freshness_update> freshness;
        if (report && (freshness = freshness_of(tx, contact)))
          save_lagging_tables(tx, contact, freshness->reported_at, freshness->complete);
        tx.exec_params(
          "INSERT INTO tidesync.site_reports AS r (client_id, database_id, last_contact,"
          " last_upload, agent_version, tables, tables_not_equal, lag_seconds, lag_versions,"
          " lagging, reported_at, in_sync_as_of, report_complete)"
          " VALUES ($1, $2::uuid, to_timestamp(coalesce($3::float8, $4::float8)),"
          " to_timestamp($4::float8), $5, $6::integer, $7::integer, $8::float8, $9::bigint,"
          " $10::text, to_timestamp($11::float8), to_timestamp($12::float8), $13::boolean)"
          " ON CONFLICT (client_id, database_id) DO UPDATE SET"
          " last_contact = greatest(r.last_contact, excluded.last_contact),"
          " last_upload = greatest(r.last_upload, excluded.last_upload),"
          " agent_version = CASE WHEN excluded.agent_version = '' THEN r.agent_version"
          "   ELSE excluded.agent_version END,"
          " tables = coalesce(excluded.tables, r.tables),"
          " tables_not_equal = coalesce(excluded.tables_not_equal, r.tables_not_equal),"
          " lag_seconds = coalesce(excluded.lag_seconds, r.lag_seconds),"
          " lag_versions = coalesce(excluded.lag_versions, r.lag_versions),"
          " lagging = coalesce(excluded.lagging, r.lagging),"
          " reported_at = coalesce(excluded.reported_at, r.reported_at),"
          " in_sync_as_of = greatest(r.in_sync_as_of, excluded.in_sync_as_of),"
          " report_complete = CASE WHEN excluded.reported_at IS NULL THEN r.report_complete"
          "   ELSE excluded.report_complete END",
          contact.client_id, contact.database_id, epoch_seconds(contact.listed_at),
          epoch_seconds(contact.uploaded_at), contact.agent_version, tables, not_equal,
          lag_seconds, lag_versions, lagging,
          freshness ? std::optional<double>{freshness->reported_at} : std::nullopt,
          freshness ? freshness->in_sync_as_of : std::nullopt, freshness && freshness->complete);
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
