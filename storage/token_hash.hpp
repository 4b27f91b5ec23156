#pragma once

#include <string>
#include <string_view>

// Bearer token secrets: made from the operating system's randomness and kept
// in the database only as their SHA-256.
namespace tidesync::storage::token_hash {

/// A new secret: "ts_" followed by 32 random bytes in hex.
std::string generate_secret();

/// SHA-256 of `secret` in lowercase hex, the only form the store keeps.
std::string hash_secret(const std::string& secret);

/// SHA-256 of any bytes in lowercase hex (64 digits).
std::string sha256_hex(std::string_view bytes);

} // namespace tidesync::storage::token_hash
