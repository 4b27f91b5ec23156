#include "server/http_server.hpp"

#include "server/http_session.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace tidesync::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::unique_ptr<net::ssl::context> make_tls_context(const config::tls_files& files) {
  auto context = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1);
  try {
    context->use_certificate_chain_file(files.cert);
    context->use_private_key_file(files.key, net::ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("tls: cannot load certificate " + files.cert + " or key " + files.key +
                             ": " + e.what());
  }
  return context;
}

tcp::endpoint resolve(net::io_context& io, const config::host_port& address) {
  boost::system::error_code ec;
  tcp::resolver resolver{io};
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve listen address " + address.to_string() + ": " +
                             ec.message());
  return results.begin()->endpoint();
}

/// Accepts connections and hands each to a new session.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& io, session_settings settings)
      : io_(io), acceptor_(net::make_strand(io)), settings_(std::move(settings)) {}

  std::uint16_t bind(const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(endpoint, ec);
    if (!ec)
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + ec.message());
    return acceptor_.local_endpoint().port();
  }

  void run() { do_accept(); }

  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_), boost::beast::bind_front_handler(
                                                      &listener::on_accept, shared_from_this()));
  }

  void on_accept(boost::system::error_code ec, tcp::socket socket) {
    // A closed acceptor is the normal way to stop, not a failure.
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec)
      spdlog::warn("accept: {}", ec.message());
    else
      start_session(std::move(socket), settings_);
    do_accept();
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  session_settings settings_;
};

} // namespace

struct http_server::impl {
  http_server::settings options;
  net::io_context io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::unique_ptr<net::ssl::context> tls;
  std::shared_ptr<connection_set> connections;
  std::shared_ptr<listener> acceptor;
  std::vector<std::thread> threads;

  impl(request_dispatcher& dispatcher, http_server::settings settings)
      : options(std::move(settings)), io(std::max(options.io_threads, 1)),
        connections(std::make_shared<connection_set>(options.max_connections)) {
    if (options.tls)
      tls = make_tls_context(*options.tls);
    acceptor = std::make_shared<listener>(
        io, session_settings{&dispatcher, connections, tls.get(), options.max_body_bytes});
  }
};

http_server::http_server(request_dispatcher& dispatcher, settings options)
    : impl_(std::make_unique<impl>(dispatcher, std::move(options))) {}

http_server::~http_server() {
  if (!impl_->threads.empty()) {
    begin_shutdown();
    join();
  }
}

std::uint16_t http_server::start() {
  auto port = impl_->acceptor->bind(resolve(impl_->io, impl_->options.listen));
  impl_->acceptor->run();
  // Keeps run() from returning while a request waits for a database worker
  // and its connection has no operation pending.
  impl_->work.emplace(impl_->io.get_executor());
  for (int i = 0; i < std::max(impl_->options.io_threads, 1); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  return port;
}

void http_server::begin_shutdown() {
  impl_->acceptor->close();
  impl_->connections->close_all();
}

void http_server::join() {
  impl_->work.reset();
  for (auto& thread : impl_->threads)
    if (thread.joinable())
      thread.join();
  impl_->threads.clear();
}

} // namespace tidesync::server
