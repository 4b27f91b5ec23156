#pragma once

#include "protocol/column_type.hpp"
#include "sync/cell_order.hpp"

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tidesync::sync {

/// A primary key as PostgreSQL text cells, in key-column order.
using row_key = std::vector<std::string>;

/// Where a row sits in the one order pages, manifests and scans share: by
/// version, then by key. Rows written by one transaction share a version, so
/// the key is what makes a position unique. A manifest entry `(key, version)`
/// is a position too.
struct row_position {
  std::int64_t version = 0;
  row_key key;

  friend bool operator==(const row_position&, const row_position&) = default;
};

/// Compares keys and positions of one table by its key columns' types.
class position_order {
public:
  /// `key_types` in key-column order.
  explicit position_order(const std::vector<protocol::column_type>& key_types);

  /// Cell by cell with each column's comparison; a key with fewer cells (bad
  /// input) sorts before a longer key it is a prefix of.
  std::weak_ordering compare_keys(const row_key& a, const row_key& b) const;

  /// By version, then by key.
  std::weak_ordering compare(const row_position& a, const row_position& b) const;

  /// Strict weak "less" on positions, for sorting.
  bool operator()(const row_position& a, const row_position& b) const { return compare(a, b) < 0; }

  std::size_t key_width() const { return orders_.size(); }

private:
  std::vector<cell_order> orders_;
};

/// Strict weak "less" on keys alone, for ordered containers of keys.
class key_less {
public:
  explicit key_less(const position_order& order) : order_(&order) {}

  bool operator()(const row_key& a, const row_key& b) const {
    return order_->compare_keys(a, b) < 0;
  }

private:
  const position_order* order_;
};

} // namespace tidesync::sync
