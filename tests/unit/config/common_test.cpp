#include "config/common.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace tidesync::config;
using namespace std::chrono_literals;

namespace {

bool host_port_fails(std::string_view text) {
  host_port out;
  return !parse_host_port(text, out);
}

bool duration_fails(std::string_view text) {
  std::chrono::milliseconds out{};
  return !parse_duration(text, out);
}

bool size_fails(std::string_view text) {
  std::uint64_t out = 0;
  return !parse_byte_size(text, out);
}

} // namespace

TEST(HostPort, HostAndPortAreSplitAtTheLastColon) {
  host_port hp;
  ASSERT_TRUE(parse_host_port("127.0.0.1:8080", hp));
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 8080);
  ASSERT_TRUE(parse_host_port("db.example.com:65535", hp));
  EXPECT_EQ(hp.host, "db.example.com");
  EXPECT_EQ(hp.port, 65535);
}

TEST(HostPort, PortZeroIsAcceptedSoTheSystemCanPickOne) {
  host_port hp;
  ASSERT_TRUE(parse_host_port("localhost:0", hp));
  EXPECT_EQ(hp.port, 0);
}

TEST(HostPort, BracketedIpv6HostIsStoredWithoutBrackets) {
  host_port hp;
  ASSERT_TRUE(parse_host_port("[::1]:9464", hp));
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 9464);
  EXPECT_EQ(hp.to_string(), "[::1]:9464");
}

TEST(HostPort, ToStringRoundTripsAnIpv4Address) {
  host_port hp{"0.0.0.0", 8080};
  EXPECT_EQ(hp.to_string(), "0.0.0.0:8080");
}

TEST(HostPort, MalformedInputIsRejected) {
  for (auto text :
       {"", "8080", "host", "host:", ":8080", "host:65536", "host:123456", "host:-1", "host:80x",
        "host: 80", "::1:80", "[::1]80", "[::1]:", "[::1", "a b:80", "http://host:80"})
    EXPECT_TRUE(host_port_fails(text)) << text;
}

TEST(Duration, EveryUnitIsUnderstood) {
  std::chrono::milliseconds d{};
  ASSERT_TRUE(parse_duration("250ms", d));
  EXPECT_EQ(d, 250ms);
  ASSERT_TRUE(parse_duration("30s", d));
  EXPECT_EQ(d, 30s);
  ASSERT_TRUE(parse_duration("5m", d));
  EXPECT_EQ(d, 5min);
  ASSERT_TRUE(parse_duration("1h", d));
  EXPECT_EQ(d, 1h);
}

TEST(Duration, BareNumberMeansSeconds) {
  std::chrono::milliseconds d{};
  ASSERT_TRUE(parse_duration("60", d));
  EXPECT_EQ(d, 60s);
}

TEST(Duration, MalformedOrOverflowingInputIsRejected) {
  for (auto text : {"", "10x", "s", "ms", "-5s", "1.5s", "10 s", " 10s", "10S", "5min",
                    "99999999999999999999h", "9999999999999999h"})
    EXPECT_TRUE(duration_fails(text)) << text;
}

TEST(ByteSize, PlainNumbersAndBinaryUnitsAreUnderstood) {
  std::uint64_t n = 0;
  ASSERT_TRUE(parse_byte_size("1048576", n));
  EXPECT_EQ(n, 1048576u);
  ASSERT_TRUE(parse_byte_size("512KiB", n));
  EXPECT_EQ(n, 512u << 10);
  ASSERT_TRUE(parse_byte_size("64MiB", n));
  EXPECT_EQ(n, 64u << 20);
  ASSERT_TRUE(parse_byte_size("1GiB", n));
  EXPECT_EQ(n, 1u << 30);
}

TEST(ByteSize, DecimalLookingUnitsAreAlsoPowersOf1024) {
  std::uint64_t n = 0;
  ASSERT_TRUE(parse_byte_size("2KB", n));
  EXPECT_EQ(n, 2048u);
  ASSERT_TRUE(parse_byte_size("3MB", n));
  EXPECT_EQ(n, 3u << 20);
  ASSERT_TRUE(parse_byte_size("64 MiB", n));
  EXPECT_EQ(n, 64u << 20);
}

TEST(ByteSize, MalformedOrOverflowingInputIsRejected) {
  for (auto text : {"", "MiB", "64XB", "64mib", "-1", "1.5GiB", "64  MiB", "99999999999TiB",
                    "99999999999999999999999"})
    EXPECT_TRUE(size_fails(text)) << text;
}

TEST(Identifier, LettersDigitsAndUnderscoreUpTo63CharactersAreAccepted) {
  EXPECT_TRUE(is_identifier("tidesync_data"));
  EXPECT_TRUE(is_identifier("_x1"));
  EXPECT_TRUE(is_identifier("OrderLines"));
  EXPECT_TRUE(is_identifier(std::string(63, 'a')));
}

TEST(Identifier, BadIdentifiersAreRejected) {
  EXPECT_FALSE(is_identifier(""));
  EXPECT_FALSE(is_identifier("1abc"));
  EXPECT_FALSE(is_identifier("order-lines"));
  EXPECT_FALSE(is_identifier("public.orders"));
  EXPECT_FALSE(is_identifier("a b"));
  EXPECT_FALSE(is_identifier(std::string(64, 'a')));
}

TEST(EnvironmentExpansion, SetVariablesAreSubstitutedEverywhereInTheText) {
  ::setenv("TIDESYNC_TEST_USER", "alice", 1);
  ::setenv("TIDESYNC_TEST_HOST", "db1", 1);
  std::string text = "postgresql://${TIDESYNC_TEST_USER}@${TIDESYNC_TEST_HOST}/x";
  std::string missing;
  ASSERT_TRUE(expand_environment(text, missing));
  EXPECT_EQ(text, "postgresql://alice@db1/x");
}

TEST(EnvironmentExpansion, UnsetVariableIsReportedByName) {
  ::unsetenv("TIDESYNC_TEST_UNSET");
  std::string text = "token ${TIDESYNC_TEST_UNSET}";
  std::string missing;
  EXPECT_FALSE(expand_environment(text, missing));
  EXPECT_EQ(missing, "TIDESYNC_TEST_UNSET");
}

TEST(EnvironmentExpansion, VariableSetToEmptyExpandsToNothing) {
  ::setenv("TIDESYNC_TEST_EMPTY", "", 1);
  std::string text = "a${TIDESYNC_TEST_EMPTY}b";
  std::string missing;
  ASSERT_TRUE(expand_environment(text, missing));
  EXPECT_EQ(text, "ab");
}

TEST(EnvironmentExpansion, TextThatIsNotAReferenceIsKeptAsWritten) {
  std::string missing;
  for (std::string text : {"$HOME", "cost: $5", "${", "${not closed", "${1X}", "${A B}", "{X}"}) {
    const std::string original = text;
    ASSERT_TRUE(expand_environment(text, missing)) << original;
    EXPECT_EQ(text, original);
  }
}

TEST(EnvironmentExpansion, SubstitutedTextIsNotExpandedAgain) {
  ::setenv("TIDESYNC_TEST_NESTED", "${TIDESYNC_TEST_UNSET}", 1);
  ::unsetenv("TIDESYNC_TEST_UNSET");
  std::string text = "${TIDESYNC_TEST_NESTED}";
  std::string missing;
  ASSERT_TRUE(expand_environment(text, missing));
  EXPECT_EQ(text, "${TIDESYNC_TEST_UNSET}");
}
