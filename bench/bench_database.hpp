#pragma once

#include <string>

namespace tidesync::bench {

/// A fresh, empty database on the benchmark's cluster, dropped again when the
/// object goes away, so every run starts from the same empty state.
class scratch_database {
public:
  /// Creates the database through `cluster_url` (any database of the cluster).
  explicit scratch_database(std::string cluster_url);
  ~scratch_database();
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  /// libpq URL of the fresh database.
  const std::string& url() const { return url_; }

private:
  std::string cluster_url_;
  std::string name_;
  std::string url_;
};

} // namespace tidesync::bench
