#include "tests/integration/server/test_http_client.hpp"

#include "protocol/http_client.hpp"
#include "tests/support/time_scale.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

namespace tidesync::testing {

namespace {

protocol::http_client make_client(std::uint16_t port) {
  protocol::http_client_options options;
  options.gzip_requests = false;
  options.connect_timeout = std::chrono::seconds(5);
  options.request_timeout = scaled(std::chrono::seconds(60));
  return protocol::http_client("http://127.0.0.1:" + std::to_string(port), options);
}

std::string error_field(const std::string& body, const char* field) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object() || !value.as_object().contains("error"))
    return {};
  return std::string(value.at("error").at(field).as_string());
}

} // namespace

boost::json::value http_reply::json() const {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << "response body is not JSON: " << body;
  return value;
}

std::string http_reply::error_code() const {
  return error_field(body, "code");
}

std::string http_reply::error_message() const {
  return error_field(body, "message");
}

struct test_http_client::impl {
  protocol::http_client client;
};

test_http_client::test_http_client(std::uint16_t port)
    : impl_(std::make_unique<impl>(impl{make_client(port)})) {}

test_http_client::~test_http_client() = default;

http_reply test_http_client::send(const std::string& method, const std::string& target,
                                  const std::string& body,
                                  const std::map<std::string, std::string>& headers) {
  protocol::http_headers fields(headers.begin(), headers.end());
  auto response = impl_->client.request(method, target, body, fields);
  if (response.transport_error)
    throw std::runtime_error(method + " " + target + ": " + *response.transport_error);
  http_reply reply;
  reply.status = response.status;
  reply.body = std::move(response.body);
  if (!response.content_type.empty())
    reply.headers["content-type"] = response.content_type;
  if (!response.retry_after.empty())
    reply.headers["retry-after"] = response.retry_after;
  if (!response.content_encoding.empty())
    reply.headers["content-encoding"] = response.content_encoding;
  if (!response.etag.empty())
    reply.headers["etag"] = response.etag;
  if (!response.accept_encoding.empty())
    reply.headers["accept-encoding"] = response.accept_encoding;
  return reply;
}

http_reply test_http_client::call(const std::string& method, const std::string& target,
                                  const std::string& token, const std::string& body) {
  std::map<std::string, std::string> headers;
  if (!token.empty())
    headers["Authorization"] = "Bearer " + token;
  return send(method, target, body, headers);
}

std::size_t test_http_client::connections_opened() const {
  return impl_->client.connections_opened();
}

bool test_http_client::answers(std::uint16_t port) {
  auto client = make_client(port);
  auto response = client.get("/healthz");
  return !response.transport_error && response.status == 200;
}

} // namespace tidesync::testing
