#include "sync/scan_cursor.hpp"

#include <charconv>
#include <system_error>

namespace tidesync::sync {

namespace {

// Text form: "scan_cursor/1 <passes> -" at the beginning, otherwise
// "scan_cursor/1 <passes> <version> <cells> <length>:<cell>…". Cells are
// length-prefixed so any byte in a text key survives.
constexpr std::string_view format_tag = "scan_cursor/1";
constexpr std::string_view at_beginning = "-";
constexpr char field_separator = ' ';
constexpr char length_separator = ':';

/// Reads the text form front to back; every read fails softly.
class field_reader {
public:
  explicit field_reader(std::string_view text) : rest_(text) {}

  /// The next space-separated field.
  std::optional<std::string_view> field() {
    if (rest_.empty())
      return std::nullopt;
    const auto end = rest_.find(field_separator);
    const auto value = rest_.substr(0, end);
    rest_ = end == std::string_view::npos ? std::string_view{} : rest_.substr(end + 1);
    return value;
  }

  /// A number followed by `separator`.
  template <class Integer> std::optional<Integer> number(char separator = field_separator) {
    Integer value{};
    const auto [end, ec] = std::from_chars(rest_.data(), rest_.data() + rest_.size(), value);
    const auto used = static_cast<std::size_t>(end - rest_.data());
    if (ec != std::errc{} || used >= rest_.size() || rest_[used] != separator)
      return std::nullopt;
    rest_.remove_prefix(used + 1);
    return value;
  }

  /// `length:bytes`, the bytes taken verbatim.
  std::optional<std::string> cell() {
    const auto length = number<std::size_t>(length_separator);
    if (!length || *length > rest_.size())
      return std::nullopt;
    std::string value(rest_.substr(0, *length));
    rest_.remove_prefix(*length);
    return value;
  }

  bool done() const { return rest_.empty(); }

  /// True when what is left is exactly `text`.
  bool rest_is(std::string_view text) const { return rest_ == text; }

private:
  std::string_view rest_;
};

std::optional<row_position> read_position(field_reader& reader) {
  row_position position;
  const auto version = reader.number<std::int64_t>();
  const auto cells = reader.number<std::size_t>();
  if (!version || !cells)
    return std::nullopt;
  position.version = *version;
  for (std::size_t i = 0; i < *cells; ++i) {
    auto cell = reader.cell();
    if (!cell)
      return std::nullopt;
    position.key.push_back(std::move(*cell));
  }
  return position;
}

} // namespace

scan_window scan_cursor::window_for(const std::vector<row_position>& batch, std::size_t requested,
                                    const position_order& order) const {
  return window_for_batch(last_, batch, requested, order);
}

bool scan_cursor::advance(const scan_window& covered) {
  if (!covered.through) {
    last_.reset();
    ++passes_;
    return true;
  }
  last_ = covered.through;
  return false;
}

std::string scan_cursor::to_string() const {
  std::string text(format_tag);
  text += field_separator;
  text += std::to_string(passes_);
  text += field_separator;
  if (!last_)
    return text += at_beginning;
  text += std::to_string(last_->version);
  text += field_separator;
  text += std::to_string(last_->key.size());
  text += field_separator;
  for (const auto& cell : last_->key) {
    text += std::to_string(cell.size());
    text += length_separator;
    text += cell;
  }
  return text;
}

std::optional<scan_cursor> scan_cursor::from_string(std::string_view text) {
  field_reader reader(text);
  if (reader.field() != format_tag)
    return std::nullopt;
  scan_cursor cursor;
  const auto passes = reader.number<std::uint64_t>();
  if (!passes)
    return std::nullopt;
  cursor.passes_ = *passes;
  if (reader.rest_is(at_beginning))
    return cursor;
  cursor.last_ = read_position(reader);
  if (!cursor.last_ || !reader.done())
    return std::nullopt;
  return cursor;
}

} // namespace tidesync::sync
