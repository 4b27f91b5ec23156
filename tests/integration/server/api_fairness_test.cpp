// One tenant holding its share of the database workers, and every request it
// may queue, leaves the other tenants served (docs/operations.md, Sizing).
// Made deterministic with PostgreSQL locks that hold the first tenant's
// uploads inside their database workers; nothing here sleeps and hopes.
#include "server/api_server.hpp"

#include "tests/integration/server/server_fixture.hpp"

#include <pqxx/pqxx>

#include <future>
#include <vector>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;

// Long enough for a loaded 2-core machine; a served request answers in milliseconds.
constexpr auto served_within = 30s;

/// Holds the row lock of acme's `orders` summary until released, so every
/// upload of acme to that table waits inside its database worker.
class summary_lock {
public:
  explicit summary_lock(const std::string& url) : connection_(url), tx_(connection_) {
    tx_.exec("SELECT 1 FROM tidesync.tenant_tables WHERE client_id = 'acme'"
             " AND table_name = 'orders' FOR UPDATE");
  }
  void release() { tx_.abort(); }

private:
  pqxx::connection connection_;
  pqxx::work tx_;
};

/// Rows in the `orders` columns (id, note, price, tidesync_version).
std::string orders_body(std::int64_t first, std::int64_t count) {
  std::string rows;
  for (auto id = first; id < first + count; ++id)
    rows += (rows.empty() ? "[" : ",[") + std::to_string(id) + R"(,"row",null,)" +
            std::to_string(id) + "]";
  return R"({"columns":["id","note","price","tidesync_version"],"rows":[)" + rows + "]}";
}

class ApiFairness : public server_test {
protected:
  void SetUp() override {
    server_test::SetUp();
    declare_orders();
    other_token_ = create_client("globex");
    other_database_ = register_database("globex", other_token_, "store-01");
    auto reply = client().call("PUT", other_path() + "/schema", other_token_,
                               schema_body(R"([{"name":"id","type":"bigint","nullable":false},
                                               {"name":"note","type":"text","nullable":true},
                                               {"name":"price","type":"numeric","nullable":true},
                                               {"name":"tidesync_version","type":"bigint",
                                                "nullable":false}])",
                                           R"(["id"])"));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  std::string other_path() const {
    return database_path("globex", other_database_) + "/tables/orders";
  }

  /// acme uploads on a connection of its own; answers once nothing holds it.
  std::future<http_reply> start_acme_upload(std::int64_t first) {
    return std::async(std::launch::async, [port = port_, path = table_path("orders"),
                                           token = token_, first] {
      test_http_client own{port};
      return own.call("POST", path, token, orders_body(first, 3));
    });
  }

  /// globex's request on a connection of its own, so a test can bound the wait.
  std::future<http_reply> start_other(const std::string& method, const std::string& target,
                                      const std::string& body = "") {
    return std::async(std::launch::async, [port = port_, method, target, body,
                                           token = other_token_] {
      test_http_client own{port};
      return own.call(method, target, token, body);
    });
  }

  std::string other_token_;
  std::string other_database_;
};

// True when `reply` came within `served_within`; the request must not wait for acme.
bool answered(std::future<http_reply>& reply) {
  return reply.wait_for(served_within) == std::future_status::ready;
}

bool still_held(const std::vector<std::future<http_reply>>& uploads) {
  for (const auto& upload : uploads)
    if (upload.wait_for(0s) != std::future_status::timeout)
      return false;
  return true;
}

