#pragma once

#include <filesystem>
#include <string>
#include <vector>
#include <sys/types.h>

namespace tidesync::testing {

/// What a finished command left behind.
struct run_result {
  int exit_code = -1;  // 128 + signal number when a signal ended it
  std::string out;
  std::string err;
};

/// A child process running `binary` with stdout and stderr captured in files
/// under `dir`, for tests that drive the real `tidesync` binary. The
/// destructor kills and reaps a child that is still running.
class child_process {
public:
  child_process(const std::string& binary, const std::vector<std::string>& args,
                const std::filesystem::path& dir);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int number);

  /// Waits for the child to end; returns its exit code (128 + signal).
  int wait();

  /// True once the child has ended (without blocking); sets `exit_code`.
  bool try_wait(int& exit_code);

  std::string out() const;
  std::string err() const;

private:
  std::filesystem::path out_;
  std::filesystem::path err_;
  pid_t pid_ = -1;
  bool waited_ = false;
};

/// Runs `binary` to completion and returns its exit code and output.
run_result run_to_completion(const std::string& binary, const std::vector<std::string>& args,
                             const std::filesystem::path& dir);

/// The whole content of a file ("" when it doesn't exist).
std::string read_file(const std::filesystem::path& path);

} // namespace tidesync::testing
