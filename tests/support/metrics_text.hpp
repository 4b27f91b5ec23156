#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tidesync::testing {

/// One sample of a Prometheus text exposition: `name{labels} value`.
struct metric_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// Every sample of `text` (comment lines skipped); a line that does not
/// read as a sample fails the calling test with its line number.
std::vector<metric_sample> parse_metrics(const std::string& text);

/// The value of the sample named `name` whose labels are exactly `labels`.
std::optional<double> metric_value(const std::vector<metric_sample>& samples,
                                   const std::string& name,
                                   const std::map<std::string, std::string>& labels = {});

/// The metric family names `text` declares with `# TYPE`.
std::set<std::string> metric_families(const std::string& text);

} // namespace tidesync::testing
