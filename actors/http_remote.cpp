#include "actors/http_remote.hpp"

#include "actors/wire_body.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/http_client.hpp"
#include "protocol/http_proxy.hpp"
#include "protocol/json_parse.hpp"
#include "protocol/site_report.hpp"
#include "protocol/url_encoding.hpp"

#include <boost/json.hpp>

#include <cstdlib>
#include <exception>
#include <stdexcept>

namespace tidesync::actors {

namespace {

namespace json = boost::json;

// The server's error message, or the raw body when it isn't the error shape.
std::string error_message(const protocol::http_response& response) {
  if (response.transport_error)
    return *response.transport_error;
  try {
    auto body = json::parse(response.body);
    return std::string(body.at("error").at("message").as_string());
  } catch (const std::exception&) {
    return "HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 200);
  }
}

call_status status_of(const protocol::http_response& response) {
  call_status status;
  status.http_status = response.status;
  if (response.ok())
    return status;
  status.message = error_message(response);
  if (auto seconds = response.retry_after_seconds())
    status.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(*seconds);
  const int code = response.status;
  if (response.transport_error || code >= 500 || code == 429 || code == 408)
    status.result = call_result::transient;
  else if (code == 400 || code == 413)
    status.result = call_result::rejected;
  else
    status.result = call_result::failed;
  return status;
}

// Runs `parse` on a successful response's JSON; a malformed answer fails the call.
template <class T, class Parse>
remote_answer<T> answer(const protocol::http_response& response, Parse parse) {
  remote_answer<T> out;
  out.status = status_of(response);
  if (!out.status.ok())
    return out;
  try {
    out.value = parse(protocol::parse_json_exact(response.body));
  } catch (const std::exception& e) {
    out.status.result = call_result::failed;
    out.status.message = std::string{"malformed answer from the server: "} + e.what();
  }
  return out;
}

} // namespace

std::optional<std::string> server_proxy(const config::server_endpoint& server) {
  auto chosen =
    protocol::proxy_for(server.url, server.proxy, [](const char* name) { return std::getenv(name); });
  if (chosen) {
    try {
      protocol::parse_proxy_url(*chosen);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error((server.proxy ? "server.proxy: " : "the proxy in HTTPS_PROXY or "
                                                                  "HTTP_PROXY: ") +
                               std::string{e.what()});
    }
  }
  return chosen;
}

namespace {

protocol::http_client_options client_options(const config::server_endpoint& server,
                                              std::chrono::milliseconds request_timeout,
                                              bool compress) {
  protocol::http_client_options options;
  options.request_timeout = request_timeout;
  options.gzip_requests = compress;
  // The server's fleet view counts agents by version.
  options.user_agent = std::string{"tidesync-agent/"} + TIDESYNC_VERSION;
  options.ca_file = server.ca_file;
  options.proxy = server_proxy(server);
  options.default_headers = {{"Authorization", "Bearer " + server.token}};
  return options;
}

sync::row_key key_from_json(const json::array& cells,
                            const std::vector<protocol::column_type>& types) {
  sync::row_key key;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    auto type = i < types.size() ? types[i] : protocol::column_type::text;
    key.push_back(protocol::cell_to_pg_text(cells[i], type).value_or(""));
  }
  return key;
}

} // namespace

http_remote::http_remote(const config::server_endpoint& server,
                         std::chrono::milliseconds request_timeout, bool compress,
                         std::shared_ptr<listing_cache> listings)
  : client_id_(server.client_id),
    client_(std::make_unique<protocol::http_client>(
        server.url, client_options(server, request_timeout, compress))),
    listings_(listings ? std::move(listings) : std::make_shared<listing_cache>()) {}

http_remote::~http_remote() = default;

std::string http_remote::database_path(const std::string& database_id) const {
  return "/v1/customers/" + client_id_ + "/databases/" + database_id;
}

std::string http_remote::table_path(const std::string& database_id,
                                    const std::string& table) const {
  return database_path(database_id) + "/tables/" + table;
}

remote_answer<std::string> http_remote::register_database(const std::string& name) {
  json::object body{{"name", name}};
  auto response =
    client_->post("/v1/customers/" + client_id_ + "/databases", json::serialize(body));
  return answer<std::string>(response, [](const json::value& v) {
    return std::string(v.at("database_id").as_string());
  });
}

remote_answer<table_listing> http_remote::list_tables(const std::string& database_id,
                                                      const std::string& report) {
  auto path = database_path(database_id) + "/tables";
  protocol::http_headers headers;
  if (!report.empty())
    headers.push_back({protocol::site_report_header, report});
  protocol::http_response response;
  if (auto known = listings_->etag(database_id)) {
    auto conditional = headers;
    conditional.push_back({"If-None-Match", *known});
    response = client_->get(path, conditional);
    if (response.status == 304) {
      if (auto tables = listings_->find(database_id, response.etag))
        return {{}, std::move(tables)};
      // Not the listing held (a server that tags differently): ask in full.
      listings_->forget(database_id);
      response = client_->get(path, headers);
    }
  } else {
    response = client_->get(path, headers);
  }
  auto out = answer<table_listing>(response, [](const json::value& v) {
    std::map<std::string, protocol::table_version> out;
    for (const auto& [name, summary] : v.at("tables").as_object())
      out.emplace(std::string(name), protocol::table_version_from_json(summary));
    return std::make_shared<const std::map<std::string, protocol::table_version>>(std::move(out));
  });
  if (out.status.ok() && !response.etag.empty())
    listings_->store(database_id, response.etag, out.value);
  else
    listings_->forget(database_id);
  return out;
}

