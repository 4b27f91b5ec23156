#include "config/yaml_reader.hpp"

#include "config/config_error.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace tidesync::config {

namespace {

/// yaml-cpp marks are 0-based and absent (-1) on some null nodes.
int line_of(const YAML::Node& node, int fallback) {
  const auto mark = node.Mark();
  if (mark.line < 0 || node.IsNull())
    return fallback;
  return mark.line + 1;
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

/// What was found instead, for "expected X, got Y".
std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull())
    return "nothing";
  if (node.IsMap())
    return "a mapping";
  if (node.IsSequence())
    return "a list";
  return in_quotes(node.Scalar());
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// " (did you mean pool_size?)" when an allowed key is one or two edits away.
std::string suggestion(std::string_view key, std::initializer_list<std::string_view> allowed) {
  constexpr std::size_t max_typo_distance = 2;
  for (auto candidate : allowed)
    if (edit_distance(key, candidate) <= max_typo_distance)
      return " (did you mean " + std::string(candidate) + "?)";
  return {};
}

std::string join_choices(std::span<const std::string_view> choices) {
  std::string out;
  for (auto choice : choices)
    out += (out.empty() ? "" : "|") + std::string(choice);
  return out;
}

} // namespace

yaml_value::yaml_value(YAML::Node node, std::string source, std::string path, int line)
    : node_(std::move(node)), source_(std::move(source)), path_(std::move(path)), line_(line) {}

void yaml_value::fail(std::string_view message) const {
  std::string text = source_ + ":" + std::to_string(line_) + ": ";
  if (!path_.empty())
    text += path_ + ": ";
  throw config_error(text + std::string(message));
}

std::string yaml_value::scalar_text(std::string_view expected) const {
  if (!node_.IsScalar())
    fail("expected " + std::string(expected) + ", got " + describe(node_));
  std::string text = node_.Scalar();
  std::string missing;
  if (!expand_environment(text, missing))
    fail("environment variable " + missing + " is not set");
  return text;
}

bool yaml_value::has_unset_variable() const {
  if (!node_.IsScalar())
    return false;
  std::string text = node_.Scalar();
  std::string missing;
  return !expand_environment(text, missing);
}

std::string yaml_value::as_string() const {
  return scalar_text("a string");
}

std::string yaml_value::as_nonempty_string() const {
  auto text = scalar_text("a string");
  if (text.empty())
    fail("must not be empty");
  return text;
}

std::string yaml_value::as_identifier() const {
  auto text = scalar_text("an identifier");
  if (!is_identifier(text))
    fail("expected an identifier (letters, digits and _, 1-63 characters, not starting with a "
         "digit), got " +
         in_quotes(text));
  return text;
}

std::int64_t yaml_value::as_integer(std::int64_t min, std::int64_t max) const {
  const auto text = scalar_text("an integer");
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end)
    fail("expected an integer, got " + in_quotes(text));
  if (value < min || value > max)
    fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
         text);
  return value;
}

std::chrono::milliseconds yaml_value::as_duration() const {
  const auto text = scalar_text("a duration");
  std::chrono::milliseconds value{};
  if (!parse_duration(text, value))
    fail("expected a duration such as 250ms, 30s, 5m or 1h, got " + in_quotes(text));
  if (value.count() <= 0)
    fail("must be longer than zero, got " + in_quotes(text));
  return value;
}

std::uint64_t yaml_value::as_byte_size() const {
  const auto text = scalar_text("a size");
  std::uint64_t value = 0;
  if (!parse_byte_size(text, value))
    fail("expected a size such as 1048576, 512KiB or 64MiB, got " + in_quotes(text));
  if (value == 0)
    fail("must be larger than zero");
  return value;
}

host_port yaml_value::as_host_port() const {
  const auto text = scalar_text("host:port");
  host_port value;
  if (!parse_host_port(text, value))
    fail("expected host:port with a port from 0 to 65535, got " + in_quotes(text));
  return value;
}

