#include "protocol/http_client.hpp"

#include "protocol/gzip.hpp"
#include "protocol/http_proxy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <charconv>
#include <stdexcept>

namespace tidesync::protocol {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr int http_version = 11;
// Spare room kept in the read buffer, so large responses arrive in large reads.
constexpr std::size_t read_buffer_bytes = 64 * 1024;

struct base_url {
  bool tls = false;
  std::string host; // without brackets for IPv6 literals
  std::string port;
  std::string host_header;
  std::string path_prefix; // "" or "/prefix" without a trailing '/'
};

base_url parse_base_url(std::string_view url) {
  base_url out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    throw std::invalid_argument("base URL must start with http:// or https://");
  }
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  if (slash != std::string_view::npos)
    out.path_prefix = std::string(url.substr(slash));
  while (!out.path_prefix.empty() && out.path_prefix.back() == '/')
    out.path_prefix.pop_back();
  out.host_header = std::string(authority);
  auto host_end = authority.starts_with('[') ? authority.find(']') : authority.rfind(':');
  if (authority.starts_with('[')) {
    if (host_end == std::string_view::npos)
      throw std::invalid_argument("base URL has an unterminated IPv6 address");
    out.host = std::string(authority.substr(1, host_end - 1));
    host_end =
        authority.find(':', host_end) == host_end + 1 ? host_end + 1 : std::string_view::npos;
  } else {
    out.host = std::string(authority.substr(0, host_end));
  }
  out.port = host_end == std::string_view::npos ? (out.tls ? "443" : "80")
                                                : std::string(authority.substr(host_end + 1));
  if (out.host.empty() || out.port.empty())
    throw std::invalid_argument("base URL needs a host and, after ':', a port");
  return out;
}

bool is_ip_address(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Errors that mean the server closed a kept-alive connection while it sat idle.
bool is_stale_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::ssl::error::stream_truncated;
}

http_response transport_failure(std::string_view step, const beast::error_code& ec) {
  http_response out;
  out.timed_out = ec == beast::error::timeout;
  out.transport_error = std::string(step) + ": " + (out.timed_out ? "timed out" : ec.message());
  return out;
}

} // namespace

std::optional<std::chrono::seconds> http_response::retry_after_seconds() const {
  long long seconds = 0;
  auto [end, ec] =
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
  if (retry_after.empty() || ec != std::errc{} || end != retry_after.data() + retry_after.size() ||
      seconds < 0)
    return std::nullopt;
  return std::chrono::seconds(seconds);
}

struct http_client::impl {
  using ssl_stream = beast::ssl_stream<beast::tcp_stream>;
  using request_type = http::request<http::string_body>;
  using parser_type = http::response_parser<http::string_body>;

  impl(base_url url, http_client_options options)
      : url_(std::move(url)), options_(std::move(options)) {
    if (url_.tls)
      ssl_context_.emplace(make_ssl_context());
    if (options_.proxy)
      proxy_ = parse_proxy_url(*options_.proxy);
  }

  asio::ssl::context make_ssl_context() const {
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.set_default_verify_paths();
    if (options_.ca_file)
      context.load_verify_file(*options_.ca_file);
    context.set_verify_mode(asio::ssl::verify_peer);
    return context;
  }

  /// Starts an operation via `start(handler)` and runs until everything settles.
  template <class Start> beast::error_code await(Start&& start) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  beast::tcp_stream& tcp() { return secure_ ? beast::get_lowest_layer(*secure_) : *plain_; }

  std::optional<http_response> connect() {
    // Through a proxy, the name looked up and connected to is the proxy's;
    // the server's is resolved by the proxy.
    const auto& host = proxy_ ? proxy_->host : url_.host;
    const auto& port = proxy_ ? proxy_->port : url_.port;
    tcp::resolver resolver(io_);
    tcp::resolver::results_type endpoints;
    auto ec = await([&](auto handler) {
      resolver.async_resolve(host, port,
                             [&, handler](beast::error_code e, tcp::resolver::results_type r) {
                               endpoints = std::move(r);
                               handler(e);
                             });
    });
    if (ec)
      return transport_failure(proxy_ ? "resolve proxy " + host : "resolve " + host, ec);
    if (url_.tls)
      secure_.emplace(io_, *ssl_context_);
    else
      plain_.emplace(io_);
    tcp().expires_after(options_.connect_timeout);
    ec = await([&](auto handler) { tcp().async_connect(endpoints, handler); });
    if (ec) {
      close();
      return transport_failure(proxy_ ? "connect to proxy " + proxy_->shown
                                      : "connect to " + url_.host_header,
                               ec);
    }
    if (proxy_)
      if (auto refused = tunnel())
        return refused;
    if (secure_)
      ec = handshake();
    if (ec) {
      close();
      return transport_failure("connect to " + url_.host_header, ec);
    }
    ++connections_opened_;
    return std::nullopt;
  }

