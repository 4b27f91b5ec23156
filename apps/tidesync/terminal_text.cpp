#include "apps/tidesync/terminal_text.hpp"

#include <cstdio>

namespace tidesync::app {

std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  const std::size_t length = lead < 0x80           ? 1
                             : (lead >> 5) == 0x6  ? 2
                             : (lead >> 4) == 0xe  ? 3
                             : (lead >> 3) == 0x1e ? 4
                                                   : 0;
  if (length == 0 || at + length > text.size() || (length == 2 && lead < 0xc2))
    return 0;
  for (std::size_t i = 1; i < length; ++i)
    if ((static_cast<unsigned char>(text[at + i]) >> 6) != 0x2)
      return 0;
  if (length < 3)
    return length;
  const auto second = static_cast<unsigned char>(text[at + 1]);
  if ((length == 3 && lead == 0xe0 && second < 0xa0) ||   // overlong
      (length == 3 && lead == 0xed && second >= 0xa0) ||  // a surrogate
      (length == 4 && lead == 0xf0 && second < 0x90) ||   // overlong
      (length == 4 && (lead > 0xf4 || (lead == 0xf4 && second >= 0x90))))  // past U+10FFFF
    return 0;
  return length;
}

namespace {

unsigned code_point(std::string_view text, std::size_t at, std::size_t length) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  switch (length) {
    case 1: return byte(0);
    case 2: return (byte(0) & 0x1fu) << 6 | (byte(1) & 0x3fu);
    case 3: return (byte(0) & 0x0fu) << 12 | (byte(1) & 0x3fu) << 6 | (byte(2) & 0x3fu);
    default:
      return (byte(0) & 0x07u) << 18 | (byte(1) & 0x3fu) << 12 | (byte(2) & 0x3fu) << 6 |
             (byte(3) & 0x3fu);
  }
}

bool unsafe_on_a_terminal(unsigned point) {
  return point < 0x20 || (point >= 0x7f && point <= 0x9f) ||  // C0, DEL, C1
         point == 0x2028 || point == 0x2029 ||                  // line, paragraph separator
         (point >= 0x202a && point <= 0x202e) ||                // bidi embeddings, overrides
         (point >= 0x2066 && point <= 0x2069) ||                // bidi isolates
         point == 0x200e || point == 0x200f || point == 0x061c;  // direction marks
}

} // namespace

std::string terminal_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char escape[16];
  for (std::size_t at = 0; at < text.size();) {
    const auto length = utf8_sequence_length(text, at);
    if (length == 0) {
      std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned char>(text[at]));
      out += escape;
      ++at;
      continue;
    }
    const auto point = code_point(text, at, length);
    if (unsafe_on_a_terminal(point)) {
      std::snprintf(escape, sizeof escape, "\\u{%04x}", point);
      out += escape;
    } else {
      out.append(text, at, length);
    }
    at += length;
  }
  return out;
}

} // namespace tidesync::app
