#pragma once

#include <string>
#include <vector>

namespace tidesync::app {

/// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // the command ran and failed
inline constexpr int exit_usage = 2;    // unknown subcommand or option, missing argument

/// The arguments after the subcommand's name.
using arguments = std::vector<std::string>;

int run_version(const arguments& args);
int run_server(const arguments& args);
int run_admin(const arguments& args);
int run_agent(const arguments& args);
int run_prepare(const arguments& args);
int run_unprepare(const arguments& args);
int run_status(const arguments& args);
int run_verify(const arguments& args);

} // namespace tidesync::app
