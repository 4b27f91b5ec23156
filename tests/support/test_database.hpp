#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tidesync::testing {

/// A fresh, empty PostgreSQL database on the test cluster, dropped again when
/// the object goes away. The cluster comes from TIDESYNC_TEST_PG_URL, which
/// scripts/test sets; without it the test fails (integration tests never skip).
class test_database {
public:
  test_database();
  ~test_database();
  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  /// libpq URL of the fresh database.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

  /// URL of the cluster's maintenance database (from TIDESYNC_TEST_PG_URL).
  static std::string cluster_url();

private:
  std::string name_;
  std::string url_;
};

/// Runs `sql` outside a transaction block, as CREATE INDEX CONCURRENTLY must run.
void pg_autocommit(const std::string& url, const std::string& sql);

/// The first column of the first row `sql` returns, as an integer.
std::int64_t pg_int(const std::string& url, const std::string& sql);

/// Every row `sql` returns, each cell as text ("" for NULL).
std::vector<std::vector<std::string>> pg_text_rows(const std::string& url, const std::string& sql);

} // namespace tidesync::testing
