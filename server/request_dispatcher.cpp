#include "server/request_dispatcher.hpp"

#include "metrics/registry.hpp"
#include "metrics/server_metrics.hpp"
#include "protocol/error.hpp"
#include "protocol/gzip.hpp"
#include "server/db_pool.hpp"

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

bool is_identity_encoding(const std::string& encoding) {
  return encoding.empty() || encoding == "identity";
}

bool is_gzip_encoding(const std::string& encoding) {
  return encoding == "gzip" || encoding == "x-gzip";
}

} // namespace

/// One request on its way through the dispatcher.
struct request_dispatcher::pending {
  http_request request;
  completion done;
  clock_type::time_point started = clock_type::now();
  std::optional<route_match> route;
};

request_dispatcher::request_dispatcher(db_pool& pool, metrics::server_metrics& metrics,
                                       const prometheus::Registry& registry,
                                       std::uint64_t max_body_bytes)
    : pool_(pool), metrics_(metrics), registry_(registry), max_body_bytes_(max_body_bytes),
      handlers_(metrics) {}

void request_dispatcher::dispatch(http_request request, completion done) {
  auto state = std::make_shared<pending>();
  state->request = std::move(request);
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
    decode_body(state->request);
  } catch (const api_error& e) {
    return finish(*state, error_response(e.code(), e.what()));
  }
  run_on_pool(std::move(state));
}

void request_dispatcher::run_on_pool(std::shared_ptr<pending> state) {
  auto job = [this, state](db_worker& worker) {
    http_response response;
    try {
      response = handlers_.handle(state->request, *state->route, worker.store());
    } catch (const api_error& e) {
      if (e.code() == error_code::unavailable)
        worker.reset(); // reconnect for the next request
      response = error_response(e.code(), e.what());
    } catch (const std::exception& e) {
      response = error_response(error_code::internal, e.what());
    }
    finish(*state, std::move(response));
  };
  if (!pool_.try_submit(std::move(job))) {
    metrics_.add_rejection();
    finish(*state, error_response(error_code::unavailable,
                                  "all database connections are busy; retry shortly"));
  }
}

http_response request_dispatcher::metrics_page() {
  metrics_.set_pool(pool_.busy(), pool_.waiting());
  http_response response;
  response.content_type = metrics::text_content_type;
  response.body = metrics::render_text(registry_);
  return response;
}

void request_dispatcher::decode_body(http_request& request) const {
  auto encoding = lower(request.header("content-encoding"));
  if (is_identity_encoding(encoding))
    return;
  if (!is_gzip_encoding(encoding))
    throw api_error(error_code::unsupported_media,
                    "Content-Encoding \"" + encoding + "\" is not supported; use gzip or identity");
  auto result = protocol::gzip_decompress(request.body, max_body_bytes_);
  if (result.status == protocol::gunzip_status::too_large)
    throw api_error(error_code::payload_too_large, "request body grows past max_body_bytes (" +
                                                       std::to_string(max_body_bytes_) +
                                                       ") when un-gzipped");
  if (!result.ok())
    throw api_error(error_code::bad_request, "corrupt gzip body: " + result.error);
  request.body = std::move(result.data);
}

void request_dispatcher::finish(pending& state, http_response response) const {
  auto seconds = std::chrono::duration<double>(clock_type::now() - state.started).count();
  auto route = state.route ? std::string(route_name(state.route->kind)) : std::string("unknown");
  metrics_.record_request(route, response.status, seconds);
  const auto& r = state.request;
  std::string where;
  if (state.route && !state.route->client_id.empty())
    where = " client=" + state.route->client_id;
  if (state.route && !state.route->database_id.empty())
    where += " database=" + state.route->database_id;
  if (state.route && !state.route->table.empty())
    where += " table=" + state.route->table;
  if (response.status >= 400)
    spdlog::warn("{} {} -> {} in {:.1f} ms{}: {}", r.method, r.target, response.status,
                 seconds * 1000, where, response.body);
  else
    spdlog::debug("{} {} -> {} in {:.1f} ms{}", r.method, r.target, response.status, seconds * 1000,
                  where);
  state.done(std::move(response));
}

} // namespace tidesync::server
