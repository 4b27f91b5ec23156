#include "protocol/content_coding.hpp"

#include "protocol/gzip.hpp"
#include "protocol/zstd.hpp"

#include <cctype>

namespace tidesync::protocol {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i])
      return false;
  return true;
}

} // namespace

std::string_view header_value(content_coding coding) {
  switch (coding) {
    case content_coding::gzip:
      return "gzip";
    case content_coding::zstd:
      return "zstd";
    case content_coding::identity:
      break;
  }
  return {};
}

std::optional<content_coding> parse_content_coding(std::string_view value) {
  if (value.empty() || equal_ignoring_case(value, "identity"))
    return content_coding::identity;
  if (equal_ignoring_case(value, "gzip") || equal_ignoring_case(value, "x-gzip"))
    return content_coding::gzip;
  if (equal_ignoring_case(value, "zstd"))
    return content_coding::zstd;
  return std::nullopt;
}

std::string compress_request_body(content_coding coding, std::string_view body) {
  switch (coding) {
    case content_coding::gzip:
      return gzip_compress(body, request_gzip_level);
    case content_coding::zstd:
      return zstd_compress(body, request_zstd_level);
    case content_coding::identity:
      break;
  }
  return std::string(body);
}

decompress_result decompress(content_coding coding, std::string_view data,
                             std::size_t max_output) {
  switch (coding) {
    case content_coding::gzip:
      return gzip_decompress(data, max_output);
    case content_coding::zstd:
      return zstd_decompress(data, max_output);
    case content_coding::identity:
      break;
  }
  if (data.size() > max_output)
    return {decompress_status::too_large, {},
            "body is larger than " + std::to_string(max_output) + " bytes"};
  return {decompress_status::ok, std::string(data), {}};
}

} // namespace tidesync::protocol
