#include "protocol/column_type.hpp"

#include <gtest/gtest.h>

using namespace tidesync::protocol;

TEST(ColumnType, AcceptsPostgresSpellingsAndAliases) {
  struct spelling {
    const char* name;
    column_type type;
  };
  for (auto [name, type] : std::initializer_list<spelling>{
           {"smallint", column_type::smallint},
           {"int2", column_type::smallint},
           {"INTEGER", column_type::integer},
           {"int", column_type::integer},
           {"int4", column_type::integer},
           {"bigint", column_type::bigint},
           {"int8", column_type::bigint},
           {"numeric(12, 2)", column_type::numeric},
           {"decimal", column_type::numeric},
           {"real", column_type::real},
           {"float4", column_type::real},
           {"float(24)", column_type::real},
           {"float(25)", column_type::double_precision},
           {"float", column_type::double_precision},
           {"double  precision", column_type::double_precision},
           {"float8", column_type::double_precision},
           {"bool", column_type::boolean},
           {"varchar", column_type::text},
           {"character varying(20)", column_type::text},
           {"char(3)", column_type::text},
           {"bytea", column_type::bytea},
           {"date", column_type::date},
           {"timestamp(6)", column_type::timestamp},
           {"timestamp without time zone", column_type::timestamp},
           {"Timestamp With Time Zone", column_type::timestamptz},
           {"timestamp(3) with time zone", column_type::timestamptz},
           {"timestamptz", column_type::timestamptz},
           {"uuid", column_type::uuid},
           {"json", column_type::json},
           {"jsonb", column_type::jsonb},
       })
    EXPECT_EQ(parse_column_type(name), type) << name;
}

TEST(ColumnType, RefusesUnknownOrMalformedNames) {
  for (auto name : {"blob", "", "int[]", "timestamp(", "numeric()", "numeric(1)(2)", "float(0)",
                    "float(54)", "integer; drop table x", "time", "interval", "varchar(x)"})
    EXPECT_FALSE(parse_column_type(name).has_value()) << name;
}

TEST(ColumnType, CanonicalNamesParseBackToTheSameType) {
  for (int i = 0; i <= static_cast<int>(column_type::jsonb); ++i) {
    auto type = static_cast<column_type>(i);
    EXPECT_EQ(parse_column_type(type_name(type)), type) << type_name(type);
  }
  EXPECT_EQ(type_name(column_type::double_precision), "double precision");
  EXPECT_EQ(type_name(column_type::timestamptz), "timestamptz");
}
