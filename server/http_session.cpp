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

http_request to_request(http::request<http::string_body>&& message) {
  http_request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[std::move(name)] = std::string(field.value());
  }
  request.body = std::move(message.body());
  return request;
}

http::response<http::string_body> to_message(http_response&& response, unsigned version,
                                             bool keep_alive) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), version};
  message.set(http::field::server, server_name);
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
    if (!settings_.connections->add(this->shared_from_this()))
      return; // the server is stopping; dropping the socket closes it
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
      do_read();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail(ec, "handshake");
    do_read();
  }

  void do_read() {
    if (closing_)
      return do_close();
    parser_.emplace();
    parser_->body_limit(settings_.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream)
      return do_close();
    if (ec == http::error::body_limit)
      return send_refusal(protocol::error_code::payload_too_large,
                          "request body is larger than max_body_bytes (" +
                              std::to_string(settings_.max_body_bytes) + ")");
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category())
      return send_refusal(protocol::error_code::bad_request,
                          "malformed HTTP request: " + ec.message());
    if (ec)
      return fail(ec, "read");
    auto message = parser_->release();
    version_ = message.version();
    keep_alive_ = message.keep_alive();
    busy_ = true;
    // No timer runs while the request waits for a database worker.
    beast::get_lowest_layer(stream_).expires_never();
    settings_.dispatcher->dispatch(
        to_request(std::move(message)), [self = this->shared_from_this()](http_response r) {
          net::post(self->stream_.get_executor(),
                    [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
        });
  }

  // Answers a request we could not read completely, then closes.
  void send_refusal(protocol::error_code code, const std::string& message) {
    busy_ = true;
    draining_ = true;
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    auto response = error_response(code, message);
    response.close = true;
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
  std::array<char, 16384> drain_buffer_{};
  std::size_t drained_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool busy_ = false;     // a request is between read and written response
  bool closing_ = false;  // the server is stopping
  bool draining_ = false; // closing after a refused request
};

} // namespace

bool connection_set::add(const std::shared_ptr<session_base>& session) {
  std::lock_guard lock{mutex_};
  if (stopping_)
    return false;
  live_.emplace(session.get(), session);
  return true;
}

void connection_set::remove(session_base* session) {
  std::lock_guard lock{mutex_};
  live_.erase(session);
}

void connection_set::close_all() {
  std::vector<std::shared_ptr<session_base>> sessions;
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
    for (auto& [key, weak] : live_)
      if (auto session = weak.lock())
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
