#include "storage/postgres_store.hpp"

#include "protocol/column_refusal.hpp"
#include "tests/integration/store/store_fixture.hpp"
#include "tests/support/time_scale.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <thread>

namespace tidesync::storage::testing {
namespace {

using namespace std::chrono_literals;
using protocol::error_code;

// Tenants racing one another on a shared table, and names that real sites
// have but PostgreSQL treats specially: what one declaration may do to the others.
class store_contention : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->declare_table("acme", db_, "items", items_schema());
  }

  /// A store of the same database, with its own connection, and other limits.
  std::unique_ptr<postgres_store> store_with(declaration_limits limits = {}) {
    return std::make_unique<postgres_store>(
        store_options{database_.url(), "tidesync_data", limits});
  }

  /// Registers `count` tenants ("tenant_0"…), one database each; their ids in order.
  std::vector<std::string> register_tenants(int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      auto client = "tenant_" + std::to_string(i);
      store_->create_client(client);
      ids.push_back(store_->register_database(client, "site").database_id);
    }
    return ids;
  }

  /// Runs `declare(i)` on `count` threads released at the same moment, each
  /// with its own store; the outcome of each: "ok" or the error's code.
  template <class Declare>
  std::vector<std::string> at_once(int count, declaration_limits limits, Declare declare) {
    std::latch ready{count};
    std::vector<std::future<std::string>> runs;
    for (int i = 0; i < count; ++i)
      runs.push_back(std::async(std::launch::async, [&, i] {
        auto store = store_with(limits);
        ready.arrive_and_wait();
        try {
          declare(*store, i);
          return std::string{"ok"};
        } catch (const protocol::api_error& e) {
          return std::string{protocol::code_name(e.code())};
        }
      }));
    std::vector<std::string> outcomes;
    for (auto& run : runs)
      outcomes.push_back(run.get());
    return outcomes;
  }

  static protocol::table_schema with_column(protocol::table_schema schema, const std::string& name,
                                            protocol::column_type type) {
    schema.columns.push_back({name, type, true});
    return schema;
  }

  std::string columns_of(const std::string& table) {
    return *scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'tidesync_data.\"" + table +
                   "\"'::regclass AND attnum > 0 AND NOT attisdropped");
  }
};

TEST_F(store_contention, TenantsAddingDistinctColumnsAtOnceStopExactlyAtTheSharedLimit) {
  auto ids = register_tenants(8);
  // items has 4 columns: room for 5 more, 8 tenants asking for 2 each.
  declaration_limits limits{.columns_per_shared_table = 9};
  auto outcomes = at_once(8, limits, [&](postgres_store& store, int i) {
    auto schema =
        with_column(items_schema(), "a_" + std::to_string(i), protocol::column_type::text);
    schema = with_column(schema, "b_" + std::to_string(i), protocol::column_type::text);
    store.declare_table("tenant_" + std::to_string(i), ids[i], "items", schema);
  });
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "ok"), 2);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "columns_refused"), 6);
  // A declaration takes all its new columns or none: 4 + 2 × 2, and the tenant columns.
  EXPECT_EQ(columns_of("items"), "10");
  auto stored = store_->list_remote_tables();
  EXPECT_EQ(stored.at(0).columns, 8u);
}

TEST_F(store_contention, TwoTenantsCreatingOneTableWithDifferentTypesAtOnceGetOneTableAndARefusal) {
  auto ids = register_tenants(2);
  auto outcomes = at_once(2, {}, [&](postgres_store& store, int i) {
    auto type = i == 0 ? protocol::column_type::numeric : protocol::column_type::text;
    store.declare_table("tenant_" + std::to_string(i), ids[i], "orders",
                        with_column(items_schema(), "total", type));
  });
  std::sort(outcomes.begin(), outcomes.end());
  EXPECT_EQ(outcomes, (std::vector<std::string>{"columns_refused", "ok"}));
  EXPECT_EQ(columns_of("orders"), "7");
  EXPECT_EQ(scalar("SELECT count(*) FROM tidesync.tenant_tables WHERE table_name = 'orders'"), "1");
}

// Each declaration checks the database's table count under its own table's
// lock: declarations of different new tables must not all see room.
TEST_F(store_contention, ADatabaseDeclaringNewTablesInParallelStaysWithinItsTableLimit) {
  auto ids = register_tenants(1);
  declaration_limits limits{.tables_per_database = 3};
  auto outcomes = at_once(8, limits, [&](postgres_store& store, int i) {
    store.declare_table("tenant_0", ids[0], "table_" + std::to_string(i), items_schema());
  });
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "ok"), 3);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "limit_exceeded"), 5);
  EXPECT_EQ(scalar("SELECT count(*) FROM tidesync.tenant_tables WHERE client_id = 'tenant_0'"),
            "3");
}

