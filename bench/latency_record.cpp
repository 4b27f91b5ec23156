#include "bench/latency_record.hpp"

#include <algorithm>
#include <cmath>

namespace tidesync::bench {

namespace {

// The nearest-rank percentile of sorted samples: the smallest sample that at
// least `percent` % of the samples do not exceed.
double nearest_rank(const std::vector<double>& sorted, double percent) {
  auto rank = static_cast<std::size_t>(std::ceil(percent / 100 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

} // namespace

latency_summary summarise(std::vector<double> samples) {
  if (samples.empty())
    return {};
  std::sort(samples.begin(), samples.end());
  return {samples.size(), nearest_rank(samples, 50), nearest_rank(samples, 99), samples.back()};
}

void latency_record::add(const std::string& route, double milliseconds) {
  by_route_[route].push_back(milliseconds);
}

void latency_record::add_failure(const std::string& route, const std::string& what) {
  if (failures_++ == 0)
    first_failure_ = route + ": " + what;
}

latency_summary latency_record::summary(const std::string& route) const {
  if (!route.empty()) {
    auto it = by_route_.find(route);
    return it == by_route_.end() ? latency_summary{} : summarise(it->second);
  }
  std::vector<double> all;
  for (const auto& [name, samples] : by_route_)
    all.insert(all.end(), samples.begin(), samples.end());
  return summarise(std::move(all));
}

std::vector<std::string> latency_record::routes() const {
  std::vector<std::string> names;
  for (const auto& [name, samples] : by_route_)
    names.push_back(name);
  return names;
}

} // namespace tidesync::bench
