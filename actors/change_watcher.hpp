#pragma once

#include "config/agent_config.hpp"

#include <memory>

namespace tidesync::metrics {
class agent_metrics;
} // namespace tidesync::metrics

namespace tidesync::actors {

class change_set;

/// Marks tables in a change_set when their source announces a committed
/// change: PostgreSQL sources by LISTEN on storage::version_notify_channel
/// (one connection per database), SQLite sources by watching the database
/// file and its -wal/-journal with inotify. What it hears only wakes tables;
/// the tables then read as usual, so a lost notification costs latency only.
///
/// One thread serves every database. Destroying the watcher stops it and
/// closes its connections and descriptors.
class change_watcher {
public:
  virtual ~change_watcher() = default;
};

/// Starts watching every database of `config`; `changes` and `metrics` (may be
/// null) must outlive the watcher. Throws std::system_error when the thread or
/// its descriptors can't be created.
std::unique_ptr<change_watcher> start_change_watcher(const config::agent_config& config,
                                                     change_set& changes,
                                                     metrics::agent_metrics* metrics);

/// The tables of `database` a notification payload wakes: the configured
/// table of that name, or every table when none has it (the payload is
/// whatever the notifier sent). Indexes in config order.
std::vector<std::size_t> tables_woken_by(const config::database_config& database,
                                         const std::string& payload);

} // namespace tidesync::actors
