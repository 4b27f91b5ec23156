#include "sync/upload_resume.hpp"

#include <charconv>
#include <cstdint>

namespace tidesync::sync {

namespace {

// "v1 <count> <max_version|-> <version> <cells>" then each key cell as
// "<length>:<bytes>": cells are local text and may hold any byte.
constexpr std::string_view format_tag = "v1";

bool read_int(std::string_view& text, std::int64_t& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (error != std::errc{})
    return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

bool read_char(std::string_view& text, char expected) {
  if (text.empty() || text.front() != expected)
    return false;
  text.remove_prefix(1);
  return true;
}

} // namespace

std::string upload_resume::to_string() const {
  std::string out{format_tag};
  out += ' ' + std::to_string(remote.count) + ' ' +
         (remote.max_version ? std::to_string(*remote.max_version) : std::string{"-"}) + ' ' +
         std::to_string(acknowledged.version) + ' ' + std::to_string(acknowledged.key.size());
  for (const auto& cell : acknowledged.key)
    out += ' ' + std::to_string(cell.size()) + ':' + cell;
  return out;
}

std::optional<upload_resume> upload_resume::from_string(std::string_view text) {
  if (!text.starts_with(format_tag))
    return std::nullopt;
  text.remove_prefix(format_tag.size());
  upload_resume out;
  std::int64_t cells = 0;
  if (!read_char(text, ' ') || !read_int(text, out.remote.count) || !read_char(text, ' '))
    return std::nullopt;
  if (read_char(text, '-')) {
    out.remote.max_version.reset();
  } else {
    std::int64_t max = 0;
    if (!read_int(text, max))
      return std::nullopt;
    out.remote.max_version = max;
  }
  if (!read_char(text, ' ') || !read_int(text, out.acknowledged.version) ||
      !read_char(text, ' ') || !read_int(text, cells) || cells < 0)
    return std::nullopt;
  for (std::int64_t i = 0; i < cells; ++i) {
    std::int64_t length = 0;
    if (!read_char(text, ' ') || !read_int(text, length) || length < 0 || !read_char(text, ':') ||
        static_cast<std::size_t>(length) > text.size())
      return std::nullopt;
    out.acknowledged.key.emplace_back(text.substr(0, static_cast<std::size_t>(length)));
    text.remove_prefix(static_cast<std::size_t>(length));
  }
  if (!text.empty())
    return std::nullopt;
  return out;
}

std::optional<row_position> resume_position(const upload_resume& resume,
                                            const protocol::table_version& remote) {
  if (!resume.remote.max_version || !remote.max_version)
    return std::nullopt;
  if (remote.count < resume.remote.count || *remote.max_version < *resume.remote.max_version)
    return std::nullopt;
  return resume.acknowledged;
}

} // namespace tidesync::sync
