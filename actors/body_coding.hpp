#pragma once

#include "protocol/content_coding.hpp"

#include <atomic>

namespace tidesync::actors {

/// How the agent compresses its upload bodies, shared by all its tables:
/// zstd (faster and smaller than gzip), until a server that does not read it
/// answers 415 and every table turns to gzip; identity when `compress` is
/// off. Read and changed from any thread.
class body_coding {
public:
  explicit body_coding(bool compress)
    : coding_(compress ? protocol::content_coding::zstd : protocol::content_coding::identity) {}

  protocol::content_coding current() const { return coding_.load(std::memory_order_relaxed); }

  /// After the server refused `refused` (415): zstd falls back to gzip, gzip
  /// to identity. True for the one call that made the change, so it is
  /// logged once, however many tables were refused at the same time.
  bool fall_back_from(protocol::content_coding refused) {
    auto next = refused == protocol::content_coding::zstd ? protocol::content_coding::gzip
                                                          : protocol::content_coding::identity;
    return refused != protocol::content_coding::identity &&
           coding_.compare_exchange_strong(refused, next);
  }

private:
  std::atomic<protocol::content_coding> coding_;
};

} // namespace tidesync::actors
