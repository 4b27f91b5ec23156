// agent_load_bench: the database work of scripts/bench-agent-load, which runs
// the real server and agent around it and keeps the clock for them.
//
//   agent_load_bench fill --pg-url URL --rows N [--table T]
//       creates the site table T (bench_rows' ten columns, no version column:
//       `tidesync prepare` adds it) and loads rows [0, N) with one COPY
//   agent_load_bench copy --pg-url URL --rows N --client-id C --database-id D [--table T]
//       the baseline: a table T_copy LIKE the server's tidesync_data."T",
//       then one timed COPY of the same rows for that tenant; prints
//       `copy_seconds S`
#include "bench/bench_rows.hpp"
#include "bench/copy_baseline.hpp"
#include "protocol/column_type.hpp"

#include <pqxx/pqxx>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

using namespace tidesync;

constexpr const char* default_table = "orders";
constexpr const char* data_schema = "tidesync_data";
constexpr std::size_t copy_line_estimate = 300;
constexpr int usage_exit = 2;

struct bench_options {
  std::string command;
  std::string pg_url;
  std::int64_t rows = 0;
  std::string table = default_table;
  std::string client_id;
  std::string database_id;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "agent_load_bench: " << problem
            << "\nusage: agent_load_bench fill --pg-url URL --rows N [--table T]\n"
               "       agent_load_bench copy --pg-url URL --rows N --client-id C"
               " --database-id D [--table T]\n";
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
  if (argc < 2)
    usage("a command is required (fill or copy)");
  bench_options options;
  options.command = argv[1];
  if (options.command != "fill" && options.command != "copy")
    usage("unknown command '" + options.command + "'");
  for (int i = 2; i < argc; ++i) {
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
    else if (flag == "--table")
      options.table = value();
    else if (flag == "--client-id")
      options.client_id = value();
    else if (flag == "--database-id")
      options.database_id = value();
    else
      usage("unknown option '" + flag + "'");
  }
  if (options.pg_url.empty() || options.rows == 0)
    usage("--pg-url and --rows are required");
  if (options.command == "copy" && (options.client_id.empty() || options.database_id.empty()))
    usage("copy needs --client-id and --database-id");
  return options;
}

std::string quoted(const std::string& name) {
  return "\"" + name + "\"";
}

// The site's own table: bench_schema() without the version column, which
// `tidesync prepare` adds as a site's existing table would get it.
std::string site_table_ddl(const std::string& table) {
  auto schema = bench::bench_schema();
  std::string ddl = "CREATE TABLE " + quoted(table) + " (";
  bool first = true;
  for (const auto& column : schema.columns) {
    if (column.name == schema.version_column)
      continue;
    ddl += (first ? "" : ", ") + quoted(column.name) + " " +
           std::string(protocol::type_name(column.type)) + (column.nullable ? "" : " NOT NULL");
    first = false;
  }
  return ddl + ", PRIMARY KEY (" + quoted(schema.key.front()) + "))";
}

std::string site_copy_text(std::int64_t rows) {
  std::string text;
  text.reserve(static_cast<std::size_t>(rows) * copy_line_estimate);
  for (std::int64_t i = 0; i < rows; ++i) {
    auto row = bench::make_row(i);
    row.pop_back(); // the version column comes last
    bench::append_copy_fields(text, row);
    text += '\n';
  }
  return text;
}

int fill(const bench_options& options) {
  {
    pqxx::connection connection{options.pg_url};
    pqxx::work tx{connection};
    tx.exec(site_table_ddl(options.table));
    tx.commit();
  }
  auto seconds = bench::timed_copy(options.pg_url, quoted(options.table),
                                   site_copy_text(options.rows));
  std::printf("fill_seconds %.3f\n", seconds);
  return 0;
}

int copy(const bench_options& options) {
  auto model = std::string(data_schema) + "." + quoted(options.table);
  auto table = std::string(data_schema) + "." + quoted(options.table + "_copy");
  bench::create_table_like(options.pg_url, table, model);
  // Rendered before the clock, as upload_bench does: the clock is PostgreSQL's share.
  auto text = bench::render_copy_text(options.rows, options.client_id, options.database_id);
  bench::checkpoint(options.pg_url);
  auto seconds = bench::timed_copy(options.pg_url, table, text);
  auto counted =
      bench::tenant_row_count(options.pg_url, table, options.client_id, options.database_id);
  if (counted != options.rows)
    throw std::runtime_error(table + " holds " + std::to_string(counted) + " rows, expected " +
                             std::to_string(options.rows));
  std::printf("copy_seconds %.3f\n", seconds);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  try {
    return options.command == "fill" ? fill(options) : copy(options);
  } catch (const std::exception& e) {
    std::cerr << "agent_load_bench: FAILED: " << e.what() << "\n";
    return 1;
  }
}
