#include "sync/row_position.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace tidesync::sync {
namespace {

using protocol::column_type;

TEST(PositionOrder, OrdersByVersionBeforeKey) {
  const position_order order({column_type::bigint});
  EXPECT_TRUE(order({1, {"9"}}, {2, {"1"}}));
  EXPECT_FALSE(order({2, {"1"}}, {1, {"9"}}));
}

TEST(PositionOrder, RowsSharingAVersionOrderByKeyValue) {
  const position_order order({column_type::integer});
  EXPECT_TRUE(order({5, {"9"}}, {5, {"10"}}));
  EXPECT_EQ(order.compare({5, {"10"}}, {5, {"10"}}), std::weak_ordering::equivalent);
}

TEST(PositionOrder, CompositeKeysCompareColumnByColumnWithEachColumnsType) {
  const position_order order({column_type::text, column_type::bigint});
  EXPECT_TRUE(order({1, {"a", "9"}}, {1, {"a", "10"}}));
  EXPECT_TRUE(order({1, {"a", "10"}}, {1, {"b", "1"}}));
  EXPECT_EQ(order.key_width(), 2u);
}

TEST(PositionOrder, TextKeysDoNotCompareNumerically) {
  const position_order order({column_type::text});
  EXPECT_TRUE(order({1, {"10"}}, {1, {"9"}}));
}

TEST(PositionOrder, ShorterMalformedKeySortsBeforeTheKeyItPrefixes) {
  const position_order order({column_type::text, column_type::text});
  EXPECT_TRUE(order({1, {"a"}}, {1, {"a", "b"}}));
  EXPECT_TRUE(order({1, {"a", "b"}}, {1, {"a", "b", "c"}})) << "extra cells compare bytewise";
}

TEST(PositionOrder, SortsABatchTheWayTheStoreReturnsIt) {
  const position_order order({column_type::bigint});
  std::vector<row_position> rows{{7, {"10"}}, {3, {"2"}}, {7, {"9"}}, {3, {"11"}}};
  std::sort(rows.begin(), rows.end(), order);
  const std::vector<row_position> expected{{3, {"2"}}, {3, {"11"}}, {7, {"9"}}, {7, {"10"}}};
  EXPECT_EQ(rows, expected);
}

TEST(KeyLess, TreatsNumericallyEqualIntegerKeysAsOneKey) {
  const position_order order({column_type::bigint});
  std::map<row_key, int, key_less> keys{key_less(order)};
  keys[{"7"}] = 1;
  keys[{"07"}] = 2;
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys.begin()->second, 2);
}

} // namespace
} // namespace tidesync::sync
