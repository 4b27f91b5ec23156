// tidesync agent: keeps every configured table replicated to the server.
#include "apps/tidesync/commands.hpp"
#include "apps/tidesync/log_setup.hpp"

#include "actors/agent.hpp"
#include "config/agent_config.hpp"
#include "config/config_error.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <csignal>
#include <atomic>
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

int run_agent_with(const std::string& path, config::agent_config config, bool once) {
  // Logs go to stderr so stdout holds only --once's summary.
  spdlog::set_default_logger(spdlog::stderr_color_mt("agent"));
  apply_log_settings(config.log_level, config.log_format);
  signal_watcher signals;
  if (!once)
    return run_continuously(path, std::move(config), signals);
  actors::agent agent{std::move(config)};
  signals.watch(agent, [] { spdlog::info("agent: SIGHUP ignored by --once"); });
  auto report = agent.run_once();
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
