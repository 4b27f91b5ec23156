#include "metrics_text.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tidesync::testing {

namespace {

// Reads `key="value",…}` from `at` (just after the `{`); false when malformed.
bool read_labels(const std::string& line, std::size_t& at,
                 std::map<std::string, std::string>& labels) {
  while (at < line.size() && line[at] != '}') {
    auto equals = line.find("=\"", at);
    if (equals == std::string::npos)
      return false;
    auto key = line.substr(at, equals - at);
    std::string value;
    std::size_t i = equals + 2;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
        value += line[i] == 'n' ? '\n' : line[i];
      } else {
        value += line[i];
      }
    }
    if (i >= line.size())
      return false;
    labels[key] = value;
    at = i + 1;
    if (at < line.size() && line[at] == ',')
      ++at;
  }
  if (at >= line.size())
    return false;
  ++at;  // the '}'
  return true;
}

} // namespace

std::vector<metric_sample> parse_metrics(const std::string& text) {
  std::vector<metric_sample> samples;
  std::istringstream lines{text};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.empty() || line.front() == '#')
      continue;
    metric_sample sample;
    auto brace = line.find('{');
    auto space = line.find(' ');
    std::size_t at = 0;
    bool ok = true;
    if (brace != std::string::npos && brace < space) {
      sample.name = line.substr(0, brace);
      at = brace + 1;
      ok = read_labels(line, at, sample.labels);
    } else {
      sample.name = line.substr(0, space);
      at = space;
    }
    if (ok && at < line.size() && line[at] == ' ') {
      try {
        sample.value = std::stod(line.substr(at + 1));
      } catch (const std::exception&) {
        ok = false;
      }
    } else {
      ok = false;
    }
    EXPECT_TRUE(ok) << "line " << number << " is not a sample: " << line;
    if (ok)
      samples.push_back(std::move(sample));
  }
  return samples;
}

std::optional<double> metric_value(const std::vector<metric_sample>& samples,
                                   const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
  for (const auto& sample : samples)
    if (sample.name == name && sample.labels == labels)
      return sample.value;
  return std::nullopt;
}

std::set<std::string> metric_families(const std::string& text) {
  std::set<std::string> names;
  std::istringstream lines{text};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) != 0)
      continue;
    auto rest = line.substr(7);
    names.insert(rest.substr(0, rest.find(' ')));
  }
  return names;
}

} // namespace tidesync::testing
