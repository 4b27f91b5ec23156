#pragma once

#include "actors/agent_context.hpp"
#include "actors/table_report.hpp"
#include "metrics/agent_metrics.hpp"
#include "config/agent_config.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace tidesync::actors {

/// The least time between the starts of two cycles woken by changes (and
/// from a cycle to the look again that follows it): what a burst of commits
/// is coalesced over.
inline constexpr std::chrono::milliseconds notify_cycle_gap{250};

/// How long after a woken cycle its tables are looked at once more: longer
/// than a session's silence after it announces a table (250 ms, see
/// tidesync_notify in storage/pg_tracking_plan.cpp) plus a commit, so an
/// unannounced commit made in that silence is found.
inline constexpr std::chrono::milliseconds look_again_delay{500};

/// Why run() starts a cycle.
enum class cycle_reason {
  /// A database's own cycle, every `interval`: every table of it.
  interval,
  /// A committed change woke some tables: those only.
  change,
};

/// Seams for tests; every empty member gets the real thing.
struct agent_hooks {
  /// Default: an http_remote to `config.server`.
  remote_factory make_remote;
  /// Default: storage::open_source.
  source_opener open_source;
  /// Default: sync::retry_settings{}.
  std::optional<sync::retry_settings> retry;
  /// First backoff before a failed actor starts again. Default: 1 s.
  std::optional<std::chrono::milliseconds> restart_first;
  /// How often a long load logs how far it is. Default: 10 s.
  std::optional<std::chrono::milliseconds> progress_every;
  /// Called as each cycle of run() starts: `interval` as a database starts
  /// one of its own (on an actor's thread, once per database), `change` as
  /// run() starts one a notification woke. Default: nothing.
  std::function<void(cycle_reason)> on_cycle;
};

/// The site agent: the state store, the metrics (and their exposer on
/// `metrics.listen`), a CAF actor system and the supervisor with its database,
/// table and batch-size actors, wired from one agent_config.
///
///   agent a{config};
///   auto report = a.run_once();   // catch up + one full differencing pass
///   // or: a.run() on one thread, a.stop() from another (e.g. on SIGTERM)
class agent {
public:
  /// Locks the state directory (`agent.lock`), opens the state store and
  /// starts the metrics endpoint and the actors. Throws state_dir_in_use
  /// (actors/agent_lock.hpp) when another agent holds the directory,
  /// storage::storage_error when it can't be used, std::exception when the
  /// metrics address can't be bound.
  explicit agent(config::agent_config config, agent_hooks hooks = {});
  /// Stops and waits for every actor.
  ~agent();
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;

  /// One cycle of every table, back to back; `full_pass` adds a whole
  /// differencing pass per table after catching up.
  agent_report run_cycle(bool full_pass);

  /// Runs full-pass cycles until no table is left with work (at most a few),
  /// and returns the last report: what `tidesync agent --once` prints.
  agent_report run_once();

  /// Runs a cycle of every table every `interval` until stop(); the batch in
  /// flight finishes and its state is saved before it returns. With
  /// `notify`, a committed change also wakes its tables for a cycle of their
  /// own (see change_watcher); such cycles start at most once per
  /// `notify_cycle_gap`, so a burst of changes costs a few cycles.
  void run();

  /// Makes run() return (and a cycle in progress end after its current
  /// batch). Thread-safe; callable from a signal-watching thread.
  void stop();

  /// The port the metrics endpoint listens on, when one is configured.
  std::optional<std::uint16_t> metrics_port() const;

  /// Rows uploaded and expected, tables settled, so far: for a progress
  /// line while run_once() runs on another thread. Thread-safe.
  metrics::agent_totals progress() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tidesync::actors
