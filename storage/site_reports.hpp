#pragma once

#include "protocol/site_report.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace tidesync::storage {

/// What the server learnt about one database of a site since it last
/// saved: when its agent last asked for the listing (and how it said its
/// tables stand), when it last uploaded.
struct site_contact {
  std::string client_id;
  std::string database_id;
  std::optional<std::chrono::system_clock::time_point> listed_at;
  std::optional<std::chrono::system_clock::time_point> uploaded_at;
  std::string agent_version;  // "" when the request did not say
  std::optional<protocol::site_report> report;
  /// When `report` arrived; std::nullopt means with `listed_at`.
  std::optional<std::chrono::system_clock::time_point> reported_at;
};

/// The fleet at a glance, without naming any tenant.
struct fleet_summary {
  std::int64_t sites_seen = 0;     // clients heard from within `seen`
  std::int64_t sites_silent = 0;   // clients not heard from for longer than `silent`
  std::int64_t tables_not_in_sync = 0;  // as last reported, over sites not silent
  std::map<std::string, std::int64_t> agents_by_version;  // clients seen, by version
};

/// One database of one client, as `tidesync admin tenants` lists it.
struct tenant_database {
  std::string client_id;
  std::string database_id;
  std::string database;  // its name
  std::int64_t tables = 0;  // declared on the server
  std::int64_t rows = 0;    // in the cloud copy
  std::optional<std::string> last_contact;  // ISO 8601, UTC
  std::optional<std::string> last_upload;
  std::optional<double> silent_seconds;  // since last_contact
  std::string agent_version;
  std::optional<std::int64_t> tables_not_equal;  // as the agent last reported
  std::optional<double> lag_seconds;
  std::optional<std::int64_t> lag_versions;
  std::string lagging;  // the report's worst tables, as sent
};

} // namespace tidesync::storage
