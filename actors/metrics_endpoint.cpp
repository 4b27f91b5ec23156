#include "actors/metrics_endpoint.hpp"

#include "protocol/gzip.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <pthread.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace tidesync::actors {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto request_timeout = std::chrono::seconds(10);
// Scrapers served at once; a connection beyond them is closed at once, so
// a flood of idle connections cannot take the agent's file descriptors.
constexpr int max_sessions = 32;
// After a failed accept (out of descriptors, say), a pause before the next:
// retrying at once would spin a core until a descriptor frees up.
constexpr auto accept_pause = std::chrono::milliseconds(100);
constexpr const char* text_format = "text/plain; version=0.0.4; charset=utf-8";

std::string trimmed(std::string text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos)
    return {};
  auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

tcp::endpoint endpoint_of(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("metrics.listen \"" + listen + "\": expected host:port");
  auto host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*")
    host = "0.0.0.0";
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (const std::exception&) {
    port = 65536;
  }
  if (ec || port > 65535)
    throw std::runtime_error("metrics.listen \"" + listen + "\": expected an IP address and a port");
  return {address, static_cast<unsigned short>(port)};
}

/// One scraper's connection: requests answered one after the other while it
/// keeps the connection alive.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, const std::function<std::string()>& render,
          std::shared_ptr<int> open)
    : stream_(std::move(socket)), render_(render), open_(std::move(open)) {
    ++*open_;
  }
  ~session() { --*open_; }

  void start() { read(); }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(0);
    stream_.expires_after(request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec)
                         self->answer();
                     });
  }

  void answer() {
    const auto& request = parser_->get();
    auto target = std::string(request.target());
    target = target.substr(0, target.find('?'));
    response_ = {};
    response_.version(request.version());
    response_.keep_alive(request.keep_alive());
    response_.set(http::field::content_type, text_format);
    if (target != "/metrics") {
      response_.result(http::status::not_found);
      response_.body() = "not found: the metrics are at /metrics\n";
    } else if (request.method() != http::verb::get) {
      response_.result(http::status::method_not_allowed);
      response_.set(http::field::allow, "GET");
      response_.body() = "only GET\n";
    } else {
      response_.result(http::status::ok);
      auto text = render_();
      if (accepts_gzip(std::string(request[http::field::accept_encoding]))) {
        response_.set(http::field::content_encoding, "gzip");
        response_.body() = protocol::gzip_compress(text, protocol::request_gzip_level);
      } else {
        response_.body() = std::move(text);
      }
    }
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (!ec && self->response_.keep_alive())
                          self->read();
                      });
  }

  beast::tcp_stream stream_;
  const std::function<std::string()>& render_;
  std::shared_ptr<int> open_;  // sessions alive, counted on the endpoint's one thread
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
};

} // namespace

bool accepts_gzip(const std::string& accept_encoding) {
  std::size_t start = 0;
  while (start <= accept_encoding.size()) {
    auto end = accept_encoding.find(',', start);
    if (end == std::string::npos)
      end = accept_encoding.size();
    auto item = accept_encoding.substr(start, end - start);
    auto semicolon = item.find(';');
    auto coding = trimmed(item.substr(0, semicolon));
    if (beast::iequals(coding, "gzip") || coding == "*") {
      // A weight of zero refuses it ("gzip;q=0", "q=0.0", "q=0.000").
      bool refused = false;
      if (semicolon != std::string::npos) {
        auto weight = trimmed(item.substr(semicolon + 1));
        if (weight.size() >= 3 && (weight[0] == 'q' || weight[0] == 'Q') && weight[1] == '=')
          refused = weight.substr(2).find_first_not_of("0.") == std::string::npos;
      }
      return !refused;
    }
    start = end + 1;
  }
  return false;
}

class metrics_endpoint::impl {
public:
  impl(const std::string& listen, std::function<std::string()> render)
    : render_(std::move(render)) {
    auto endpoint = endpoint_of(listen);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(endpoint, ec);
    if (!ec)
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("metrics.listen " + listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread{[this] { io_.run(); }};
    pthread_setname_np(thread_.native_handle(), "ts-metrics");
  }

  ~impl() {
    net::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      pause_.cancel();
    });
    io_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return port_; }

private:
  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted)
        return;
      if (ec) {
        pause_.expires_after(accept_pause);
        pause_.async_wait([this](beast::error_code waited) {
          if (waited != net::error::operation_aborted)
            accept();
        });
        return;
      }
      if (*open_ < max_sessions)
        std::make_shared<session>(std::move(socket), render_, open_)->start();
      accept();  // a socket not served closes as it goes out of scope
    });
  }

  net::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  net::steady_timer pause_{io_};
  std::shared_ptr<int> open_ = std::make_shared<int>(0);
  std::function<std::string()> render_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

metrics_endpoint::metrics_endpoint(const std::string& listen, std::function<std::string()> render)
  : impl_(std::make_unique<impl>(listen, std::move(render))) {}

metrics_endpoint::~metrics_endpoint() = default;

std::uint16_t metrics_endpoint::port() const { return impl_->port(); }

} // namespace tidesync::actors
