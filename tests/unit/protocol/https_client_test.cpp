#include "protocol/http_client.hpp"

#include "tests/support/test_certificates.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include <unistd.h>

using namespace tidesync::protocol;
using tidesync::testing::test_certificates;
using tidesync::testing::write_test_certificates;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// A blocking loopback HTTPS server answering "secure" to every request.
class tls_server {
public:
  explicit tls_server(const test_certificates& files)
      : context_(asio::ssl::context::tls_server),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    context_.use_certificate_chain_file(files.server_cert.string());
    context_.use_private_key_file(files.server_key.string(), asio::ssl::context::pem);
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
    dir_ = std::filesystem::temp_directory_path() /
           ("tidesync-https-test-" + std::to_string(::getpid()));
    // Named "localhost" only, so 127.0.0.1 is a name the certificate doesn't cover.
    files_ = write_test_certificates(dir_, "DNS:localhost");
    server_ = std::make_unique<tls_server>(files_);
  }

  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  http_client_options trusting() const {
    http_client_options options;
    options.ca_file = files_.ca_cert.string();
    options.connect_timeout = std::chrono::milliseconds(3000);
    return options;
  }

  std::filesystem::path dir_;
  test_certificates files_;
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
