#include "storage/sqlite_db.hpp"

#include "storage/source.hpp"

#include <sqlite3.h>

#include <iterator>
#include <mutex>

namespace tidesync::storage {

namespace {

constexpr int busy_timeout_ms = 5000;

storage_errc code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return storage_errc::unavailable;
    case SQLITE_CANTOPEN:
      return storage_errc::not_found;
    case SQLITE_MISMATCH:
    case SQLITE_CONSTRAINT:
    case SQLITE_RANGE:
      return storage_errc::invalid;
    default:
      return storage_errc::failed;
  }
}

} // namespace

sqlite_db::sqlite_db(const std::string& path, int flags) : label_("SQLite database " + path) {
  // Memory statistics make every SQLite allocation take one process-wide
  // mutex, which an agent's pool workers would contend for. Only possible
  // before SQLite initialises; a later call changes nothing.
  static std::once_flag quiet_allocator;
  std::call_once(quiet_allocator, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw storage_error(code_for(rc), label_ + ": can't open: " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

sqlite_db::~sqlite_db() {
  for (auto& entry : cache_)
    sqlite3_finalize(entry.stmt);
  sqlite3_close_v2(db_);
}

sqlite3_stmt* sqlite_db::prepare(const std::string& sql, std::string_view context) {
  for (auto it = cache_.rbegin(); it != cache_.rend(); ++it)
    if (it->sql == sql) {
      auto* stmt = it->stmt;
      cache_.erase(std::next(it).base());
      return stmt;
    }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    fail(rc, context);
  }
  return stmt;
}

void sqlite_db::recycle(std::string sql, sqlite3_stmt* stmt) noexcept {
  if (stmt == nullptr)
    return;
  // A statement left mid-way holds a read snapshot until it is reset.
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  cache_.push_back({std::move(sql), stmt});
  if (cache_.size() > statement_cache_size) {
    sqlite3_finalize(cache_.front().stmt);
    cache_.erase(cache_.begin());
  }
}

void sqlite_db::exec(const std::string& sql, std::string_view context) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw storage_error(code_for(rc), label_ + ": " + std::string{context} + ": " + message);
  }
}

void sqlite_db::fail(int rc, std::string_view context) const {
  throw storage_error(code_for(rc),
                      label_ + ": " + std::string{context} + ": " + sqlite3_errmsg(db_));
}

sqlite_statement::sqlite_statement(sqlite_db& db, const std::string& sql, std::string_view context)
  : db_(db), sql_(sql), stmt_(db.prepare(sql, context)), context_(context) {}

sqlite_statement::~sqlite_statement() { db_.recycle(std::move(sql_), stmt_); }

void sqlite_statement::check_bind(int rc) {
  if (rc != SQLITE_OK)
    db_.fail(rc, context_);
}

void sqlite_statement::bind_null(int index) { check_bind(sqlite3_bind_null(stmt_, index)); }

void sqlite_statement::bind_int(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value));
}

void sqlite_statement::bind_double(int index, double value) {
  check_bind(sqlite3_bind_double(stmt_, index, value));
}

void sqlite_statement::bind_text(int index, std::string_view value) {
  check_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8));
}

void sqlite_statement::bind_blob(int index, std::string_view bytes) {
  check_bind(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
}

void sqlite_statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool sqlite_statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  db_.fail(rc, context_);
}

int sqlite_statement::column_count() const { return sqlite3_column_count(stmt_); }

int sqlite_statement::column_type(int column) const { return sqlite3_column_type(stmt_, column); }

std::int64_t sqlite_statement::column_int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double sqlite_statement::column_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string sqlite_statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return text == nullptr ? std::string{} : std::string{reinterpret_cast<const char*>(text), size};
}

std::string sqlite_statement::column_blob(int column) const {
  const auto* data = sqlite3_column_blob(stmt_, column);
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return data == nullptr ? std::string{} : std::string{static_cast<const char*>(data), size};
}

} // namespace tidesync::storage
