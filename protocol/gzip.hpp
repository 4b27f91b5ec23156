#pragma once

#include "protocol/content_coding.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace tidesync::protocol {

/// zlib's default trade of speed for size.
inline constexpr int default_gzip_level = 6;

/// How the agent gzips request bodies: from 1 KiB, at zlib's fastest level
/// (an upload's rows still shrink several times, and the agent's CPU, not
/// the link, bounds a large load: docs/benchmarks.md).
inline constexpr std::size_t request_gzip_min_bytes = 1024;
inline constexpr int request_gzip_level = 1;

/// Compresses `data` into one gzip member (RFC 1952), as sent with
/// `Content-Encoding: gzip`. `level` runs from 1 (fastest) to 9 (smallest).
/// Throws std::bad_alloc when zlib runs out of memory.
std::string gzip_compress(std::string_view data, int level = default_gzip_level);

/// Decompresses a gzip body (one or more concatenated members) without ever
/// holding more than `max_output` + 1 bytes of output, so a small hostile
/// body cannot expand into gigabytes. Never throws on bad input.
decompress_result gzip_decompress(std::string_view data, std::size_t max_output);

} // namespace tidesync::protocol
