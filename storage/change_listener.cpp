#include "storage/change_listener.hpp"

#include <libpq-fe.h>

namespace tidesync::storage {

struct pg_change_listener::connection {
  PGconn* pg = nullptr;
  ~connection() {
    if (pg != nullptr)
      PQfinish(pg);
  }
};

namespace {

// libpq's messages span lines (a hint on the next, tab-indented); a log line must not.
std::string one_line(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ')
        out += ' ';
      continue;
    }
    out += c;
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::string message_of(PGconn* pg) {
  auto text = one_line(pg != nullptr ? PQerrorMessage(pg) : "out of memory");
  return text.empty() ? "connection lost" : text;
}

std::string quoted_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + '"';
}

} // namespace

pg_change_listener::pg_change_listener(std::string url, std::string channel)
  : url_(std::move(url)), channel_(std::move(channel)) {}

pg_change_listener::~pg_change_listener() = default;

bool pg_change_listener::start() {
  close();
  conn_ = std::make_unique<connection>();
  conn_->pg = PQconnectStart(url_.c_str());
  if (conn_->pg == nullptr || PQstatus(conn_->pg) == CONNECTION_BAD) {
    fail("connect");
    return false;
  }
  phase_ = phase::connecting;
  wants_write_ = true;  // PQconnectPoll starts as if it had asked for writing
  return true;
}

void pg_change_listener::close() {
  conn_.reset();
  phase_ = phase::closed;
  wants_write_ = false;
}

int pg_change_listener::socket() const {
  return conn_ != nullptr && conn_->pg != nullptr ? PQsocket(conn_->pg) : -1;
}

bool pg_change_listener::wants_write() const { return wants_write_; }

bool pg_change_listener::listening() const { return phase_ == phase::listening; }

pg_change_listener::step pg_change_listener::fail(std::string what) {
  error_ = what + ": " + message_of(conn_ ? conn_->pg : nullptr);
  close();
  step out;
  out.failed = true;
  return out;
}

pg_change_listener::step pg_change_listener::on_ready() {
  step out;
  switch (phase_) {
    case phase::closed:
      return out;
    case phase::connecting:
      advance_connect(out);
      return out;
    case phase::confirming:
    case phase::listening:
      if (PQconsumeInput(conn_->pg) == 0 || PQstatus(conn_->pg) == CONNECTION_BAD)
        return fail(phase_ == phase::listening ? "listening connection" : "LISTEN");
      if (phase_ == phase::confirming)
        read_results(out);
      if (!out.failed)
        read_notifications(out);
      return out;
  }
  return out;
}

void pg_change_listener::advance_connect(step& out) {
  switch (PQconnectPoll(conn_->pg)) {
    case PGRES_POLLING_READING:
      wants_write_ = false;
      return;
    case PGRES_POLLING_WRITING:
      wants_write_ = true;
      return;
    case PGRES_POLLING_OK:
      break;
    default:
      out = fail("connect");
      return;
  }
  wants_write_ = false;
  // A short query on a fresh connection: sending it cannot fill the socket buffer.
  if (PQsendQuery(conn_->pg, ("LISTEN " + quoted_identifier(channel_)).c_str()) == 0) {
    out = fail("LISTEN");
    return;
  }
  phase_ = phase::confirming;
}

void pg_change_listener::read_results(step& out) {
  while (PQisBusy(conn_->pg) == 0) {
    PGresult* result = PQgetResult(conn_->pg);
    if (result == nullptr) {
      phase_ = phase::listening;
      out.started_listening = true;
      return;
    }
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    std::string message = ok ? "" : one_line(PQresultErrorMessage(result));
    PQclear(result);
    if (!ok) {
      close();
      error_ = "LISTEN: " + message;
      out.failed = true;
      return;
    }
  }
}

void pg_change_listener::read_notifications(step& out) {
  while (PGnotify* notify = PQnotifies(conn_->pg)) {
    out.payloads.emplace_back(notify->extra != nullptr ? notify->extra : "");
    PQfreemem(notify);
  }
}

} // namespace tidesync::storage
