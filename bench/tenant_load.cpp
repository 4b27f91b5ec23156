#include "bench/tenant_load.hpp"

#include "actors/wire_body.hpp"
#include "bench/bench_rows.hpp"
#include "protocol/gzip.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <span>

namespace tidesync::bench {

namespace {

using clock_type = std::chrono::steady_clock;

// Manifest entries B asks for: the page an agent reads when it compares its
// latest versions.
constexpr std::int64_t manifest_rows = 1'000;
constexpr auto stop_check = std::chrono::milliseconds(20);
constexpr auto pause_after_failure = std::chrono::milliseconds(100);
constexpr int ok_status = 200;
constexpr int unavailable_status = 503;

const protocol::http_headers gzipped{{"Content-Encoding", "gzip"}};

double milliseconds_since(clock_type::time_point started) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - started).count();
}

// Rows [first, first + count) as an upload body, as the agent builds it.
std::string upload_body(const protocol::table_schema& schema, std::int64_t first,
                        std::int64_t count) {
  std::vector<storage::text_row> rows;
  rows.reserve(static_cast<std::size_t>(count));
  for (auto i = first; i < first + count; ++i)
    rows.push_back(make_row(i));
  return actors::upload_body(schema, std::span<const storage::text_row>(rows));
}

std::string what_failed(const protocol::http_response& response) {
  return response.transport_error ? *response.transport_error
                                  : std::to_string(response.status) + " " + response.body;
}

} // namespace

site_mix::site_mix(std::uint16_t port, bench_tenant tenant, std::string table,
                   protocol::table_schema schema, std::int64_t first_row,
                   std::int64_t upload_rows)
    : client_(make_client(port, tenant.token, false)), tenant_(std::move(tenant)),
      table_(std::move(table)), schema_(std::move(schema)), first_row_(first_row),
      next_row_(first_row), upload_rows_(upload_rows) {}

latency_record site_mix::run(double rate, std::chrono::seconds duration) {
  latency_record record;
  const auto interval = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(1.0 / rate));
  const auto started = clock_type::now();
  const auto until = started + duration;
  auto tick = started;
  for (int turn = 0; clock_type::now() < until; ++turn) {
    std::this_thread::sleep_until(tick);
    send_one(turn, record);
    // A late answer moves the schedule on rather than firing the missed ticks at once.
    tick = std::max(tick + interval, clock_type::now());
  }
  return record;
}

void site_mix::send_one(int turn, latency_record& record) {
  std::string route;
  protocol::http_response response;
  if (turn % 3 == 0) {
    route = "summary GET";
    auto started = clock_type::now();
    response = client_.get("/v1/customers/" + tenant_.client_id + "/databases/" +
                           tenant_.database_id + "/tables");
    if (response.ok())
      return record.add(route, milliseconds_since(started));
  } else if (turn % 3 == 1) {
    route = "upload " + std::to_string(upload_rows_) + " rows";
    // Rendered and gzipped before the clock: the agent's side, not the server's.
    auto body = protocol::gzip_compress(upload_body(schema_, next_row_, upload_rows_));
    auto started = clock_type::now();
    response = client_.post(tenant_.table_path(table_), body, gzipped);
    if (response.ok()) {
      next_row_ += upload_rows_;
      return record.add(route, milliseconds_since(started));
    }
  } else {
    route = "manifest GET";
    auto min_version = std::max<std::int64_t>(1, next_row_ - manifest_rows + 1);
    auto started = clock_type::now();
    response = client_.get(tenant_.table_path(table_) + "/manifest?min_version=" +
                           std::to_string(min_version) + "&limit=" +
                           std::to_string(manifest_rows) + "&floats=string");
    if (response.ok())
      return record.add(route, milliseconds_since(started));
  }
  record.add_failure(route, what_failed(response));
}

upload_flood::upload_flood(std::uint16_t port, bench_tenant tenant, std::string table,
                           const protocol::table_schema& schema, int connections,
                           std::int64_t batch_rows)
    : port_(port), tenant_(std::move(tenant)), path_(tenant_.table_path(table)),
      batch_rows_(batch_rows) {
  // Each connection cycles through its own batches, far apart in key space.
  constexpr int batches_per_round = 4;
  constexpr std::int64_t rows_per_connection = 100'000'000;
  for (int c = 0; c < connections; ++c) {
    connection_work work;
    std::string keys;
    for (int b = 0; b < batches_per_round; ++b) {
      auto first = c * rows_per_connection + b * batch_rows;
      work.uploads.push_back(protocol::gzip_compress(upload_body(schema, first, batch_rows)));
      for (auto i = first; i < first + batch_rows; ++i)
        keys += (keys.empty() ? "" : ",") + std::to_string(i + 1); // make_row: id = index + 1
    }
    work.delete_keys = protocol::gzip_compress(R"({"keys":[)" + keys + "]}");
    work_.push_back(std::move(work));
    uploaded_once_.push_back(std::make_unique<std::atomic<bool>>(false));
  }
}

upload_flood::~upload_flood() {
  stop();
}

void upload_flood::start() {
  stopping_ = false;
  for (std::size_t i = 0; i < work_.size(); ++i)
    threads_.emplace_back([this, i] { run_connection(i); });
}

bool upload_flood::wait_until_every_connection_uploaded(std::chrono::seconds timeout) const {
  auto deadline = clock_type::now() + timeout;
  while (clock_type::now() < deadline) {
    bool all = true;
    for (const auto& uploaded : uploaded_once_)
      all = all && uploaded->load();
    if (all)
      return true;
    std::this_thread::sleep_for(stop_check);
  }
  return false;
}

flood_totals upload_flood::totals() const {
  std::lock_guard lock{failure_mutex_};
  return {counters_.rows_uploaded.load(), counters_.rows_deleted.load(), counters_.uploads.load(),
          counters_.deletes.load(),       counters_.refused.load(),      counters_.failures.load(),
          first_failure_};
}

void upload_flood::stop() {
  stopping_ = true;
  for (auto& thread : threads_)
    if (thread.joinable())
      thread.join();
  threads_.clear();
}

void upload_flood::run_connection(std::size_t index) {
  auto client = make_client(port_, tenant_.token, false);
  const auto& work = work_[index];
  while (!stopping_) {
    for (const auto& body : work.uploads) {
      if (stopping_ || !send(client, "POST", body))
        break;
      counters_.rows_uploaded += batch_rows_;
      ++counters_.uploads;
      *uploaded_once_[index] = true;
    }
    if (!stopping_ && send(client, "DELETE", work.delete_keys))
      ++counters_.deletes;
  }
}

// Sends until answered 200 (true), waiting out 503s as an agent does; false
// when stopping, or on any other answer.
bool upload_flood::send(protocol::http_client& client, const std::string& method,
                        const std::string& body) {
  while (!stopping_) {
    auto response = client.request(method, path_, body, gzipped);
    if (response.status == ok_status) {
      if (method == "DELETE")
        counters_.rows_deleted +=
            boost::json::parse(response.body).at("deleted").to_number<std::int64_t>();
      return true;
    }
    if (response.status != unavailable_status) {
      if (counters_.failures++ == 0) {
        std::lock_guard lock{failure_mutex_};
        first_failure_ = method + ": " + what_failed(response);
      }
      std::this_thread::sleep_for(pause_after_failure);
      return false;
    }
    ++counters_.refused;
    auto wait_until = clock_type::now() + response.retry_after_seconds().value_or(
                                              std::chrono::seconds(1));
    while (!stopping_ && clock_type::now() < wait_until)
      std::this_thread::sleep_for(stop_check);
  }
  return false;
}

} // namespace tidesync::bench
