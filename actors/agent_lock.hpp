#pragma once

#include <stdexcept>
#include <string>

namespace tidesync::actors {

/// Thrown when another agent already holds the state directory's lock.
class state_dir_in_use : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// An exclusive, non-blocking `flock` on `<state_dir>/agent.lock`, held for the
/// agent's lifetime so two agents never share one state directory. The file
/// holds the owner's pid for the other agent's error message. The kernel
/// releases the lock when the process ends, even on `kill -9`.
class agent_lock {
public:
  /// File name inside the state directory.
  static constexpr const char* file_name = "agent.lock";

  /// Creates `state_dir` if missing and takes the lock. Throws
  /// state_dir_in_use naming the directory and the holder's pid, or
  /// storage::storage_error when the directory or file can't be used.
  explicit agent_lock(const std::string& state_dir);
  /// Releases the lock (the file stays).
  ~agent_lock();
  agent_lock(const agent_lock&) = delete;
  agent_lock& operator=(const agent_lock&) = delete;

private:
  int fd_ = -1;
};

} // namespace tidesync::actors
