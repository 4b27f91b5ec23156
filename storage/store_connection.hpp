#pragma once

#include "storage/postgres_store.hpp"

#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <utility>

namespace tidesync::storage {

/// The store's one PostgreSQL connection and the edge where libpqxx
/// exceptions end.
///
/// The connection is opened with the session settings the store relies on
/// (UTC, ISO dates, UTF-8), so timestamps round-trip to the microsecond. When
/// it breaks, the call fails with api_error(unavailable) and the next call
/// opens a new one.
class store_connection {
public:
  /// Connects at once; throws api_error(unavailable) when it cannot.
  explicit store_connection(std::string url);

  /// Runs `work(pqxx::connection&)` on an open connection. Every libpqxx
  /// exception it throws comes out as api_error; api_error passes through.
  template <class Work>
  auto run(Work&& work) -> decltype(work(std::declval<pqxx::connection&>())) {
    try {
      return work(open());
    } catch (...) {
      rethrow_as_api_error();
    }
  }

private:
  pqxx::connection& open();
  [[noreturn]] void rethrow_as_api_error();

  std::string url_;
  std::unique_ptr<pqxx::connection> connection_;
};

/// What a postgres_store holds.
struct postgres_store::impl {
  explicit impl(store_options store) : options(std::move(store)), connection(options.url) {}

  store_options options;
  store_connection connection;
};

} // namespace tidesync::storage
