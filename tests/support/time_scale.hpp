#pragma once

#include <chrono>

namespace tidesync::testing {

/// How many times longer than on a plain build the tests wait for things:
/// TIDESYNC_TEST_TIME_SCALE (scripts/test --sanitize sets it), else 1. A value
/// that is not a whole number from 1 to 100 ends the test run with a message.
int time_scale();

/// `limit` times time_scale(): for deadlines and request timeouts a slower
/// build needs longer to meet, never for the timing a test is about.
template <class Rep, class Period>
std::chrono::duration<Rep, Period> scaled(std::chrono::duration<Rep, Period> limit) {
  return limit * time_scale();
}

} // namespace tidesync::testing
