#include "storage/source.hpp"

#include "storage/postgres_source.hpp"
#include "storage/sqlite_source.hpp"

namespace tidesync::storage {

namespace {

constexpr std::string_view sqlite_scheme = "sqlite://";

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

std::string_view source_kind(const std::string& url) {
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
    return "postgresql";
  if (starts_with(url, sqlite_scheme))
    return "sqlite";
  throw storage_error(storage_errc::invalid,
                      "source URL must start with postgresql://, postgres:// or sqlite:///");
}

std::string sqlite_path(const std::string& url) {
  if (!starts_with(url, sqlite_scheme))
    throw storage_error(storage_errc::invalid, "not a sqlite:// URL: " + url);
  auto path = url.substr(sqlite_scheme.size());
  if (path.size() < 2 || path.front() != '/')
    throw storage_error(storage_errc::invalid,
                        "SQLite source URL needs an absolute path, like sqlite:///var/lib/app.db "
                        "(got " + url + ")");
  return path;
}

std::unique_ptr<source> open_source(const std::string& url) {
  if (source_kind(url) == "postgresql")
    return std::make_unique<postgres_source>(url);
  return std::make_unique<sqlite_source>(sqlite_path(url));
}

row_position position_of(const protocol::table_schema& schema, const text_row& row) {
  auto cell = [&](const std::string& column) -> const std::string& {
    for (std::size_t i = 0; i < schema.columns.size() && i < row.size(); ++i)
      if (schema.columns[i].name == column && row[i])
        return *row[i];
    throw storage_error(storage_errc::invalid,
                        "row has no value for column " + column + " to continue after");
  };
  row_position position;
  const auto& version = cell(schema.version_column);
  try {
    position.version = std::stoll(version);
  } catch (const std::logic_error&) {
    throw storage_error(storage_errc::invalid, "version \"" + version + "\" of column " +
                                                 schema.version_column + " is not an integer");
  }
  for (const auto& column : schema.key)
    position.key.push_back(cell(column));
  return position;
}

} // namespace tidesync::storage
