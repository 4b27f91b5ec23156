#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace tidesync::sync {

/// How a batch request ended, as far as batch sizing and skipping care.
enum class outcome_kind {
  /// The server stored the batch.
  success,
  /// The server refused the data (a 4xx such as 400 or 413): something in the
  /// batch is wrong or too big, so a smaller batch may get through.
  rejected,
  /// Timeout, 5xx, 503, refused connection: the network or the server, never
  /// the rows, so neither the size nor the rows are to blame.
  transient,
};

/// One finished batch request.
struct batch_outcome {
  /// Rows in the batch.
  std::size_t size = 0;
  /// Bytes of the request body.
  std::size_t bytes = 0;
  std::chrono::milliseconds duration{0};
  outcome_kind kind = outcome_kind::success;

  friend bool operator==(const batch_outcome&, const batch_outcome&) = default;
};

/// Stable name of `kind` ("success", "rejected", "transient").
std::string_view to_string(outcome_kind kind);

/// Parses a name `to_string` produced.
std::optional<outcome_kind> outcome_kind_from_string(std::string_view name);

} // namespace tidesync::sync
