#include "config/agent_config.hpp"
#include "config/server_config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace tidesync::config;

// The shipped examples are documentation; they must keep loading as the schema changes.

TEST(DeployExamples, ServerExampleLoadsCleanly) {
  const auto c = load_server_config(TIDESYNC_DEPLOY_DIR "/server.yaml");
  EXPECT_EQ(c.listen.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(c.max_waiting, 4 * c.pool_size);
  // The example writes out the values the server derives when the keys are left out.
  EXPECT_EQ(c.max_workers_per_client, client_workers_for(c.pool_size));
  EXPECT_EQ(c.max_waiting_per_client, client_waiting_for(c.max_waiting));
  EXPECT_FALSE(c.tls.has_value());
}

TEST(DeployExamples, AgentExampleLoadsCleanlyWithTheTokenFromTheEnvironment) {
  ::setenv("TIDESYNC_TOKEN", "example-token", 1);
  const auto c = load_agent_config(TIDESYNC_DEPLOY_DIR "/agent.yaml");
  EXPECT_EQ(c.server.token, "example-token");
  ASSERT_EQ(c.databases.size(), 2u);
  ASSERT_EQ(c.databases[0].tables.size(), 4u);
  EXPECT_EQ(c.databases[0].tables[2].exclude_columns,
            (std::vector<std::string>{"card_number", "private_note"}));
  EXPECT_EQ(c.databases[0].tables[3].remote(), "shop_refunds");
  EXPECT_EQ(c.databases[0].tables[3].where, "branch_id = 7");
  EXPECT_FALSE(c.server.proxy) << "the example leaves the proxy to the environment";
  EXPECT_EQ(c.databases[1].source, "sqlite:///var/lib/store02/store.db");
}
