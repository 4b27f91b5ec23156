#pragma once

#include <algorithm>
#include <chrono>

namespace tidesync::actors {

/// How long a failed actor waits before it is started again: `first`, then
/// doubled for every failure in a row, never more than `max`. reset() after
/// the actor has done its work once.
class restart_backoff {
public:
  std::chrono::milliseconds next(std::chrono::milliseconds first, std::chrono::milliseconds max) {
    auto delay = first;
    for (unsigned i = 0; i < failures_ && delay < max; ++i)
      delay *= 2;
    ++failures_;
    return std::min(delay, max);
  }

  void reset() { failures_ = 0; }

private:
  unsigned failures_ = 0;
};

} // namespace tidesync::actors
