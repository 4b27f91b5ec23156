#include "server/log_text.hpp"

namespace tidesync::server {

std::string log_text(std::string_view text) {
  constexpr const char* hex = "0123456789abcdef";
  bool cut = text.size() > max_logged_bytes;
  if (cut)
    text = text.substr(0, max_logged_bytes);
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte == '\\') {
      out += "\\\\";
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  if (cut)
    out += "…";
  return out;
}

} // namespace tidesync::server
