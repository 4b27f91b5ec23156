// tidesync server: the HTTP API in front of the multi-tenant PostgreSQL store.
#include "apps/tidesync/commands.hpp"
#include "apps/tidesync/log_setup.hpp"

#include "config/config_error.hpp"
#include "config/server_config.hpp"
#include "server/api_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <exception>
#include <iostream>
#include <optional>

namespace tidesync::app {

namespace {

constexpr const char* server_usage =
    "usage: tidesync server --config FILE\n\n"
    "Serves the tidesync API (docs/api.md) from the store named in FILE.\n"
    "SIGTERM or SIGINT stops it gracefully: requests in flight finish first.\n";

// The config path, or nullopt after printing why (`exit_code` says how to exit).
std::optional<std::string> parse_server_args(const arguments& args, int& exit_code) {
  std::optional<std::string> path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << server_usage;
      exit_code = exit_ok;
      return std::nullopt;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[++i];
      continue;
    }
    std::cerr << "tidesync server: unexpected argument '" << args[i] << "'\n" << server_usage;
    exit_code = exit_usage;
    return std::nullopt;
  }
  if (!path) {
    std::cerr << "tidesync server: --config FILE is required\n" << server_usage;
    exit_code = exit_usage;
  }
  return path;
}

// Serves until SIGTERM or SIGINT, then stops gracefully. The signals are
// caught before the server starts, so an early signal still stops it cleanly.
void serve_until_signal(config::server_config config) {
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals{signals_io, SIGINT, SIGTERM};
  server::api_server server{std::move(config)};
  server.start();
  signals.async_wait([&server](const boost::system::error_code& ec, int signal) {
    if (ec)
      return;
    spdlog::info("server: signal {} received, stopping", signal);
    server.stop();
  });
  signals_io.run();
}

} // namespace

int run_server(const arguments& args) {
  int exit_code = exit_ok;
  auto path = parse_server_args(args, exit_code);
  if (!path)
    return exit_code;
  try {
    auto config = config::load_server_config(*path);
    apply_log_settings(config.log_level, config.log_format);
    serve_until_signal(std::move(config));
  } catch (const config::config_error& e) {
    std::cerr << "tidesync server: " << e.what() << "\n";
    return exit_failure;
  } catch (const std::exception& e) {
    spdlog::error("server: {}", e.what());
    return exit_failure;
  }
  return exit_ok;
}

} // namespace tidesync::app
