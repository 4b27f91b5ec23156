#pragma once

#include "protocol/content_coding.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace tidesync::protocol {

/// How the agent compresses request bodies with zstd: its fastest standard
/// level, which on the agent's JSON is about twice as fast as gzip's level 1
/// and a quarter smaller (docs/benchmarks.md).
inline constexpr int request_zstd_level = 1;

/// The largest window a zstd body may ask the server to hold while it is
/// decompressed (2^24 bytes = 16 MiB); standard levels up to 19 stay under it,
/// and a hostile frame cannot make the server reserve more.
inline constexpr int max_zstd_window_log = 24;

/// Compresses `data` into one zstd frame (RFC 8878) that records its size,
/// as sent with `Content-Encoding: zstd`. Throws std::bad_alloc when zstd
/// runs out of memory.
std::string zstd_compress(std::string_view data, int level = request_zstd_level);

/// Decompresses a zstd body (one or more concatenated frames) without ever
/// holding more than `max_output` + 1 bytes of output or a window over
/// max_zstd_window_log. Never throws on bad input.
decompress_result zstd_decompress(std::string_view data, std::size_t max_output);

} // namespace tidesync::protocol
