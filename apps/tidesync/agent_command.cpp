// tidesync agent: keeps every configured table replicated to the server.
#include "apps/tidesync/commands.hpp"
#include "apps/tidesync/log_setup.hpp"

#include "actors/agent.hpp"
#include "config/agent_config.hpp"
#include "config/config_error.hpp"
#include "sync/load_progress.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <unistd.h>
#include <csignal>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

namespace tidesync::app {

namespace {

constexpr const char* agent_usage =
  "usage: tidesync agent --config FILE [--once]\n\n"
  "Keeps every table named in FILE replicated to the tidesync server.\n"
  "  --once   catch up and run one full differencing pass per table, print one\n"
  "           line per table, exit 0 when every table is in sync, 1 otherwise\n"
  "SIGTERM or SIGINT stops it after the batch in flight; its state is saved.\n"
  "SIGHUP rereads FILE: databases and tables added or removed take effect at\n"
  "once; a file with an error is logged and the running configuration kept.\n";

struct agent_args {
  std::string config_path;
  bool once = false;
};

// The arguments, or nullopt after printing why (`exit_code` says how to exit).
std::optional<agent_args> parse_agent_args(const arguments& args, int& exit_code) {
  agent_args out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << agent_usage;
      exit_code = exit_ok;
      return std::nullopt;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      out.config_path = args[++i];
      continue;
    }
    if (args[i] == "--once") {
      out.once = true;
      continue;
    }
    std::cerr << "tidesync agent: unexpected argument '" << args[i] << "'\n" << agent_usage;
    exit_code = exit_usage;
    return std::nullopt;
  }
  if (out.config_path.empty()) {
    std::cerr << "tidesync agent: --config FILE is required\n" << agent_usage;
    exit_code = exit_usage;
    return std::nullopt;
  }
  return out;
}

// Turns SIGINT/SIGTERM into agent::stop() and SIGHUP into a reload. The
// signals are blocked before any other thread starts, so only this thread
// ever sees them; SIGUSR1 ends it. A signal that arrives while no agent is
// watched stays pending for the next one.
class signal_watcher {
public:
  signal_watcher() {
    sigemptyset(&signals_);
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGUSR1})
      sigaddset(&signals_, signal);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }

  /// Watches for `agent`; `on_hangup` runs on SIGHUP, on this thread.
  void watch(actors::agent& agent, std::function<void()> on_hangup) {
    thread_ = std::thread([this, &agent, on_hangup = std::move(on_hangup)] {
      for (;;) {
        int signal = 0;
        if (sigwait(&signals_, &signal) != 0 || signal == SIGUSR1)
          return;
        if (signal == SIGHUP) {
          on_hangup();
          continue;
        }
        spdlog::info("agent: signal {} received, stopping after the batch in flight", signal);
        stop_received_ = true;
        agent.stop();
      }
    });
  }

  /// Stops watching; the agent may then go.
  void unwatch() {
    if (thread_.joinable()) {
      pthread_kill(thread_.native_handle(), SIGUSR1);
      thread_.join();
    }
  }

  ~signal_watcher() { unwatch(); }

  /// Whether SIGINT or SIGTERM came: no reload then starts another agent.
  bool stop_received() const { return stop_received_; }

private:
  std::atomic<bool> stop_received_{false};
  sigset_t signals_{};
  std::thread thread_;
};

// Runs agents until a stop: a SIGHUP whose file reads well stops the running
// agent after its batches in flight and starts one on the new configuration
// (same state directory: what was synced stays synced); one whose file has an
// error is logged and changes nothing.
int run_continuously(const std::string& path, config::agent_config config,
                     signal_watcher& signals) {
  for (;;) {
    std::mutex mutex;
    std::optional<config::agent_config> reloaded;
    {
      actors::agent agent{config};
      signals.watch(agent, [&] {
        try {
          auto fresh = config::load_agent_config(path);
          spdlog::info("agent: {} reread ({} databases), restarting the actors on it", path,
                       fresh.databases.size());
          std::lock_guard lock{mutex};
          reloaded = std::move(fresh);
          agent.stop();
        } catch (const std::exception& e) {
          spdlog::error("agent: {} not reloaded, the running configuration stays: {}", path,
                        e.what());
        }
      });
      agent.run();
      signals.unwatch();
    }
    std::lock_guard lock{mutex};
    if (!reloaded || signals.stop_received()) {
      spdlog::info("agent: stopped");
      return exit_ok;
    }
    config = std::move(*reloaded);
    apply_log_settings(config.log_level, config.log_format);
    spdlog::info("agent: running on the reread configuration");
  }
}

