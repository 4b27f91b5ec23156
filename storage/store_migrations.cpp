#include "storage/store_migrations.hpp"

#include <pqxx/transaction>

#include <cstdint>
#include <set>

namespace tidesync::storage {

namespace {

// "tidesync" in ASCII: the advisory lock every migrating server waits on.
constexpr std::int64_t migration_lock_key = 0x7469646573796e63;

struct migration {
  int version;
  const char* sql;
};

// Append only: a released migration never changes, a new one gets the next number.
constexpr migration migrations[] = {
    {1, R"sql(
CREATE TABLE tidesync.clients (
  client_id  text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tidesync.databases (
  database_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_id   text NOT NULL REFERENCES tidesync.clients,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (client_id, name)
);
CREATE TABLE tidesync.tokens (
  token_id    text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  client_id   text NOT NULL REFERENCES tidesync.clients,
  database_id uuid REFERENCES tidesync.databases,
  secret_hash text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX tokens_client ON tidesync.tokens (client_id);
CREATE TABLE tidesync.remote_tables (
  table_name text PRIMARY KEY,
  schema     jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tidesync.tenant_tables (
  client_id       text NOT NULL REFERENCES tidesync.clients,
  database_id     uuid NOT NULL REFERENCES tidesync.databases,
  table_name      text NOT NULL REFERENCES tidesync.remote_tables,
  modified_column text,
  modified_type   text,
  row_count       bigint NOT NULL DEFAULT 0,
  max_version     bigint,
  max_modified    timestamptz,
  declared_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, database_id, table_name)
);
)sql"},
    {2, R"sql(
ALTER TABLE tidesync.remote_tables ADD COLUMN schema_locked boolean NOT NULL DEFAULT false;
)sql"},
    // The fleet view: each database's last contact and how its agent said its
    // tables stand (the Tidesync-Report header of its listing request).
    {3, R"sql(
CREATE TABLE tidesync.site_reports (
  client_id        text NOT NULL,
  database_id      uuid NOT NULL,
  last_contact     timestamptz NOT NULL,
  last_upload      timestamptz,
  agent_version    text NOT NULL DEFAULT '',
  tables           integer,
  tables_not_equal integer,
  lag_seconds      double precision,
  lag_versions     bigint,
  lagging          text,
  PRIMARY KEY (client_id, database_id)
);
)sql"},
    // Freshness for readers: per tenant table, when its agent last saw it
    // equal to the cloud copy. A database's report moves `in_sync_as_of` for
    // all its equal tables at once; only tables not in sync get a row of
    // their own, keeping the moment they were last seen equal.
    {4, R"sql(
ALTER TABLE tidesync.site_reports
  ADD COLUMN reported_at     timestamptz,
  ADD COLUMN in_sync_as_of   timestamptz,
  ADD COLUMN report_complete boolean NOT NULL DEFAULT false;
CREATE TABLE tidesync.site_report_tables (
  client_id     text NOT NULL,
  database_id   uuid NOT NULL,
  table_name    text NOT NULL,
  agent_state   text NOT NULL,
  lag_versions  bigint NOT NULL,
  in_sync_as_of timestamptz,
  reported_at   timestamptz NOT NULL,
  PRIMARY KEY (client_id, database_id, table_name)
);
CREATE VIEW tidesync.table_freshness AS
SELECT t.client_id, t.database_id, d.name AS database, t.table_name,
  CASE WHEN l.agent_state = 'ahead' THEN 'catching up'
       WHEN l.agent_state IN ('behind', 'scanning') THEN 'repairing'
       WHEN l.agent_state IN ('error', 'quarantined') THEN 'error'
       WHEN l.agent_state IS NULL AND r.report_complete
            AND r.in_sync_as_of >= t.declared_at THEN 'in sync'
       ELSE 'unknown' END AS state,
  CASE WHEN l.table_name IS NOT NULL THEN l.in_sync_as_of
       WHEN r.in_sync_as_of >= t.declared_at THEN r.in_sync_as_of END AS in_sync_as_of,
  r.last_contact, l.agent_state, coalesce(l.lag_versions, 0) AS lag_versions, t.row_count
FROM tidesync.tenant_tables t
JOIN tidesync.databases d ON d.database_id = t.database_id
LEFT JOIN tidesync.site_reports r
  ON r.client_id = t.client_id AND r.database_id = t.database_id
LEFT JOIN tidesync.site_report_tables l
  ON l.client_id = t.client_id AND l.database_id = t.database_id AND l.table_name = t.table_name;
)sql"},
};

std::set<int> applied_versions(pqxx::work& tx) {
  std::set<int> versions;
  for (const auto& row : tx.exec("SELECT version FROM tidesync.schema_migrations"))
    versions.insert(row[0].as<int>());
  return versions;
}

} // namespace

void apply_migrations(pqxx::connection& connection, const std::string& data_schema) {
  pqxx::work tx{connection};
  // The lock comes first: concurrent CREATE SCHEMA IF NOT EXISTS can still collide.
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", migration_lock_key);
  tx.exec("CREATE SCHEMA IF NOT EXISTS tidesync");
  tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(data_schema));
  tx.exec("CREATE TABLE IF NOT EXISTS tidesync.schema_migrations ("
          " version integer PRIMARY KEY,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
  auto applied = applied_versions(tx);
  for (const auto& step : migrations) {
    if (applied.count(step.version) != 0)
      continue;
    tx.exec(step.sql);
    tx.exec_params("INSERT INTO tidesync.schema_migrations (version) VALUES ($1)", step.version);
  }
  tx.commit();
}

} // namespace tidesync::storage
