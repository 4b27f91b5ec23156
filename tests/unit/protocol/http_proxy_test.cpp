#include "protocol/http_proxy.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

namespace tidesync::protocol {
namespace {

TEST(HttpProxy, AProxyUrlGivesHostPortAndBasicCredentials) {
  auto plain = parse_proxy_url("http://proxy.store.lan:3128");
  EXPECT_EQ(plain.host, "proxy.store.lan");
  EXPECT_EQ(plain.port, "3128");
  EXPECT_EQ(plain.authorization, "");
  EXPECT_EQ(plain.shown, "http://proxy.store.lan:3128");
  EXPECT_EQ(parse_proxy_url("http://proxy/").port, "80");
  auto v6 = parse_proxy_url("http://[fd00::1]:8080");
  EXPECT_EQ(v6.host, "fd00::1");
  EXPECT_EQ(v6.shown, "http://[fd00::1]:8080");
  // RFC 7617: base64 of "user:password", after percent-decoding.
  auto secret = parse_proxy_url("http://store%207:p%40ss%3Aword@10.0.0.1:3128");
  EXPECT_EQ(secret.authorization, "Basic c3RvcmUgNzpwQHNzOndvcmQ=");
  EXPECT_EQ(secret.shown, "http://10.0.0.1:3128") << "credentials are never shown";
  EXPECT_EQ(parse_proxy_url("http://ab@h:1").authorization, "Basic YWI6");
}

TEST(HttpProxy, AProxyUrlItCannotUseIsRefusedSayingWhy) {
  auto why = [](const char* url) {
    try {
      parse_proxy_url(url);
      return std::string{"accepted"};
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
  };
  EXPECT_NE(why("https://proxy:3128").find("https:// proxy is not supported"), std::string::npos);
  EXPECT_NE(why("socks5://proxy:1080").find("must start with http://"), std::string::npos);
  EXPECT_NE(why("http://:3128").find("needs a host"), std::string::npos);
  EXPECT_NE(why("http://proxy:99999").find("bad port"), std::string::npos);
  EXPECT_NE(why("http://proxy:31x8").find("bad port"), std::string::npos);
  EXPECT_NE(why("http://proxy:3128/path").find("no path"), std::string::npos);
  EXPECT_NE(why("http://us%zzer@proxy:1").find("badly encoded user"), std::string::npos);
  EXPECT_NE(why("http://[fd00::1:3128").find("unterminated"), std::string::npos);
  EXPECT_NE(why("http://proxy.lan:").find("no port"), std::string::npos);
  EXPECT_NE(why("http://fe80::1").find("more than one ':'"), std::string::npos);
  // A password whose '@' was forgotten is refused, and not repeated.
  auto forgot = why("http://store7:S3cret:proxy.lan:3128");
  EXPECT_NE(forgot.find("more than one ':'"), std::string::npos) << forgot;
  EXPECT_EQ(forgot.find("S3cret"), std::string::npos) << forgot;
}

TEST(HttpProxy, NoProxyNamesHostsDomainsAndAddresses) {
  EXPECT_TRUE(bypasses_proxy("cloud.example.com", "example.com"));
  EXPECT_TRUE(bypasses_proxy("cloud.example.com", ".example.com"));
  EXPECT_TRUE(bypasses_proxy("Cloud.Example.COM", "localhost, EXAMPLE.com:443"));
  EXPECT_TRUE(bypasses_proxy("example.com", ".example.com"));
  EXPECT_FALSE(bypasses_proxy("badexample.com", "example.com")) << "a suffix, not a domain";
  EXPECT_FALSE(bypasses_proxy("example.com.evil", "example.com"));
  EXPECT_TRUE(bypasses_proxy("10.1.2.3", "10.1.2.3"));
  EXPECT_FALSE(bypasses_proxy("10.1.2.3", "2.3")) << "addresses match exactly";
  EXPECT_TRUE(bypasses_proxy("fd00::1", "[fd00::1]:443"));
  EXPECT_TRUE(bypasses_proxy("fd00::1", "fd00::1"));
  EXPECT_TRUE(bypasses_proxy("anything", " * "));
  EXPECT_FALSE(bypasses_proxy("cloud.example.com", ""));
  EXPECT_FALSE(bypasses_proxy("cloud.example.com", " , ,"));
}

TEST(HttpProxy, TheConfiguredProxyWinsAndTheEnvironmentIsReadByScheme) {
  std::map<std::string, std::string> vars;
  env_lookup env = [&](const char* name) -> const char* {
    auto found = vars.find(name);
    return found == vars.end() ? nullptr : found->second.c_str();
  };
  const std::optional<std::string> unset;
  EXPECT_FALSE(proxy_for("https://cloud.example.com", unset, env));
  vars["HTTPS_PROXY"] = "http://upper:3128";
  EXPECT_EQ(proxy_for("https://cloud.example.com", unset, env), "http://upper:3128");
  vars["https_proxy"] = "http://lower:3128";
  EXPECT_EQ(proxy_for("https://cloud.example.com", unset, env), "http://lower:3128")
    << "the lower-case name first, as curl reads it";
  EXPECT_FALSE(proxy_for("http://cloud.example.com", unset, env)) << "HTTPS_PROXY is for https";
  vars["HTTP_PROXY"] = "http://plain:3128";
  EXPECT_EQ(proxy_for("http://cloud.example.com:8080/api", unset, env), "http://plain:3128");
  vars["NO_PROXY"] = "localhost,.example.com";
  EXPECT_FALSE(proxy_for("https://cloud.example.com:443", unset, env));
  EXPECT_FALSE(proxy_for("https://user@cloud.example.com", unset, env));
  EXPECT_EQ(proxy_for("https://cloud.example.org", unset, env), "http://lower:3128");
  EXPECT_EQ(proxy_for("https://cloud.example.com", std::string{"http://conf:1"}, env),
            "http://conf:1")
    << "server.proxy is for this server: NO_PROXY does not apply";
  EXPECT_FALSE(proxy_for("https://cloud.example.org", std::string{"none"}, env));
  vars["https_proxy"] = "";
  EXPECT_EQ(proxy_for("https://cloud.example.org", unset, env), "http://upper:3128")
    << "an empty variable is no variable";
}

} // namespace
} // namespace tidesync::protocol
