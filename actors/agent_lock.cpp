#include "actors/agent_lock.hpp"

#include "storage/source.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string_view>
#include <sys/file.h>
#include <unistd.h>

namespace tidesync::actors {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int error) {
  throw storage::storage_error(storage::storage_errc::invalid,
                               what + " " + path + ": " + std::strerror(error) +
                                 " (the state directory must be writable by the agent)");
}

// The pid the holder wrote, or "unknown" while it hasn't written it yet.
std::string holder_pid(int fd) {
  char text[32] = {};
  auto read = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid{text, read > 0 ? static_cast<std::size_t>(read) : 0};
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

void write_pid(int fd) {
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) < 0)
    return;  // a missing pid only makes the other agent's message vaguer
}

} // namespace

agent_lock::agent_lock(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec)
    fail("can't create the state directory", state_dir, ec.value());
  auto path = (std::filesystem::path{state_dir} / file_name).string();
  // CLOEXEC: a child process must not inherit (and so keep) the lock.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    fail("can't open", path, errno);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    auto pid = holder_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw state_dir_in_use("the state directory " + state_dir +
                             " is in use by another agent (pid " + pid + ", lock file " + path +
                             "); stop it first, or give this agent its own state_dir");
    fail("can't lock", path, error);
  }
  write_pid(fd_);
}

agent_lock::~agent_lock() {
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace tidesync::actors
