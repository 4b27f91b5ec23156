#pragma once

#include <cstddef>
#include <string>

namespace tidesync::testing {

/// Every log line of the test binary, in order (payloads only), captured by a
/// sink added to spdlog's default logger when the binary loads.
class log_capture {
public:
  /// Lines captured so far: pass it to count_since to look at later lines only.
  static std::size_t size();

  /// How many lines from the `first`th on contain `text`.
  static std::size_t count_since(std::size_t first, const std::string& text);
};

} // namespace tidesync::testing
