#include "storage/token_hash.hpp"

#include "protocol/error.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace tidesync::storage::token_hash {

namespace {

constexpr std::size_t secret_bytes = 32;
constexpr const char* secret_prefix = "ts_";

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0x0f];
  }
  return out;
}

} // namespace

std::string generate_secret() {
  std::array<unsigned char, secret_bytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw protocol::api_error(protocol::error_code::internal,
                              "the system random generator failed");
  return secret_prefix + to_hex(bytes.data(), bytes.size());
}

std::string hash_secret(const std::string& secret) { return sha256_hex(secret); }

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1)
    throw protocol::api_error(protocol::error_code::internal, "SHA-256 failed");
  return to_hex(digest.data(), size);
}

} // namespace tidesync::storage::token_hash
