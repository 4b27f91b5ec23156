// The router and the database pool without sockets or a database.
#include "server/router.hpp"

#include "protocol/error.hpp"
#include "server/api_handlers.hpp"
#include "server/db_pool.hpp"
#include "storage/postgres_store.hpp"
#include "tests/integration/server/server_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace tidesync::server {

namespace {

using protocol::api_error;
using protocol::error_code;

error_code routing_error(std::string_view method, std::string_view target) {
  try {
    match_route(method, target);
  } catch (const api_error& e) {
    return e.code();
  }
  return error_code::internal;
}

TEST(Router, ResolvesEveryRouteWithItsParameters) {
  auto m = match_route("GET", "/v1/customers/acme/databases/db1/tables/orders/manifest?limit=5&"
                              "after=a%2Bb&min_version=3");
  EXPECT_EQ(m.kind, route_kind::manifest);
  EXPECT_EQ(m.client_id, "acme");
  EXPECT_EQ(m.database_id, "db1");
  EXPECT_EQ(m.table, "orders");
  EXPECT_EQ(m.query["limit"], "5");
  EXPECT_EQ(m.query["after"], "a+b");
  EXPECT_EQ(match_route("POST", "/v1/customers/acme/databases").kind,
            route_kind::register_database);
  EXPECT_EQ(match_route("PUT", "/v1/customers/a/databases/d/tables/t/schema").kind,
            route_kind::declare_schema);
  EXPECT_EQ(match_route("GET", "/v1/customers/a/databases/d/tables").kind,
            route_kind::table_versions);
  EXPECT_EQ(match_route("GET", "/v1/customers/a/databases/d/tables/t").kind,
            route_kind::table_version);
  EXPECT_EQ(match_route("POST", "/v1/customers/a/databases/d/tables/t").kind, route_kind::upload);
  EXPECT_EQ(match_route("DELETE", "/v1/customers/a/databases/d/tables/t").kind,
            route_kind::delete_rows);
  EXPECT_EQ(match_route("GET", "/healthz").kind, route_kind::healthz);
  EXPECT_EQ(match_route("GET", "/readyz").kind, route_kind::readyz);
  EXPECT_EQ(match_route("GET", "/metrics").kind, route_kind::metrics);
}

TEST(Router, DecodesPercentEncodedPathSegments) {
  auto m = match_route("GET", "/v1/customers/acme%20co/databases/d/tables/t");
  EXPECT_EQ(m.client_id, "acme co");
}

TEST(Router, RefusesUnknownPathsWrongMethodsAndBadEncodings) {
  EXPECT_EQ(routing_error("GET", "/v1/customers//databases"), error_code::not_found);
  EXPECT_EQ(routing_error("GET", "/v1/customers/a/databases/d/tables/"), error_code::not_found);
  EXPECT_EQ(routing_error("GET", "/v1/customers/a/databases//tables"), error_code::not_found);
  EXPECT_EQ(routing_error("GET", "healthz"), error_code::not_found);
  EXPECT_EQ(routing_error("POST", "/healthz"), error_code::method_not_allowed);
  EXPECT_EQ(routing_error("PATCH", "/v1/customers/a/databases/d/tables/t"),
            error_code::method_not_allowed);
  EXPECT_EQ(routing_error("GET", "/v1/customers/a%zz/databases"), error_code::bad_request);
  EXPECT_EQ(routing_error("GET", "/healthz?x=%4"), error_code::bad_request);
}

TEST(BearerSecret, AcceptsTheBearerSchemeInAnyCaseOnly) {
  EXPECT_EQ(bearer_secret("Bearer abc"), "abc");
  EXPECT_EQ(bearer_secret("bearer  abc "), "abc");
  EXPECT_EQ(bearer_secret("Basic abc"), "");
  EXPECT_EQ(bearer_secret("Bearer"), "");
  EXPECT_EQ(bearer_secret(""), "");
}

/// Jobs that wait until the test opens a gate.
class gate {
public:
  void wait() {
    std::unique_lock lock{mutex_};
    opened_cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock{mutex_};
      open_ = true;
    }
    opened_cv_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable opened_cv_;
  bool open_ = false;
};

db_worker::store_factory unreachable_store() {
  return []() -> std::unique_ptr<storage::postgres_store> {
    throw api_error(error_code::unavailable, "no database in this test");
  };
}

TEST(DbPool, RefusesWorkOnceEveryWorkerIsBusyAndTheQueueIsFull) {
  db_pool pool{2, 1, unreachable_store()};
  gate held;
  std::atomic<int> done{0};
  auto job = [&](db_worker&) {
    held.wait();
    ++done;
  };
  ASSERT_TRUE(pool.try_submit(job));
  ASSERT_TRUE(pool.try_submit(job));
  ASSERT_TRUE(testing::eventually([&] { return pool.busy() == 2; }));
  EXPECT_TRUE(pool.try_submit(job)); // waits
  EXPECT_EQ(pool.waiting(), 1u);
  EXPECT_FALSE(pool.try_submit(job)); // refused at once
  held.open();
  pool.stop();
  EXPECT_EQ(done, 3);
  EXPECT_FALSE(pool.try_submit(job));
}

TEST(DbPool, AJobThatCannotConnectGetsUnavailableAndTheWorkerSurvives) {
  db_pool pool{1, 4, unreachable_store()};
  std::atomic<int> unavailable{0};
  auto job = [&](db_worker& worker) {
    try {
      worker.store();
    } catch (const api_error& e) {
      if (e.code() == error_code::unavailable)
        ++unavailable;
    }
  };
  ASSERT_TRUE(pool.try_submit(job));
  ASSERT_TRUE(pool.try_submit(job));
  pool.stop();
  EXPECT_EQ(unavailable, 2);
}

} // namespace

} // namespace tidesync::server
