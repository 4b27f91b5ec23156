#include "protocol/content_coding.hpp"
#include "protocol/gzip.hpp"
#include "protocol/zstd.hpp"

#include <zstd.h>

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

using namespace tidesync::protocol;

namespace {

std::string random_bytes(std::size_t size, unsigned seed = 42) {
  std::mt19937 engine(seed);
  std::string out(size, '\0');
  for (auto& c : out)
    c = static_cast<char>(engine());
  return out;
}

std::string json_rows(int rows) {
  std::string text = R"({"columns":["id","note","price"],"rows":[)";
  for (int i = 0; i < rows; ++i)
    text += (i ? "," : "") + std::string("[") + std::to_string(i) + ",\"note " +
            std::to_string(i * 7919 % 1000) + "\",\"" + std::to_string(i * 31 % 10007) + ".25\"]";
  return text + "]}";
}

} // namespace

TEST(Zstd, RoundTripKeepsEveryByte) {
  for (auto input : {std::string("hello"), std::string(1 << 20, 'a'), random_bytes(300000),
                     std::string("nul\0inside", 10), json_rows(20000)}) {
    auto result = zstd_decompress(zstd_compress(input), input.size());
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.data, input);
  }
}

TEST(Zstd, AnEmptyBodyRoundTripsButNoBytesAtAllIsCorrupt) {
  auto result = zstd_decompress(zstd_compress(""), 10);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_TRUE(result.data.empty());
  EXPECT_EQ(zstd_decompress("", 10).status, decompress_status::corrupt);
}

TEST(Zstd, UploadRowsShrinkMoreThanWithGzipAtTheRequestLevels) {
  auto rows = json_rows(50000);
  auto zstd = zstd_compress(rows, request_zstd_level);
  EXPECT_LT(zstd.size(), rows.size() / 4);
  EXPECT_LT(zstd.size(), gzip_compress(rows, request_gzip_level).size());
}

TEST(Zstd, ConcatenatedFramesDecompressToTheirConcatenation) {
  auto result = zstd_decompress(zstd_compress("first,") + zstd_compress("second"), 100);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.data, "first,second");
}

TEST(Zstd, OutputExactlyAtTheLimitIsAcceptedAndOneByteMoreIsTooLarge) {
  std::string input(100000, 'z');
  EXPECT_TRUE(zstd_decompress(zstd_compress(input), input.size()).ok());
  auto result = zstd_decompress(zstd_compress(input), input.size() - 1);
  EXPECT_EQ(result.status, decompress_status::too_large);
  EXPECT_TRUE(result.data.empty());
  EXPECT_EQ(result.error, "decompressed body is larger than 99999 bytes");
}

TEST(Zstd, BombIsStoppedWithoutDecompressingIt) {
  // 1 GiB of zeros in frames of 64 MiB, each a few kilobytes; the limit stops
  // it at 4 MiB of output.
  auto frame = zstd_compress(std::string(64 << 20, '\0'), 19);
  std::string bomb;
  for (int i = 0; i < 16; ++i)
    bomb += frame;
  ASSERT_LT(bomb.size(), 1u << 20);
  auto result = zstd_decompress(bomb, 4 << 20);
  EXPECT_EQ(result.status, decompress_status::too_large);
}

TEST(Zstd, AFrameAskingForAHugeWindowIsRefused) {
  // A window of 2^27 bytes the server would have to hold for this one body;
  // streamed, so zstd cannot shrink the window to the input's size.
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, 27);
  auto input = random_bytes(1 << 16);
  std::string out(ZSTD_compressBound(input.size()) + 1024, '\0');
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  ZSTD_inBuffer whole{input.data(), input.size(), 0};
  ZSTD_compressStream2(context, &output, &whole, ZSTD_e_continue);
  ZSTD_inBuffer none{nullptr, 0, 0};
  auto left = ZSTD_compressStream2(context, &output, &none, ZSTD_e_end);
  ZSTD_freeCCtx(context);
  ASSERT_EQ(left, 0u);
  out.resize(output.pos);
  auto result = zstd_decompress(out, 64 << 20);
  EXPECT_EQ(result.status, decompress_status::corrupt);
  EXPECT_NE(result.error.find("needs a window over 16 MiB"), std::string::npos) << result.error;
}

