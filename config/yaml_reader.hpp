#pragma once

// Internal to config/: the typed YAML access both loaders share. Public
// headers never include this, so yaml-cpp stays out of other modules.

#include "config/common.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::config {

/// One YAML node plus what an error message needs: the file, the key path
/// (`databases[1].tables[0].key`) and the 1-based line.
class yaml_value {
public:
  yaml_value(YAML::Node node, std::string source, std::string path, int line);

  const std::string& path() const { return path_; }
  const std::string& source() const { return source_; }
  int line() const { return line_; }
  bool is_null() const { return !node_.IsDefined() || node_.IsNull(); }
  bool is_map() const { return node_.IsMap(); }
  bool is_scalar() const { return node_.IsScalar(); }
  const YAML::Node& node() const { return node_; }

  /// Throws config_error `<file>:<line>: <path>: <message>`.
  [[noreturn]] void fail(std::string_view message) const;

  /// True when this is a scalar that names an unset `${VAR}`, so a caller that
  /// does not need the value can skip it instead of failing.
  bool has_unset_variable() const;

  /// The scalar text with `${VAR}` expanded.
  std::string as_string() const;
  std::string as_nonempty_string() const;
  /// A plain SQL identifier (see is_identifier).
  std::string as_identifier() const;
  std::int64_t as_integer(std::int64_t min, std::int64_t max) const;
  /// `true` or `false`, spelled exactly (YAML's yes/no/on/off are refused:
  /// they read as words in an operator's file).
  bool as_bool() const;
  /// A positive duration such as "30s".
  std::chrono::milliseconds as_duration() const;
  /// A positive size such as "64MiB".
  std::uint64_t as_byte_size() const;
  host_port as_host_port() const;
  /// One of `choices`, spelled exactly.
  std::string as_one_of(std::span<const std::string_view> choices) const;
  /// A path to a file that exists now (checked so a typo fails at startup).
  std::string as_existing_file() const;

  /// The items of a list; `expected` is the error text when it is not one
  /// (e.g. "expected a list of column names").
  std::vector<yaml_value> as_list(std::string_view expected) const;
  /// A list of distinct identifiers, e.g. primary key columns.
  std::vector<std::string> as_identifier_list(std::string_view expected) const;

private:
  /// The expanded scalar text, or a failure naming `expected` and what was found.
  std::string scalar_text(std::string_view expected) const;

  YAML::Node node_;
  std::string source_;
  std::string path_;
  int line_;
};

/// A YAML mapping whose keys are checked against the allowed ones before any
/// is read, so a typo (`pool_sise`) is reported rather than silently ignored.
class yaml_mapping {
public:
  /// Fails on a non-mapping, an unknown key or a duplicate key. A null value
  /// (an empty file, `tls:` with nothing after it) reads as an empty mapping.
  yaml_mapping(const yaml_value& value, std::initializer_list<std::string_view> allowed_keys);

  /// The value of `key`, or nothing when it is absent or null.
  std::optional<yaml_value> find(std::string_view key) const;
  /// The value of `key`; fails at the mapping's line when it is absent or null.
  yaml_value require(std::string_view key) const;
  const yaml_value& self() const { return self_; }

private:
  struct entry {
    std::string key;
    YAML::Node value;
    int key_line;
  };

  std::string child_path(std::string_view key) const;
  void add_entry(const YAML::Node& key, const YAML::Node& value,
                 std::initializer_list<std::string_view> allowed_keys);

  yaml_value self_;
  std::vector<entry> entries_;
};

/// Parses YAML text; syntax errors become config_error with yaml-cpp's line.
yaml_value parse_yaml_document(const std::string& text, const std::string& source);

/// The whole file; config_error naming the file when it cannot be read.
std::string read_config_file(const std::string& path);

} // namespace tidesync::config
