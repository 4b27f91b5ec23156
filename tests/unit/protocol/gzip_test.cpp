#include "protocol/gzip.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace tidesync::protocol;

namespace {

std::string random_bytes(std::size_t size) {
  std::mt19937 engine(42);
  std::string out(size, '\0');
  for (auto& c : out)
    c = static_cast<char>(engine());
  return out;
}

} // namespace

TEST(Gzip, RoundTripKeepsEveryByte) {
  for (auto input : {std::string(), std::string("hello"), std::string(1 << 20, 'a'),
                     random_bytes(300000), std::string("nul\0inside", 10)}) {
    auto compressed = gzip_compress(input);
    auto result = gzip_decompress(compressed, input.size());
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.data, input);
    EXPECT_TRUE(result.error.empty());
  }
}

TEST(Gzip, OutputStartsWithTheGzipMagicBytes) {
  auto compressed = gzip_compress("x");
  ASSERT_GE(compressed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
}

TEST(Gzip, RepetitiveTextShrinks) {
  std::string rows;
  for (int i = 0; i < 10000; ++i)
    rows += "[" + std::to_string(i) + ",\"note\",100],";
  EXPECT_LT(gzip_compress(rows).size(), rows.size() / 5);
  EXPECT_LE(gzip_compress(rows, 9).size(), gzip_compress(rows, 1).size());
}

TEST(Gzip, ConcatenatedMembersDecompressToTheirConcatenation) {
  auto body = gzip_compress("first,") + gzip_compress("second");
  auto result = gzip_decompress(body, 100);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.data, "first,second");
}

TEST(Gzip, OutputExactlyAtTheLimitIsAccepted) {
  std::string input(100000, 'z');
  auto result = gzip_decompress(gzip_compress(input), input.size());
  EXPECT_TRUE(result.ok()) << result.error;
}

TEST(Gzip, OutputPastTheLimitIsTooLargeNotCorrupt) {
  std::string input(100001, 'z');
  auto result = gzip_decompress(gzip_compress(input), 100000);
  EXPECT_EQ(result.status, decompress_status::too_large);
  EXPECT_TRUE(result.data.empty());
  EXPECT_EQ(result.error, "decompressed body is larger than 100000 bytes");
}

TEST(Gzip, BombIsStoppedWithoutInflatingIt) {
  // 1 GiB of zeros compresses to about 1 MiB; the limit stops it at 1 MiB of output.
  std::string chunk(1 << 20, '\0');
  std::string bomb;
  auto member = gzip_compress(chunk, 9);
  for (int i = 0; i < 1024; ++i)
    bomb += member;
  auto result = gzip_decompress(bomb, 4 << 20);
  EXPECT_EQ(result.status, decompress_status::too_large);
}

TEST(Gzip, NonGzipInputIsCorrupt) {
  for (std::string bad :
       {std::string(), std::string("plain json {}"), std::string("\x1f\x8b", 2)}) {
    auto result = gzip_decompress(bad, 1000);
    EXPECT_EQ(result.status, decompress_status::corrupt) << bad;
    EXPECT_FALSE(result.error.empty());
  }
}

TEST(Gzip, TruncatedInputIsCorrupt) {
  auto compressed = gzip_compress(random_bytes(10000));
  auto result = gzip_decompress(compressed.substr(0, compressed.size() - 5), 100000);
  EXPECT_EQ(result.status, decompress_status::corrupt);
  EXPECT_EQ(result.error, "gzip body is truncated");
}

TEST(Gzip, FlippedByteIsCorrupt) {
  auto compressed = gzip_compress(random_bytes(10000));
  compressed[compressed.size() - 6] ^= 0x55; // inside the CRC32 trailer
  EXPECT_EQ(gzip_decompress(compressed, 100000).status, decompress_status::corrupt);
}

TEST(Gzip, TrailingGarbageIsCorrupt) {
  auto body = gzip_compress("payload") + "junk";
  EXPECT_EQ(gzip_decompress(body, 1000).status, decompress_status::corrupt);
}
