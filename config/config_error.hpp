#pragma once

#include <stdexcept>
#include <string>

namespace tidesync::config {

/// A configuration that cannot be used. The message names the file, the line
/// and the key, e.g. `server.yaml:4: pool_size: expected a positive integer, got "x"`.
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace tidesync::config
