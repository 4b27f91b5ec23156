#pragma once

#include <filesystem>
#include <string>

namespace tidesync::testing {

/// PEM files of a throwaway certificate authority and of a server certificate
/// it signed, valid for a day.
struct test_certificates {
  /// The CA certificate: what a client must trust.
  std::filesystem::path ca_cert;
  /// The server's certificate, signed by the CA.
  std::filesystem::path server_cert;
  /// The server's unencrypted private key.
  std::filesystem::path server_key;
};

/// Generates a fresh CA and a server certificate for `server_names` (a
/// subjectAltName list) and writes them into `dir` (ca.crt, server.crt,
/// server.key). Throws std::runtime_error naming the OpenSSL step that failed.
test_certificates write_test_certificates(
    const std::filesystem::path& dir,
    const std::string& server_names = "DNS:localhost,IP:127.0.0.1");

} // namespace tidesync::testing
