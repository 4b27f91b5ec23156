#include "tests/support/test_certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace tidesync::testing {

namespace {

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using file_ptr = std::unique_ptr<std::FILE, decltype(&std::fclose)>;

constexpr long validity_seconds = 24 * 3600;
// Back-dated so that a clock a little behind the test's does not reject it.
constexpr long backdate_seconds = 3600;

void check(bool ok, const char* step) {
  if (!ok)
    throw std::runtime_error(std::string("test certificate: ") + step + " failed");
}

key_ptr make_key() {
  key_ptr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  check(key != nullptr, "EC key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  auto* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  check(extension != nullptr, "certificate extension");
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// A certificate for `subject_key`, named `common_name`; its issuer is `issuer`
// (nullptr: itself, for the CA).
cert_ptr make_unsigned_certificate(EVP_PKEY* subject_key, const char* common_name, X509* issuer,
                                   long serial) {
  cert_ptr cert(X509_new(), X509_free);
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -backdate_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_seconds);
  X509_set_pubkey(cert.get(), subject_key);
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  return cert;
}

cert_ptr make_ca_certificate(EVP_PKEY* ca_key) {
  auto cert = make_unsigned_certificate(ca_key, "tidesync test CA", nullptr, 1);
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), ca_key, EVP_sha256()) > 0, "signing the CA certificate");
  return cert;
}

cert_ptr make_server_certificate(EVP_PKEY* server_key, X509* ca_cert, EVP_PKEY* ca_key,
                                 const std::string& names) {
  auto cert = make_unsigned_certificate(server_key, "localhost", ca_cert, 2);
  add_extension(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca_cert, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), ca_cert, NID_subject_alt_name, names.c_str());
  add_extension(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always");
  check(X509_sign(cert.get(), ca_key, EVP_sha256()) > 0, "signing the server certificate");
  return cert;
}

file_ptr open_for_writing(const std::filesystem::path& path) {
  file_ptr file(std::fopen(path.c_str(), "wb"), std::fclose);
  check(file != nullptr, ("opening " + path.string()).c_str());
  return file;
}

void write_certificate(const std::filesystem::path& path, X509* cert) {
  auto file = open_for_writing(path);
  check(PEM_write_X509(file.get(), cert) == 1, "writing a certificate");
}

void write_private_key(const std::filesystem::path& path, EVP_PKEY* key) {
  auto file = open_for_writing(path);
  check(PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing a private key");
}

} // namespace

test_certificates write_test_certificates(const std::filesystem::path& dir,
                                          const std::string& server_names) {
  auto ca_key = make_key();
  auto ca_cert = make_ca_certificate(ca_key.get());
  auto server_key = make_key();
  auto server_cert = make_server_certificate(server_key.get(), ca_cert.get(), ca_key.get(),
                                             server_names);
  test_certificates files{dir / "ca.crt", dir / "server.crt", dir / "server.key"};
  std::filesystem::create_directories(dir);
  write_certificate(files.ca_cert, ca_cert.get());
  write_certificate(files.server_cert, server_cert.get());
  write_private_key(files.server_key, server_key.get());
  return files;
}

} // namespace tidesync::testing
