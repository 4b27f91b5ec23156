#include "server/http_session.hpp"

#include "server/request_dispatcher.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <optional>

namespace tidesync::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A keep-alive connection may sit idle (or send its request) this long.
constexpr std::chrono::seconds read_timeout{60};
// Spare room kept in each connection's read buffer, so large bodies arrive in large reads.
constexpr std::size_t read_buffer_bytes = 64 * 1024;
constexpr std::chrono::seconds write_timeout{60};
constexpr std::chrono::seconds handshake_timeout{15};
// After refusing an oversized body, read and drop what the client still
// sends for a moment, so it sees our 413 instead of a reset connection.
constexpr std::chrono::seconds drain_timeout{5};
constexpr std::size_t drain_limit = 8u << 20;
constexpr const char* server_name = "tidesync";

bool is_quiet_close(const boost::system::error_code& ec) {
  return ec == net::error::operation_aborted || ec == net::error::eof ||
         ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == net::ssl::error::stream_truncated || ec == net::error::connection_reset;
}

void fail(const boost::system::error_code& ec, const char* what) {
  // Clients going away, timeouts and shutdown are normal for a server.
  if (is_quiet_close(ec))
    return;
  spdlog::debug("connection {}: {}", what, ec.message());
}

// The request line and header fields; the body is added once it is read.
http_request to_request(const http::request<http::string_body>& message) {
  http_request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[std::move(name)] = std::string(field.value());
  }
  return request;
}

http::response<http::string_body> to_message(http_response&& response, unsigned version,
                                             bool keep_alive) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), version};
  message.set(http::field::server, server_name);
  if (!response.content_type.empty())
    message.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers)
    message.set(name, value);
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  return message;
}

/// One connection: read a request, dispatch it, write the response, repeat.
/// Every handler runs on the connection's strand (the stream's executor).
template <class Stream>
class session : public session_base, public std::enable_shared_from_this<session<Stream>> {
public:
  template <class... Args>
  session(const session_settings& settings, Args&&... args)
      : settings_(settings), stream_(std::forward<Args>(args)...) {}

  ~session() override { settings_.connections->remove(this); }

  void run() {
    auto admission = settings_.connections->add(this->shared_from_this());
    if (admission == connection_admission::drop)
      return; // dropping the socket closes it
    refusing_ = admission == connection_admission::refuse;
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->start(); });
  }

  void begin_close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_)
        beast::get_lowest_layer(self->stream_).socket().close();
    });
  }

private:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  void start() {
    if constexpr (is_tls) {
      beast::get_lowest_layer(stream_).expires_after(handshake_timeout);
      stream_.async_handshake(
          net::ssl::stream_base::server,
          beast::bind_front_handler(&session::on_handshake, this->shared_from_this()));
    } else {
      on_handshake({});
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail(ec, "handshake");
    if (refusing_)
      return send_refusal(protocol::error_code::unavailable,
                          "too many connections (max_connections); retry shortly");
    do_read();
  }

  // The head first: the route and token are checked before any body byte is read.
  void do_read() {
    if (closing_)
      return do_close();
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(settings_.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read_header, this->shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    version_ = parser_->get().version();
    keep_alive_ = parser_->get().keep_alive();
    busy_ = true;
    // No timer runs while the token waits for a database worker.
    beast::get_lowest_layer(stream_).expires_never();
    settings_.dispatcher->admit(
        to_request(parser_->get()), [self = this->shared_from_this()](auto refusal) {
          net::post(self->stream_.get_executor(), [self, refusal = std::move(refusal)]() mutable {
            self->on_admitted(std::move(refusal));
          });
        });
  }

  void on_admitted(std::optional<http_response> refusal) {
    if (refusal)
      return send_early_answer(std::move(*refusal));
    busy_ = false;
    if (closing_)
      return do_close(); // stopping while reading: closed without an answer
    if (expects_continue())
      return send_continue();
    do_read_body();
  }

  // A client that sent `Expect: 100-continue` holds its body back until told
  // to go on, which it is only once the token has been accepted.
  bool expects_continue() const {
    if (parser_->is_done())
      return false;
    auto expect = parser_->get()[http::field::expect];
    return beast::iequals(expect, "100-continue");
  }

  void send_continue() {
    continue_.emplace(http::status::continue_, version_);
    beast::get_lowest_layer(stream_).expires_after(read_timeout);
    http::async_write(stream_, *continue_,
                      beast::bind_front_handler(&session::on_continue_sent,
                                                this->shared_from_this()));
  }

  void on_continue_sent(beast::error_code ec, std::size_t) {
    continue_.reset();
    if (ec)
      return fail(ec, "write");
    do_read_body();
  }

  void do_read_body() {
    // Beast reads into the buffer's spare room, at least 512 bytes: without
    // room kept, a body of megabytes arrives 512 bytes a wake-up. Kept only
    // while a body is read, so an idle keep-alive connection holds none.
    buffer_.reserve(read_buffer_bytes);
    beast::get_lowest_layer(stream_).expires_after(read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    auto message = parser_->release();
    if (buffer_.size() == 0)
      buffer_.shrink_to_fit();
    busy_ = true;
    // No timer runs while the request waits for a database worker.
    beast::get_lowest_layer(stream_).expires_never();
    auto request = to_request(message);
    request.body = std::move(message.body());
    settings_.dispatcher->dispatch(
        std::move(request), [self = this->shared_from_this()](http_response r) {
          net::post(self->stream_.get_executor(),
                    [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
        });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream)
      return do_close();
    if (ec == http::error::body_limit)
      return send_refusal(protocol::error_code::payload_too_large,
                          "request body is larger than max_body_bytes (" +
                              std::to_string(settings_.max_body_bytes) + ")");
    if (ec == http::error::header_limit)
      return send_refusal(protocol::error_code::header_too_large,
                          "request line and header fields are larger than " +
                              std::to_string(max_header_bytes) + " bytes");
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
      return send_refusal(protocol::error_code::bad_request,
                          "malformed HTTP request: " + ec.message());
    fail(ec, "read");
  }

  // Answers a request whose body was not read: the connection may carry on
  // only when it has no body; otherwise it closes after the answer.
  void send_early_answer(http_response response) {
    if (!parser_->is_done()) {
      response.close = true;
      draining_ = true;
    }
    send(std::move(response));
  }

  // Answers a request we could not read completely, then closes.
  void send_refusal(protocol::error_code code, const std::string& message) {
    busy_ = true;
    draining_ = true;
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    auto response = error_response(code, message);
    response.close = true;
    if (settings_.dispatcher)
      settings_.dispatcher->record_refusal(response.status);
    spdlog::warn("request refused before dispatch -> {}: {}", response.status, message);
    send(std::move(response));
  }

  void send(http_response response) {
    bool keep_alive = keep_alive_ && !response.close && !closing_;
    response_ = to_message(std::move(response), version_, keep_alive);
    beast::get_lowest_layer(stream_).expires_after(write_timeout);
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&session::on_write, this->shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    busy_ = false;
    if (ec)
      return fail(ec, "write");
    if (draining_)
      return do_drain();
    if (!keep_alive)
      return do_close();
    do_read();
  }

  void do_drain() {
    if (drained_ == 0) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      beast::get_lowest_layer(stream_).expires_after(drain_timeout);
    }
    beast::get_lowest_layer(stream_).async_read_some(
        net::buffer(drain_buffer_),
        beast::bind_front_handler(&session::on_drain, this->shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t bytes) {
    drained_ += bytes + 1;
    if (ec || drained_ > drain_limit)
      return; // the session ends and the socket closes
    do_drain();
  }

  void do_close() {
    if constexpr (is_tls) {
      beast::get_lowest_layer(stream_).expires_after(handshake_timeout);
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code ec) { fail(ec, "shutdown"); });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  session_settings settings_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::optional<http::response<http::empty_body>> continue_;
  std::array<char, 16384> drain_buffer_{};
  std::size_t drained_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool busy_ = false;     // a request is between read and written response
  bool closing_ = false;  // the server is stopping
  bool draining_ = false; // closing after a refused request
  bool refusing_ = false; // over max_connections: answer 503 and close
};

} // namespace

connection_set::connection_set(std::size_t max_connections)
    : max_connections_(std::max<std::size_t>(max_connections, 1)) {}

connection_admission connection_set::add(const std::shared_ptr<session_base>& session) {
  std::lock_guard lock{mutex_};
  if (stopping_)
    return connection_admission::drop;
  bool served = served_ < max_connections_;
  // Refusals are answered too, but only so many at once: each holds a socket.
  if (!served && live_.size() - served_ >= max_refusing)
    return connection_admission::drop;
  live_.emplace(session.get(), entry{session, served});
  served_ += served ? 1 : 0;
  return served ? connection_admission::serve : connection_admission::refuse;
}

void connection_set::remove(session_base* session) {
  std::lock_guard lock{mutex_};
  auto it = live_.find(session);
  if (it == live_.end())
    return;
  served_ -= it->second.served ? 1 : 0;
  live_.erase(it);
}

void connection_set::close_all() {
  std::vector<std::shared_ptr<session_base>> sessions;
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
    for (auto& [key, entry] : live_)
      if (auto session = entry.session.lock())
        sessions.push_back(std::move(session));
  }
  for (auto& session : sessions)
    session->begin_close();
}

void start_session(tcp::socket socket, const session_settings& settings) {
  if (settings.tls != nullptr)
    std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(settings, std::move(socket),
                                                                    *settings.tls)
        ->run();
  else
    std::make_shared<session<beast::tcp_stream>>(settings, std::move(socket))->run();
}

} // namespace tidesync::server
