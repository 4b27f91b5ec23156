#include "tests/support/time_scale.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tidesync::testing {

namespace {

constexpr int largest_scale = 100;

int scale_from_environment() {
  const char* value = std::getenv("TIDESYNC_TEST_TIME_SCALE");
  if (value == nullptr || *value == '\0')
    return 1;
  std::string_view text{value};
  int scale = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), scale);
  if (ec != std::errc{} || end != text.data() + text.size() || scale < 1 || scale > largest_scale) {
    std::fprintf(stderr,
                 "TIDESYNC_TEST_TIME_SCALE must be a whole number from 1 to %d, not \"%s\"\n",
                 largest_scale, value);
    std::exit(2);
  }
  return scale;
}

} // namespace

int time_scale() {
  static const int scale = scale_from_environment();
  return scale;
}

} // namespace tidesync::testing