bool yaml_value::as_bool() const {
  const auto text = scalar_text("true or false");
  if (text == "true")
    return true;
  if (text == "false")
    return false;
  fail("expected true or false, got " + in_quotes(text));
}

std::string yaml_value::as_one_of(std::span<const std::string_view> choices) const {
  auto text = scalar_text("one of " + join_choices(choices));
  if (std::find(choices.begin(), choices.end(), text) == choices.end())
    fail("expected one of " + join_choices(choices) + ", got " + in_quotes(text));
  return text;
}

std::string yaml_value::as_existing_file() const {
  auto text = as_nonempty_string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(text, ec))
    fail("file " + in_quotes(text) + " does not exist or is not a regular file");
  return text;
}

std::vector<yaml_value> yaml_value::as_list(std::string_view expected) const {
  if (!node_.IsSequence())
    fail(std::string(expected) + ", got " + describe(node_));
  std::vector<yaml_value> items;
  for (std::size_t i = 0; i < node_.size(); ++i)
    items.emplace_back(node_[i], source_, path_ + "[" + std::to_string(i) + "]",
                       line_of(node_[i], line_));
  return items;
}

std::vector<std::string> yaml_value::as_identifier_list(std::string_view expected) const {
  std::vector<std::string> names;
  for (const auto& item : as_list(expected)) {
    auto name = item.as_identifier();
    if (std::find(names.begin(), names.end(), name) != names.end())
      item.fail("duplicate name " + in_quotes(name));
    names.push_back(std::move(name));
  }
  if (names.empty())
    fail(std::string(expected) + ", got an empty list");
  return names;
}

yaml_mapping::yaml_mapping(const yaml_value& value,
                           std::initializer_list<std::string_view> allowed_keys)
    : self_(value) {
  if (value.is_null())
    return;
  if (!value.is_map())
    value.fail("expected a mapping, got " + describe(value.node()));
  for (const auto& pair : value.node())
    add_entry(pair.first, pair.second, allowed_keys);
}

void yaml_mapping::add_entry(const YAML::Node& key, const YAML::Node& value,
                             std::initializer_list<std::string_view> allowed_keys) {
  const int key_line = line_of(key, self_.line());
  if (!key.IsScalar())
    yaml_value(key, self_.source(), self_.path(), key_line).fail("keys must be plain names");
  const std::string name = key.Scalar();
  const yaml_value where(key, self_.source(), child_path(name), key_line);
  if (std::find(allowed_keys.begin(), allowed_keys.end(), name) == allowed_keys.end())
    where.fail("unknown key" + suggestion(name, allowed_keys));
  for (const auto& seen : entries_)
    if (seen.key == name)
      where.fail("duplicate key (first given on line " + std::to_string(seen.key_line) + ")");
  entries_.push_back({name, value, key_line});
}

std::string yaml_mapping::child_path(std::string_view key) const {
  return self_.path().empty() ? std::string(key) : self_.path() + "." + std::string(key);
}

std::optional<yaml_value> yaml_mapping::find(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) {
      if (e.value.IsNull())
        return std::nullopt;
      return yaml_value(e.value, self_.source(), child_path(key), line_of(e.value, e.key_line));
    }
  return std::nullopt;
}

yaml_value yaml_mapping::require(std::string_view key) const {
  if (auto value = find(key))
    return *value;
  for (const auto& e : entries_)
    if (e.key == key)
      yaml_value(e.value, self_.source(), child_path(key), e.key_line)
          .fail("expected a value, got nothing");
  yaml_value(self_.node(), self_.source(), child_path(key), self_.line())
      .fail("required key is missing");
}

yaml_value parse_yaml_document(const std::string& text, const std::string& source) {
  constexpr int first_line = 1;
  try {
    auto root = YAML::Load(text);
    return yaml_value(root, source, "", line_of(root, first_line));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line < 0 ? first_line : e.mark.line + 1;
    throw config_error(source + ":" + std::to_string(line) + ": invalid YAML: " + e.msg);
  }
}

std::string read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path + ": cannot open the configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw config_error(path + ": cannot read the configuration file");
  return text.str();
}

} // namespace tidesync::config
