#pragma once

#include <cstddef>
#include <vector>

namespace tidesync::actors {

/// Which configured tables a cycle runs: `tables[database][table]`, in config
/// order. A cycle without a selection runs every table.
struct table_selection {
  std::vector<std::vector<bool>> tables;

  /// Nothing selected, for `tables_per_database[d]` tables in database d.
  static table_selection none(const std::vector<std::size_t>& tables_per_database);

  bool any() const;
  /// Whether any table of database `database` is selected.
  bool any_in(std::size_t database) const;
  bool includes(std::size_t database, std::size_t table) const;
  void add(std::size_t database, std::size_t table);
  void add_database(std::size_t database);
  /// Adds every table `other` selects.
  void add_all(const table_selection& other);
};

} // namespace tidesync::actors
