// tidesync agent: keeps every configured table replicated to the server.
#include "apps/tidesync/commands.hpp"

#include "actors/agent.hpp"
#include "config/agent_config.hpp"
#include "config/config_error.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <csignal>
#include <atomic>
#include <exception>
#include <iostream>
#include <optional>
#include <thread>

namespace tidesync::app {

namespace {

constexpr const char* agent_usage =
  "usage: tidesync agent --config FILE [--once]\n\n"
  "Keeps every table named in FILE replicated to the tidesync server.\n"
  "  --once   catch up and run one full differencing pass per table, print one\n"
  "           line per table, exit 0 when every table is in sync, 1 otherwise\n"
  "SIGTERM or SIGINT stops it after the batch in flight; its state is saved.\n";

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

// Turns SIGINT/SIGTERM into agent::stop(). The signals are blocked before any
// other thread starts, so only this thread ever sees them; SIGUSR1 ends it.
class signal_watcher {
public:
  signal_watcher() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }

  void watch(actors::agent& agent) {
    thread_ = std::thread([this, &agent] {
      for (;;) {
        int signal = 0;
        if (sigwait(&signals_, &signal) != 0 || signal == SIGUSR1)
          return;
        spdlog::info("agent: signal {} received, stopping after the batch in flight", signal);
        agent.stop();
      }
    });
  }

  ~signal_watcher() {
    if (thread_.joinable()) {
      pthread_kill(thread_.native_handle(), SIGUSR1);
      thread_.join();
    }
  }

private:
  sigset_t signals_{};
  std::thread thread_;
};

int run_agent_with(config::agent_config config, bool once) {
  // Logs go to stderr so stdout holds only --once's summary.
  spdlog::set_default_logger(spdlog::stderr_color_mt("agent"));
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  signal_watcher signals;
  actors::agent agent{std::move(config)};
  signals.watch(agent);
  if (!once) {
    agent.run();
    return exit_ok;
  }
  auto report = agent.run_once();
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
    return run_agent_with(config::load_agent_config(parsed->config_path), parsed->once);
  } catch (const config::config_error& e) {
    std::cerr << "tidesync agent: " << e.what() << "\n";
    return exit_failure;
  } catch (const std::exception& e) {
    std::cerr << "tidesync agent: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
