// Plans version tracking on PostgreSQL as short steps that never make the
// site's writers wait long (docs/operations.md, "Preparing a live site").
#include "storage/pg_tracking.hpp"

#include "storage/postgres_source.hpp"

#include <pqxx/pqxx>

namespace tidesync::storage::detail {

namespace {

// The trigger functions run in the site's application sessions, under their
// search_path: a role that can create objects in a schema on that path could
// otherwise slip in a function or operator that better matches a call here
// (pg_notify(text, name), say) and run its own code as every writer. So every
// function, operator and type they name is pg_catalog's, spelled out.
std::string pg_function_sql() {
  // One function for every table: the column name comes as the trigger's argument.
  return "CREATE OR REPLACE FUNCTION " + std::string{pg_function} +
         "() RETURNS trigger LANGUAGE plpgsql AS $$\n"
         "BEGIN\n"
         "  NEW := pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object("
         "TG_ARGV[0], pg_catalog.pg_current_xact_id()::pg_catalog.text::pg_catalog.int8));\n"
         "  RETURN NEW;\n"
         "END\n"
         "$$";
}

// Wakes a listening agent once per transaction and table: PostgreSQL folds
// notifications with the same channel and payload within a transaction into
// one. The payload (the table's name) only says which table to read; the
// agent trusts nothing else from it.
//
// PostgreSQL serialises the commits of notifying transactions (one global
// lock, held through the commit's WAL flush), which cut a site's concurrent
// single-row write rate to a fraction. So a session announces a table at most
// once per quarter-second slot of the clock: the slot it last announced in is
// kept in a session setting, which a rolled-back transaction reverts, and a
// busy writer announces a few commits a second instead of each. A clock
// stepped back gives another slot, so it never silences a session. The agent
// looks at a woken table once more a moment after it read it, which finds a
// commit this left unannounced.
//
// Every writing statement also moves the table's change counter, the
// sequence named by the trigger's argument: the agent's idle cycle reads all
// of a database's counters in one query and reads only the tables whose
// counter moved. A sequence, because nextval never waits for another
// transaction: two writers of one table never wait for each other. A
// counter someone dropped counts nothing (to_regclass gives NULL) rather
// than failing the application's write (a drop still uncommitted makes the
// write wait for it, as any use of a sequence being dropped does). The
// trigger fires ALWAYS, so a write in replica mode (pg_restore
// --disable-triggers, a logical replication apply worker, a data-fix script)
// still moves the counter.
//
// SECURITY DEFINER: the function runs as whoever prepared the table, so a
// writer without USAGE on the table's schema (through a view in another
// schema, or a foreign key's cascade) still moves the counter there instead
// of failing. Nobody else may execute it (anyone could otherwise attach it to
// a table of their own and move any sequence named as its argument).
//
// A session with `tidesync.notify` set to off, false, no or 0 (for the role
// or the connection) sends no notification: PostgreSQL refuses to PREPARE a
// transaction that has notified, so an application using two-phase commit
// turns it off and keeps the counter. Nor does any session while
// PostgreSQL's notification queue is over half full (a listener stuck in a
// long transaction holds it back): were it full, notifying commits would
// fail, and the agent's interval still finds the changes.
//
// The body runs on every writing statement of the site, so it is written for
// PL/pgSQL's cheap path: assignments, not PERFORM (which plans and runs a
// query), float arithmetic rather than numeric, and the settings read only
// when they can matter. scripts/bench-notify measures what it costs.
std::string pg_notify_function_sql() {
  return "CREATE OR REPLACE FUNCTION " + std::string{pg_notify_function} +
         "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$\n"
         "DECLARE\n"
         "  setting pg_catalog.text;\n"
         "  slot pg_catalog.text;\n"
         "  ignored pg_catalog.int8;\n"
         "BEGIN\n"
         "  IF TG_NARGS OPERATOR(pg_catalog.>) 0 THEN\n"
         "    ignored := pg_catalog.nextval(pg_catalog.to_regclass(TG_ARGV[0]));\n"
         "  END IF;\n"
         "  slot := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) "
         "OPERATOR(pg_catalog.*) 4::pg_catalog.float8)::pg_catalog.int8::pg_catalog.text;\n"
         "  setting := 'tidesync.notified_' OPERATOR(pg_catalog.||) TG_RELID::pg_catalog.text;\n"
         "  IF COALESCE(pg_catalog.current_setting(setting, true), '') OPERATOR(pg_catalog.<>) "
         "slot\n"
         "     AND pg_catalog.lower(COALESCE(pg_catalog.current_setting('tidesync.notify', true), "
         "'')) OPERATOR(pg_catalog.<>) ALL ('{off,false,no,0}'::pg_catalog.text[])\n"
         "     AND pg_catalog.pg_notification_queue_usage() OPERATOR(pg_catalog.<) "
         "0.5::pg_catalog.float8 THEN\n"
         "    setting := pg_catalog.set_config(setting, slot, false);\n"
         "    PERFORM pg_catalog.pg_notify('" + std::string{version_notify_channel} +
         "', TG_TABLE_NAME);\n"
         "  END IF;\n"
         "  RETURN NULL;\n"
         "END\n"
         "$$";
}


// Whether the function exists with the body `sql` would give it: a site
// prepared by an older tidesync gets the current body on its next prepare.
bool function_is_current(pqxx::transaction_base& tx, std::string_view name,
                         const std::string& sql) {
  auto open = sql.find("$$");
  auto close = sql.rfind("$$");
  auto body = sql.substr(open + 2, close - open - 2);
  auto found = tx.exec_params("SELECT prosrc, prosecdef FROM pg_proc WHERE oid = "
                              "to_regprocedure($1)",
                              std::string{name} + "()");
  const bool definer = sql.find(" SECURITY DEFINER ") < open;
  return !found.empty() && found[0][0].as<std::string>() == body &&
         found[0][1].as<bool>() == definer;
}

std::string version_trigger_sql(const table_ref& ref, const std::string& table) {
  return "CREATE TRIGGER " + std::string{pg_trigger} + " BEFORE INSERT OR UPDATE ON " + table +
         " FOR EACH ROW EXECUTE FUNCTION " + std::string{pg_function} + "('" +
         ref.version_column + "')";
}

// `counter` is the change counter's schema-qualified name as a literal, or
// empty (a partitioned table: its partitions' own writes would not fire a
// statement trigger of the parent, so it has no counter to trust).
std::string notify_trigger_sql(const std::string& table, const std::string& counter) {
  return "CREATE TRIGGER " + std::string{pg_notify_trigger} +
         " AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON " + table +
         " FOR EACH STATEMENT EXECUTE FUNCTION " + std::string{pg_notify_function} + "(" +
         counter + ")";
}

std::string enable_always_sql(const std::string& table) {
  return "ALTER TABLE " + table + " ENABLE ALWAYS TRIGGER " + std::string{pg_notify_trigger};
}

// The notify trigger with the table's change counter as its argument, and
// the counter: created (with USAGE for everyone, since the application's
// writes move it), or kept when a trigger already counts into it.
void plan_pg_counter(pqxx::transaction_base& tx, const table_ref& ref, const std::string& table,
                     bool partitioned, tracking_step& step) {
  auto exists = tx.exec_params("SELECT tgnargs, tgargs, tgenabled FROM pg_trigger WHERE tgrelid = "
                               "to_regclass($1) AND tgname = $2",
                               table, std::string{pg_notify_trigger});
  if (partitioned) {
    if (exists.empty())
      step.statements.push_back(notify_trigger_sql(table, ""));
    return;
  }
  // In the table's schema, named in full: the application's sessions may
  // have another search_path.
  auto qualified = tx.exec_params("SELECT quote_ident(n.nspname) FROM pg_class c JOIN "
                                  "pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = "
                                  "to_regclass($1)",
                                  table)[0][0]
                     .as<std::string>() +
                   "." + derived_name(ref.name, changes_suffix);
  auto counter = tx.exec_params("SELECT s.seqcache FROM pg_class c JOIN pg_sequence s ON "
                                "s.seqrelid = c.oid WHERE c.oid = to_regclass($1) AND "
                                "c.relkind = 'S'",
                                qualified);
  // A session takes a counter's cached values without touching it, so one
  // given a cache (ALTER SEQUENCE … CACHE 50) stops moving for the agent
  // while the session writes on.
  if (!counter.empty() && counter[0][0].as<std::int64_t>() > 1)
    step.statements.push_back("ALTER SEQUENCE " + qualified + " CACHE 1");
  if (!exists.empty() && !counter.empty() && exists[0][0].as<int>() == 1 &&
      exists[0][1].as<std::string>() ==
        tx.exec_params("SELECT convert_to($1, 'UTF8') || '\\x00'::bytea", qualified)[0][0]
          .as<std::string>()) {
    // Prepared before the trigger fired in replica mode too; one someone
    // disabled (to switch notification off) stays as it is.
    if (exists[0][2].as<std::string>() == "O")
      step.statements.push_back(enable_always_sql(table));
    return;
  }
  if (counter.empty()) {
    step.statements.push_back("CREATE SEQUENCE " + qualified);
    step.statements.push_back("GRANT USAGE, SELECT ON SEQUENCE " + qualified + " TO PUBLIC");
    // Called once, so its last value reads as a number from the start.
    step.statements.push_back("SELECT nextval(" + tx.quote(qualified) + ")");
  }
  if (!exists.empty())
    step.statements.push_back("DROP TRIGGER " + std::string{pg_notify_trigger} + " ON " + table);
  step.statements.push_back(notify_trigger_sql(table, tx.quote(qualified)));
  step.statements.push_back(enable_always_sql(table));
}

bool has_row(pqxx::transaction_base& tx, const std::string& sql, const std::string& a,
             const std::string& b = "") {
  return !tx.exec_params(sql, a, b).empty();
}

// An index led by the version whose text columns sort in "C", as page queries
// do. One left invalid by a killed concurrent build, or one from an earlier
// prepare with the default collation, is dropped and built again.
void plan_pg_index(pqxx::transaction_base& tx, const table_ref& ref,
                   const catalog_table& catalog, bool new_column, const std::string& label,
                   std::vector<tracking_step>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto index = derived_name(ref.name, index_suffix);
  if (!new_column &&
      has_row(tx,
              "SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
              "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass($1) AND a.attname = $2 "
              "AND i.indisvalid AND NOT EXISTS (SELECT 1 FROM unnest(i.indcollation::oid[]) c "
              "WHERE c <> 0 AND c <> 'pg_catalog.\"C\"'::regcollation)",
              table, ref.version_column))
    return;
  if (is_partitioned(tx, table))
    return plan_pg_partitioned_index(tx, ref, catalog, label, out);
  tracking_step step{ref.name, "build the version index without blocking writes",
                     step_mode::unbounded, {}, 0};
  // Only an index of this table: one of that name elsewhere is not ours to drop.
  auto existing = new_column ? pqxx::result{}
                             : tx.exec_params("SELECT indisvalid FROM pg_index WHERE indexrelid "
                                              "= to_regclass($1) AND indrelid = to_regclass($2)",
                                              index, table);
  if (!existing.empty()) {
    step.summary = existing[0][0].as<bool>()
                     ? "replace the version index (not the one page queries need: other "
                       "columns or collation) without blocking writes"
                     : "replace the version index an interrupted build left invalid, "
                       "without blocking writes";
    step.statements.push_back("DROP INDEX CONCURRENTLY " + index);
  }
  step.statements.push_back("CREATE INDEX CONCURRENTLY " + index + " ON " + table + " (" +
                            index_columns(ref, catalog, " COLLATE \"C\"") + ")");
  out.push_back(std::move(step));
}

// Triggers no session_replication_role keeps the backfill from firing:
// ENABLE ALWAYS ones fire under any role, and ENABLE REPLICA ones fire under
// the replica role the backfill takes to keep the table's ordinary ones off.
void refuse_firing_triggers(pqxx::transaction_base& tx, const table_ref& ref,
                            const std::string& label) {
  auto table = quote_identifier(ref.name, "table");
  auto own = "tgrelid = to_regclass($1) AND NOT tgisinternal AND tgname NOT IN ($2, $3)";
  auto names = tx.exec_params(std::string{"SELECT string_agg(tgname, ', ' ORDER BY tgname) "
                                          "FROM pg_trigger WHERE "} +
                                own + " AND (tgenabled = 'A' OR (tgenabled = 'R' AND EXISTS "
                                      "(SELECT 1 FROM pg_trigger WHERE " + own +
                                " AND tgenabled = 'O')))",
                              table, std::string{pg_trigger}, std::string{pg_notify_trigger});
  if (names[0][0].is_null())
    return;
  throw storage_error(storage_errc::unsupported,
                      "table " + ref.name + " in " + label + " has triggers (" +
                        names[0][0].as<std::string>() +
                        ") that giving its existing rows a version would fire: ENABLE ALWAYS "
                        "triggers fire whatever session_replication_role says, and ENABLE "
                        "REPLICA ones fire under the replica role that keeps its other "
                        "triggers off. Disable them while prepare runs (ALTER TABLE " +
                        ref.name + " DISABLE TRIGGER …, then ENABLE ALWAYS or ENABLE REPLICA "
                        "TRIGGER … again) or give every row a version first");
}

void plan_pg_backfill(pqxx::transaction_base& tx, const table_ref& ref,
                      const std::string& label, std::vector<tracking_step>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  auto missing = tx.exec("SELECT count(*) FROM " + table + " WHERE " + version + " IS NULL")[0][0]
                   .as<std::int64_t>();
  if (missing > 0)
    refuse_firing_triggers(tx, ref, label);
  if (missing > 0)
    out.push_back({ref.name, "give existing rows a version, in short batches",
                   step_mode::backfill,
                   {pg_backfill_batch_sql(ref),
                    "SELECT (ctid::text::point)[0]::bigint FROM " + table + " WHERE " + version +
                      " IS NULL LIMIT 1"},
                   missing});
}

// A nullable version column: rows without a version get one in batches, then
// NOT NULL comes through a check constraint validated without blocking writes,
// so SET NOT NULL needs no scan under its exclusive lock.
void plan_pg_not_null(pqxx::transaction_base& tx, const table_ref& ref,
                      const std::string& label, std::vector<tracking_step>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  auto check = derived_name(ref.name, not_null_check_suffix);
  // A partitioned table's rows live in its partitions, each with its own
  // pages (and ctids that repeat from one partition to the next).
  if (!is_partitioned(tx, table))
    plan_pg_backfill(tx, ref, label, out);
  else
    for (const auto& partition : pg_partitions(tx, ref, label)) {
      auto holder = ref;
      holder.name = partition;
      plan_pg_backfill(tx, holder, label, out);
    }
  auto state = tx.exec_params("SELECT convalidated FROM pg_constraint WHERE conrelid = "
                              "to_regclass($1) AND conname = $2",
                              table, derived_bare_name(ref.name, not_null_check_suffix));
  if (state.empty())
    out.push_back({ref.name, "declare NOT NULL as a check, without scanning",
                   step_mode::transaction,
                   {"ALTER TABLE " + table + " ADD CONSTRAINT " + check + " CHECK (" + version +
                    " IS NOT NULL) NOT VALID"},
                   0});
  if (state.empty() || !state[0][0].as<bool>())
    out.push_back({ref.name, "validate the check; writes go on meanwhile",
                   step_mode::unbounded,
                   {"ALTER TABLE " + table + " VALIDATE CONSTRAINT " + check},
                   0});
  out.push_back({ref.name, "set NOT NULL (the valid check spares the scan)",
                 step_mode::transaction,
                 {"ALTER TABLE " + table + " ALTER COLUMN " + version + " SET NOT NULL",
                  "ALTER TABLE " + table + " DROP CONSTRAINT " + check},
                 0});
}

// A view, materialized view or foreign table has that name: say so, rather
// than "not found" for a name the operator can see in psql.
[[noreturn]] void refuse_missing_table(pqxx::transaction_base& tx, const table_ref& ref,
                                       const std::string& label) {
  auto kind = tx.exec_params("SELECT CASE relkind WHEN 'v' THEN 'a view' WHEN 'm' THEN "
                             "'a materialized view' WHEN 'f' THEN 'a foreign table' ELSE "
                             "'not a table' END FROM pg_class WHERE oid = to_regclass($1)",
                             quote_identifier(ref.name, "table"));
  if (kind.empty())
    throw storage_error(storage_errc::not_found, "table " + ref.name + " not found in " + label);
  throw storage_error(storage_errc::unsupported,
                      ref.name + " in " + label + " is " + kind[0][0].as<std::string>() +
                        "; tidesync prepares and replicates tables (name the table it reads "
                        "from)");
}

void plan_pg_table(pqxx::transaction_base& tx, const table_ref& ref, const std::string& label,
                   std::vector<tracking_step>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  auto catalog = read_pg_catalog(tx, ref.name);
  if (!catalog)
    refuse_missing_table(tx, ref, label);
  // Said before anything runs: the agent could not sync the table as it is.
  detail::refuse_unreplicable_columns(label, ref.name, *catalog, ref.exclude_columns);
  detail::check_excluded_columns(label, ref.name, *catalog, ref.key, ref.version_column,
                                 ref.modified_column, ref.exclude_columns);
  index_columns(ref, *catalog, "");  // key names are checked before anything runs
  const auto* column = find_column(*catalog, ref.version_column);
  if (column != nullptr)
    require_bigint(*column, ref.name, label);
  auto trigger_exists = [&](std::string_view name) {
    return has_row(tx, "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2",
                   table, std::string{name});
  };
  tracking_step triggers{ref.name, "install the triggers", step_mode::transaction, {}, 0};
  if (column == nullptr) {
    // Instant since PostgreSQL 11: the default is kept in the catalog, not
    // written to the rows, and every existing row reads version 1 (below any
    // transaction id). The triggers come in the same transaction so no write
    // goes unversioned, and dropping the default makes an insert that somehow
    // bypasses the trigger fail instead of taking an old version.
    triggers.summary = "add the version column (no rewrite: existing rows read version 1) "
                       "and the triggers";
    triggers.statements.push_back("ALTER TABLE " + table + " ADD COLUMN " + version +
                                  " bigint NOT NULL DEFAULT 1");
  }
  if (!trigger_exists(pg_trigger))
    triggers.statements.push_back(version_trigger_sql(ref, table));
  auto before = triggers.statements.size();
  plan_pg_counter(tx, ref, table, is_partitioned(tx, table), triggers);
  if (before == 0 && column != nullptr && triggers.statements.size() > before)
    triggers.summary = "count the table's writes for the agent's idle check (a sequence the "
                       "notify trigger moves)";
  if (column == nullptr)
    triggers.statements.push_back("ALTER TABLE " + table + " ALTER COLUMN " + version +
                                  " DROP DEFAULT");
  if (!triggers.statements.empty())
    out.push_back(std::move(triggers));
  if (column != nullptr && !column->not_null)
    plan_pg_not_null(tx, ref, label, out);
  else if (column != nullptr &&
           has_row(tx, "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND "
                       "conname = $2",
                   table, derived_bare_name(ref.name, not_null_check_suffix)))
    out.push_back({ref.name, "drop the check left by an interrupted prepare",
                   step_mode::transaction,
                   {"ALTER TABLE " + table + " DROP CONSTRAINT " +
                    derived_name(ref.name, not_null_check_suffix)},
                   0});
  plan_pg_index(tx, ref, *catalog, column == nullptr, label, out);
}

} // namespace

std::string pg_backfill_batch_sql(const table_ref& ref) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  // A TID range scan reads only the batch's pages; rows an application
  // transaction holds are skipped (and versioned by a later pass) rather than
  // waited for. The version is set here, not by the trigger, so the batch
  // may run with the application's triggers off.
  return "UPDATE " + table + " SET " + version +
         " = pg_current_xact_id()::text::bigint WHERE ctid = ANY(ARRAY(SELECT ctid FROM " +
         table + " WHERE ctid >= $1::tid AND ctid < $2::tid AND " + version +
         " IS NULL FOR NO KEY UPDATE SKIP LOCKED))";
}

