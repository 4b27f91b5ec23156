#include "protocol/zstd.hpp"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <optional>

namespace tidesync::protocol {

namespace {

constexpr std::size_t output_chunk = 64 * 1024;
// How far a frame's recorded size is trusted to size the output up front: a
// tiny hostile body that claims gigabytes gets no more than this ratio.
constexpr std::size_t trusted_ratio = 32;

struct cctx_free {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct dctx_free {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread, kept: making one costs more than compressing a
// small body, and a thread compresses one body at a time.
ZSTD_CCtx& compress_context() {
  thread_local std::unique_ptr<ZSTD_CCtx, cctx_free> context{ZSTD_createCCtx()};
  if (!context)
    throw std::bad_alloc();
  return *context;
}

// One per body, not kept per thread: a context keeps the largest window it
// ever decoded, so a client's body could pin 16 MiB on every server thread.
std::unique_ptr<ZSTD_DCtx, dctx_free> decompress_context() {
  std::unique_ptr<ZSTD_DCtx, dctx_free> context{ZSTD_createDCtx()};
  if (!context)
    throw std::bad_alloc();
  ZSTD_DCtx_setParameter(context.get(), ZSTD_d_windowLogMax, max_zstd_window_log);
  return context;
}

decompress_result failure(decompress_status status, std::string error) {
  return {status, {}, std::move(error)};
}

std::uint32_t little_endian_32(const char* bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  return b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t{b[3]} << 24);
}

// Only frames of the format RFC 8878 describes (and skippable ones): libzstd
// still decodes the formats of zstd 0.5-0.7, whose decoders ignore the window
// limit. Walks the frame headers only; what it cannot walk, the decoder
// itself reports precisely.
std::optional<std::string> foreign_frame(std::string_view data) {
  std::size_t at = 0;
  while (data.size() - at >= 4) {
    const auto magic = little_endian_32(data.data() + at);
    if (magic != ZSTD_MAGICNUMBER &&
        (magic & ZSTD_MAGIC_SKIPPABLE_MASK) != ZSTD_MAGIC_SKIPPABLE_START)
      return "zstd body is not in the zstd frame format (RFC 8878) at byte " +
             std::to_string(at);
    const auto size = ZSTD_findFrameCompressedSize(data.data() + at, data.size() - at);
    if (ZSTD_isError(size))
      return std::nullopt;
    at += size;
  }
  return std::nullopt;
}

std::string decoder_error(std::size_t code) {
  if (ZSTD_getErrorCode(code) == ZSTD_error_frameParameter_windowTooLarge)
    return "zstd body needs a window over " + std::to_string((1u << max_zstd_window_log) >> 20) +
           " MiB to decompress: compress at a standard level (19 or lower)";
  return std::string("zstd body is corrupt: ") + ZSTD_getErrorName(code);
}

// Room for `more` bytes, grown by doubling but never past the cap: a body at
// the cap holds at most the cap, not twice it.
void make_room(std::string& out, std::size_t more, std::size_t cap) {
  if (out.capacity() - out.size() >= more)
    return;
  out.reserve(std::min(std::max(out.capacity() * 2, out.size() + more), cap));
}

std::size_t initial_output_size(std::string_view data, std::size_t max_output) {
  auto recorded = ZSTD_getFrameContentSize(data.data(), data.size());
  if (recorded == ZSTD_CONTENTSIZE_UNKNOWN || recorded == ZSTD_CONTENTSIZE_ERROR)
    return output_chunk;
  auto hint = std::min<std::size_t>(std::min<std::size_t>(recorded, max_output) + 1,
                                    data.size() * trusted_ratio);
  return std::max(hint, output_chunk);
}

} // namespace

std::string zstd_compress(std::string_view data, int level) {
  auto& context = compress_context();
  ZSTD_CCtx_reset(&context, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(&context, ZSTD_c_compressionLevel, level);
  // A checksum of the content, so a damaged body is refused rather than stored.
  ZSTD_CCtx_setParameter(&context, ZSTD_c_checksumFlag, 1);
  // Output room that is never zero-filled, copied out once at the end.
  auto capacity = ZSTD_compressBound(data.size());
  auto out = std::make_unique_for_overwrite<char[]>(capacity);
  auto size = ZSTD_compress2(&context, out.get(), capacity, data.data(), data.size());
  if (ZSTD_isError(size))
    throw std::bad_alloc();  // with room for the bound, only memory can fail
  return std::string(out.get(), size);
}

decompress_result zstd_decompress(std::string_view data, std::size_t max_output) {
  max_output = std::min(max_output, std::numeric_limits<std::size_t>::max() - 1);
  if (data.empty())
    return failure(decompress_status::corrupt, "zstd body is empty");
  if (auto foreign = foreign_frame(data))
    return failure(decompress_status::corrupt, std::move(*foreign));
  auto owned = decompress_context();
  auto& context = *owned;
  std::string out;
  out.reserve(initial_output_size(data, max_output));
  auto chunk = std::make_unique_for_overwrite<char[]>(output_chunk);
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  for (;;) {
    // Room for one byte past the limit tells "too large" apart from "exactly full".
    auto room = std::min(output_chunk, max_output + 1 - out.size());
    ZSTD_outBuffer output{chunk.get(), room, 0};
    const auto consumed = input.pos;
    auto pending = ZSTD_decompressStream(&context, &output, &input);  // 0: a frame ended
    if (ZSTD_isError(pending)) {
      if (ZSTD_getErrorCode(pending) == ZSTD_error_memory_allocation)
        throw std::bad_alloc();
      return failure(decompress_status::corrupt, decoder_error(pending));
    }
    make_room(out, output.pos, max_output + 1);
    out.append(chunk.get(), output.pos);
    if (out.size() > max_output)
      return failure(decompress_status::too_large, "decompressed body is larger than " +
                                                       std::to_string(max_output) + " bytes");
    // Every input byte read: done once the last frame ended and was flushed
    // (zstd may take one call more to get there), truncated once a call can
    // move nothing on.
    if (input.pos == input.size) {
      if (pending == 0)
        return {decompress_status::ok, std::move(out), {}};
      if (output.pos == 0 && input.pos == consumed)
        return failure(decompress_status::corrupt, "zstd body is truncated");
    }
  }
}

} // namespace tidesync::protocol
