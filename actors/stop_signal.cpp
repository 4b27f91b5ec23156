#include "actors/stop_signal.hpp"

namespace tidesync::actors {

void stop_signal::request_stop() {
  {
    std::lock_guard lock{mutex_};
    stopped_ = true;
  }
  changed_.notify_all();
}

bool stop_signal::stop_requested() const {
  std::lock_guard lock{mutex_};
  return stopped_;
}

bool stop_signal::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock lock{mutex_};
  return changed_.wait_for(lock, timeout, [this] { return stopped_; });
}

void stop_signal::reset() {
  std::lock_guard lock{mutex_};
  stopped_ = false;
}

} // namespace tidesync::actors
