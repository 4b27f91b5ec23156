#pragma once

// Private to table_sync's source files.

#include "actors/table_sync.hpp"

#include <stdexcept>
#include <type_traits>

namespace tidesync::actors::detail {

/// Ends a cycle with an error report; never leaves table_sync.
class cycle_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Ends a cycle early because a stop was requested.
struct cycle_stopped {};

inline const call_status& status_of(const call_status& status) { return status; }

template <class T>
const call_status& status_of(const remote_answer<T>& answer) {
  return answer.status;
}

} // namespace tidesync::actors::detail

namespace tidesync::actors {

/// Calls `call` until it answers something other than a transient failure,
/// backing off between attempts. Returns the last answer.
template <class Call>
auto table_sync::with_retry(const char* what, Call call) {
  for (unsigned attempt = 1;; ++attempt) {
    auto answer = call();
    const auto& status = detail::status_of(answer);
    if (status.result != call_result::transient) {
      if (attempt > 1)
        log_recovery(what, attempt - 1);
      return answer;
    }
    back_off(what, status, attempt);
  }
}

} // namespace tidesync::actors
