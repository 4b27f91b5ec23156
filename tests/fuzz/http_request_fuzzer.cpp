// HTTP request target: one input is the bytes a client sends on one
// connection. They go through Beast's request parser with the server's
// limits, then through the request_dispatcher as a session drives it (head
// first: admit; then the body: dispatch), request after request while the
// connection stays open. The database pool is stopped, so everything up to
// the store runs (routing, bearer tokens, scope, Content-Encoding, gunzip,
// logging, metrics) and a request that needs the store gets 503; a head
// refused 503 because its token needed the store is dispatched anyway, as
// if the store had taken the token. Every
// response must be one a client can read: a known status and a JSON body.
#include "metrics/registry.hpp"
#include "metrics/server_metrics.hpp"
#include "protocol/error.hpp"
#include "server/api_handlers.hpp"
#include "server/db_pool.hpp"
#include "server/http_session.hpp"
#include "server/request_dispatcher.hpp"
#include "server/router.hpp"
#include "storage/postgres_store.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using namespace tidesync;
using server::http_request;
using server::http_response;

// The server's max_body_bytes, small so the fuzzer reaches it (413 on the
// wire and when un-gzipping).
constexpr std::uint64_t max_body_bytes = 4096;
// Requests read from one input, as from one keep-alive connection.
constexpr int max_requests_per_connection = 8;
// A token's scope, as token_gate would find it in the store.
const storage::token_identity scoped_token{
    "tok-1", "acme", std::string("3f1c2a9e-5b7d-4e21-9c1f-7a8b6d5e4c3b"), std::string("plant")};

/// The dispatcher as api_server wires it, over a pool that takes no work.
struct server_under_test {
  metrics::registry registry;
  metrics::server_metrics metrics{registry.get()};
  server::db_pool pool{1, 0, []() -> std::unique_ptr<storage::postgres_store> {
                         throw protocol::api_error(protocol::error_code::unavailable, "no store");
                       }};
  server::request_dispatcher dispatcher{pool, metrics, registry.get(), max_body_bytes, 1};

  server_under_test() {
    pool.stop();
    // Log lines are formatted (so log_text and the format strings run) and dropped.
    auto logger =
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
};

// As server/http_session.cpp turns a parsed head into a request.
http_request to_request(const http::request<http::string_body>& message) {
  http_request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[std::move(name)] = std::string(field.value());
  }
  return request;
}

// Feeds `input` to `parser` until `done()`, as Beast's read does from a
// socket whose peer then closes; consumed bytes leave `input`.
template <class Done>
beast::error_code feed(http::request_parser<http::string_body>& parser, std::string_view& input,
                       Done done) {
  beast::error_code ec;
  while (!done()) {
    if (input.empty()) {
      parser.put_eof(ec);
      return ec ? ec : http::make_error_code(http::error::partial_message);
    }
    auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    input.remove_prefix(used);
    if (ec == http::error::need_more && used == 0)
      input = {}; // all that will ever arrive is not enough
    else if (ec && ec != http::error::need_more)
      return ec;
    ec = {};
  }
  return ec;
}

bool is_known_status(int status) {
  for (auto code : {protocol::error_code::bad_request, protocol::error_code::unauthorized,
                    protocol::error_code::forbidden, protocol::error_code::not_found,
                    protocol::error_code::method_not_allowed, protocol::error_code::conflict,
                    protocol::error_code::payload_too_large,
                    protocol::error_code::unsupported_media, protocol::error_code::header_too_large,
                    protocol::error_code::unavailable, protocol::error_code::internal})
    if (protocol::http_status(code) == status)
      return true;
  return status == 200;
}

// What a client gets: a status it knows, a JSON body it can parse (errors
// in the documented shape), and a message Beast can write.
void check_response(const http_response& response) {
  FUZZ_REQUIRE(is_known_status(response.status), "every status is one docs/api.md lists");
  if (response.content_type == "application/json") {
    boost::json::error_code ec;
    auto body = boost::json::parse(response.body, ec);
    FUZZ_REQUIRE(!ec, "a JSON response body parses");
    if (response.status >= 400) {
      const auto* error = body.is_object() ? body.as_object().if_contains("error") : nullptr;
      FUZZ_REQUIRE(error && error->is_object() && error->as_object().contains("code") &&
                       error->as_object().contains("message"),
                   "an error body is {\"error\":{\"code\",\"message\"}}");
    }
  }
  http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
  message.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers)
    message.set(name, value);
  message.body() = response.body;
  message.prepare_payload();
  std::ostringstream wire;
  wire << message;
  FUZZ_REQUIRE(!wire.str().empty(), "the response serializes");
}

// The pure parts the dispatcher calls, checked on their own too.
void check_routing(const http_request& head) {
  std::optional<server::route_match> route;
  try {
    route = server::match_route(head.method, head.target);
  } catch (const protocol::api_error& e) {
    FUZZ_REQUIRE(e.code() == protocol::error_code::not_found ||
                     e.code() == protocol::error_code::method_not_allowed ||
                     e.code() == protocol::error_code::bad_request,
                 "the router refuses with 404, 405 or 400");
    return;
  }
  FUZZ_REQUIRE(!server::needs_token(route->kind) || !route->client_id.empty(),
               "a /v1 route names its client");
  auto secret = server::bearer_secret(head.header("authorization"));
  FUZZ_REQUIRE(secret.empty() || (secret.front() != ' ' && secret.back() != ' '),
               "a bearer secret is trimmed");
  try {
    server::check_scope(scoped_token, *route);
  } catch (const protocol::api_error& e) {
    FUZZ_REQUIRE(e.code() == protocol::error_code::forbidden, "out of scope is 403");
  }
}

// Serves one request from `input`; false when the connection would close.
bool serve_one(server_under_test& server, std::string_view& input) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(server::max_header_bytes);
  parser.body_limit(max_body_bytes);
  parser.eager(false);
  if (feed(parser, input, [&] { return parser.is_header_done(); }))
    return false; // the session answers 400/413/431 or just closes
  auto head = to_request(parser.get());
  check_routing(head);
  bool answered = false;
  std::optional<http_response> refusal;
  server.dispatcher.admit(head, [&](std::optional<http_response> r) {
    answered = true;
    refusal = std::move(r);
  });
  FUZZ_REQUIRE(answered, "without a database, admission is decided at once");
  if (refusal)
    check_response(*refusal);
  // 503: the token needed the store. Go on as if it had taken the token, so
  // the body path of /v1 routes runs too; other refusals end the request.
  if (refusal && refusal->status != protocol::http_status(protocol::error_code::unavailable))
    return parser.is_done(); // a refused request with a body closes the connection
  parser.eager(true);
  if (feed(parser, input, [&] { return parser.is_done(); }))
    return false;
  auto message = parser.release();
  auto request = to_request(message);
  request.body = std::move(message.body());
  answered = false;
  server.dispatcher.dispatch(std::move(request), [&](http_response response) {
    answered = true;
    check_response(response);
  });
  FUZZ_REQUIRE(answered, "without a database, every request is answered at once");
  return message.keep_alive();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static server_under_test server;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < max_requests_per_connection && !input.empty(); ++i)
    if (!serve_one(server, input))
      break;
  return 0;
}
