#include "apps/tidesync/tracking_output.hpp"

#include <iostream>

namespace tidesync::app {

namespace {

std::string how_it_runs(const storage::tracking_step& step) {
  switch (step.mode) {
  case storage::step_mode::transaction:
    return "one short transaction, locks asked with lock_timeout and retried";
  case storage::step_mode::unbounded:
    return "outside a transaction; waits without blocking writes";
  case storage::step_mode::backfill:
    return std::to_string(step.rows) + " rows, the statement repeated in short batches";
  }
  return "";
}

} // namespace

void print_steps(std::ostream& out, const std::string& database,
                 const std::vector<storage::tracking_step>& steps) {
  std::size_t statements = 0;
  for (const auto& step : steps)
    statements += step.statements.size();
  out << "-- " << database << ": " << steps.size() << (steps.size() == 1 ? " step, " : " steps, ")
      << statements << " statements\n";
  for (const auto& step : steps) {
    out << "-- " << (step.table.empty() ? database : step.table) << ": " << step.summary << " ("
        << how_it_runs(step) << ")\n";
    for (const auto& statement : step.statements)
      out << statement << ";\n";
  }
}

storage::tracking_progress progress_printer(const std::string& database) {
  return [database](const std::string& table, const std::string& message) {
    std::cout << database << ": " << (table.empty() ? "" : table + ": ") << message << std::endl;
  };
}

} // namespace tidesync::app
