// tidesync: one binary, one subcommand per role (server, agent, admin, ...).
#include "apps/tidesync/commands.hpp"

#include <cstring>
#include <iostream>
#include <string_view>

namespace {

using namespace tidesync::app;

struct command {
  std::string_view name;
  std::string_view summary;
  int (*run)(const arguments&);
};

constexpr command commands[] = {
  {"server", "serve the HTTP API in front of the PostgreSQL store", run_server},
  {"agent", "keep the configured local tables replicated to the server", run_agent},
  {"prepare", "install version tracking on the configured local tables", run_prepare},
  {"unprepare", "remove the version tracking prepare installed", run_unprepare},
  {"status", "show how every configured table stands, changing nothing", run_status},
  {"verify", "compare every configured table's content with the cloud copy", run_verify},
  {"admin", "manage clients and their tokens", run_admin},
  {"version", "print the version and exit", run_version},
};

void print_help(std::ostream& out) {
  out << "usage: tidesync <command> [options]\n\n"
         "tidesync replicates on-premises databases into one multi-tenant PostgreSQL store.\n\n"
         "commands:\n";
  for (const auto& c : commands)
    out << "  " << c.name << std::string(12 - c.name.size(), ' ') << c.summary << "\n";
  out << "\nRun 'tidesync <command> --help' for a command's options.\n";
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help(std::cerr);
    return exit_usage;
  }
  std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help(std::cout);
    return exit_ok;
  }
  if (name == "--version")
    name = "version";
  arguments args(argv + 2, argv + argc);
  for (const auto& c : commands)
    if (c.name == name)
      return c.run(args);
  std::cerr << "tidesync: unknown command '" << name << "'\n"
            << "Run 'tidesync --help' for the list of commands.\n";
  return exit_usage;
}
