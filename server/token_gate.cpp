#include "server/token_gate.hpp"

#include "protocol/error.hpp"
#include "server/db_pool.hpp"
#include "storage/token_hash.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace tidesync::server {

token_gate::token_gate(db_pool& pool, std::size_t max_lookups)
    : pool_(pool), max_lookups_(std::max<std::size_t>(max_lookups, 1)) {}

std::optional<token_check> token_gate::cached(const std::string& secret) {
  auto hash = storage::token_hash::hash_secret(secret);
  auto now = clock::now();
  std::lock_guard lock{mutex_};
  if (auto it = known_.find(hash); it != known_.end() && it->second.fresh_until > now)
    return token_check{token_verdict::known, it->second.identity};
  if (auto it = unknown_.find(hash); it != unknown_.end() && it->second > now)
    return token_check{token_verdict::unknown, {}};
  return std::nullopt;
}

bool token_gate::look_up(const std::string& secret, completion done) {
  auto hash = storage::token_hash::hash_secret(secret);
  bool trusted = false;
  // A trusted token's lookup is its client's work and takes a turn in its
  // client's share of the pool; the others share one lane of their own.
  std::string lane = untrusted_lane;
  {
    std::lock_guard lock{mutex_};
    auto it = known_.find(hash);
    trusted = it != known_.end() && it->second.remembered_until > clock::now();
    if (trusted)
      lane = it->second.identity.client_id;
    else if (untrusted_lookups_ >= max_lookups_)
      return false;
    else
      ++untrusted_lookups_;
  }
  auto result = std::make_shared<token_check>(token_check{token_verdict::unavailable, {}});
  auto job = [this, secret, hash, trusted, result](db_worker& worker) {
    auto& check = *result;
    try {
      auto identity = worker.store().authenticate(secret);
      record(hash, identity);
      if (identity)
        check = {token_verdict::known, *identity};
      else
        check.verdict = token_verdict::unknown;
    } catch (const protocol::api_error& e) {
      if (e.code() == protocol::error_code::unavailable)
        worker.reset();
    } catch (const std::exception& e) {
      spdlog::error("token lookup failed: {}", e.what());
    }
    if (!trusted) {
      std::lock_guard lock{mutex_};
      --untrusted_lookups_;
    }
  };
  // Answered once the worker is free again: the request's own job may need it.
  if (pool_.try_submit(lane, std::move(job), [result, done] { done(*result); }) ==
      db_pool::outcome::accepted)
    return true;
  if (!trusted) {
    std::lock_guard lock{mutex_};
    --untrusted_lookups_;
  }
  return false;
}

void token_gate::forget(const std::string& secret) {
  auto hash = storage::token_hash::hash_secret(secret);
  std::lock_guard lock{mutex_};
  known_.erase(hash);
}

std::size_t token_gate::lookups_in_flight() const {
  std::lock_guard lock{mutex_};
  return untrusted_lookups_;
}

void token_gate::record(const std::string& hash,
                        const std::optional<storage::token_identity>& identity) {
  auto now = clock::now();
  std::lock_guard lock{mutex_};
  evict(now);
  if (identity) {
    unknown_.erase(hash);
    known_[hash] = {*identity, now + known_ttl, now + remembered_ttl};
    known_order_.push_back({hash, now + remembered_ttl});
  } else {
    known_.erase(hash);
    unknown_[hash] = now + unknown_ttl;
    unknown_order_.push_back({hash, now + unknown_ttl});
  }
}

// Entries expire in the order they were made (one TTL per cache), so each
// queue's front is the next to go; a key recorded again keeps its newer time.
void token_gate::evict(clock::time_point now) {
  while (!known_order_.empty() &&
         (known_order_.front().at <= now || known_order_.size() >= max_entries)) {
    auto it = known_.find(known_order_.front().hash);
    if (it != known_.end() && it->second.remembered_until == known_order_.front().at)
      known_.erase(it);
    known_order_.pop_front();
  }
  while (!unknown_order_.empty() &&
         (unknown_order_.front().at <= now || unknown_order_.size() >= max_entries)) {
    auto it = unknown_.find(unknown_order_.front().hash);
    if (it != unknown_.end() && it->second == unknown_order_.front().at)
      unknown_.erase(it);
    unknown_order_.pop_front();
  }
}

} // namespace tidesync::server
