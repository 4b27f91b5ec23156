#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

// Field readers shared by the protocol's JSON codecs. Each throws
// api_error(bad_request) whose message starts with the field's path, e.g.
// `columns[2].type: expected a string`.
namespace tidesync::protocol::json_fields {

/// `value` as an object, or throws naming `path`.
const boost::json::object& as_object(const boost::json::value& value, std::string_view path);

/// `value` as an array, or throws naming `path`.
const boost::json::array& as_array(const boost::json::value& value, std::string_view path);

/// `value` as a string, or throws naming `path`.
std::string as_string(const boost::json::value& value, std::string_view path);

/// `value` as a signed 64-bit integer, or throws naming `path`.
std::int64_t as_int64(const boost::json::value& value, std::string_view path);

/// The member `key` of `object`; throws when it is missing.
const boost::json::value& required(const boost::json::object& object, std::string_view key,
                                   std::string_view path);

/// The member `key` of `object`, or nullptr when it is missing or JSON null.
const boost::json::value* optional(const boost::json::object& object, std::string_view key);

/// Throws naming the first member of `object` whose key is not in `known`.
void reject_unknown(const boost::json::object& object,
                    std::initializer_list<std::string_view> known, std::string_view path);

/// `text` as a JSON string literal, quotes and escapes included, shortened
/// to about `max_bytes` so a hostile value cannot flood a message.
std::string quoted(std::string_view text, std::size_t max_bytes = 80);

/// The shortest text that reads back as exactly `value` ("0.1", "1e+308", "-0").
std::string shortest_text(double value);

/// A short rendering of any JSON value for error messages.
std::string describe(const boost::json::value& value, std::size_t max_bytes = 80);

/// Joins a path and a member name: "columns[2]" + "type" → "columns[2].type".
std::string member_path(std::string_view path, std::string_view key);

/// Joins a path and an index: "columns" + 2 → "columns[2]".
std::string index_path(std::string_view path, std::size_t index);

} // namespace tidesync::protocol::json_fields
