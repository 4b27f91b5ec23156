#include "apps/tidesync/commands.hpp"

#include <iostream>

namespace tidesync::app {

int run_version(const arguments& args) {
  if (args.size() == 1 && args.front() == "--help") {
    std::cout << "usage: tidesync version    print the version and exit\n";
    return exit_ok;
  }
  if (!args.empty()) {
    std::cerr << "tidesync version: unexpected argument '" << args.front() << "'\n";
    return exit_usage;
  }
  std::cout << "tidesync " << TIDESYNC_VERSION << "\n";
  return exit_ok;
}

} // namespace tidesync::app
