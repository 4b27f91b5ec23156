#include "sync/decision.hpp"

namespace tidesync::sync {

bool has_rows(const protocol::table_version& summary) {
  // A count of zero wins over a stale max_version: an empty table has nothing
  // to compare, whatever else its summary still says.
  return summary.count != 0 && summary.max_version.has_value();
}

sync_decision decide(const protocol::table_version& local, const protocol::table_version& remote) {
  const bool local_empty = !has_rows(local);
  const bool remote_empty = !has_rows(remote);
  if ((local_empty && remote_empty) || local == remote)
    return sync_decision::equal;
  if (local_empty)
    return sync_decision::behind;
  if (remote_empty)
    return sync_decision::ahead;
  if (*local.max_version > *remote.max_version)
    return sync_decision::ahead;
  if (*local.max_version < *remote.max_version)
    return sync_decision::behind;
  return sync_decision::scan;
}

std::string_view to_string(sync_decision decision) {
  switch (decision) {
  case sync_decision::equal:
    return "equal";
  case sync_decision::scan:
    return "scan";
  case sync_decision::ahead:
    return "ahead";
  case sync_decision::behind:
    return "behind";
  }
  return "unknown";
}

} // namespace tidesync::sync
