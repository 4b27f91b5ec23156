#include "apps/tidesync/log_setup.hpp"

#include "apps/tidesync/terminal_text.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string_view>

namespace tidesync::app {

namespace {

void append(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

void append_code_point_escape(spdlog::memory_buf_t& out, unsigned value) {
  char escape[8];
  std::snprintf(escape, sizeof escape, "\\u%04x", value);
  append(out, escape);
}

// Control characters (C0, DEL, C1) as \uXXXX escapes and a byte that is not
// UTF-8 as the code point of the same number (what a Latin-1 text meant);
// with `json`, quotes and backslashes escaped too. A line is then one line,
// valid UTF-8 and, with `json`, valid JSON whatever the message held.
void append_escaped(spdlog::memory_buf_t& out, std::string_view text, bool json) {
  for (std::size_t at = 0; at < text.size();) {
    const char c = text[at];
    const auto byte = static_cast<unsigned char>(c);
    const auto length = utf8_sequence_length(text, at);
    if (length == 0) {
      append_code_point_escape(out, byte);
      ++at;
    } else if (length == 2 && byte == 0xc2 &&
               static_cast<unsigned char>(text[at + 1]) < 0xa0) {  // U+0080 to U+009F
      append_code_point_escape(out, static_cast<unsigned char>(text[at + 1]));
      at += 2;
    } else if (length > 1) {
      append(out, text.substr(at, length));
      at += length;
    } else if (c == '\n') {
      append(out, "\\n");
      ++at;
    } else if (c == '\r') {
      append(out, "\\r");
      ++at;
    } else if (c == '\t') {
      append(out, "\\t");
      ++at;
    } else if (byte < 0x20 || byte == 0x7f) {
      append_code_point_escape(out, byte);
      ++at;
    } else {
      if (json && (c == '"' || c == '\\'))
        out.push_back('\\');
      out.push_back(c);
      ++at;
    }
  }
}

// `2026-12-02T08:20:59.658Z` (json) or `2026-12-02 08:20:59.658` (text, local time).
void append_time(spdlog::memory_buf_t& out, spdlog::log_clock::time_point when, bool utc) {
  const auto seconds = spdlog::log_clock::to_time_t(when);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                        when.time_since_epoch()).count() % 1000;
  std::tm parts{};
  if (utc)
    gmtime_r(&seconds, &parts);
  else
    localtime_r(&seconds, &parts);
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d%c%02d:%02d:%02d.%03d%s", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, utc ? 'T' : ' ', parts.tm_hour, parts.tm_min,
                parts.tm_sec, static_cast<int>(millis), utc ? "Z" : "");
  append(out, text);
}

std::string_view level_name(spdlog::level::level_enum level) {
  const auto& name = spdlog::level::to_string_view(level);
  return {name.data(), name.size()};
}

class line_formatter final : public spdlog::formatter {
public:
  explicit line_formatter(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& out) override {
    const std::string_view message{msg.payload.data(), msg.payload.size()};
    if (json_) {
      append(out, "{\"time\":\"");
      append_time(out, msg.time, true);
      append(out, "\",\"level\":\"");
      append(out, level_name(msg.level));
      append(out, "\",\"message\":\"");
      append_escaped(out, message, true);
      append(out, "\"}\n");
    } else {
      out.push_back('[');
      append_time(out, msg.time, false);
      append(out, "] [");
      append(out, level_name(msg.level));
      append(out, "] ");
      append_escaped(out, message, false);
      out.push_back('\n');
    }
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<line_formatter>(json_);
  }

private:
  bool json_;
};

} // namespace

void apply_log_settings(const std::string& level, const std::string& format) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_formatter(std::make_unique<line_formatter>(format == "json"));
}

} // namespace tidesync::app