remote_answer<std::optional<protocol::table_version>>
http_remote::table_summary(const std::string& database_id, const std::string& table) {
  auto response = client_->get(table_path(database_id, table));
  if (response.status == 404)
    return {};
  return answer<std::optional<protocol::table_version>>(response, [](const json::value& v) {
    return std::optional<protocol::table_version>{protocol::table_version_from_json(v)};
  });
}

remote_answer<std::vector<protocol::refused_column>>
http_remote::declare_schema(const std::string& database_id, const std::string& table,
                            const protocol::table_schema& schema) {
  auto body = json::serialize(protocol::to_json(schema));
  auto response = client_->put(table_path(database_id, table) + "/schema", body);
  remote_answer<std::vector<protocol::refused_column>> out{status_of(response), {}};
  if (response.status == protocol::http_status(protocol::error_code::columns_refused))
    out.value = protocol::refused_columns_of(response.body);
  return out;
}

namespace {

remote_answer<protocol::table_version> upload_answer(const protocol::http_response& response) {
  return answer<protocol::table_version>(response, [](const json::value& v) {
    protocol::table_version summary;
    summary.count = v.at("count").to_number<std::int64_t>();
    if (const auto* max = v.as_object().if_contains("max_version"); max && !max->is_null())
      summary.max_version = max->to_number<std::int64_t>();
    return summary;
  });
}

} // namespace

namespace {

std::string upload_path(std::string path, bool recount) {
  return recount ? path + "?recount=true" : path;
}

} // namespace

remote_answer<protocol::table_version> http_remote::upload(const std::string& database_id,
                                                           const std::string& table,
                                                           const std::string& body, bool recount) {
  // Named identity, so the client does not gzip it: the agent's coding chose
  // to send it as it is (small, or a server that reads no coding).
  return upload_answer(client_->post(upload_path(table_path(database_id, table), recount), body,
                                     {{"Content-Encoding", "identity"}}));
}

remote_answer<protocol::table_version>
http_remote::upload_compressed(const std::string& database_id, const std::string& table,
                               const std::string& body, protocol::content_coding coding,
                               bool recount) {
  return upload_answer(
    client_->post(upload_path(table_path(database_id, table), recount), body,
                  {{"Content-Encoding", std::string(protocol::header_value(coding))}}));
}

remote_answer<std::int64_t> http_remote::delete_rows(const std::string& database_id,
                                                     const std::string& table,
                                                     const std::string& body) {
  auto response = client_->del(table_path(database_id, table), body);
  return answer<std::int64_t>(response, [](const json::value& v) {
    return v.at("deleted").to_number<std::int64_t>();
  });
}

remote_answer<manifest_page>
http_remote::manifest(const std::string& database_id, const std::string& table,
                      const protocol::table_schema& schema,
                      std::optional<std::int64_t> min_version,
                      std::optional<std::int64_t> max_version, std::int64_t limit,
                      const std::optional<std::string>& after) {
  // floats=string: float keys come back as exact text (a server of the previous
  // release ignores it and sends numbers, which key_from_json still reads).
  auto target =
    table_path(database_id, table) + "/manifest?floats=string&limit=" + std::to_string(limit);
  if (min_version)
    target += "&min_version=" + std::to_string(*min_version);
  if (max_version)
    target += "&max_version=" + std::to_string(*max_version);
  if (after)
    target += "&after=" + protocol::url_encode(*after);
  auto types = key_types(schema);
  auto response = client_->get(target);
  return answer<manifest_page>(response, [&](const json::value& v) {
    manifest_page page;
    for (const auto& entry : v.at("entries").as_array())
      page.entries.push_back({entry.at("version").to_number<std::int64_t>(),
                              key_from_json(entry.at("key").as_array(), types)});
    if (const auto& next = v.at("next"); !next.is_null())
      page.next = std::string(next.as_string());
    return page;
  });
}

remote_answer<protocol::digest_answer>
http_remote::digests(const std::string& database_id, const std::string& table,
                     const protocol::table_schema& schema,
                     const protocol::digest_request& request) {
  auto types = key_types(schema);
  auto body = json::serialize(protocol::to_json(request, types));
  auto response = client_->post(table_path(database_id, table) + "/digests", body);
  return answer<protocol::digest_answer>(response, [&](const json::value& v) {
    return protocol::digest_answer_from_json(v, types);
  });
}

remote_answer<protocol::table_version> http_remote::recount(const std::string& database_id,
                                                            const std::string& table) {
  auto response = client_->post(table_path(database_id, table) + "/recount", "{}");
  return answer<protocol::table_version>(
    response, [](const json::value& v) { return protocol::table_version_from_json(v); });
}

} // namespace tidesync::actors
