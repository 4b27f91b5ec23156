#pragma once

#include "protocol/table_schema.hpp"

#include <string>
#include <vector>

namespace tidesync::bench {

/// Seconds spent in each step the server takes for an upload, summed over
/// all batches: where the API's time goes beyond COPY's.
struct phase_times {
  double parse = 0;     // boost::json::parse of the body
  double validate = 0;  // storage::prepare_upload: checks every cell, renders COPY text
  double copy = 0;      // COPY into the shared table in a savepoint, then COMMIT
};

/// Replays the server's upload path on `bodies` in this thread, without HTTP,
/// into `table` (qualified and quoted, empty, the remote table's layout) as
/// database `database_id` of `client_id`. Uses storage's internal steps
/// (copy_batch, staging_copy) directly, so it measures exactly their code.
phase_times replay_server_phases(const std::string& url, const std::string& table,
                                 const protocol::table_schema& schema,
                                 const std::string& client_id, const std::string& database_id,
                                 const std::vector<std::string>& bodies);

} // namespace tidesync::bench
