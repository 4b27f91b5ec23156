#include "tests/integration/agent/connect_proxy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <istream>
#include <mutex>
#include <thread>

namespace tidesync::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct connect_proxy::impl {
  explicit impl(std::optional<std::string> authorization)
    : required(std::move(authorization)), acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    accepting = std::thread([this] { accept_loop(); });
  }

  ~impl() {
    stopping = true;
    boost::system::error_code ignored;
    {
      // A connection of its own wakes the blocked accept.
      tcp::socket wake(io);
      wake.connect(acceptor.local_endpoint(), ignored);
      accepting.join();
    }
    acceptor.close(ignored);
    {
      // Shutting a socket down wakes a read blocked on it in another thread.
      std::lock_guard lock{mutex};
      for (auto& socket : sockets)
        socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    std::vector<std::thread> finished;
    {
      std::lock_guard lock{mutex};
      finished.swap(tunnels);
    }
    for (auto& thread : finished)
      thread.join();
  }

  void accept_loop() {
    while (!stopping) {
      auto client = std::make_shared<tcp::socket>(io);
      boost::system::error_code ec;
      acceptor.accept(*client, ec);
      if (ec || stopping)
        return;
      std::lock_guard lock{mutex};
      sockets.push_back(client);
      tunnels.emplace_back([this, client] { serve(client); });
    }
  }

  static void answer(tcp::socket& socket, const std::string& status) {
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\n\r\n"),
                ignored);
  }

  void serve(const std::shared_ptr<tcp::socket>& client) {
    boost::system::error_code ec;
    asio::streambuf head;
    asio::read_until(*client, head, "\r\n\r\n", ec);
    if (ec)
      return;
    std::istream lines(&head);
    std::string method, target, version, line;
    lines >> method >> target >> version;
    std::getline(lines, line);
    std::string authorization;
    while (std::getline(lines, line) && line != "\r") {
      auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      if (name == "proxy-authorization") {
        authorization = line.substr(colon + 1);
        authorization.erase(0, authorization.find_first_not_of(' '));
        if (!authorization.empty() && authorization.back() == '\r')
          authorization.pop_back();
      }
    }
    if (method != "CONNECT")
      return answer(*client, "405 Method Not Allowed");
    {
      std::lock_guard lock{mutex};
      connects.push_back(target);
    }
    if (required && authorization != *required)
      return answer(*client, "407 Proxy Authentication Required");
    auto colon = target.rfind(':');
    auto server = std::make_shared<tcp::socket>(io);
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(target.substr(0, colon), target.substr(colon + 1), ec);
    if (!ec)
      asio::connect(*server, endpoints, ec);
    if (ec)
      return answer(*client, "502 Bad Gateway");
    {
      std::lock_guard lock{mutex};
      sockets.push_back(server);
    }
    asio::write(*client, asio::buffer(std::string{"HTTP/1.1 200 Connection established\r\n\r\n"}),
                ec);
    // What the client sent after its head already (nothing, for TLS) goes first.
    if (head.size() > 0)
      asio::write(*server, head.data(), ec);
    std::thread back([client, server] { relay(*server, *client, nullptr, nullptr); });
    relay(*client, *server, &mutex, &forwarded);
    back.join();
  }

  static void relay(tcp::socket& from, tcp::socket& to, std::mutex* guard, std::string* record) {
    char buffer[16 * 1024];
    boost::system::error_code ec;
    for (;;) {
      auto n = from.read_some(asio::buffer(buffer), ec);
      if (ec || n == 0)
        break;
      if (record) {
        std::lock_guard lock{*guard};
        record->append(buffer, n);
      }
      asio::write(to, asio::buffer(buffer, n), ec);
      if (ec)
        break;
    }
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }

  std::optional<std::string> required;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  mutable std::mutex mutex;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::vector<std::thread> tunnels;
  std::vector<std::string> connects;
  std::string forwarded;
  std::thread accepting;
};

connect_proxy::connect_proxy(std::optional<std::string> required_authorization)
  : impl_(std::make_unique<impl>(std::move(required_authorization))) {}

connect_proxy::~connect_proxy() = default;

std::uint16_t connect_proxy::port() const noexcept {
  return impl_->acceptor.local_endpoint().port();
}

std::vector<std::string> connect_proxy::targets() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->connects;
}

std::string connect_proxy::relayed() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->forwarded;
}

} // namespace tidesync::testing
