#pragma once

#include "storage/postgres_store.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace tidesync::server {

class db_pool;

/// What the gate knows about a bearer secret.
enum class token_verdict {
  known,       // a live token: `identity` says whose
  unknown,     // no such token, or revoked
  unavailable, // the lookup could not run (pool full, lookups capped, database down)
};

struct token_check {
  token_verdict verdict = token_verdict::unknown;
  storage::token_identity identity;
};

/// Decides whether a request's token is worth reading its body for, before
/// the body is read. Answers come from a small cache keyed by the secret's
/// SHA-256 (secrets are never kept); misses are looked up on a database
/// worker. A secret not recently known valid may only use `max_lookups`
/// workers at once, in a pool lane of their own, so a flood of bogus tokens
/// cannot take the pool from tenants; a trusted secret's lookup runs in its
/// client's lane. The handlers still authenticate against the store, so a revoked
/// token never writes; the cache only decides how early it is refused.
class token_gate {
public:
  using clock = std::chrono::steady_clock;
  using completion = std::function<void(token_check)>;

  /// A known token is trusted this long before it is looked up again, so a
  /// revoked token is refused before its body within this time.
  static constexpr std::chrono::seconds known_ttl{2};
  /// An unknown token is refused without a lookup this long.
  static constexpr std::chrono::seconds unknown_ttl{10};
  /// A token once known valid skips the lookup cap for this long.
  static constexpr std::chrono::minutes remembered_ttl{10};
  /// Entries each cache holds at most; the oldest go first.
  static constexpr std::size_t max_entries = 10'000;
  /// The pool lane (db_pool::try_submit) of lookups of secrets not trusted
  /// yet: no client id has a space, so no client shares it.
  static constexpr const char* untrusted_lane = "untrusted tokens";

  token_gate(db_pool& pool, std::size_t max_lookups);

  /// The cached answer for `secret`, or nothing when it must be looked up.
  std::optional<token_check> cached(const std::string& secret);

  /// Looks `secret` up on a database worker and calls `done` there, or
  /// returns false at once (nothing called) when the lookup may not run now.
  bool look_up(const std::string& secret, completion done);

  /// Drops what is known of `secret` (the store just refused it).
  void forget(const std::string& secret);

  /// Lookups of not-yet-trusted secrets running or queued right now.
  std::size_t lookups_in_flight() const;

private:
  struct known_entry {
    storage::token_identity identity;
    clock::time_point fresh_until;
    clock::time_point remembered_until;
  };
  struct expiry {
    std::string hash;
    clock::time_point at;
  };

  void record(const std::string& hash, const std::optional<storage::token_identity>& identity);
  void evict(clock::time_point now);

  db_pool& pool_;
  const std::size_t max_lookups_;
  mutable std::mutex mutex_;
  std::size_t untrusted_lookups_ = 0;
  std::unordered_map<std::string, known_entry> known_;
  std::unordered_map<std::string, clock::time_point> unknown_;
  std::deque<expiry> known_order_;   // by remembered_until
  std::deque<expiry> unknown_order_; // by expiry
};

} // namespace tidesync::server
