#pragma once

#include "actors/body_coding.hpp"
#include "actors/pooled_remote.hpp"
#include "actors/remote_api.hpp"
#include "actors/stop_signal.hpp"
#include "config/agent_config.hpp"
#include "storage/source.hpp"
#include "sync/retry_policy.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace tidesync::storage {
class state_store;
} // namespace tidesync::storage

namespace tidesync::metrics {
class agent_metrics;
} // namespace tidesync::metrics

namespace tidesync::actors {

class blocking_pool;

/// Makes a client of the server for one actor.
using remote_factory = std::function<std::unique_ptr<remote_api>()>;

/// Opens the local source a URL names.
using source_opener = std::function<std::unique_ptr<storage::source>(const std::string& url)>;

/// Everything the supervisor and its children share; owned by the agent,
/// which outlives every actor.
struct agent_context {
  config::agent_config config;
  storage::state_store* state = nullptr;
  metrics::agent_metrics* metrics = nullptr;  // may be null
  stop_signal* stop = nullptr;
  remote_factory make_remote;
  source_opener open_source;
  sync::retry_settings retry{};
  /// The threads every blocking step runs on (engine.workers).
  blocking_pool* pool = nullptr;
  /// The threads a table's upload runs on while its cycle reads the next
  /// page (engine.max_in_flight). Only cycles wait for them, and they wait
  /// for nothing but the server, so the two pools cannot starve each other.
  blocking_pool* uploads = nullptr;
  /// The agent's clients of the server (engine.max_in_flight), made by make_remote.
  std::shared_ptr<remote_pool> remotes;
  /// How every table compresses its upload bodies (`compress`).
  std::shared_ptr<body_coding> coding;
  /// Backoff before a failed actor is started again: doubled per failure in
  /// a row, up to restart_max.
  std::chrono::milliseconds restart_first{1'000};
  std::chrono::milliseconds progress_every{10'000};  // a long load's progress lines
  std::chrono::milliseconds restart_max{60'000};
  /// Called as a database starts a cycle of its own (every `interval`).
  std::function<void()> on_interval_cycle;
};

} // namespace tidesync::actors
