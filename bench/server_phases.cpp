#include "bench/server_phases.hpp"

#include "storage/copy_batch.hpp"
#include "storage/staging_copy.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <pqxx/pqxx>

#include <chrono>

namespace tidesync::bench {

namespace {

using clock_type = std::chrono::steady_clock;

// Adds the seconds `step` takes to `total` and returns what it returned.
template <class Step>
auto timed(double& total, Step step) {
  auto started = clock_type::now();
  auto result = step();
  total += std::chrono::duration<double>(clock_type::now() - started).count();
  return result;
}

} // namespace

phase_times replay_server_phases(const std::string& url, const std::string& table,
                                 const protocol::table_schema& schema,
                                 const std::string& client_id, const std::string& database_id,
                                 const std::vector<std::string>& bodies) {
  pqxx::connection connection{url};
  // The store's session settings, so timestamptz text is read the same way.
  pqxx::nontransaction{connection}.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'");
  phase_times times;
  for (const auto& body : bodies) {
    auto json = timed(times.parse, [&] { return boost::json::parse(body); });
    auto batch = timed(times.validate, [&] {
      return storage::prepare_upload(schema, json, client_id, database_id);
    });
    timed(times.copy, [&] {
      pqxx::work tx{connection};
      pqxx::subtransaction attempt{tx, "insert_only"};
      storage::copy_to_table(attempt, table, batch);
      attempt.commit();
      tx.commit();
      return 0;
    });
  }
  return times;
}

} // namespace tidesync::bench
