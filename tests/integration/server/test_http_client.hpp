#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace tidesync::testing {

/// A response as the tests look at it.
struct http_reply {
  int status = 0;
  /// content-type, retry-after, content-encoding, etag and accept-encoding, when sent.
  std::map<std::string, std::string> headers;
  std::string body;

  /// The body parsed as JSON (fails the test on malformed JSON).
  boost::json::value json() const;
  /// The "code" of an error body, or "" when there is none.
  std::string error_code() const;
  /// The "message" of an error body, or "".
  std::string error_message() const;
};

/// protocol::http_client on 127.0.0.1:`port`, sending exactly the bytes a
/// test gives (no automatic gzip), and throwing on transport errors so a
/// test can't mistake a dropped connection for a status.
class test_http_client {
public:
  explicit test_http_client(std::uint16_t port);
  ~test_http_client();

  http_reply send(const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {});

  /// send() with `Authorization: Bearer <token>` (omitted when token is empty).
  http_reply call(const std::string& method, const std::string& target, const std::string& token,
                  const std::string& body = "");

  /// TCP connections opened so far (keep-alive reuses one).
  std::size_t connections_opened() const;

  /// True when a server on 127.0.0.1:`port` answers GET /healthz.
  static bool answers(std::uint16_t port);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tidesync::testing
