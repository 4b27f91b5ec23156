#include "storage/store_connection.hpp"

#include "protocol/error.hpp"

#include <pqxx/except>
#include <pqxx/nontransaction>

namespace tidesync::storage {

namespace {

using protocol::api_error;
using protocol::error_code;

// SQLSTATEs that mean the server went away rather than the statement failed:
// class 08 (connection exception) and 57P01-57P03 (shutdown, cannot connect now).
bool is_connection_state(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
}

// A deadlock or serialisation failure is transient: the caller should retry.
bool is_retryable_state(const std::string& state) {
  return state == "40001" || state == "40P01";
}

} // namespace

store_connection::store_connection(std::string url) : url_(std::move(url)) {
  run([](pqxx::connection&) {});
}

pqxx::connection& store_connection::open() {
  if (connection_ && connection_->is_open())
    return *connection_;
  connection_.reset();
  auto fresh = std::make_unique<pqxx::connection>(url_);
  fresh->set_client_encoding("UTF8");
  pqxx::nontransaction tx{*fresh};
  // extra_float_digits 3 makes real/double output exact on every server version
  // (the shortest exact form from PostgreSQL 12); manifest keys are read as text.
  // Notices such as "schema already exists, skipping" are not worth a line on stderr.
  tx.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex';"
          " SET extra_float_digits = 3; SET client_min_messages = warning");
  tx.commit();
  connection_ = std::move(fresh);
  return *connection_;
}

void store_connection::rethrow_as_api_error() {
  try {
    throw;
  } catch (const api_error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    connection_.reset();
    throw api_error(error_code::unavailable, std::string("database unreachable: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    if (is_connection_state(e.sqlstate())) {
      connection_.reset();
      throw api_error(error_code::unavailable, std::string("database unavailable: ") + e.what());
    }
    if (is_retryable_state(e.sqlstate()))
      throw api_error(error_code::unavailable, std::string("try again: ") + e.what());
    throw api_error(error_code::internal, std::string("database error: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    connection_.reset();
    throw api_error(error_code::unavailable, std::string("commit outcome unknown: ") + e.what());
  } catch (const std::exception& e) {
    if (connection_ && !connection_->is_open())
      connection_.reset();
    throw api_error(error_code::internal, std::string("store error: ") + e.what());
  } catch (...) {
    throw api_error(error_code::internal, "store error of unknown type");
  }
}

} // namespace tidesync::storage
