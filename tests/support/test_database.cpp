#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace tidesync::testing {

namespace {

std::string unique_name() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "tidesync_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 100000);
}

// Replaces the database part of a postgresql:// URL.
std::string with_database(const std::string& url, const std::string& db) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos)
    return url + "/" + db;
  auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + db + (query == std::string::npos ? "" : url.substr(query));
}

} // namespace

std::string test_database::cluster_url() {
  const char* url = std::getenv("TIDESYNC_TEST_PG_URL");
  if (url == nullptr || *url == '\0')
    throw std::runtime_error("TIDESYNC_TEST_PG_URL is not set: integration tests need a "
                             "PostgreSQL cluster; run them through scripts/test");
  return url;
}

test_database::test_database() : name_(unique_name()) {
  pqxx::connection admin{cluster_url()};
  pqxx::nontransaction tx{admin};
  tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  url_ = with_database(cluster_url(), name_);
}

test_database::~test_database() {
  try {
    pqxx::connection admin{cluster_url()};
    pqxx::nontransaction tx{admin};
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not drop test database " << name_ << ": " << e.what();
  }
}

void pg_autocommit(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  tx.exec(sql);
}

std::int64_t pg_int(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  return tx.exec(sql)[0][0].as<std::int64_t>();
}

std::vector<std::vector<std::string>> pg_text_rows(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : tx.exec(sql)) {
    auto& out = rows.emplace_back();
    for (const auto& field : row)
      out.push_back(field.is_null() ? std::string{} : field.as<std::string>());
  }
  return rows;
}

} // namespace tidesync::testing