std::vector<tracking_step> plan_pg_tracking(const std::string& url,
                                            const std::vector<table_ref>& tables) {
  auto label = pg_label(url);
  try {
    pqxx::connection conn{url};
    pqxx::read_transaction tx{conn};
    std::vector<tracking_step> out;
    tracking_step functions{"", "create the trigger functions", step_mode::transaction, {}, 0};
    for (auto [name, sql] : {std::pair{pg_function, pg_function_sql()},
                             std::pair{pg_notify_function, pg_notify_function_sql()}})
      if (!function_is_current(tx, name, sql)) {
        functions.statements.push_back(std::move(sql));
        // PUBLIC may execute a new function; this one runs as its owner.
        if (std::string_view{name} == pg_notify_function)
          functions.statements.push_back("REVOKE EXECUTE ON FUNCTION " +
                                         std::string{pg_notify_function} + "() FROM PUBLIC");
      }
    if (!functions.statements.empty())
      out.push_back(std::move(functions));
    for (const auto& ref : tables)
      plan_pg_table(tx, ref, label, out);
    return out;
  } catch (...) {
    rethrow_pg_error(label, "version tracking");
  }
}

std::vector<std::string> pg_tracking_warnings(const std::string& url) {
  auto label = pg_label(url);
  try {
    pqxx::connection conn{url};
    pqxx::nontransaction tx{conn};
    auto allowed =
      tx.exec("SELECT current_setting('max_prepared_transactions')::int")[0][0].as<int>();
    if (allowed == 0)
      return {};
    return {"this server allows two-phase commit (max_prepared_transactions = " +
            std::to_string(allowed) +
            "): PostgreSQL refuses PREPARE TRANSACTION after a write to a prepared table "
            "(its trigger sends NOTIFY), so an application that commits in two phases must "
            "turn notification off for its sessions: ALTER ROLE <role> SET tidesync.notify = "
            "'off' (see docs/operations.md, \"Two-phase commit\")"};
  } catch (...) {
    rethrow_pg_error(label, "version tracking");
  }
}

} // namespace tidesync::storage::detail
