#include "tests/integration/agent/log_capture.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace tidesync::testing {

namespace {

class line_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  std::size_t size() {
    std::lock_guard lock{mutex_};
    return lines_.size();
  }

  std::size_t count_since(std::size_t first, const std::string& text) {
    std::lock_guard lock{mutex_};
    return static_cast<std::size_t>(std::count_if(
        lines_.begin() + static_cast<std::ptrdiff_t>(std::min(first, lines_.size())), lines_.end(),
        [&](const std::string& line) { return line.find(text) != std::string::npos; }));
  }

protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    lines_.emplace_back(message.payload.data(), message.payload.size());
  }
  void flush_() override {}

private:
  std::vector<std::string> lines_;
};

line_sink& test_log() {
  static auto sink = [] {
    auto made = std::make_shared<line_sink>();
    spdlog::default_logger()->sinks().push_back(made);
    return made;
  }();
  return *sink;
}

// Added while the binary loads: a logger's sinks may not change once threads log.
[[maybe_unused]] const bool test_log_installed = (test_log(), true);

} // namespace

std::size_t log_capture::size() {
  return test_log().size();
}

std::size_t log_capture::count_since(std::size_t first, const std::string& text) {
  return test_log().count_since(first, text);
}

} // namespace tidesync::testing
