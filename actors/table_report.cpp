#include "actors/table_report.hpp"

#include <spdlog/spdlog.h>

#include <sstream>

namespace tidesync::actors {

std::string_view to_string(table_state state) {
  switch (state) {
    case table_state::in_sync:
      return "in_sync";
    case table_state::syncing:
      return "syncing";
    case table_state::skipped:
      return "skipped";
    case table_state::error:
      return "error";
  }
  return "error";
}

bool agent_report::all_in_sync() const {
  for (const auto& database : databases) {
    if (!database.error.empty())
      return false;
    for (const auto& table : database.tables)
      if (table.state != table_state::in_sync)
        return false;
  }
  return true;
}

std::string agent_report::summary_lines() const {
  std::ostringstream out;
  for (const auto& database : databases) {
    // A database-level failure is repeated on each table line; a line of its
    // own is only needed when no table line carries it.
    if (!database.error.empty() && database.tables.empty())
      out << database.database << " error: " << database.error << "\n";
    for (const auto& t : database.tables) {
      out << t.database << " " << t.table << " " << to_string(t.state)
          << " uploaded=" << t.rows_uploaded << " deleted=" << t.rows_deleted
          << " skipped=" << t.skipped_rows;
      if (!t.error.empty())
        out << " error: " << t.error;
      out << "\n";
      for (const auto& row : t.skipped)
        out << t.database << " " << t.table << " skipped row " << row.key << ": " << row.reason
            << "\n";
      if (t.skipped_rows > static_cast<std::int64_t>(t.skipped.size()))
        out << t.database << " " << t.table << " and "
            << t.skipped_rows - static_cast<std::int64_t>(t.skipped.size())
            << " more skipped rows (tidesync status counts them)\n";
    }
  }
  return out.str();
}

void log_work(const database_report& report) {
  for (const auto& table : report.tables)
    if (table.rows_uploaded || table.rows_deleted)
      spdlog::info("{}.{}: {} uploaded={} deleted={} skipped={}", table.database, table.table,
                   to_string(table.state), table.rows_uploaded, table.rows_deleted,
                   table.skipped_rows);
}

} // namespace tidesync::actors
