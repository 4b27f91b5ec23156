#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace tidesync::bench {

/// p50, p99 and the largest of a set of latencies, in milliseconds.
struct latency_summary {
  std::size_t count = 0;
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};

/// Nearest-rank percentiles of `samples` (milliseconds); all zero when empty.
latency_summary summarise(std::vector<double> samples);

/// The latency of every answered request of one tenant, by route, and the
/// requests that failed (any answer but 2xx, or none).
class latency_record {
public:
  void add(const std::string& route, double milliseconds);
  void add_failure(const std::string& route, const std::string& what);

  /// One route's summary; an empty `route` summarises every request.
  latency_summary summary(const std::string& route = {}) const;
  /// The routes seen, in name order.
  std::vector<std::string> routes() const;
  std::size_t failures() const { return failures_; }
  /// The first failure's description, or "".
  const std::string& first_failure() const { return first_failure_; }

private:
  std::map<std::string, std::vector<double>> by_route_;
  std::size_t failures_ = 0;
  std::string first_failure_;
};

} // namespace tidesync::bench
