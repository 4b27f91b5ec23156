#pragma once

#include "protocol/digest_messages.hpp"
#include "protocol/table_schema.hpp"
#include "storage/source.hpp"
#include "sync/content_diff.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tidesync::actors {

class blocking_pool;

/// Asks the server for digests; the caller decides about retries and throws
/// when the call cannot be answered.
using digest_call = std::function<protocol::digest_answer(const protocol::digest_request&)>;

/// Sizes of a digest walk.
struct digest_walk_settings {
  std::int64_t range_rows = 10'000;         ///< site rows per top-level range
  /// Site rows the ranges of one request cover: small enough that the server
  /// answers well within a request timeout even when busy.
  std::int64_t rows_per_request = 50'000;
  std::int64_t leaf_rows = 1'000;           ///< at most this many rows: compare row by row
  std::int64_t fan_out = 16;                ///< sub-ranges a differing range splits into
};

/// What one walk compared and found.
struct digest_walk_result {
  sync::content_diff diff;
  std::int64_t rows_compared = 0;    ///< site rows read for the top-level ranges
  std::int64_t ranges_compared = 0;  ///< top-level ranges compared
  std::int64_t cloud_rows = 0;       ///< the cloud's rows in those ranges
  /// Top-level ranges whose digests differed, to confirm a repair with.
  std::vector<protocol::key_range> differing;
  /// Where a bounded walk stopped; std::nullopt when it reached the end.
  std::optional<storage::key_cells> next;
};

/// Compares one table's content at the site with the cloud copy by content
/// digests (protocol/content_digest.hpp): the site's rows are read once in
/// key order and cut into ranges; ranges whose count or digest differ are
/// cut further until few enough rows remain to compare row by row. Only
/// counts, digests and keys travel. Blocking; changes nothing.
class digest_walk {
public:
  /// The server's half of each comparison runs on `calls` while the site's
  /// read goes on (on a thread of its own when null).
  digest_walk(storage::source& source, std::string table, const protocol::table_schema& schema,
              digest_call call, digest_walk_settings settings = {},
              blocking_pool* calls = nullptr);

  /// Walks from `from` (the start when not given) to the end, stopping at a
  /// range boundary once `max_rows` site rows were read (0: no limit).
  digest_walk_result run(const std::optional<storage::key_cells>& from, std::int64_t max_rows);

  /// Walks exactly these ranges again, e.g. to confirm a repair.
  digest_walk_result run_ranges(const std::vector<protocol::key_range>& ranges);

private:
  struct local_range {
    protocol::key_range range;
    std::int64_t count = 0;
    std::string digest;
  };
  struct differing_range {
    protocol::key_range range;
    std::int64_t site_count = 0;
    std::int64_t cloud_count = 0;
  };

  struct compared {
    std::vector<differing_range> differing;
    std::int64_t cloud_rows = 0;
  };

  template <class Walk> digest_walk_result with_columns_settled(Walk walk);
  /// Reads the site's rows of `bounds` in key order, cut into ranges of
  /// `range_rows` rows, each handed to `emit` as soon as it is complete;
  /// stops at a boundary once `max_rows` were read (0: no limit), setting `next`.
  void read_ranges(const protocol::key_range& bounds, std::int64_t range_rows,
                   std::int64_t max_rows, std::optional<storage::key_cells>& next,
                   const std::function<void(local_range&&)>& emit);
  std::vector<local_range> read_ranges(const protocol::key_range& bounds, std::int64_t range_rows,
                                       std::int64_t max_rows,
                                       std::optional<storage::key_cells>& next);
  std::vector<differing_range> compare(const std::vector<local_range>& ranges,
                                       std::int64_t& cloud_rows);
  void resolve_all(const std::vector<differing_range>& ranges, digest_walk_result& result);
  void resolve(const differing_range& range, sync::content_diff& diff);
  sync::content_diff compare_rows(const protocol::key_range& range);
  sync::content_diff all_missing(const protocol::key_range& range);
  sync::digested_rows site_rows(const protocol::key_range& range);
  storage::key_cells key_of(const storage::text_row& row) const;
  bool is_encodable(const storage::key_cells& key) const;
  void use_columns(const std::vector<std::string>& names);

  storage::source& source_;
  std::string table_;
  const protocol::table_schema& schema_;
  digest_call call_;
  digest_walk_settings settings_;
  blocking_pool* calls_ = nullptr;
  std::vector<std::string> columns_;        // digested column names
  std::vector<std::size_t> column_index_;   // their places in a source row
  std::vector<protocol::column_type> column_types_;
  std::vector<std::size_t> key_index_;      // key columns' places in a source row
  std::vector<protocol::column_type> key_types_;
  bool columns_changed_ = false;  // the server digests other columns than asked
  std::vector<std::string> answered_columns_;  // ... namely these
};

} // namespace tidesync::actors
