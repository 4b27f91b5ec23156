#pragma once

#include "bench/api_upload.hpp"
#include "bench/latency_record.hpp"
#include "protocol/table_schema.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tidesync::bench {

/// Tenant B of the fairness benchmark: one site's agent, at a steady pace,
/// over one keep-alive connection. It cycles through what an agent's cycles
/// send: the per-database summary GET (an idle cycle), an upload of a few new
/// rows, and a manifest page of its latest versions.
class site_mix {
public:
  /// Uploads go to `table` with rows numbered from `first_row` on (each
  /// upload takes the next `upload_rows`); the table already holds rows up to
  /// `first_row` - 1, with versions equal to their ids.
  site_mix(std::uint16_t port, bench_tenant tenant, std::string table,
           protocol::table_schema schema, std::int64_t first_row, std::int64_t upload_rows);

  /// Sends `rate` requests per second for `duration`, one at a time, each
  /// on its tick (at once when the previous answer came late), and records
  /// each one's latency from sending to the whole answer.
  latency_record run(double rate, std::chrono::seconds duration);

  /// Rows uploaded so far.
  std::int64_t rows_uploaded() const { return next_row_ - first_row_; }

private:
  void send_one(int turn, latency_record& record);

  protocol::http_client client_;
  bench_tenant tenant_;
  std::string table_;
  protocol::table_schema schema_;
  std::int64_t first_row_;
  std::int64_t next_row_;
  std::int64_t upload_rows_;
};

/// What tenant A got done while its flood ran.
struct flood_totals {
  std::int64_t rows_uploaded = 0;
  std::int64_t rows_deleted = 0;
  std::int64_t uploads = 0;
  std::int64_t deletes = 0;
  std::int64_t refused = 0;  // 503: over its share, or the pool full
  std::int64_t failures = 0; // any other answer but 200, or none
  std::string first_failure;
};

/// Tenant A: `connections` connections that each upload large batches back
/// to back and, after every few, delete those rows again by key, as fast as
/// the server answers. A 503 is honoured as an agent does: the connection
/// waits `Retry-After` before sending the same request again.
class upload_flood {
public:
  /// Renders and gzips every body before anything is sent, so the flood
  /// costs the client little CPU while it runs.
  upload_flood(std::uint16_t port, bench_tenant tenant, std::string table,
               const protocol::table_schema& schema, int connections, std::int64_t batch_rows);
  /// Stops the flood if it runs.
  ~upload_flood();
  upload_flood(const upload_flood&) = delete;
  upload_flood& operator=(const upload_flood&) = delete;

  void start();
  /// Blocks until every connection had an upload answered, or `timeout`.
  bool wait_until_every_connection_uploaded(std::chrono::seconds timeout) const;
  /// What was done so far.
  flood_totals totals() const;
  /// Asks every connection to stop after its request in flight, and joins them.
  void stop();

  std::int64_t batch_rows() const { return batch_rows_; }

private:
  struct connection_work {
    std::vector<std::string> uploads; // gzipped upload bodies
    std::string delete_keys;          // gzipped: every key of `uploads`
  };
  struct counters {
    std::atomic<std::int64_t> rows_uploaded{0}, rows_deleted{0}, uploads{0}, deletes{0},
        refused{0}, failures{0};
  };

  void run_connection(std::size_t index);
  bool send(protocol::http_client& client, const std::string& method, const std::string& body);

  std::uint16_t port_;
  bench_tenant tenant_;
  std::string path_;
  std::int64_t batch_rows_;
  std::vector<connection_work> work_;
  std::vector<std::unique_ptr<std::atomic<bool>>> uploaded_once_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  counters counters_;
  mutable std::mutex failure_mutex_;
  std::string first_failure_;
};

} // namespace tidesync::bench
