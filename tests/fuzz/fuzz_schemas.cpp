#include "tests/fuzz/fuzz_schemas.hpp"

namespace tidesync::fuzz {

namespace {

using protocol::column_type;

constexpr const char* version_column = "tidesync_version";

} // namespace

protocol::table_schema items_schema() {
  return {{{"id", column_type::bigint, false},
           {"small", column_type::smallint, true},
           {"count", column_type::integer, true},
           {"price", column_type::numeric, true},
           {"ratio", column_type::real, true},
           {"score", column_type::double_precision, true},
           {"active", column_type::boolean, true},
           {"note", column_type::text, true},
           {"blob", column_type::bytea, true},
           {"day", column_type::date, true},
           {"seen", column_type::timestamp, true},
           {"changed", column_type::timestamptz, true},
           {"ref", column_type::uuid, true},
           {"doc", column_type::json, true},
           {"meta", column_type::jsonb, true},
           {version_column, column_type::bigint, false}},
          {"id"},
          version_column,
          "changed"};
}

protocol::table_schema readings_schema() {
  return {{{"site", column_type::text, false},
           {"sensor", column_type::uuid, false},
           {"taken_at", column_type::timestamptz, false},
           {"seq", column_type::integer, false},
           {"value", column_type::double_precision, true},
           {version_column, column_type::bigint, false}},
          {"site", "sensor", "taken_at", "seq"},
          version_column,
          "taken_at"};
}

protocol::table_schema single_key_schema(column_type type) {
  return {{{"k", type, false}, {version_column, column_type::bigint, false}},
          {"k"},
          version_column,
          std::nullopt};
}

const protocol::table_schema* schema_named(std::string_view name) {
  static const auto items = items_schema();
  static const auto readings = readings_schema();
  if (name == "items")
    return &items;
  if (name == "readings")
    return &readings;
  return nullptr;
}

std::vector<column_type> key_types(const protocol::table_schema& schema) {
  std::vector<column_type> types;
  for (const auto& name : schema.key)
    types.push_back(schema.find(name)->type);
  return types;
}

std::vector<column_type> all_column_types() {
  return {column_type::smallint, column_type::integer,   column_type::bigint,
          column_type::numeric,  column_type::real,      column_type::double_precision,
          column_type::boolean,  column_type::text,      column_type::bytea,
          column_type::date,     column_type::timestamp, column_type::timestamptz,
          column_type::uuid,     column_type::json,      column_type::jsonb};
}

} // namespace tidesync::fuzz
