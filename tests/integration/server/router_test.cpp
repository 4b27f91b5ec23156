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
#include <future>
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

constexpr auto accepted = db_pool::outcome::accepted;

// Every client may use the whole pool: the limits as they were before shares.
pool_limits unshared(std::size_t workers, std::size_t max_waiting) {
  return {workers, max_waiting, workers, max_waiting};
}

TEST(DbPool, RefusesWorkOnceEveryWorkerIsBusyAndTheQueueIsFull) {
  db_pool pool{unshared(2, 1), unreachable_store()};
  gate held;
  std::atomic<int> done{0};
  auto job = [&](db_worker&) {
    held.wait();
    ++done;
  };
  ASSERT_EQ(pool.try_submit("acme", job), accepted);
  ASSERT_EQ(pool.try_submit("acme", job), accepted);
  ASSERT_TRUE(testing::eventually([&] { return pool.busy() == 2; }));
  EXPECT_EQ(pool.try_submit("acme", job), accepted); // waits
  EXPECT_EQ(pool.waiting(), 1u);
  EXPECT_EQ(pool.try_submit("other", job), db_pool::outcome::pool_full); // refused at once
  held.open();
  pool.stop();
  EXPECT_EQ(done, 3);
  EXPECT_EQ(pool.try_submit("acme", job), db_pool::outcome::stopping);
}

TEST(DbPool, AJobThatCannotConnectGetsUnavailableAndTheWorkerSurvives) {
  db_pool pool{unshared(1, 4), unreachable_store()};
  std::atomic<int> unavailable{0};
  auto job = [&](db_worker& worker) {
    try {
      worker.store();
    } catch (const api_error& e) {
      if (e.code() == error_code::unavailable)
        ++unavailable;
    }
  };
  ASSERT_EQ(pool.try_submit("acme", job), accepted);
  ASSERT_EQ(pool.try_submit("acme", job), accepted);
  pool.stop();
  EXPECT_EQ(unavailable, 2);
}

TEST(DbPool, AClientAtItsShareWaitsWhileAnotherClientRunsOnTheWorkerLeft) {
  db_pool pool{{2, 8, 1, 2}, unreachable_store()};
  gate noisy_held, quiet_held;
  std::atomic<int> noisy_done{0}, quiet_started{0};
  auto noisy = [&](db_worker&) {
    noisy_held.wait();
    ++noisy_done;
  };
  ASSERT_EQ(pool.try_submit("noisy", noisy), accepted);
  ASSERT_EQ(pool.try_submit("noisy", noisy), accepted);
  ASSERT_EQ(pool.try_submit("noisy", noisy), accepted);
  EXPECT_EQ(pool.try_submit("noisy", noisy), db_pool::outcome::client_full);
  ASSERT_TRUE(testing::eventually([&] { return pool.busy() == 1 && pool.waiting() == 2; }));

  // The noisy client's jobs hold one worker and wait for it; the other runs at once.
  ASSERT_EQ(pool.try_submit("quiet",
                            [&](db_worker&) {
                              ++quiet_started;
                              quiet_held.wait();
                            }),
            accepted);
  EXPECT_TRUE(testing::eventually([&] { return quiet_started == 1; }));
  EXPECT_EQ(pool.busy(), 2u);
  EXPECT_EQ(noisy_done, 0);
  quiet_held.open();
  noisy_held.open();
  pool.stop();
  EXPECT_EQ(noisy_done, 3);
}

TEST(DbPool, StopRunsTheJobsQueuedBehindAClientsShare) {
  db_pool pool{{2, 8, 1, 4}, unreachable_store()};
  std::atomic<int> done{0};
  gate held;
  auto job = [&](db_worker&) {
    held.wait();
    ++done;
  };
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(pool.try_submit("acme", job), accepted);
  ASSERT_TRUE(testing::eventually([&] { return pool.busy() == 1; }));
  auto stopping = std::async(std::launch::async, [&] { pool.stop(); });
  held.open();
  stopping.get();
  EXPECT_EQ(done, 5);
}

} // namespace

} // namespace tidesync::server
