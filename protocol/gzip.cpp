#include "protocol/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <cstring>
#include <memory>
#include <new>

namespace tidesync::protocol {

namespace {

constexpr int gzip_window_bits = 15 + 16; // 32 KiB window, gzip header and trailer
constexpr int memory_level = 8;           // zlib's default
constexpr std::size_t output_chunk = 64 * 1024;
// zlib counts in uInt; feed larger buffers in pieces.
constexpr std::size_t max_zlib_span = UINT_MAX / 2;

unsigned int span(std::size_t size) {
  return static_cast<unsigned int>(std::min(size, max_zlib_span));
}

/// Owns an inflate stream so every return path ends it.
class inflater {
public:
  inflater() { ok_ = inflateInit2(&stream_, gzip_window_bits) == Z_OK; }
  ~inflater() {
    if (ok_)
      inflateEnd(&stream_);
  }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;

  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

private:
  z_stream stream_{};
  bool ok_ = false;
};

decompress_result failure(decompress_status status, std::string error) {
  return {status, {}, std::move(error)};
}

decompress_result too_large(std::size_t max_output) {
  return failure(decompress_status::too_large,
                 "decompressed body is larger than " + std::to_string(max_output) + " bytes");
}

// Runs inflate once over what input remains into `chunk`, then appends what it
// wrote: `out` only ever holds inflated bytes, never a zero-filled reserve that
// is written twice (a whole body's extra pass over fresh memory).
int inflate_step(z_stream& stream, std::size_t& remaining_in, unsigned char* chunk,
                 std::size_t room, std::string& out, std::size_t cap) {
  stream.avail_in = span(remaining_in);
  auto fed = stream.avail_in;
  stream.next_out = chunk;
  stream.avail_out = span(room);
  auto result = inflate(&stream, Z_NO_FLUSH);
  remaining_in -= fed - stream.avail_in;
  auto made = room - stream.avail_out;
  // Grown by doubling but never past the cap, so a body at the cap holds at
  // most the cap, not twice it.
  if (out.capacity() - out.size() < made)
    out.reserve(std::min(std::max(out.capacity() * 2, out.size() + made), cap));
  out.append(reinterpret_cast<const char*>(chunk), made);
  return result;
}

// The gzip trailer's ISIZE (the last member's size mod 2^32) sizes the output
// in one allocation instead of a string grown and copied many times. It is
// only a hint: trusted up to a ratio that real bodies stay under, so a tiny
// hostile body cannot make the server allocate its whole limit up front.
std::size_t initial_output_size(std::string_view data, std::size_t max_output) {
  constexpr std::size_t trailer_bytes = 8;
  constexpr std::size_t trusted_ratio = 32;
  if (data.size() < trailer_bytes)
    return output_chunk;
  const auto* tail = reinterpret_cast<const unsigned char*>(data.data() + data.size() - 4);
  std::size_t size = tail[0] | (tail[1] << 8) | (tail[2] << 16) | (std::size_t{tail[3]} << 24);
  // One byte more, so that a body exactly this size ends without a resize.
  auto hint = std::min(std::min(size, max_output) + 1, data.size() * trusted_ratio);
  return std::max(hint, output_chunk);
}

} // namespace

std::string gzip_compress(std::string_view data, int level) {
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, gzip_window_bits, memory_level,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  // Output room that is never zero-filled: deflate touches only what it
  // writes (a fraction of the bound for real bodies), copied out once at the end.
  std::size_t capacity = deflateBound(&stream, static_cast<uLong>(data.size()));
  auto out = std::make_unique_for_overwrite<unsigned char[]>(capacity);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  auto remaining_in = data.size();
  int result = Z_OK;
  while (result != Z_STREAM_END) {
    if (stream.total_out == capacity) {
      auto larger = std::make_unique_for_overwrite<unsigned char[]>(capacity * 2);
      std::memcpy(larger.get(), out.get(), capacity);
      out = std::move(larger);
      capacity *= 2;
    }
    stream.avail_in = span(remaining_in);
    auto fed = stream.avail_in;
    stream.next_out = out.get() + stream.total_out;
    stream.avail_out = span(capacity - stream.total_out);
    result = deflate(&stream, remaining_in == fed ? Z_FINISH : Z_NO_FLUSH);
    remaining_in -= fed - stream.avail_in;
    if (result == Z_STREAM_ERROR) {
      deflateEnd(&stream);
      throw std::bad_alloc();
    }
  }
  std::string packed(reinterpret_cast<const char*>(out.get()), stream.total_out);
  deflateEnd(&stream);
  return packed;
}

decompress_result gzip_decompress(std::string_view data, std::size_t max_output) {
  max_output = std::min(max_output, std::numeric_limits<std::size_t>::max() - 1);
  inflater inflate_stream;
  if (!inflate_stream.ok())
    throw std::bad_alloc();
  auto& stream = inflate_stream.stream();
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  std::size_t remaining_in = data.size();
  std::string out;
  out.reserve(initial_output_size(data, max_output));
  auto chunk = std::make_unique_for_overwrite<unsigned char[]>(output_chunk);
  int result = Z_OK;
  while (result != Z_STREAM_END || remaining_in != 0) {
    if (result == Z_STREAM_END)
      inflateReset(&stream); // another member follows (RFC 1952 allows concatenation)
    // Room for one byte past the limit tells "too large" apart from "exactly full".
    if (out.size() > max_output)
      return too_large(max_output);
    auto room = std::min(output_chunk, max_output + 1 - out.size());
    auto before = out.size();
    result = inflate_step(stream, remaining_in, chunk.get(), room, out, max_output + 1);
    if (result == Z_BUF_ERROR && remaining_in == 0 && out.size() - before != room)
      return failure(decompress_status::corrupt, "gzip body is truncated");
    if (result == Z_MEM_ERROR)
      throw std::bad_alloc();
    if (result != Z_OK && result != Z_STREAM_END && result != Z_BUF_ERROR)
      return failure(decompress_status::corrupt, std::string("gzip body is corrupt: ") +
                                                 (stream.msg != nullptr ? stream.msg : "bad data"));
  }
  if (out.size() > max_output)
    return too_large(max_output);
  return {decompress_status::ok, std::move(out), {}};
}

} // namespace tidesync::protocol
