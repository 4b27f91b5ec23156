#include "tests/integration/agent/cutting_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>
#include <string>
#include <system_error>

namespace tidesync::testing {

namespace {

// How often blocked loops look at the stop flag.
constexpr int poll_interval_ms = 50;
constexpr std::size_t read_chunk_bytes = 64 * 1024;
// Response bytes a lose_response fault lets through: enough that the client has
// started reading a response, so it cannot mistake the cut for a stale connection.
constexpr std::size_t response_prefix_bytes = 16;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

int connect_upstream(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  auto address = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR)
      continue;
    if (sent <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

// Closing with a zero linger sends RST instead of FIN: the peer sees a reset.
void reset(int fd) {
  linger option{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  ::close(fd);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// What the proxy needs of a request head: is it an upload, how long is its body.
struct request_head {
  bool upload = false;
  std::size_t content_length = 0;
};

request_head parse_head(std::string_view head) {
  request_head out;
  auto method_end = head.find(' ');
  auto target_end = head.find(' ', method_end + 1);
  auto target = head.substr(method_end + 1, target_end - method_end - 1);
  out.upload =
      head.substr(0, method_end) == "POST" && target.find("/tables/") != std::string_view::npos;
  auto lower = lowercase(head);
  constexpr std::string_view field = "\r\ncontent-length:";
  if (auto at = lower.find(field); at != std::string::npos) {
    auto value = std::string_view(lower).substr(at + field.size());
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    std::from_chars(value.data(), value.data() + value.size(), out.content_length);
  }
  return out;
}

} // namespace

/// One client connection and its upstream twin: relays both ways and follows
/// request framing far enough to apply a fault to an upload.
class proxied_connection {
public:
  proxied_connection(cutting_proxy& proxy, int client_fd, int server_fd)
      : proxy_(proxy), client_fd_(client_fd), server_fd_(server_fd) {}

  ~proxied_connection() {
    if (cut_)
      return; // already reset
    ::close(client_fd_);
    ::close(server_fd_);
  }

  proxied_connection(const proxied_connection&) = delete;
  proxied_connection& operator=(const proxied_connection&) = delete;

  /// Relays until either side closes, a fault cuts the connection or the proxy stops.
  void run() {
    std::array<pollfd, 2> fds{pollfd{client_fd_, POLLIN, 0}, pollfd{server_fd_, POLLIN, 0}};
    while (!proxy_.stopping_ && !cut_) {
      int ready = ::poll(fds.data(), fds.size(), poll_interval_ms);
      if (ready < 0 && errno != EINTR)
        return;
      if (ready <= 0)
        continue;
      if (fds[0].revents != 0 && !relay(client_fd_, true))
        return;
      if (!cut_ && fds[1].revents != 0 && !relay(server_fd_, false))
        return;
    }
  }

private:
  bool relay(int from, bool from_client) {
    std::string bytes(read_chunk_bytes, '\0');
    auto got = ::recv(from, bytes.data(), bytes.size(), 0);
    if (got < 0 && errno == EINTR)
      return true;
    if (got <= 0)
      return false; // closed or failed: end both sides
    bytes.resize(static_cast<std::size_t>(got));
    if (from_client)
      proxy_.record_sent(bytes);
    return from_client ? on_request_bytes(bytes) : on_response_bytes(bytes);
  }

  bool on_request_bytes(std::string_view bytes) {
    while (!bytes.empty() && !cut_) {
      auto rest = body_left_ > 0 ? forward_body(bytes) : read_head(bytes);
      if (!rest)
        return false;
      bytes = *rest;
    }
    return true;
  }

  // Collects the head; once complete, forwards it and returns the bytes after it.
  std::optional<std::string_view> read_head(std::string_view bytes) {
    head_.append(bytes);
    auto end = head_.find("\r\n\r\n");
    if (end == std::string::npos)
      return std::string_view{};
    end += 4;
    // The old head_ held no terminator, so everything after it came in `bytes`.
    auto after = bytes.substr(bytes.size() - (head_.size() - end));
    head_.resize(end);
    start_request(parse_head(head_));
    bool sent = send_all(server_fd_, head_);
    head_.clear();
    if (!sent)
      return std::nullopt;
    return after;
  }

  void start_request(const request_head& head) {
    body_left_ = head.content_length;
    upload_fault fault{};
    if (!head.upload || !proxy_.take_fault(fault))
      return;
    if (fault == upload_fault::lose_response)
      lose_response_ = true;
    else
      cut_budget_ = std::min(proxy_.cut_after_, head.content_length / 2);
    if (cut_budget_ == 0)
      cut();
  }

  std::optional<std::string_view> forward_body(std::string_view bytes) {
    auto count = std::min(bytes.size(), body_left_);
    if (cut_budget_)
      count = std::min(count, *cut_budget_);
    if (!send_all(server_fd_, bytes.substr(0, count)))
      return std::nullopt;
    body_left_ -= count;
    if (cut_budget_ && (*cut_budget_ -= count) == 0)
      cut();
    return bytes.substr(count);
  }

  bool on_response_bytes(std::string_view bytes) {
    if (!lose_response_)
      return send_all(client_fd_, bytes);
    auto start = bytes.substr(0, response_prefix_bytes);
    send_all(client_fd_, start);
    proxy_.record_lost_response(start);
    cut();
    return false;
  }

  void cut() {
    reset(client_fd_);
    reset(server_fd_);
    cut_ = true;
    proxy_.count_applied();
  }

  cutting_proxy& proxy_;
  int client_fd_;
  int server_fd_;
  std::string head_;
  std::size_t body_left_ = 0;
  std::optional<std::size_t> cut_budget_;
  bool lose_response_ = false;
  bool cut_ = false;
};

cutting_proxy::cutting_proxy(std::uint16_t upstream_port, std::size_t cut_after)
    : upstream_port_(upstream_port), cut_after_(cut_after) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0)
    throw_errno("socket");
  int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  auto address = loopback(0);
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, SOMAXCONN) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    auto error = errno;
    ::close(listen_fd_);
    throw std::system_error(error, std::generic_category(), "listen on loopback");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

cutting_proxy::~cutting_proxy() {
  stopping_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  // The acceptor is gone: nothing adds to connections_ any more.
  for (auto& connection : connections_)
    connection.join();
}

void cutting_proxy::add_faults(upload_fault fault, std::size_t count) {
  std::lock_guard lock{mutex_};
  faults_.insert(faults_.end(), count, fault);
}

std::size_t cutting_proxy::faults_applied() const {
  std::lock_guard lock{mutex_};
  return applied_;
}

std::size_t cutting_proxy::faults_pending() const {
  std::lock_guard lock{mutex_};
  return faults_.size();
}

void cutting_proxy::accept_loop() {
  pollfd listening{listen_fd_, POLLIN, 0};
  while (!stopping_) {
    if (::poll(&listening, 1, poll_interval_ms) <= 0)
      continue;
    int client_fd = ::accept(listen_fd_, nullptr, nullptr);
    if (client_fd < 0)
      continue;
    connections_.emplace_back([this, client_fd] { serve(client_fd); });
  }
}

void cutting_proxy::serve(int client_fd) {
  int server_fd = connect_upstream(upstream_port_);
  if (server_fd < 0) {
    ::close(client_fd); // as a server that is down looks through a proxy
    return;
  }
  proxied_connection connection{*this, client_fd, server_fd};
  connection.run();
}

std::vector<std::string> cutting_proxy::lost_responses() const {
  std::lock_guard lock{mutex_};
  return lost_responses_;
}

bool cutting_proxy::take_fault(upload_fault& fault) {
  std::lock_guard lock{mutex_};
  if (faults_.empty())
    return false;
  fault = faults_.front();
  faults_.pop_front();
  return true;
}

void cutting_proxy::count_applied() {
  std::lock_guard lock{mutex_};
  ++applied_;
}

void cutting_proxy::record_sent(std::string_view bytes) {
  std::lock_guard lock{mutex_};
  sent_.append(bytes);
}

std::string cutting_proxy::sent() const {
  std::lock_guard lock{mutex_};
  return sent_;
}

void cutting_proxy::record_lost_response(std::string_view start) {
  std::lock_guard lock{mutex_};
  lost_responses_.emplace_back(start);
}

} // namespace tidesync::testing