TEST_F(store_contention, NoColumnIsAddedOnceLockSchemaHasReturned) {
  auto ids = register_tenants(6);
  std::atomic<bool> locked{false};
  std::atomic<int> added_after_lock{0};
  auto locking = std::async(std::launch::async, [&] {
    auto operator_store = store_with();
    std::this_thread::sleep_for(20ms);
    operator_store->set_schema_locked("items", true);
    locked = true;
  });
  auto outcomes = at_once(6, {}, [&](postgres_store& store, int i) {
    for (int round = 0; round < 10; ++round) {
      bool was_locked = locked;
      auto name = "c_" + std::to_string(i) + "_" + std::to_string(round);
      try {
        store.declare_table("tenant_" + std::to_string(i), ids[i], "items",
                            with_column(items_schema(), name, protocol::column_type::text));
        if (was_locked)
          ++added_after_lock;
      } catch (const protocol::columns_refused_error&) {
        // refused: by the lock, or when the lock came while it was declared
      }
    }
  });
  locking.get();
  EXPECT_EQ(added_after_lock, 0);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "ok"), 6);
  auto before = columns_of("items");
  EXPECT_THROW(
      store_->declare_table("tenant_0", ids[0], "items",
                            with_column(items_schema(), "late", protocol::column_type::text)),
      protocol::columns_refused_error);
  EXPECT_EQ(columns_of("items"), before);
}

// xmin, xmax, cmin, cmax, ctid and tableoid are column names a site can have
// (a bounding box, a measurement range) but PostgreSQL keeps for itself.
TEST_F(store_contention, AColumnNamedLikeASystemColumnIsRefusedAndTheOthersSync) {
  auto ids = register_tenants(1);
  auto tiles = with_column(items_schema(), "xmin", protocol::column_type::double_precision);
  tiles = with_column(tiles, "xmax", protocol::column_type::double_precision);
  tiles = with_column(tiles, "ymin", protocol::column_type::double_precision);
  for (const auto* table : {"tiles", "items"}) {
    std::vector<protocol::refused_column> refused;
    try {
      store_->declare_table("tenant_0", ids[0], table, tiles);
      ADD_FAILURE() << table << ": expected columns_refused";
    } catch (const protocol::columns_refused_error& e) {
      refused = e.columns();
    } catch (const std::exception& e) {
      ADD_FAILURE() << table << ": " << e.what();
    }
    ASSERT_EQ(refused.size(), 2u) << table;
    EXPECT_EQ(refused[0].name, "xmin");
    EXPECT_NE(refused[0].reason.find("system column"), std::string::npos) << refused[0].reason;
    EXPECT_EQ(refused[1].name, "xmax");
    EXPECT_NO_THROW(
        store_->declare_table("tenant_0", ids[0], table, protocol::without_columns(tiles, refused)))
        << table;
  }
  EXPECT_EQ(columns_of("tiles"), "7");
  upload("tiles", R"({"columns":["id","ymin","v"],"rows":[[1,2.5,1]]})", "tenant_0", ids[0]);
  EXPECT_EQ(store_->table_version("tenant_0", ids[0], "tiles").count, 1);
}

TEST_F(store_contention, AKeyColumnNamedLikeASystemColumnIsABadRequest) {
  auto ids = register_tenants(1);
  auto keyed = schema(R"({"columns":[{"name":"ctid","type":"bigint","nullable":false},
                                     {"name":"v","type":"bigint","nullable":false}],
                          "key":["ctid"],"version_column":"v","modified_column":null})");
  auto message = error_of(error_code::bad_request,
                          [&] { store_->declare_table("tenant_0", ids[0], "cells", keyed); });
  EXPECT_NE(message.find("ctid"), std::string::npos) << message;
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'cells'"), "0");
}

