// Property test: seeded random values of every type travel from a real site
// database through the in-process agent and the real server into the store,
// and the store holds exactly what the site returns when read.
#include "tests/integration/agent/agent_fixture.hpp"

#include "storage/sqlite_db.hpp"
#include "tests/integration/agent/random_values.hpp"

#include <pqxx/pqxx>
#include <sqlite3.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

namespace tidesync::testing {

namespace {

constexpr std::uint64_t seed = 0x7153'0001; // fixed: a failure names it
constexpr int value_rows = 100'000;
constexpr int key_rows = 5'000;
constexpr int rows_per_insert = 2'000;
constexpr double null_share = 0.03;
constexpr std::size_t failures_shown = 8;

using text_cell = std::optional<std::string>;
using text_rows = std::vector<std::vector<text_cell>>;

/// Marks the expected cell of a numeric SQLite holds as REAL: the store's
/// numeric must read back as exactly that double.
const std::string approx_marker = "double-of:";

std::string quoted(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  for (char c : text) {
    if (c == '\'')
      out.push_back(c);
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string literal(const text_cell& cell) {
  return cell ? quoted(*cell) : "NULL";
}

// The PostgreSQL site's row `id`, as the literal texts of its cells.
std::vector<text_cell> pg_value_row(random_values& random, int id) {
  auto maybe = [&](std::string text) -> text_cell {
    return random.chance(null_share) ? std::nullopt : text_cell(std::move(text));
  };
  return {std::to_string(id),
          maybe(std::to_string(random.integer(16))),
          maybe(std::to_string(random.integer(32))),
          maybe(std::to_string(random.integer(64))),
          maybe(random.numeric_text()),
          maybe(exact_text(random.any_float())),
          maybe(exact_text(random.any_double())),
          maybe(random.chance(0.5) ? "true" : "false"),
          maybe(random.utf8_text()),
          maybe("\\x" + hex_of(random.bytes())),
          maybe(random.date_text()),
          maybe(random.timestamp_text(false)),
          maybe(random.timestamp_text(true)),
          maybe(random.uuid_text()),
          maybe(random.json_text()),
          maybe(random.json_text())};
}

/// Each cell of `sql`'s rows as text, in a UTC / ISO session.
text_rows read_pg(const std::string& url, const std::string& sql) {
  pqxx::connection connection{url};
  pqxx::nontransaction tx{connection};
  tx.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'");
  text_rows rows;
  for (const auto& row : tx.exec(sql)) {
    std::vector<text_cell> cells;
    for (const auto& field : row)
      cells.push_back(field.is_null() ? text_cell{} : text_cell(field.as<std::string>()));
    rows.push_back(std::move(cells));
  }
  return rows;
}

bool same_cell(const text_cell& expected, const text_cell& actual) {
  if (!expected || !actual || expected->rfind(approx_marker, 0) != 0)
    return expected == actual;
  double value = 0;
  auto [end, ec] = std::from_chars(actual->data(), actual->data() + actual->size(), value);
  return ec == std::errc{} && end == actual->data() + actual->size() &&
         approx_marker + bits_hex(value) == *expected;
}

std::string shown(const text_cell& cell) {
  return cell ? "\"" + *cell + "\"" : "NULL";
}

/// Compares rows matched by their first cell; fails naming columns, counts and the seed.
void expect_same_rows(const text_rows& site, const text_rows& store,
                      const std::vector<std::string>& columns, const std::string& what) {
  std::map<text_cell, const std::vector<text_cell>*> by_key;
  for (const auto& row : store)
    by_key.emplace(row.at(0), &row);
  EXPECT_EQ(store.size(), site.size()) << what << " (seed " << seed << ")";
  std::vector<std::size_t> differing(columns.size(), 0);
  std::size_t missing = 0, reported = 0;
  for (const auto& row : site) {
    auto found = by_key.find(row.at(0));
    if (found == by_key.end()) {
      ++missing;
      continue;
    }
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (same_cell(row[i], found->second->at(i)))
        continue;
      ++differing[i];
      if (reported++ < failures_shown)
        ADD_FAILURE() << what << " row " << shown(row[0]) << " column " << columns[i] << ": site "
                      << shown(row[i]) << ", store " << shown(found->second->at(i)) << " (seed "
                      << seed << ")";
    }
  }
  EXPECT_EQ(missing, 0u) << what << ": site rows missing from the store (seed " << seed << ")";
  for (std::size_t i = 0; i < columns.size(); ++i)
    EXPECT_EQ(differing[i], 0u) << what << "." << columns[i] << ": " << differing[i] << " of "
                                << site.size() << " cells differ (seed " << seed << ")";
}

// Unique float keys (no NaN: SQLite keeps it as NULL; -0 equals 0).
std::vector<std::pair<double, float>> float_keys(random_values& random) {
  std::set<double> seen;
  std::vector<std::pair<double, float>> keys;
  while (keys.size() < static_cast<std::size_t>(key_rows)) {
    auto kd = random.any_double();
    auto kr = random.any_float();
    if (std::isnan(kd) || std::isnan(kr) || !seen.insert(kd).second)
      continue;
    keys.emplace_back(kd, kr);
  }
  return keys;
}

class exact_values_test : public agent_test {
protected:
  void fill_postgres_site(random_values& random);
  void fill_sqlite_site(random_values& random);
  /// The store's copy of `table` for this tenant, each row as `select` prints it.
  text_rows store_rows(const std::string& select, const std::string& table);

  /// Runs the agent once over both tables with batches large enough to be quick.
  void replicate() {
    auto config = agent_config({"exact_values", "float_keys"});
    config.batch = {1, 5'000, 20'000};
    auto report = run_with(config);
    EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  }
};

void exact_values_test::fill_postgres_site(random_values& random) {
  site_exec("CREATE TABLE exact_values (id integer PRIMARY KEY, s smallint, i integer, b bigint, "
            "n numeric, r real, d double precision, flag boolean, t text, bin bytea, day date, "
            "at timestamp, atz timestamptz, u uuid, j json, jb jsonb)");
  site_exec("CREATE TABLE float_keys (kd double precision, kr real, note text, "
            "PRIMARY KEY (kd, kr))");
  for (int first = 1; first <= value_rows; first += rows_per_insert) {
    std::string sql = "INSERT INTO exact_values VALUES ";
    for (int id = first; id < first + rows_per_insert && id <= value_rows; ++id) {
      std::string values;
      for (const auto& cell : pg_value_row(random, id))
        values += (values.empty() ? "(" : ", ") + literal(cell);
      sql += (id == first ? "" : ", ") + values + ")";
    }
    site_exec(sql);
  }
  std::string sql = "INSERT INTO float_keys VALUES ";
  for (const auto& [kd, kr] : float_keys(random))
    sql += (sql.back() == ' ' ? "(" : ", (") + quoted(exact_text(kd)) + ", " +
           quoted(exact_text(kr)) + ", " + quoted(random.utf8_text()) + ")";
  site_exec(sql);
}

// One SQLite row `id` of exact_values, bound as its storage classes.
void insert_sqlite_row(storage::sqlite_db& db, random_values& random, int id) {
  storage::sqlite_statement insert{db,
                                   "INSERT INTO exact_values VALUES (?1, ?2, ?3, ?4, ?5, "
                                   "?6, ?7, ?8, ?9, ?10, ?11)",
                                   "insert values"};
  auto bind = [&](int index, auto&& write) {
    if (random.chance(null_share))
      insert.bind_null(index);
    else
      write(index);
  };
  insert.bind_int(1, id);
  bind(2, [&](int i) { insert.bind_int(i, random.integer(64)); });
  bind(3, [&](int i) { // NUMERIC affinity keeps what it can't convert losslessly as TEXT
    auto pick = random.between(0, 2);
    if (pick == 0)
      insert.bind_text(i, random.numeric_text());
    else if (pick == 1)
      insert.bind_double(i, random.any_double());
    else
      insert.bind_int(i, random.integer(64));
  });
  bind(4, [&](int i) { insert.bind_double(i, random.any_double()); });
  bind(5, [&](int i) { insert.bind_int(i, random.chance(0.5) ? 1 : 0); });
  bind(6, [&](int i) { insert.bind_text(i, random.utf8_text()); });
  bind(7, [&](int i) { insert.bind_blob(i, random.bytes()); });
  bind(8, [&](int i) { insert.bind_text(i, random.date_text()); });
  bind(9, [&](int i) { insert.bind_text(i, random.timestamp_text(false)); });
  bind(10, [&](int i) { insert.bind_text(i, random.uuid_text()); });
  bind(11, [&](int i) { insert.bind_text(i, random.json_text()); });
  insert.step();
}

void exact_values_test::fill_sqlite_site(random_values& random) {
  storage::sqlite_db db{(dir_.path() / "site.db").string(),
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE};
  db.exec("CREATE TABLE exact_values (id INTEGER PRIMARY KEY, b BIGINT, n NUMERIC, d DOUBLE, "
          "flag BOOLEAN, t TEXT, bin BLOB, day DATE, at DATETIME, u UUID, j JSON);"
          "CREATE TABLE float_keys (kd DOUBLE NOT NULL, kr DOUBLE NOT NULL, note TEXT, "
          "PRIMARY KEY (kd, kr)); BEGIN",
          "create site tables");
  for (int id = 1; id <= value_rows; ++id)
    insert_sqlite_row(db, random, id);
  for (const auto& [kd, kr] : float_keys(random)) {
    storage::sqlite_statement insert{db, "INSERT INTO float_keys VALUES (?1, ?2, ?3)",
                                     "insert key"};
    insert.bind_double(1, kd);
    insert.bind_double(2, static_cast<double>(kr));
    insert.bind_text(3, random.utf8_text());
    insert.step();
  }
  db.exec("COMMIT", "commit site rows");
}

// What the store must hold for a SQLite cell: the value SQLite returns, in the
// text the store query below prints for the column's type.
text_cell sqlite_expected(const storage::sqlite_statement& row, int column, char kind) {
  switch (row.column_type(column)) {
  case SQLITE_NULL:
    return std::nullopt;
  case SQLITE_INTEGER:
    if (kind == 'd')
      return bits_hex(row.column_double(column));
    if (kind == 'b')
      return row.column_int(column) != 0 ? "true" : "false";
    return std::to_string(row.column_int(column));
  case SQLITE_FLOAT:
    if (kind == 'd')
      return bits_hex(row.column_double(column));
    return approx_marker + bits_hex(row.column_double(column)); // numeric of a REAL
  case SQLITE_BLOB:
    return hex_of(row.column_blob(column));
  default:
    return row.column_text(column);
  }
}

/// Every row of `sql`, each column read as `kinds` says: 'd' a double's bits,
/// 'b' a boolean, anything else as its storage class gives it.
text_rows read_sqlite(const std::filesystem::path& file, const std::string& sql,
                      std::string_view kinds) {
  storage::sqlite_db db{file.string(), SQLITE_OPEN_READONLY};
  storage::sqlite_statement st{db, sql, "read site rows"};
  text_rows rows;
  while (st.step()) {
    std::vector<text_cell> cells;
    for (std::size_t i = 0; i < kinds.size(); ++i)
      cells.push_back(sqlite_expected(st, static_cast<int>(i), kinds[i]));
    rows.push_back(std::move(cells));
  }
  return rows;
}

const std::vector<std::string> pg_value_columns{"id", "s",   "i",   "b",  "n",   "r", "d", "flag",
                                                "t",  "bin", "day", "at", "atz", "u", "j", "jb"};
const std::string pg_value_select =
    "id::text, s::text, i::text, b::text, n::text, encode(float4send(r), 'hex'), "
    "encode(float8send(d), 'hex'), flag::text, t, encode(bin, 'hex'), day::text, at::text, "
    "atz::text, u::text, j::text, jb::text";
const std::vector<std::string> sqlite_value_columns{"id",  "b",   "n",  "d", "flag", "t",
                                                    "bin", "day", "at", "u", "j"};
const std::string sqlite_value_select =
    "id::text, b::text, n::text, encode(float8send(d), 'hex'), flag::text, t, encode(bin, 'hex'), "
    "day::text, at::text, u::text, j::text";
const std::vector<std::string> key_columns{"kd", "kr", "note"};

} // namespace

text_rows exact_values_test::store_rows(const std::string& select, const std::string& table) {
  return read_pg(store_db_.url(), "SELECT " + select + " FROM tidesync_data." + table +
                                      " WHERE client_id = 'acme' AND database_id = '" +
                                      database_id() + "'");
}

TEST_P(exact_values_test, EveryValueOfEveryTypeArrivesBitExact) {
  random_values random{seed};
  if (is_postgres())
    fill_postgres_site(random);
  else
    fill_sqlite_site(random);
  prepare({"exact_values", "float_keys"});
  replicate();

  if (is_postgres()) {
    expect_same_rows(read_pg(site_url_, "SELECT " + pg_value_select + " FROM exact_values"),
                     store_rows(pg_value_select, "exact_values"), pg_value_columns, "exact_values");
    const std::string keys = "encode(float8send(kd), 'hex'), encode(float4send(kr), 'hex'), note";
    expect_same_rows(read_pg(site_url_, "SELECT " + keys + " FROM float_keys"),
                     store_rows(keys, "float_keys"), key_columns, "float_keys");
    return;
  }
  auto site_file = dir_.path() / "site.db";
  expect_same_rows(read_sqlite(site_file,
                               "SELECT id, b, n, d, flag, t, bin, day, at, u, j "
                               "FROM exact_values",
                               "iiidbtxtttt"),
                   store_rows(sqlite_value_select, "exact_values"), sqlite_value_columns,
                   "exact_values");
  expect_same_rows(read_sqlite(site_file, "SELECT kd, kr, note FROM float_keys", "ddt"),
                   store_rows("encode(float8send(kd), 'hex'), encode(float8send(kr), 'hex'), note",
                              "float_keys"),
                   key_columns, "float_keys");
}

INSTANTIATE_TEST_SUITE_P(sites, exact_values_test,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace tidesync::testing
