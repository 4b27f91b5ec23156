#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::protocol {

/// The header an agent's per-database listing request carries: how that
/// database's tables stand at the site, so the server's fleet view knows
/// which sites lag without asking them (they sit behind NAT).
inline constexpr const char* site_report_header = "Tidesync-Report";

/// Tables listed one by one in a report at most: the worst lagging ones.
inline constexpr std::size_t site_report_max_tables = 20;

/// The largest figures a report may carry: a database of a million tables,
/// a lag of about 31 years. Beyond them a report is refused as malformed,
/// so what is stored always fits the store's columns.
inline constexpr std::int64_t site_report_max_table_count = 1'000'000;
inline constexpr double site_report_max_lag_seconds = 1e9;
/// A lagging table's name and state, at most (PostgreSQL keeps 63 bytes of a name).
inline constexpr std::size_t site_report_max_name_bytes = 255;
inline constexpr std::size_t site_report_max_state_bytes = 32;

/// One table of a database that is not equal to its cloud copy.
struct table_lag {
  std::string table;
  std::string state;  // the agent's table state: ahead, behind, error, …
  double lag_seconds = 0;
  std::int64_t lag_versions = 0;

  friend bool operator==(const table_lag&, const table_lag&) = default;
};

/// One database's tables as its agent sees them.
struct site_report {
  std::int64_t tables = 0;
  std::int64_t not_equal = 0;
  double lag_seconds = 0;         // the largest of the database's tables
  std::int64_t lag_versions = 0;  // summed over its tables
  std::vector<table_lag> lagging;  // at most site_report_max_tables, worst first
  /// Seconds since the oldest of the checks that found the database's equal
  /// tables equal: every table not listed in `lagging` was equal to its
  /// cloud copy that long ago or later. Absent when no table is equal, or
  /// one is not compared yet. Rounded up, so it never claims more.
  std::optional<double> in_sync_age;

  friend bool operator==(const site_report&, const site_report&) = default;
};

/// `tables=50; not_equal=2; lag_seconds=37.5; lag_versions=1200;
/// lagging=orders:ahead:37.5:1200,items:error:60:0; in_sync_age=2.1`, table names
/// percent-encoded. Printable ASCII only; figures beyond the maxima above
/// are written as the maxima.
std::string to_header_value(const site_report& report);

/// The `lagging` field alone: `orders:ahead:37.5:1200,items:error:60.0:0`.
std::string lagging_text(const std::vector<table_lag>& lagging);

/// Reads a header value; std::nullopt when malformed (a negative or
/// non-numeric figure, a bad encoding, more than site_report_max_tables
/// tables). Unknown fields are skipped, so a later agent can add some.
std::optional<site_report> parse_site_report(std::string_view value);

} // namespace tidesync::protocol
