#include "tests/integration/server/raw_http_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace tidesync::testing {

namespace {

using clock_type = std::chrono::steady_clock;

std::string lower(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(' ');
  auto last = text.find_last_not_of(" \r");
  return first == std::string::npos ? std::string{} : text.substr(first, last - first + 1);
}

// Parses a complete head (without the blank line) into `reply`.
void parse_head(const std::string& head, raw_reply& reply) {
  auto line_end = head.find("\r\n");
  auto status_line = head.substr(0, line_end);
  auto space = status_line.find(' ');
  reply.status = space == std::string::npos ? 0 : std::stoi(status_line.substr(space + 1, 3));
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos)
      end = head.size();
    auto line = head.substr(pos, end - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos)
      reply.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    pos = end + 2;
  }
}

} // namespace

raw_http_connection::raw_http_connection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect() to 127.0.0.1:" + std::to_string(port) + " failed");
  }
}

raw_http_connection::~raw_http_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool raw_http_connection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool raw_http_connection::read_more(clock_type::time_point deadline) {
  if (eof_)
    return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  if (left.count() <= 0)
    return false;
  pollfd poller{fd_, POLLIN, 0};
  if (::poll(&poller, 1, static_cast<int>(left.count())) <= 0)
    return false;
  char buffer[16384];
  auto n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  pending_.append(buffer, static_cast<std::size_t>(n));
  return true;
}

std::optional<raw_reply> raw_http_connection::read_reply(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (pending_.find("\r\n\r\n") == std::string::npos)
    if (!read_more(deadline))
      return std::nullopt;
  auto head_end = pending_.find("\r\n\r\n");
  raw_reply reply;
  parse_head(pending_.substr(0, head_end), reply);
  auto length_field = reply.headers.find("content-length");
  std::size_t length = length_field == reply.headers.end() ? 0 : std::stoul(length_field->second);
  while (pending_.size() < head_end + 4 + length)
    if (!read_more(deadline))
      return std::nullopt;
  reply.body = pending_.substr(head_end + 4, length);
  pending_.erase(0, head_end + 4 + length);
  return reply;
}

bool raw_http_connection::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (read_more(deadline))
    pending_.clear();
  return eof_;
}

std::string request_head(const std::string& method, const std::string& target,
                         const std::map<std::string, std::string>& fields) {
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : fields)
    head += name + ": " + value + "\r\n";
  return head + "\r\n";
}

} // namespace tidesync::testing
