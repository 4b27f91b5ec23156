#include "bench/api_upload.hpp"

#include "storage/postgres_store.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <sstream>
#include <string_view>
#include <stdexcept>

namespace tidesync::bench {

namespace {

namespace json = boost::json;

// Generous: a 50,000-row batch answers in well under a second, but the
// machine may be busy with other work.
constexpr std::chrono::seconds bench_request_timeout{300};

// Fails with the request, the status and the server's answer.
void require_ok(const protocol::http_response& response, const std::string& what) {
  if (response.ok())
    return;
  throw std::runtime_error(what + " failed: " +
                           (response.transport_error ? *response.transport_error
                                                     : std::to_string(response.status) + " " +
                                                           response.body));
}

} // namespace

std::string bench_tenant::table_path(const std::string& table) const {
  return "/v1/customers/" + client_id + "/databases/" + database_id + "/tables/" + table;
}

protocol::http_client make_client(std::uint16_t port, const std::string& token, bool gzip) {
  protocol::http_client_options options;
  options.request_timeout = bench_request_timeout;
  options.gzip_requests = gzip;
  options.default_headers = {{"Authorization", "Bearer " + token}};
  return protocol::http_client("http://127.0.0.1:" + std::to_string(port), std::move(options));
}

std::string create_client_token(const std::string& store_url, const std::string& client_id) {
  return storage::postgres_store{storage::store_options{store_url}}.create_client(client_id).secret;
}

std::string register_database(protocol::http_client& client, const std::string& client_id,
                              const std::string& name) {
  json::object body{{"name", name}};
  auto response = client.post("/v1/customers/" + client_id + "/databases", json::serialize(body));
  require_ok(response, "registering database " + name);
  return json::value_to<std::string>(json::parse(response.body).at("database_id"));
}

void declare_table(protocol::http_client& client, const bench_tenant& tenant,
                   const std::string& table, const protocol::table_schema& schema) {
  auto body = json::serialize(protocol::to_json(schema));
  require_ok(client.put(tenant.table_path(table) + "/schema", body), "declaring " + table);
}

double timed_upload(protocol::http_client& client, const bench_tenant& tenant,
                    const std::string& table, const std::vector<std::string>& bodies) {
  auto path = tenant.table_path(table);
  auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < bodies.size(); ++i)
    require_ok(client.post(path, bodies[i]), "uploading batch " + std::to_string(i) + " to " + table);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

double timed_transfer(protocol::http_client& client, const bench_tenant& tenant,
                      const std::string& table, const std::vector<std::string>& bodies) {
  constexpr int unsupported_media = 415;
  const protocol::http_headers refused{{"Content-Encoding", "br"}};
  auto path = tenant.table_path(table);
  auto started = std::chrono::steady_clock::now();
  for (const auto& body : bodies) {
    auto response = client.post(path, body, refused);
    if (response.status != unsupported_media)
      require_ok(response, "sending a body the server must refuse");
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

double server_upload_seconds(protocol::http_client& client) {
  constexpr std::string_view sum_line = "tidesync_server_request_duration_seconds_sum{";
  constexpr std::string_view upload_label = "route=\"upload\"";
  auto response = client.get("/metrics");
  require_ok(response, "reading /metrics");
  std::istringstream lines(response.body);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(sum_line) && line.find(upload_label) != std::string::npos)
      return std::stod(line.substr(line.rfind(' ') + 1));
  return 0; // no upload answered yet
}

std::int64_t reported_count(protocol::http_client& client, const bench_tenant& tenant,
                            const std::string& table) {
  auto response = client.get(tenant.table_path(table));
  require_ok(response, "reading the summary of " + table);
  return json::parse(response.body).at("count").to_number<std::int64_t>();
}

} // namespace tidesync::bench