  /// Asks the proxy for a tunnel to the server (`CONNECT host:port`); what
  /// follows on the connection is the server's, TLS included.
  std::optional<http_response> tunnel() {
    const auto authority =
      (url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host) + ":" +
      url_.port;
    http::request<http::empty_body> connect_request{http::verb::connect, authority, http_version};
    connect_request.set(http::field::host, authority);
    connect_request.set(http::field::user_agent, options_.user_agent);
    if (!proxy_->authorization.empty())
      connect_request.set(http::field::proxy_authorization, proxy_->authorization);
    auto ec =
      await([&](auto handler) { http::async_write(tcp(), connect_request, handler); });
    // A CONNECT answer has no body, whatever its headers say.
    http::response_parser<http::empty_body> answer;
    answer.skip(true);
    beast::flat_buffer head;
    if (!ec)
      ec = await([&](auto handler) { http::async_read_header(tcp(), head, answer, handler); });
    const auto step = "proxy " + proxy_->shown + " tunnel to " + authority;
    if (ec) {
      close();
      return transport_failure(step, ec);
    }
    const auto status = answer.get().result_int();
    if (status / 100 != 2 || head.size() > 0) {
      close();
      http_response out;
      out.transport_error =
        step + ": " +
        (status / 100 != 2
           ? "refused with " + std::to_string(status) + " " + std::string(answer.get().reason())
           : std::string{"the proxy sent data before the server"});
      return out;
    }
    return std::nullopt;
  }

  beast::error_code handshake() {
    auto* ssl = secure_->native_handle();
    // SNI is for host names only (RFC 6066).
    if (!is_ip_address(url_.host) && !SSL_set_tlsext_host_name(ssl, url_.host.c_str()))
      return {static_cast<int>(ERR_get_error()), asio::error::get_ssl_category()};
    secure_->set_verify_callback(asio::ssl::host_name_verification(url_.host));
    return await(
        [&](auto handler) { secure_->async_handshake(asio::ssl::stream_base::client, handler); });
  }

  /// How one request/response exchange ended.
  struct exchange_result {
    beast::error_code error;
    std::string_view step;
    bool write_failed = false;
  };

  template <class Stream>
  exchange_result exchange(Stream& stream, request_type& request, parser_type& parser) {
    tcp().expires_after(options_.request_timeout);
    auto write_ec = await([&](auto handler) { http::async_write(stream, request, handler); });
    if (write_ec == beast::error::timeout)
      return {write_ec, "send request", true};
    // A server that refuses a body (413) may answer and close before reading it
    // all; its answer is still worth reading.
    // Beast reads into the buffer's spare room, at least 512 bytes: without
    // room kept, a manifest page of megabytes arrives 512 bytes a wake-up.
    buffer_.reserve(read_buffer_bytes);
    auto read_ec = await([&](auto handler) { http::async_read(stream, buffer_, parser, handler); });
    if (read_ec && write_ec)
      return {write_ec, "send request", true};
    return {read_ec, "read response", bool(write_ec)};
  }

  exchange_result exchange(request_type& request, parser_type& parser) {
    if (secure_)
      return exchange(*secure_, request, parser);
    return exchange(*plain_, request, parser);
  }