// A tenant that adds a column and makes it its modified column in one
// declaration: the ADD COLUMN holds the shared table's exclusive lock until
// commit, so nothing may read the tenant's rows after it.
TEST_F(store_contention, ANewModifiedColumnDoesNotHoldOtherTenantsUploadsWhileItsRowsAreRead) {
  auto ids = register_tenants(1);
  store_->declare_table("tenant_0", ids[0], "items", items_schema());
  query("INSERT INTO tidesync_data.items (client_id, database_id, id, v) SELECT 'tenant_0', '" +
        ids[0] + "'::uuid, i, i FROM generate_series(1, 500000) i; ANALYZE tidesync_data.items");
  auto dated = with_column(items_schema(), "changed", protocol::column_type::timestamptz);
  dated.modified_column = "changed";

  std::atomic<bool> declared{false};
  auto uploading = std::async(std::launch::async, [&] {
    auto acme = store_with();
    auto longest = 0ms;
    for (int id = 1; !declared; ++id) {
      auto started = std::chrono::steady_clock::now();
      acme->upload("acme", db_, "items",
                   json(R"({"columns":["id","v"],"rows":[[)" + std::to_string(id) + "," +
                        std::to_string(id) + "]]}"));
      longest = std::max(longest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - started));
    }
    return longest;
  });
  std::this_thread::sleep_for(100ms);
  auto declaring = store_with();
  auto declare_started = std::chrono::steady_clock::now();
  declaring->declare_table("tenant_0", ids[0], "items", dated);
  auto declaring_took = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - declare_started);
  declared = true;
  auto longest = uploading.get();
  // Held behind the declaration, an upload would wait about as long as the
  // declaration ran; free, it takes a few round trips. The first bound is the
  // one a slower (sanitized) build keeps, the second tells it from the bug.
  EXPECT_LT(longest, tidesync::testing::scaled(150ms)) << "longest upload " << longest.count() << " ms";
  EXPECT_LT(longest * 2, declaring_took)
    << "longest upload " << longest.count() << " ms, declaration " << declaring_took.count()
    << " ms";
  EXPECT_FALSE(store_->table_version("tenant_0", ids[0], "items").max_modified);
  EXPECT_EQ(store_->table_version("tenant_0", ids[0], "items").max_version, 500000);
}

TEST_F(store_contention, TenThousandColumnsAreRefusedBeforeAnySql) {
  auto ids = register_tenants(1);
  auto huge = items_schema();
  for (int i = 0; i < 10'000; ++i)
    huge.columns.push_back({"c" + std::to_string(i), protocol::column_type::text, true});
  auto started = std::chrono::steady_clock::now();
  error_of(error_code::limit_exceeded,
           [&] { store_->declare_table("tenant_0", ids[0], "items", huge); });
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(columns_of("items"), "6");
}

TEST_F(store_contention, NamesThatDifferOnlyInCaseAreTwoColumns) {
  auto ids = register_tenants(1);
  auto cased = with_column(items_schema(), "Note", protocol::column_type::bigint);
  store_->declare_table("tenant_0", ids[0], "items", cased);
  EXPECT_EQ(columns_of("items"), "7");
  upload("items", R"({"columns":["id","Note","note","v"],"rows":[[1,7,"seven",1]]})", "tenant_0",
         ids[0]);
  EXPECT_EQ(scalar("SELECT \"Note\"::text || note FROM tidesync_data.items"), "7seven");
}

// A tenant naming each of its date columns as the modified column in turn:
// each gets an index on the table every tenant writes to.
TEST_F(store_contention, FlippingTheModifiedColumnBackAndForthBuildsOneIndexPerColumn) {
  auto ids = register_tenants(1);
  auto dated = with_column(items_schema(), "created", protocol::column_type::date);
  dated = with_column(dated, "changed", protocol::column_type::date);
  for (int round = 0; round < 6; ++round) {
    dated.modified_column = round % 2 == 0 ? "created" : "changed";
    store_->declare_table("tenant_0", ids[0], "items", dated);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'items'"
                   " AND indexname LIKE '%modified%'"),
            "2");
}

TEST_F(store_contention, ARefusedModifiedColumnGetsNoIndexAndNoMaximum) {
  auto ids = register_tenants(1);
  auto acme_dated = with_column(items_schema(), "changed", protocol::column_type::date);
  store_->declare_table("acme", db_, "items", acme_dated);
  auto dated = with_column(items_schema(), "changed", protocol::column_type::timestamptz);
  dated.modified_column = "changed";
  std::vector<protocol::refused_column> refused;
  try {
    store_->declare_table("tenant_0", ids[0], "items", dated);
  } catch (const protocol::columns_refused_error& e) {
    refused = e.columns();
  }
  ASSERT_EQ(refused.size(), 1u);
  auto rest = protocol::without_columns(dated, refused);
  EXPECT_FALSE(rest.modified_column);
  store_->declare_table("tenant_0", ids[0], "items", rest);
  upload("items", R"({"columns":["id","v"],"rows":[[1,1]]})", "tenant_0", ids[0]);
  EXPECT_FALSE(store_->table_version("tenant_0", ids[0], "items").max_modified);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'items'"
                   " AND indexname LIKE '%modified%'"),
            "0");
}

} // namespace
} // namespace tidesync::storage::testing
