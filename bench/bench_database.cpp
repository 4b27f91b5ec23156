#include "bench/bench_database.hpp"

#include <pqxx/pqxx>

#include <iostream>
#include <unistd.h>

namespace tidesync::bench {

namespace {

// Replaces the database part of a postgresql:// URL, keeping any query string.
std::string with_database(const std::string& url, const std::string& database) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos)
    return url + "/" + database;
  auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + database +
         (query == std::string::npos ? "" : url.substr(query));
}

} // namespace

scratch_database::scratch_database(std::string cluster_url)
    : cluster_url_(std::move(cluster_url)),
      name_("tidesync_bench_" + std::to_string(::getpid())) {
  pqxx::connection admin{cluster_url_};
  pqxx::nontransaction tx{admin};
  tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_));
  tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  url_ = with_database(cluster_url_, name_);
}

scratch_database::~scratch_database() {
  try {
    pqxx::connection admin{cluster_url_};
    pqxx::nontransaction tx{admin};
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "upload_bench: could not drop database " << name_ << ": " << e.what() << "\n";
  }
}

} // namespace tidesync::bench
