#include "protocol/site_report.hpp"

#include "protocol/url_encoding.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cmath>

namespace tidesync::protocol {

namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// Seconds with one decimal, within 0 and the largest lag a report carries.
std::string number(double value) {
  if (!(value >= 0))
    value = 0;  // NaN too
  value = std::min(value, site_report_max_lag_seconds);
  char buffer[48];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 1);
  return ec == std::errc{} ? std::string(buffer, end) : std::string{"0.0"};
}

std::string count(std::int64_t value, std::int64_t most) {
  return std::to_string(std::clamp<std::int64_t>(value, 0, most));
}

bool read(std::string_view text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && out >= 0;
}

bool read(std::string_view text, double& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(out) || out < 0 ||
      out > site_report_max_lag_seconds)
    return false;
  out = std::fabs(out);  // "-0" is 0
  return true;
}

// `name:state:seconds:versions`
std::optional<table_lag> read_table(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    auto colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string_view::npos)
      break;
    start = colon + 1;
  }
  table_lag lag;
  if (parts.size() != 4 || parts[1].empty() || !read(parts[2], lag.lag_seconds) ||
      !read(parts[3], lag.lag_versions))
    return std::nullopt;
  auto name = url_decode(parts[0]);
  if (!name || name->empty() || name->size() > site_report_max_name_bytes ||
      parts[1].size() > site_report_max_state_bytes)
    return std::nullopt;
  // A table name as a site may spell it, but no control character.
  for (unsigned char c : *name)
    if (c < 0x20 || c == 0x7f)
      return std::nullopt;
  for (char c : parts[1])
    if (!(c >= 'a' && c <= 'z') && c != '_')
      return std::nullopt;
  lag.table = std::move(*name);
  lag.state = std::string(parts[1]);
  return lag;
}

} // namespace

std::string to_header_value(const site_report& report) {
  const auto tables = std::clamp<std::int64_t>(report.tables, 0, site_report_max_table_count);
  std::string out = "tables=" + std::to_string(tables) +
                    "; not_equal=" + count(report.not_equal, tables) +
                    "; lag_seconds=" + number(report.lag_seconds) +
                    "; lag_versions=" + count(report.lag_versions, INT64_MAX);
  if (!report.lagging.empty())
    out += "; lagging=" + lagging_text(report.lagging);
  if (report.in_sync_age)
    out += "; in_sync_age=" + number(std::ceil(*report.in_sync_age * 10) / 10);
  return out;
}

std::string lagging_text(const std::vector<table_lag>& lagging) {
  std::string out;
  for (std::size_t i = 0; i < lagging.size() && i < site_report_max_tables; ++i) {
    const auto& lag = lagging[i];
    out += (i ? "," : "") + url_encode(lag.table) + ":" + lag.state + ":" +
           number(lag.lag_seconds) + ":" + count(lag.lag_versions, INT64_MAX);
  }
  return out;
}

std::optional<site_report> parse_site_report(std::string_view value) {
  site_report report;
  bool has_tables = false;
  for (std::size_t start = 0; start <= value.size();) {
    auto end = value.find(';', start);
    if (end == std::string_view::npos)
      end = value.size();
    auto field = trimmed(value.substr(start, end - start));
    start = end + 1;
    if (field.empty())
      continue;
    auto equals = field.find('=');
    if (equals == std::string_view::npos)
      return std::nullopt;
    auto key = field.substr(0, equals);
    auto text = field.substr(equals + 1);
    bool ok = true;
    if (key == "tables") {
      ok = read(text, report.tables);
      has_tables = true;
    } else if (key == "not_equal") {
      ok = read(text, report.not_equal);
    } else if (key == "lag_seconds") {
      ok = read(text, report.lag_seconds);
    } else if (key == "lag_versions") {
      ok = read(text, report.lag_versions);
    } else if (key == "in_sync_age") {
      ok = read(text, report.in_sync_age.emplace());
    } else if (key == "lagging") {
      for (std::size_t from = 0; from <= text.size() && ok;) {
        auto comma = text.find(',', from);
        if (comma == std::string_view::npos)
          comma = text.size();
        auto table = read_table(text.substr(from, comma - from));
        ok = table.has_value() && report.lagging.size() < site_report_max_tables;
        if (ok)
          report.lagging.push_back(std::move(*table));
        from = comma + 1;
      }
    }
    if (!ok)
      return std::nullopt;
  }
  if (!has_tables || report.tables > site_report_max_table_count ||
      report.not_equal > report.tables)
    return std::nullopt;
  return report;
}

} // namespace tidesync::protocol
