#pragma once

#include "sync/row_position.hpp"

#include <map>
#include <string>
#include <vector>

namespace tidesync::sync {

/// A row as a digest comparison sees it: its key cells (PostgreSQL text, as
/// its own side spells them) and the digest of its content.
struct digested_row {
  row_key key;
  std::string digest;
};

/// Rows of one key range by canonical key (protocol::canonical_key), so two
/// spellings of one key (an upper-case uuid at the site, the store's lower
/// case) meet.
using digested_rows = std::map<std::string, digested_row>;

/// What differs between the site's rows and the cloud's.
struct content_diff {
  std::vector<row_key> missing;    ///< at the site, not in the cloud (site's key text)
  std::vector<row_key> extra;      ///< in the cloud, not at the site (cloud's key text)
  std::vector<row_key> different;  ///< on both sides with other content (site's key text)

  bool empty() const { return missing.empty() && extra.empty() && different.empty(); }
  std::size_t size() const { return missing.size() + extra.size() + different.size(); }
};

/// Compares two listings of the same key range.
content_diff diff_rows(const digested_rows& site, const digested_rows& cloud);

/// Adds `more` to `into`.
void append(content_diff& into, content_diff&& more);

} // namespace tidesync::sync
