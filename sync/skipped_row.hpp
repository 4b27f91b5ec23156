#pragma once

#include "sync/row_position.hpp"

#include <cstdint>
#include <string>

namespace tidesync::sync {

/// A row the server rejected even in a batch of the minimum size. The ahead
/// cycle moves past it so the rest of the table keeps flowing; the state store
/// keeps the record, metrics count it, and a later cycle retries it.
struct skipped_row {
  row_key key;
  std::int64_t version = 0;
  /// The server's error message for the batch, for operators.
  std::string reason;

  friend bool operator==(const skipped_row&, const skipped_row&) = default;
};

} // namespace tidesync::sync
