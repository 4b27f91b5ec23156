#include "protocol/http_proxy.hpp"

#include "protocol/url_encoding.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace tidesync::protocol {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned value = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size())
      value |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size())
      value |= static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(value >> 18) & 63];
    out += alphabet[(value >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(value >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[value & 63] : '=';
  }
  return out;
}

std::string decoded(std::string_view text, const char* what) {
  auto out = url_decode(text);
  if (!out)
    throw std::invalid_argument(std::string{"proxy URL has a badly encoded "} + what);
  return *out;
}

bool is_ip_address(const std::string& host) {
  unsigned char address[16];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// The host of an http(s):// URL, lower case, without brackets or port.
std::string host_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme != std::string_view::npos)
    url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find('/'));
  if (auto at = url.rfind('@'); at != std::string_view::npos)
    url.remove_prefix(at + 1);
  if (url.starts_with('['))
    return lower(url.substr(1, url.find(']') - 1));
  return lower(url.substr(0, url.find(':')));
}

} // namespace

proxy_endpoint parse_proxy_url(std::string_view url) {
  if (url.starts_with("https://"))
    throw std::invalid_argument("an https:// proxy is not supported: give its http:// address "
                                "(the tunnel through it carries TLS to the server)");
  if (!url.starts_with("http://"))
    throw std::invalid_argument("proxy URL must start with http://");
  url.remove_prefix(7);
  while (url.ends_with('/'))
    url.remove_suffix(1);
  if (url.find('/') != std::string_view::npos)
    throw std::invalid_argument("proxy URL takes no path");
  proxy_endpoint out;
  if (auto at = url.rfind('@'); at != std::string_view::npos) {
    auto credentials = url.substr(0, at);
    auto colon = credentials.find(':');
    auto user = decoded(credentials.substr(0, colon), "user");
    auto password =
      colon == std::string_view::npos ? std::string{} : decoded(credentials.substr(colon + 1), "password");
    out.authorization = "Basic " + base64(user + ":" + password);
    url.remove_prefix(at + 1);
  }
  std::string_view port;
  if (url.starts_with('[')) {
    auto end = url.find(']');
    if (end == std::string_view::npos)
      throw std::invalid_argument("proxy URL has an unterminated IPv6 address");
    out.host = std::string(url.substr(1, end - 1));
    if (end + 1 < url.size()) {
      if (url[end + 1] != ':')
        throw std::invalid_argument("proxy URL has something after its IPv6 address");
      port = url.substr(end + 2);
    }
  } else {
    auto colon = url.find(':');
    if (colon != std::string_view::npos && url.find(':', colon + 1) != std::string_view::npos)
      throw std::invalid_argument("proxy URL has more than one ':' in its host (an IPv6 address "
                                  "goes in brackets; user:password ends with '@')");
    out.host = std::string(url.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = url.substr(colon + 1);
      if (port.empty())
        throw std::invalid_argument("proxy URL has a ':' but no port");
    }
  }
  out.port = port.empty() ? "80" : std::string(port);
  if (out.host.empty())
    throw std::invalid_argument("proxy URL needs a host");
  if (!std::all_of(out.port.begin(), out.port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      out.port.size() > 5 || std::stoi(out.port) == 0 || std::stoi(out.port) > 65535)
    throw std::invalid_argument("proxy URL has a bad port \"" + out.port + "\"");
  auto shown_host = out.host.find(':') != std::string::npos ? "[" + out.host + "]" : out.host;
  out.shown = "http://" + shown_host + ":" + out.port;
  return out;
}

bool bypasses_proxy(std::string_view host, std::string_view no_proxy) {
  const auto wanted = lower(host);
  const bool ip = is_ip_address(wanted);
  for (std::size_t start = 0; start <= no_proxy.size();) {
    auto comma = no_proxy.find(',', start);
    if (comma == std::string_view::npos)
      comma = no_proxy.size();
    auto entry = no_proxy.substr(start, comma - start);
    start = comma + 1;
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t'))
      entry.remove_suffix(1);
    if (entry.empty())
      continue;
    if (entry == "*")
      return true;
    std::string name;
    if (entry.starts_with('['))
      name = lower(entry.substr(1, entry.find(']') - 1));
    else if (std::count(entry.begin(), entry.end(), ':') == 1)
      name = lower(entry.substr(0, entry.find(':')));  // host:port
    else
      name = lower(entry);  // a name, an IPv4 address, or a bare IPv6 address
    while (name.starts_with('.'))
      name.erase(0, 1);
    if (name.empty())
      continue;
    if (wanted == name)
      return true;
    if (!ip && wanted.size() > name.size() && wanted.ends_with(name) &&
        wanted[wanted.size() - name.size() - 1] == '.')
      return true;
  }
  return false;
}

std::optional<std::string> proxy_for(std::string_view server_url,
                                     const std::optional<std::string>& configured,
                                     const env_lookup& env) {
  if (configured) {
    if (configured->empty() || *configured == "none")
      return std::nullopt;
    return *configured;
  }
  auto variable = [&](const char* upper, const char* lower_name) -> std::string {
    for (const char* name : {lower_name, upper})
      if (const char* value = env(name); value != nullptr && *value != '\0')
        return value;
    return {};
  };
  const bool tls = server_url.starts_with("https://");
  auto proxy = tls ? variable("HTTPS_PROXY", "https_proxy") : variable("HTTP_PROXY", "http_proxy");
  if (proxy.empty())
    return std::nullopt;
  if (bypasses_proxy(host_of(server_url), variable("NO_PROXY", "no_proxy")))
    return std::nullopt;
  return proxy;
}

} // namespace tidesync::protocol