// While --once runs with stderr on a terminal: one line, redrawn twice a
// second, with the rows uploaded, the rate, the time left and the tables
// done. Not on a pipe or in a file: there the tables' own progress lines
// (every 10 s of a long load) say it in plain lines.
class progress_line {
public:
  explicit progress_line(const actors::agent& agent)
    : agent_(agent), shown_(::isatty(STDERR_FILENO) == 1) {
    if (shown_)
      thread_ = std::thread{[this] { draw_until_stopped(); }};
  }
  ~progress_line() {
    if (!shown_)
      return;
    {
      std::lock_guard lock{mutex_};
      stopped_ = true;
    }
    woken_.notify_all();
    thread_.join();
    std::cerr << "\r\x1b[K" << std::flush;
  }
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

private:
  void draw_until_stopped() {
    const auto started = std::chrono::steady_clock::now();
    std::unique_lock lock{mutex_};
    while (!woken_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopped_; })) {
      const auto totals = agent_.progress();
      const auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const auto rate = seconds > 0 ? static_cast<double>(totals.rows_uploaded) / seconds : 0.0;
      std::string line = "tidesync: " + std::to_string(totals.rows_uploaded);
      if (totals.rows_expected >= totals.rows_uploaded && totals.rows_expected > 0)
        line += " of about " + std::to_string(totals.rows_expected);
      line += " rows, " + std::to_string(std::llround(rate)) + " rows/s";
      if (rate > 0 && totals.rows_expected > totals.rows_uploaded)
        line += ", about " +
                sync::duration_text(static_cast<double>(totals.rows_expected -
                                                        totals.rows_uploaded) /
                                    rate) +
                " left";
      line += "; " + std::to_string(totals.tables_settled) + " of " +
              std::to_string(totals.tables) + " tables done";
      if (totals.tables_failing > 0)
        line += ", " + std::to_string(totals.tables_failing) + " failing";
      std::cerr << "\r\x1b[K" << line << std::flush;
    }
  }

  const actors::agent& agent_;
  bool shown_;
  std::mutex mutex_;
  std::condition_variable woken_;
  bool stopped_ = false;
  std::thread thread_;
};

int run_agent_with(const std::string& path, config::agent_config config, bool once) {
  // Logs go to stderr so stdout holds only --once's summary.
  spdlog::set_default_logger(spdlog::stderr_color_mt("agent"));
  apply_log_settings(config.log_level, config.log_format);
  signal_watcher signals;
  if (!once)
    return run_continuously(path, std::move(config), signals);
  actors::agent agent{std::move(config)};
  signals.watch(agent, [] { spdlog::info("agent: SIGHUP ignored by --once"); });
  std::optional<progress_line> progress;
  progress.emplace(agent);
  auto report = agent.run_once();
  progress.reset();
  signals.unwatch();
  std::cout << report.summary_lines() << std::flush;
  return report.all_in_sync() ? exit_ok : exit_failure;
}

} // namespace

int run_agent(const arguments& args) {
  int exit_code = exit_ok;
  auto parsed = parse_agent_args(args, exit_code);
  if (!parsed)
    return exit_code;
  try {
    return run_agent_with(parsed->config_path, config::load_agent_config(parsed->config_path),
                          parsed->once);
  } catch (const config::config_error& e) {
    std::cerr << "tidesync agent: " << e.what() << "\n";
    return exit_failure;
  } catch (const std::exception& e) {
    std::cerr << "tidesync agent: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
