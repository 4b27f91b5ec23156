#include "apps/tidesync/admin_removal.hpp"

#include "apps/tidesync/commands.hpp"
#include "apps/tidesync/terminal_text.hpp"
#include "server/token_gate.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <iostream>
#include <thread>

namespace tidesync::app {

namespace {

using progress_clock = std::chrono::steady_clock;
constexpr std::chrono::seconds progress_every{2};

// What the command names: "client acme", "database store-01 of client acme",
// "table orders of database store-01 of client acme".
std::string scope_text(const storage::removal_scope& scope) {
  std::string text = "client " + terminal_text(scope.client_id);
  if (scope.database)
    text = "database " + terminal_text(*scope.database) + " of " + text;
  if (scope.table)
    text = "table " + terminal_text(*scope.table) + " of " + text;
  return text;
}

bool removed_anything(const storage::removal_report& report, std::int64_t revoked) {
  return report.rows || report.tables || report.databases || report.tokens || report.client ||
         revoked;
}

} // namespace

int run_removal(storage::postgres_store& store, const storage::removal_scope& scope,
                std::int64_t batch_rows, bool json) {
  // Tokens first, so no agent of the scope adds rows behind the deletion; a
  // server trusts a token it checked for known_ttl, so wait that out.
  const auto revoked = store.revoke_tokens_of(scope);
  if (revoked > 0) {
    const auto grace = server::token_gate::known_ttl + std::chrono::seconds{1};
    std::cerr << scope_text(scope) << ": revoked " << revoked << " token"
              << (revoked == 1 ? "" : "s") << "; waiting "
              << std::chrono::duration_cast<std::chrono::seconds>(grace).count()
              << " s until no server accepts them\n";
    std::this_thread::sleep_for(grace);
  }
  auto last_said = progress_clock::now();
  auto report =
      store.remove_tenant_data(scope, batch_rows, [&](const std::string& table, std::int64_t rows) {
        if (progress_clock::now() - last_said < progress_every)
          return;
        last_said = progress_clock::now();
        std::cerr << scope_text(scope) << ": " << terminal_text(table) << ": " << rows
                  << " rows removed so far\n";
      });
  if (json) {
    boost::json::object out{{"client_id", scope.client_id},   {"rows", report.rows},
                            {"tables", report.tables},        {"databases", report.databases},
                            {"tokens_revoked", revoked},      {"tokens_deleted", report.tokens},
                            {"client_removed", report.client}};
    out["database"] = scope.database ? boost::json::value(*scope.database) : nullptr;
    out["table"] = scope.table ? boost::json::value(*scope.table) : nullptr;
    std::cout << boost::json::serialize(out) << "\n";
    return exit_ok;
  }
  if (!removed_anything(report, revoked)) {
    std::cout << scope_text(scope) << ": nothing to remove (already removed, or never there)\n";
    return exit_ok;
  }
  std::cout << "removed " << scope_text(scope) << ": " << report.rows << " rows in "
            << report.tables << " table" << (report.tables == 1 ? "" : "s");
  if (!scope.table)
    std::cout << ", " << report.databases << " database" << (report.databases == 1 ? "" : "s")
              << ", " << revoked << " active token" << (revoked == 1 ? "" : "s") << " revoked ("
              << report.tokens << " deleted)";
  std::cout << "\n";
  if (scope.database && !scope.table)
    std::cout << "tokens of client " << terminal_text(scope.client_id)
              << " for all its databases stay valid: an agent still configured with this "
                 "database registers it again\n";
  if (scope.table)
    std::cout << "an agent still configured with this table declares and uploads it again\n";
  return exit_ok;
}

} // namespace tidesync::app
