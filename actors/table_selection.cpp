#include "actors/table_selection.hpp"

#include <algorithm>

namespace tidesync::actors {

table_selection table_selection::none(const std::vector<std::size_t>& tables_per_database) {
  table_selection selection;
  for (auto count : tables_per_database)
    selection.tables.emplace_back(count, false);
  return selection;
}

bool table_selection::any() const {
  for (std::size_t d = 0; d < tables.size(); ++d)
    if (any_in(d))
      return true;
  return false;
}

bool table_selection::any_in(std::size_t database) const {
  if (database >= tables.size())
    return false;
  const auto& row = tables[database];
  return std::find(row.begin(), row.end(), true) != row.end();
}

bool table_selection::includes(std::size_t database, std::size_t table) const {
  return database < tables.size() && table < tables[database].size() && tables[database][table];
}

void table_selection::add(std::size_t database, std::size_t table) {
  if (database < tables.size() && table < tables[database].size())
    tables[database][table] = true;
}

void table_selection::add_database(std::size_t database) {
  if (database < tables.size())
    std::fill(tables[database].begin(), tables[database].end(), true);
}

void table_selection::add_all(const table_selection& other) {
  for (std::size_t d = 0; d < other.tables.size(); ++d)
    for (std::size_t t = 0; t < other.tables[d].size(); ++t)
      if (other.tables[d][t])
        add(d, t);
}

} // namespace tidesync::actors