TEST_F(ApiFairness, ASecondTenantIsServedWhileTheFirstHoldsItsShareAndFillsItsQueue) {
  // The fixture's pool: 2 workers, 8 may wait; by default one client holds
  // 1 worker (3/4 of 2, at least 1) and queues up to 4 more (half of 8).
  std::vector<std::future<http_reply>> held; // before the lock: a failed check releases it first
  summary_lock lock{db_.url()};
  for (int i = 0; i < 5; ++i)
    held.push_back(start_acme_upload(1 + 3 * i));
  ASSERT_TRUE(eventually([&] {
    return server_->busy_workers() == 1 && server_->waiting_requests() == 4;
  }, served_within)) << "busy " << server_->busy_workers() << ", waiting "
                     << server_->waiting_requests();

  auto over_share = client().call("GET", table_path("orders"), token_);
  EXPECT_EQ(over_share.status, 503) << over_share.body;
  EXPECT_EQ(over_share.error_code(), "unavailable");
  EXPECT_EQ(over_share.headers["retry-after"], "1");

  auto summary = start_other("GET", database_path("globex", other_database_) + "/tables");
  ASSERT_TRUE(answered(summary)) << "globex waited behind acme's requests";
  EXPECT_EQ(summary.get().status, 200);
  auto upload = start_other("POST", other_path(), orders_body(1, 100));
  ASSERT_TRUE(answered(upload)) << "globex's upload waited behind acme's";
  auto uploaded = upload.get();
  EXPECT_EQ(uploaded.status, 200) << uploaded.body;
  auto manifest = start_other("GET", other_path() + "/manifest?limit=10");
  ASSERT_TRUE(answered(manifest));
  EXPECT_EQ(manifest.get().status, 200);
  EXPECT_TRUE(still_held(held)) << "acme's uploads were to wait for the lock";

  lock.release();
  for (auto& upload : held) {
    auto reply = upload.get();
    EXPECT_EQ(reply.status, 200) << reply.body;
  }
  EXPECT_EQ(client().call("GET", table_path("orders"), token_).json().at("count").as_int64(), 15);
}

TEST_F(ApiFairness, AConfiguredShareLetsOneTenantHoldThatManyWorkersAndNoMore) {
  auto config = test_config();
  config.pool_size = 3;
  config.max_waiting = 6;
  config.max_workers_per_client = 2;
  config.max_waiting_per_client = 1;
  restart_server(config);
  // Known tokens skip the cap on lookups of unknown ones (a quarter of the pool).
  ASSERT_EQ(client().call("GET", table_path("orders"), token_).status, 200);
  ASSERT_EQ(client().call("GET", other_path(), other_token_).status, 200);
  std::vector<std::future<http_reply>> held;
  summary_lock lock{db_.url()};
  for (int i = 0; i < 3; ++i)
    held.push_back(start_acme_upload(1 + 3 * i));
  ASSERT_TRUE(eventually([&] {
    return server_->busy_workers() == 2 && server_->waiting_requests() == 1;
  }, served_within)) << "busy " << server_->busy_workers() << ", waiting "
                     << server_->waiting_requests();
  auto refused = start_acme_upload(100);
  ASSERT_TRUE(answered(refused));
  EXPECT_EQ(refused.get().status, 503);

  auto upload = start_other("POST", other_path(), orders_body(1, 10));
  ASSERT_TRUE(answered(upload)) << "globex's upload waited behind acme's";
  EXPECT_EQ(upload.get().status, 200);
  EXPECT_TRUE(still_held(held));
  lock.release();
  for (auto& upload : held)
    EXPECT_EQ(upload.get().status, 200);
}

TEST_F(ApiFairness, AnUploadHeldInsideItsTransactionDoesNotBlockAnotherTenantsUploadToTheSameTable) {
  // An uncommitted row with one of acme's keys makes acme's upload wait in
  // the middle of its COPY into the shared table, holding every lock its
  // transaction takes: its summary row and the rows it inserted so far.
  std::future<http_reply> acme; // before the lock: a failed check releases it first
  pqxx::connection holder{db_.url()};
  pqxx::work holding{holder};
  holding.exec_params("INSERT INTO tidesync_data.orders (client_id, database_id, id, note,"
                      " tidesync_version) VALUES ('acme', $1::uuid, 5, 'held', 5)",
                      database_id_);
  acme = start_acme_upload(4);
  pqxx::connection observer{db_.url()};
  ASSERT_TRUE(eventually([&] {
    pqxx::nontransaction look{observer};
    return look.exec("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                     " AND query LIKE 'COPY%'").size() == 1;
  }, served_within)) << "acme's upload never waited on the held key";

  auto upload = start_other("POST", other_path(), orders_body(1, 100));
  ASSERT_TRUE(answered(upload)) << "globex's upload waited for acme's transaction";
  auto reply = upload.get();
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("count").as_int64(), 100);
  EXPECT_EQ(acme.wait_for(0s), std::future_status::timeout);

  holding.abort();
  auto acme_reply = acme.get();
  EXPECT_EQ(acme_reply.status, 200) << acme_reply.body;
  EXPECT_EQ(acme_reply.json().at("count").as_int64(), 3);
}

} // namespace

} // namespace tidesync::testing
