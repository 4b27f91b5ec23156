#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tidesync::protocol {

/// A request body's `Content-Encoding`: what the server reads.
enum class content_coding { identity, gzip, zstd };

/// What a server that reads every coding answers in `Accept-Encoding` with a
/// 415 (RFC 7694), so a client can tell which of its codings to fall back to.
inline constexpr std::string_view accepted_codings = "zstd, gzip";

/// The header value for `coding`; empty for identity.
std::string_view header_value(content_coding coding);

/// The coding a `Content-Encoding` value names, in any case ("x-gzip" is
/// gzip, empty is identity); std::nullopt for one the server cannot read.
std::optional<content_coding> parse_content_coding(std::string_view value);

/// How a decompression ended.
enum class decompress_status {
  ok,        // `data` holds the whole decompressed body
  too_large, // the output would pass max_output: answer 413
  corrupt,   // not that coding, truncated, bad checksum or trailing bytes: answer 400
};

/// The outcome of a decompression.
struct decompress_result {
  decompress_status status = decompress_status::ok;
  std::string data;  // the decompressed bytes when status is ok, else empty
  std::string error; // why it failed, for humans; empty when ok

  bool ok() const noexcept { return status == decompress_status::ok; }
};

/// Compresses a request body as the agent sends it (each coding's fastest
/// level: the agent's CPU, not the link, bounds a large load). Identity
/// answers the body unchanged.
std::string compress_request_body(content_coding coding, std::string_view body);

/// Decompresses a body sent with `coding` (identity: a copy), never holding
/// more than `max_output` + 1 bytes of output. Never throws on bad input.
decompress_result decompress(content_coding coding, std::string_view data,
                             std::size_t max_output);

} // namespace tidesync::protocol
