#include "server/fair_schedule.hpp"

#include <algorithm>

namespace tidesync::server {

namespace {

fair_schedule::limits sane(fair_schedule::limits limits) {
  limits.workers = std::max<std::size_t>(limits.workers, 1);
  limits.lane_max_running = std::clamp<std::size_t>(limits.lane_max_running, 1, limits.workers);
  return limits;
}

} // namespace

fair_schedule::fair_schedule(limits limits) : limits_(sane(limits)) {}

fair_schedule::verdict fair_schedule::admits(const std::string& lane) const {
  std::size_t held = 0;
  if (auto it = lanes_.find(lane); it != lanes_.end())
    held = it->second.running + it->second.queue.size();
  if (held + 1 > limits_.lane_max_running + limits_.lane_max_waiting)
    return verdict::lane_full;
  auto waiting_after = queued_ + 1 - startable(&lane);
  if (waiting_after > limits_.max_waiting)
    return verdict::pool_full;
  return verdict::queued;
}

fair_schedule::verdict fair_schedule::enqueue(const std::string& lane, ticket job) {
  auto answer = admits(lane);
  if (answer != verdict::queued)
    return answer;
  auto& state = lanes_[lane];
  if (state.queue.empty())
    turns_.push_back(lane);
  state.queue.push_back(job);
  ++queued_;
  return verdict::queued;
}

std::optional<fair_schedule::start> fair_schedule::start_next() {
  if (running_ >= limits_.workers)
    return std::nullopt;
  // A lane passed over keeps its place at the front, so it is first in turn
  // once one of its jobs ends.
  for (auto turn = turns_.begin(); turn != turns_.end(); ++turn) {
    auto& state = lanes_.at(*turn);
    if (state.running >= limits_.lane_max_running)
      continue;
    start next{*turn, state.queue.front()};
    state.queue.pop_front();
    ++state.running;
    ++running_;
    --queued_;
    turns_.erase(turn);
    if (!state.queue.empty())
      turns_.push_back(next.lane);
    return next;
  }
  return std::nullopt;
}

void fair_schedule::finish(const std::string& lane) {
  auto it = lanes_.find(lane);
  if (it == lanes_.end() || it->second.running == 0)
    return; // not ours to count: nothing of this lane was running
  --it->second.running;
  --running_;
  if (it->second.running == 0 && it->second.queue.empty())
    lanes_.erase(it);
}

std::size_t fair_schedule::waiting() const {
  return queued_ - startable(nullptr);
}

std::size_t fair_schedule::running(const std::string& lane) const {
  auto it = lanes_.find(lane);
  return it == lanes_.end() ? 0 : it->second.running;
}

std::size_t fair_schedule::queued(const std::string& lane) const {
  auto it = lanes_.find(lane);
  return it == lanes_.end() ? 0 : it->second.queue.size();
}

std::size_t fair_schedule::startable(const std::string* extra_in) const {
  std::size_t free = limits_.workers - std::min(running_, limits_.workers);
  std::size_t could_start = 0;
  bool extra_counted = extra_in == nullptr;
  for (const auto& [name, state] : lanes_) {
    auto queued = state.queue.size();
    if (!extra_counted && name == *extra_in) {
      ++queued;
      extra_counted = true;
    }
    auto room = limits_.lane_max_running - std::min(state.running, limits_.lane_max_running);
    could_start += std::min(queued, room);
  }
  if (!extra_counted)
    could_start += std::min<std::size_t>(1, limits_.lane_max_running);
  return std::min(free, could_start);
}

} // namespace tidesync::server
