#include "server/request_dispatcher.hpp"

#include "metrics/registry.hpp"
#include "metrics/server_metrics.hpp"
#include "protocol/error.hpp"
#include "protocol/content_coding.hpp"
#include "server/db_pool.hpp"
#include "server/log_text.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>

namespace tidesync::server {

namespace {

using protocol::api_error;
using protocol::error_code;
using clock_type = std::chrono::steady_clock;

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

} // namespace

/// One request on its way through the dispatcher.
struct request_dispatcher::pending {
  http_request request;
  completion done;
  request_dispatcher::admission admitted; // set while its head is being admitted
  clock_type::time_point started = clock_type::now();
  std::optional<route_match> route;
  std::size_t received_bytes = 0;  // the body as it came, compressed or not
};

request_dispatcher::request_dispatcher(db_pool& pool, metrics::server_metrics& metrics,
                                       const prometheus::Registry& registry,
                                       std::uint64_t max_body_bytes,
                                       std::size_t max_token_lookups, fleet_reports* fleet)
    : pool_(pool), metrics_(metrics), registry_(registry), max_body_bytes_(max_body_bytes),
      handlers_(metrics, fleet), tokens_(pool, max_token_lookups) {}

void request_dispatcher::admit(http_request head, admission done) {
  auto state = std::make_shared<pending>();
  state->request = std::move(head);
  state->done = [done](http_response refusal) { done(std::move(refusal)); };
  std::string secret;
  try {
    state->route = match_route(state->request.method, state->request.target);
    if (!needs_token(state->route->kind))
      return done(std::nullopt);
    secret = bearer_secret(state->request.header("authorization"));
    if (secret.empty())
      throw api_error(error_code::unauthorized, "missing bearer token");
  } catch (const api_error& e) {
    return finish(*state, error_response(e.code(), e.what()));
  }
  state->admitted = std::move(done);
  admit_token(state, secret);
}

void request_dispatcher::admit_token(const std::shared_ptr<pending>& state,
                                     const std::string& secret) {
  if (auto check = tokens_.cached(secret))
    return settle(*state, *check);
  bool started =
      tokens_.look_up(secret, [this, state](token_check check) { settle(*state, check); });
  if (!started)
    settle(*state, token_check{token_verdict::unavailable, {}});
}

void request_dispatcher::settle(pending& state, const token_check& check) {
  try {
    if (check.verdict == token_verdict::unavailable) {
      metrics_.add_rejection();
      throw api_error(error_code::unavailable, "cannot check the token now; retry shortly");
    }
    if (check.verdict == token_verdict::unknown)
      throw api_error(error_code::unauthorized, "unknown or revoked token");
    check_scope(check.identity, *state.route);
  } catch (const api_error& e) {
    return finish(state, error_response(e.code(), e.what()));
  }
  state.admitted(std::nullopt);
}

void request_dispatcher::dispatch(http_request request, completion done) {
  auto state = std::make_shared<pending>();
  state->request = std::move(request);
  state->received_bytes = state->request.body.size();  // before it is inflated
  state->done = std::move(done);
  try {
    state->route = match_route(state->request.method, state->request.target);
    auto kind = state->route->kind;
    if (kind == route_kind::healthz)
      return finish(*state, json_response(R"({"status":"ok"})"));
    if (kind == route_kind::metrics)
      return finish(*state, metrics_page());
    // A request without any token is refused before any work on its body.
    if (needs_token(kind) && state->request.header("authorization").empty())
      throw api_error(error_code::unauthorized, "missing bearer token");
    check_encoding(state->request);
  } catch (const api_error& e) {
    return finish(*state, error_response(e.code(), e.what()));
  }
  run_on_pool(std::move(state));
}

void request_dispatcher::run_on_pool(std::shared_ptr<pending> state) {
  auto job = [this, state](db_worker& worker) {
    http_response response;
    try {
      // Inflating is the client's work: it runs in the client's share of
      // the pool, not on the I/O threads every client shares.
      inflate_body(state->request);
      response = handlers_.handle(state->request, *state->route, worker.store());
    } catch (const api_error& e) {
      if (e.code() == error_code::unavailable) {
        worker.reset(); // reconnect for the next request
        metrics_.add_database_error();
      }
      response = error_response(e.code(), e.what());
    } catch (const std::exception& e) {
      metrics_.add_database_error();
      response = error_response(error_code::internal, e.what());
    }
    // The store refused the token: refuse it before the body next time.
    if (response.status == protocol::http_status(error_code::unauthorized))
      tokens_.forget(bearer_secret(state->request.header("authorization")));
    finish(*state, std::move(response));
  };
  // Each client's requests take turns with other clients' for its share of
  // the pool; /readyz has no client and its own lane.
  auto outcome = pool_.try_submit(state->route->client_id, std::move(job));
  if (outcome == db_pool::outcome::accepted)
    return;
  metrics_.add_rejection();
  finish(*state, error_response(error_code::unavailable,
                                outcome == db_pool::outcome::client_full
                                    ? "this client's share of the database connections is busy"
                                      " (max_workers_per_client); retry shortly"
                                    : "all database connections are busy; retry shortly"));
}

void request_dispatcher::record_refusal(int status) { metrics_.add_refusal(status); }

http_response request_dispatcher::metrics_page() {
  metrics_.set_pool(pool_.busy(), pool_.waiting());
  http_response response;
  response.content_type = metrics::text_content_type;
  response.body = metrics::render_text(registry_);
  return response;
}

void request_dispatcher::check_encoding(const http_request& request) const {
  auto encoding = request.header("content-encoding");
  if (!protocol::parse_content_coding(encoding))
    throw api_error(error_code::unsupported_media, "Content-Encoding \"" + lower(encoding) +
                                                       "\" is not supported; use zstd, gzip or "
                                                       "identity");
}

void request_dispatcher::inflate_body(http_request& request) const {
  auto coding = protocol::parse_content_coding(request.header("content-encoding"));
  if (!coding || *coding == protocol::content_coding::identity)
    return;
  auto name = std::string(protocol::header_value(*coding));
  auto result = protocol::decompress(*coding, request.body, max_body_bytes_);
  if (result.status == protocol::decompress_status::too_large)
    throw api_error(error_code::payload_too_large, "request body grows past max_body_bytes (" +
                                                       std::to_string(max_body_bytes_) +
                                                       ") when decompressed (" + name + ")");
  if (!result.ok())
    throw api_error(error_code::bad_request, result.error);  // it names the coding
  request.body = std::move(result.data);
}

void request_dispatcher::finish(pending& state, http_response response) const {
  auto seconds = std::chrono::duration<double>(clock_type::now() - state.started).count();
  auto route = state.route ? std::string(route_name(state.route->kind)) : std::string("unknown");
  metrics_.record_request(route, response.status, seconds);
  if (response.status == protocol::http_status(error_code::unauthorized) ||
      response.status == protocol::http_status(error_code::forbidden))
    metrics_.add_auth_failure();
  metrics_.add_body_bytes(state.received_bytes, response.body.size());
  const auto& r = state.request;
  // Everything from the request is escaped: a path segment may hold a newline.
  std::string where;
  if (state.route && !state.route->client_id.empty())
    where = " client=" + log_text(state.route->client_id);
  if (state.route && !state.route->database_id.empty())
    where += " database=" + log_text(state.route->database_id);
  if (state.route && !state.route->table.empty())
    where += " table=" + log_text(state.route->table);
  if (response.status >= 400)
    spdlog::warn("{} {} -> {} in {:.1f} ms{}: {}", log_text(r.method), log_text(r.target),
                 response.status, seconds * 1000, where, log_text(response.body));
  else
    spdlog::debug("{} {} -> {} in {:.1f} ms{}", log_text(r.method), log_text(r.target),
                  response.status, seconds * 1000, where);
  state.done(std::move(response));
}

} // namespace tidesync::server
