#pragma once

#include "actors/remote_api.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace tidesync::actors {

/// The last table listing the server sent for each database, with its entity
/// tag. An idle cycle asks "changed since this tag?" and, answered 304, takes
/// the listing from here instead of receiving and parsing it again. Shared by
/// the agent's HTTP clients (any of them may carry a database's next cycle),
/// so it is thread-safe; it holds one listing per database.
class listing_cache {
public:
  /// The tag of the listing held for `database_id`, if any.
  std::optional<std::string> etag(const std::string& database_id) const {
    std::lock_guard lock{mutex_};
    auto found = entries_.find(database_id);
    if (found == entries_.end())
      return std::nullopt;
    return found->second.etag;
  }

  /// The listing held for `database_id` when its tag is `etag`; null otherwise.
  table_listing find(const std::string& database_id, const std::string& etag) const {
    std::lock_guard lock{mutex_};
    auto found = entries_.find(database_id);
    if (found == entries_.end() || found->second.etag != etag)
      return nullptr;
    return found->second.listing;
  }

  void store(const std::string& database_id, std::string etag, table_listing listing) {
    std::lock_guard lock{mutex_};
    entries_.insert_or_assign(database_id, entry{std::move(etag), std::move(listing)});
  }

  void forget(const std::string& database_id) {
    std::lock_guard lock{mutex_};
    entries_.erase(database_id);
  }

private:
  struct entry {
    std::string etag;
    table_listing listing;
  };

  mutable std::mutex mutex_;
  std::map<std::string, entry> entries_;
};

} // namespace tidesync::actors
