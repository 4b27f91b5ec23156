#include "protocol/json_fields.hpp"

#include "protocol/error.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>

namespace tidesync::protocol::json_fields {

namespace {

[[noreturn]] void fail(std::string_view path, std::string_view what) {
  std::string message;
  if (!path.empty()) {
    message.append(path);
    message.append(": ");
  }
  message.append(what);
  throw api_error(error_code::bad_request, std::move(message));
}

// Cuts at a UTF-8 character boundary so the shortened text stays valid.
std::string_view shorten(std::string_view text, std::size_t max_bytes, bool& cut) {
  cut = text.size() > max_bytes;
  if (!cut)
    return text;
  auto end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return text.substr(0, end);
}

} // namespace

const boost::json::object& as_object(const boost::json::value& value, std::string_view path) {
  if (!value.is_object())
    fail(path, "expected a JSON object, got " + describe(value));
  return value.get_object();
}

const boost::json::array& as_array(const boost::json::value& value, std::string_view path) {
  if (!value.is_array())
    fail(path, "expected a JSON array, got " + describe(value));
  return value.get_array();
}

std::string as_string(const boost::json::value& value, std::string_view path) {
  if (!value.is_string())
    fail(path, "expected a JSON string, got " + describe(value));
  const auto& text = value.get_string();
  return std::string(text.data(), text.size());
}

std::int64_t as_int64(const boost::json::value& value, std::string_view path) {
  if (!value.is_int64())
    fail(path, "expected a 64-bit integer, got " + describe(value));
  return value.get_int64();
}

const boost::json::value& required(const boost::json::object& object, std::string_view key,
                                   std::string_view path) {
  const auto* found = object.if_contains(key);
  if (found == nullptr)
    fail(member_path(path, key), "missing");
  return *found;
}

const boost::json::value* optional(const boost::json::object& object, std::string_view key) {
  const auto* found = object.if_contains(key);
  return found == nullptr || found->is_null() ? nullptr : found;
}

void reject_unknown(const boost::json::object& object,
                    std::initializer_list<std::string_view> known, std::string_view path) {
  for (const auto& member : object) {
    bool is_known = false;
    for (auto name : known)
      is_known = is_known || member.key() == name;
    if (!is_known)
      fail(path, "unknown field " + quoted(member.key()));
  }
}

std::string quoted(std::string_view text, std::size_t max_bytes) {
  bool cut = false;
  auto kept = shorten(text, max_bytes, cut);
  auto out = boost::json::serialize(boost::json::string_view(kept.data(), kept.size()));
  if (cut)
    out.append("…");
  return out;
}

std::string shortest_text(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

std::string describe(const boost::json::value& value, std::size_t max_bytes) {
  if (value.is_double())
    return shortest_text(value.get_double());
  if (value.is_string()) {
    const auto& text = value.get_string();
    return quoted(std::string_view(text.data(), text.size()), max_bytes);
  }
  auto text = boost::json::serialize(value);
  bool cut = false;
  auto kept = std::string(shorten(text, max_bytes, cut));
  if (cut)
    kept.append("…");
  return kept;
}

std::string member_path(std::string_view path, std::string_view key) {
  if (path.empty())
    return std::string(key);
  std::string out(path);
  out.push_back('.');
  out.append(key);
  return out;
}

std::string index_path(std::string_view path, std::size_t index) {
  std::string out(path);
  out.push_back('[');
  out.append(std::to_string(index));
  out.push_back(']');
  return out;
}

} // namespace tidesync::protocol::json_fields
