#include "sync/row_position.hpp"

#include <algorithm>

namespace tidesync::sync {

position_order::position_order(const std::vector<protocol::column_type>& key_types) {
  orders_.reserve(key_types.size());
  for (auto type : key_types)
    orders_.push_back(order_of(type));
}

std::weak_ordering position_order::compare_keys(const row_key& a, const row_key& b) const {
  const std::size_t common = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < common; ++i) {
    // Cells past the declared key width (bad input) still get a total order.
    const auto order = i < orders_.size() ? orders_[i] : cell_order::bytewise;
    if (auto c = compare_cells(a[i], b[i], order); c != 0)
      return c;
  }
  return a.size() <=> b.size();
}

std::weak_ordering position_order::compare(const row_position& a, const row_position& b) const {
  if (a.version != b.version)
    return a.version <=> b.version;
  return compare_keys(a.key, b.key);
}

} // namespace tidesync::sync
