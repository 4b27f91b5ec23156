#pragma once

#include "storage/site_reports.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tidesync::metrics {
class server_metrics;
} // namespace tidesync::metrics

namespace tidesync::storage {
struct store_options;
class postgres_store;
} // namespace tidesync::storage

namespace tidesync::server {

/// What the server learnt about sites since it last saved: each database's
/// last listing request (its agent's version and Tidesync-Report) and last
/// upload. Kept in memory so an idle cycle's request writes nothing; one
/// entry per database at most. Thread-safe.
class fleet_reports {
public:
  /// A listing request of `database_id`, answered. A report that does not
  /// parse is left out (the contact still counts); a User-Agent other than
  /// `tidesync-agent/VERSION` leaves the version unknown.
  void listed(const std::string& client_id, const std::string& database_id,
              std::string_view user_agent, std::string_view report);
  /// An upload of `database_id`, accepted.
  void uploaded(const std::string& client_id, const std::string& database_id);
  /// Everything since the last take, emptied.
  std::vector<storage::site_contact> take();
  /// Contacts a failed save took: merged back under what came since.
  void put_back(std::vector<storage::site_contact> contacts);

private:
  storage::site_contact& entry(const std::string& client_id, const std::string& database_id);

  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, storage::site_contact> pending_;
};

/// The agent version a User-Agent names ("tidesync-agent/0.1.0" → "0.1.0");
/// "" for anything else or a version with characters outside [0-9A-Za-z.+-~].
std::string agent_version_of(std::string_view user_agent);

/// Saves the fleet reports every `every` on its own thread and connection,
/// then reads the fleet gauges back from the store (so every server of a
/// fleet shows the same figures); once more when it stops.
class fleet_recorder {
public:
  fleet_recorder(fleet_reports& reports, metrics::server_metrics& metrics,
                 const storage::store_options& store, std::chrono::milliseconds every);
  ~fleet_recorder();
  fleet_recorder(const fleet_recorder&) = delete;
  fleet_recorder& operator=(const fleet_recorder&) = delete;

private:
  void run(const storage::store_options& store);

  fleet_reports& reports_;
  metrics::server_metrics& metrics_;
  std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace tidesync::server
