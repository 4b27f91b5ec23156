#include "protocol/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <unistd.h>

using namespace tidesync::protocol;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// A fresh self-signed certificate for "localhost" (no IP address in it).
struct test_certificate {
  std::string certificate_pem;
  std::string key_pem;
};

std::string to_pem(int (*write)(BIO*, void*), void* object) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  write(bio.get(), object);
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  auto* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

test_certificate make_certificate() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost");
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return {to_pem([](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); },
                 cert.get()),
          to_pem(
              [](BIO* b, void* k) {
                return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0,
                                                nullptr, nullptr);
              },
              key.get())};
}

/// A blocking loopback HTTPS server answering "secure" to every request.
class tls_server {
public:
  explicit tls_server(const test_certificate& certificate)
      : context_(asio::ssl::context::tls_server),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    context_.use_certificate_chain(asio::buffer(certificate.certificate_pem));
    context_.use_private_key(asio::buffer(certificate.key_pem), asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }

  ~tls_server() {
    stopping_ = true;
    beast::error_code ignored;
    tcp::socket wake(io_);
    wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ignored);
    thread_.join();
  }

  std::string port() const { return std::to_string(port_); }
  int connections() const { return connections_; }

private:
  void serve() {
    while (!stopping_) {
      asio::ssl::stream<tcp::socket> stream(io_, context_);
      beast::error_code ec;
      acceptor_.accept(stream.next_layer(), ec);
      if (ec || stopping_)
        return;
      ++connections_;
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (!ec)
        serve_connection(stream);
    }
  }

  void serve_connection(asio::ssl::stream<tcp::socket>& stream) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> request;
      beast::error_code ec;
      http::read(stream, buffer, request, ec);
      if (ec)
        return;
      http::response<http::string_body> response(http::status::ok, request.version());
      response.body() = "secure";
      response.keep_alive(true);
      response.prepare_payload();
      http::write(stream, response, ec);
      if (ec)
        return;
    }
  }

  asio::io_context io_;
  asio::ssl::context context_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

class HttpsClient : public ::testing::Test {
protected:
  void SetUp() override {
    certificate_ = make_certificate();
    ca_file_ = std::filesystem::temp_directory_path() /
               ("tidesync-test-ca-" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca_file_) << certificate_.certificate_pem;
    server_ = std::make_unique<tls_server>(certificate_);
  }

  void TearDown() override {
    server_.reset();
    std::filesystem::remove(ca_file_);
  }

  http_client_options trusting() const {
    http_client_options options;
    options.ca_file = ca_file_.string();
    options.connect_timeout = std::chrono::milliseconds(3000);
    return options;
  }

  test_certificate certificate_;
  std::filesystem::path ca_file_;
  std::unique_ptr<tls_server> server_;
};

} // namespace

TEST_F(HttpsClient, TalksToAServerSignedByTheGivenCa) {
  http_client client("https://localhost:" + server_->port(), trusting());
  for (int i = 0; i < 3; ++i) {
    auto response = client.get("/v1/x");
    ASSERT_FALSE(response.transport_error) << *response.transport_error;
    EXPECT_EQ(response.body, "secure");
  }
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(HttpsClient, RefusesAServerItDoesNotTrust) {
  http_client_options options;
  options.connect_timeout = std::chrono::milliseconds(3000);
  http_client client("https://localhost:" + server_->port(), options);
  auto response = client.get("/v1/x");
  ASSERT_TRUE(response.transport_error);
  EXPECT_NE(response.transport_error->find("certificate verify failed"), std::string::npos)
      << *response.transport_error;
}

TEST_F(HttpsClient, RefusesACertificateForAnotherName) {
  // The certificate names localhost only, not the address 127.0.0.1.
  http_client client("https://127.0.0.1:" + server_->port(), trusting());
  auto response = client.get("/v1/x");
  ASSERT_TRUE(response.transport_error);
  EXPECT_NE(response.transport_error->find("certificate verify failed"), std::string::npos)
      << *response.transport_error;
}
