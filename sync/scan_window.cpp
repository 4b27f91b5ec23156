#include "sync/scan_window.hpp"

#include <algorithm>

namespace tidesync::sync {

bool scan_window::contains(const row_position& position, const position_order& order) const {
  if (after && order.compare(position, *after) <= 0)
    return false;
  if (through && order.compare(position, *through) > 0)
    return false;
  return true;
}

scan_window window_for_batch(const std::optional<row_position>& after,
                             const std::vector<row_position>& batch, std::size_t requested,
                             const position_order& order) {
  scan_window window{after, std::nullopt};
  if (batch.empty() || batch.size() < requested)
    return window;
  // The source returns rows in order; taking the maximum keeps a misordered
  // batch from shrinking the window below rows it actually returned.
  window.through = *std::max_element(batch.begin(), batch.end(), order);
  return window;
}

version_range manifest_range(const scan_window& window) {
  version_range range;
  if (window.after)
    range.min_version = window.after->version;
  if (window.through)
    range.max_version = window.through->version;
  return range;
}

} // namespace tidesync::sync
