// The age a database's report gives for its equal tables: from the start of
// the check that saw each table equal, never moved back, and counted on a
// clock that keeps running while the host is suspended.
#include "metrics/agent_metrics.hpp"

#include <prometheus/registry.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace tidesync::metrics {
namespace {

using namespace std::chrono_literals;

TEST(EqualAge, CountsFromTheStartOfTheCheckAndNeverMovesBack) {
  prometheus::Registry registry;
  agent_metrics metrics{registry};
  auto& table = metrics.add_table("store-01", "orders");
  const auto now = std::chrono::steady_clock::now();
  table.set_equal(now - 30s);
  EXPECT_EQ(table.phase(), table_phase::equal);
  EXPECT_GE(table.seconds_since_equal(), 30.0);
  EXPECT_LT(table.seconds_since_equal(), 31.0);
  // A later check that began earlier (a slow one) claims nothing older.
  table.set_equal(now - 10s);
  EXPECT_GE(table.seconds_since_equal(), 10.0);
  EXPECT_LT(table.seconds_since_equal(), 11.0);
  table.set_equal(now - 60s);
  EXPECT_LT(table.seconds_since_equal(), 11.0) << "an older check moved the age back";
}

TEST(EqualAge, TheClockKeepsPaceWithTheMonotonicOneWhileAwake) {
  const auto boot = boot_seconds();
  const auto steady = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(50ms);
  const auto boot_elapsed = boot_seconds() - boot;
  const auto steady_elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - steady).count();
  EXPECT_GE(boot_elapsed, 0.05);
  EXPECT_NEAR(boot_elapsed, steady_elapsed, 0.01);
}

} // namespace
} // namespace tidesync::metrics
