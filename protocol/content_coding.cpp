#include "protocol/content_coding.hpp"

#include "protocol/gzip.hpp"
#include "protocol/zstd.hpp"

#include <boost/beast/core/string.hpp>

namespace tidesync::protocol {

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
  if (value.empty() || boost::beast::iequals(value, "identity"))
    return content_coding::identity;
  if (boost::beast::iequals(value, "gzip") || boost::beast::iequals(value, "x-gzip"))
    return content_coding::gzip;
  if (boost::beast::iequals(value, "zstd"))
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
