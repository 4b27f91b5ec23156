#include "sync/idle_check.hpp"

#include <algorithm>

namespace tidesync::sync {

bool may_skip(const quiet_table& last, const idle_view& now,
              idle_clock::duration recheck_after) {
  if (!now.token || *now.token != last.token)
    return false;
  if (!std::includes(now.writers.begin(), now.writers.end(), last.writers.begin(),
                     last.writers.end()))
    return false;
  if (!now.remote || *now.remote != last.remote)
    return false;
  return now.now - last.checked_at < recheck_after;
}

} // namespace tidesync::sync
