#pragma once

#include <filesystem>

namespace tidesync::testing {

/// PEM files of a throwaway certificate authority and of a server certificate
/// it signed for "localhost" and 127.0.0.1, valid for a day.
struct test_certificates {
  /// The CA certificate: what a client must trust.
  std::filesystem::path ca_cert;
  /// The server's certificate, signed by the CA.
  std::filesystem::path server_cert;
  /// The server's unencrypted private key.
  std::filesystem::path server_key;
};

/// Generates a fresh CA and server certificate and writes them into `dir`
/// (ca.crt, server.crt, server.key). Throws std::runtime_error naming the
/// OpenSSL step that failed.
test_certificates write_test_certificates(const std::filesystem::path& dir);

} // namespace tidesync::testing