  request_type build_request(std::string_view method, std::string_view target,
                             std::string_view body, const http_headers& headers) const {
    auto verb = http::string_to_verb(method);
    if (verb == http::verb::unknown)
      throw std::invalid_argument("unknown HTTP method " + std::string(method));
    if (!target.starts_with('/'))
      throw std::invalid_argument("request target must start with '/'");
    request_type request(verb, url_.path_prefix + std::string(target), http_version);
    request.set(http::field::host, url_.host_header);
    request.set(http::field::user_agent, options_.user_agent);
    request.set(http::field::accept, "application/json");
    if (!body.empty())
      request.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : options_.default_headers)
      request.set(name, value);
    for (const auto& [name, value] : headers)
      request.set(name, value);
    set_body(request, body);
    return request;
  }

  void set_body(request_type& request, std::string_view body) const {
    bool compress = options_.gzip_requests && body.size() >= options_.gzip_min_bytes &&
                    request.find(http::field::content_encoding) == request.end();
    if (compress) {
      request.body() = gzip_compress(body, options_.gzip_level);
      request.set(http::field::content_encoding, "gzip");
    } else {
      request.body() = std::string(body);
    }
    request.prepare_payload();
  }

  http_response finish(http::response<http::string_body>&& message) {
    http_response out;
    out.status = static_cast<int>(message.result_int());
    out.content_type = std::string(message[http::field::content_type]);
    out.retry_after = std::string(message[http::field::retry_after]);
    out.content_encoding = std::string(message[http::field::content_encoding]);
    out.etag = std::string(message[http::field::etag]);
    out.accept_encoding = std::string(message[http::field::accept_encoding]);
    out.body = std::move(message.body());
    if (!message.keep_alive())
      close();
    if (beast::iequals(out.content_encoding, "gzip"))
      return decode(std::move(out));
    return out;
  }

  http_response decode(http_response out) const {
    auto decoded = gzip_decompress(out.body, options_.max_response_bytes);
    if (!decoded.ok()) {
      http_response failure;
      failure.transport_error = "decode response: " + decoded.error;
      return failure;
    }
    out.body = std::move(decoded.data);
    return out;
  }

  http_response request(std::string_view method, std::string_view target, std::string_view body,
                        const http_headers& headers) {
    auto message = build_request(method, target, body, headers);
    for (int attempt = 0;; ++attempt) {
      bool reused = plain_ || secure_;
      if (!reused)
        if (auto failure = connect())
          return *failure;
      parser_type parser;
      parser.body_limit(options_.max_response_bytes);
      auto outcome = exchange(message, parser);
      if (!outcome.error) {
        if (outcome.write_failed)
          close(); // the server stopped reading: this connection is done
        return finish(parser.release());
      }
      close();
      // The server closed the idle connection before it saw the request: retry once.
      if (reused && attempt == 0 && is_stale_connection(outcome.error) && !parser.got_some())
        continue;
      return transport_failure(outcome.step, outcome.error);
    }
  }

  void close() {
    beast::error_code ignored;
    if (secure_ || plain_)
      tcp().socket().close(ignored);
    secure_.reset();
    plain_.reset();
    buffer_.clear();
  }

  base_url url_;
  http_client_options options_;
  std::optional<proxy_endpoint> proxy_;
  asio::io_context io_;
  std::optional<asio::ssl::context> ssl_context_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<ssl_stream> secure_;
  beast::flat_buffer buffer_;
  std::size_t connections_opened_ = 0;
};

http_client::http_client(std::string_view base_url, http_client_options options)
    : impl_(std::make_unique<impl>(parse_base_url(base_url), std::move(options))) {}

http_client::~http_client() = default;
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;

http_response http_client::request(std::string_view method, std::string_view target,
                                   std::string_view body, const http_headers& headers) {
  return impl_->request(method, target, body, headers);
}

http_response http_client::get(std::string_view target, const http_headers& headers) {
  return request("GET", target, {}, headers);
}

http_response http_client::post(std::string_view target, std::string_view body,
                                const http_headers& headers) {
  return request("POST", target, body, headers);
}

http_response http_client::put(std::string_view target, std::string_view body,
                               const http_headers& headers) {
  return request("PUT", target, body, headers);
}

http_response http_client::del(std::string_view target, std::string_view body,
                               const http_headers& headers) {
  return request("DELETE", target, body, headers);
}

void http_client::close() {
  impl_->close();
}

std::size_t http_client::connections_opened() const noexcept {
  return impl_->connections_opened_;
}

} // namespace tidesync::protocol
