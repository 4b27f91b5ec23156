#include "sync/manifest_diff.hpp"

#include <cstdint>
#include <map>
#include <set>

namespace tidesync::sync {

namespace {

using versions_by_key = std::map<row_key, std::int64_t, key_less>;

/// The entries inside `window`, by key; the first entry of a repeated key wins.
versions_by_key inside_window(const std::vector<row_position>& entries, const scan_window& window,
                              const position_order& order) {
  versions_by_key versions{key_less(order)};
  for (const auto& entry : entries)
    if (window.contains(entry, order))
      versions.try_emplace(entry.key, entry.version);
  return versions;
}

} // namespace

manifest_diff diff_manifest(const std::vector<row_position>& local,
                            const std::vector<row_position>& remote, const scan_window& window,
                            const position_order& order) {
  const auto local_versions = inside_window(local, window, order);
  const auto remote_versions = inside_window(remote, window, order);
  manifest_diff diff;
  std::set<row_key, key_less> emitted{key_less(order)};
  for (const auto& entry : remote) {
    if (!window.contains(entry, order) || local_versions.contains(entry.key))
      continue;
    if (emitted.insert(entry.key).second)
      diff.remote_deletes.push_back(entry.key);
  }
  emitted.clear();
  for (const auto& entry : local) {
    // A repeated key is judged by its first entry, as inside_window kept it.
    if (!window.contains(entry, order) || local_versions.at(entry.key) != entry.version)
      continue;
    const auto remote_entry = remote_versions.find(entry.key);
    const bool same =
        remote_entry != remote_versions.end() && remote_entry->second == entry.version;
    if (!same && emitted.insert(entry.key).second)
      diff.uploads.push_back(entry);
  }
  return diff;
}

} // namespace tidesync::sync