TEST(Zstd, AFrameOfTheOldPreStandardFormatIsRefusedWhateverItsWindow) {
  // zstd 0.7's frame format (magic 0xFD2FB527), which libzstd still decodes
  // with a decoder that ignores the window limit: a 2^27 window, 8 raw blocks.
  std::string frame = "\x27\xb5\x2f\xfd";
  frame.push_back('\0');
  frame.push_back(static_cast<char>((27 - 10) << 3));
  const std::size_t block = 128 * 1024;
  for (int i = 0; i < 8; ++i) {
    frame.push_back(static_cast<char>((1 << 6) | ((block >> 16) & 7)));
    frame.push_back(static_cast<char>((block >> 8) & 0xff));
    frame.push_back(static_cast<char>(block & 0xff));
    frame += std::string(block, 'a');
  }
  frame += std::string("\xC0\x00\x00", 3);
  for (const auto& body : {frame, zstd_compress("a current frame first, ") + frame}) {
    auto result = zstd_decompress(body, 64 << 20);
    EXPECT_EQ(result.status, decompress_status::corrupt);
    EXPECT_NE(result.error.find("not in the zstd frame format"), std::string::npos) << result.error;
  }
}

TEST(Zstd, SkippableFramesAroundARealOneAreIgnored) {
  std::string skippable = "\x50\x2a\x4d\x18";  // magic 0x184D2A50, 3 bytes of user data
  skippable += std::string("\x03\x00\x00\x00xyz", 7);
  auto result = zstd_decompress(skippable + zstd_compress("rows") + skippable, 100);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.data, "rows");
}

TEST(Zstd, ACapAtTheLargestSizeIsNoOverflow) {
  auto input = json_rows(100);
  auto result = zstd_decompress(zstd_compress(input), std::numeric_limits<std::size_t>::max());
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.data, input);
  auto inflated = gzip_decompress(gzip_compress(input), std::numeric_limits<std::size_t>::max());
  ASSERT_TRUE(inflated.ok()) << inflated.error;
  EXPECT_EQ(inflated.data, input);
}

TEST(Zstd, NonZstdTruncatedFlippedAndTrailingInputIsCorrupt) {
  auto compressed = zstd_compress(random_bytes(10000));
  EXPECT_EQ(zstd_decompress("plain json {}", 1000).status, decompress_status::corrupt);
  EXPECT_EQ(zstd_decompress(gzip_compress("gzip, not zstd"), 1000).status,
            decompress_status::corrupt);
  auto truncated = zstd_decompress(compressed.substr(0, compressed.size() - 5), 100000);
  EXPECT_EQ(truncated.status, decompress_status::corrupt);
  EXPECT_EQ(truncated.error, "zstd body is truncated");
  auto flipped = compressed;
  flipped[flipped.size() - 2] ^= 0x55;  // inside the content checksum
  EXPECT_EQ(zstd_decompress(flipped, 100000).status, decompress_status::corrupt);
  EXPECT_EQ(zstd_decompress(zstd_compress("payload") + "junk", 1000).status,
            decompress_status::corrupt);
}

TEST(ContentCoding, HeaderValuesParseInAnyCaseAndUnknownOnesDoNot) {
  EXPECT_EQ(parse_content_coding(""), content_coding::identity);
  EXPECT_EQ(parse_content_coding("Identity"), content_coding::identity);
  EXPECT_EQ(parse_content_coding("GZIP"), content_coding::gzip);
  EXPECT_EQ(parse_content_coding("x-gzip"), content_coding::gzip);
  EXPECT_EQ(parse_content_coding("Zstd"), content_coding::zstd);
  EXPECT_EQ(parse_content_coding("br"), std::nullopt);
  EXPECT_EQ(parse_content_coding("gzip, zstd"), std::nullopt);
  for (auto coding : {content_coding::identity, content_coding::gzip, content_coding::zstd})
    EXPECT_EQ(parse_content_coding(header_value(coding)), coding);
}

TEST(ContentCoding, EachCodingRoundTripsThroughTheRequestHelpers) {
  auto rows = json_rows(1000);
  for (auto coding : {content_coding::identity, content_coding::gzip, content_coding::zstd}) {
    auto result = decompress(coding, compress_request_body(coding, rows), rows.size());
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.data, rows);
  }
  EXPECT_EQ(decompress(content_coding::identity, rows, rows.size() - 1).status,
            decompress_status::too_large);
}
