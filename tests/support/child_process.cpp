#include "tests/support/child_process.hpp"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace tidesync::testing {

namespace {

int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Unique per child so several children of one test don't share files.
std::filesystem::path output_file(const std::filesystem::path& dir, const char* stream) {
  static int counter = 0;
  return dir / ("child-" + std::to_string(++counter) + "." + stream);
}

} // namespace

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

child_process::child_process(const std::string& binary, const std::vector<std::string>& args,
                             const std::filesystem::path& dir)
    : out_(output_file(dir, "stdout")), err_(output_file(dir, "stderr")) {
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    ::dup2(::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& arg : args)
      argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  if (pid_ > 0 && !waited_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

void child_process::signal(int number) {
  if (!waited_)
    ::kill(pid_, number);
}

int child_process::wait() {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  waited_ = true;
  return exit_code_of(status);
}

bool child_process::try_wait(int& exit_code) {
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_)
    return false;
  waited_ = true;
  exit_code = exit_code_of(status);
  return true;
}

std::string child_process::out() const { return read_file(out_); }
std::string child_process::err() const { return read_file(err_); }

run_result run_to_completion(const std::string& binary, const std::vector<std::string>& args,
                             const std::filesystem::path& dir) {
  child_process child{binary, args, dir};
  run_result result;
  result.exit_code = child.wait();
  result.out = child.out();
  result.err = child.err();
  return result;
}

} // namespace tidesync::testing
