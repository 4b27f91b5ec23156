#include "protocol/json_parse.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>
#include <boost/system/system_error.hpp>

#include <charconv>
#include <string>

namespace tidesync::protocol {

namespace {

/// basic_parser events building a value as boost::json::parser does, but
/// with doubles read from their text by std::from_chars (correctly rounded).
struct exact_number_handler {
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  using error_code = boost::json::error_code;
  using piece = boost::json::string_view;

  // The stack's own scratch memory is the default resource; the value it
  // builds lives in `storage`.
  explicit exact_number_handler(boost::json::storage_ptr storage) {
    stack.reset(std::move(storage));
  }

  boost::json::value_stack stack;
  std::string number;  // the number's text so far, when the parser hands it over in parts

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t n, error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_key_part(piece s, std::size_t, error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(piece s, std::size_t, error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_string_part(piece s, std::size_t, error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(piece s, std::size_t, error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_number_part(piece s, error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, piece, error_code&) {
    number.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, piece, error_code&) {
    number.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, piece s, error_code&) {
    number.append(s.data(), s.size());
    double exact = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), exact);
    // Out of double's range: keep what Boost.JSON made of it.
    if (ec == std::errc{} && end == number.data() + number.size())
      d = exact;
    number.clear();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(piece, error_code&) { return true; }
  bool on_comment(piece, error_code&) { return true; }
};

} // namespace

boost::json::value parse_json_exact(std::string_view text, boost::json::error_code& ec,
                                    boost::json::storage_ptr storage) {
  boost::json::basic_parser<exact_number_handler> parser{boost::json::parse_options{},
                                                         std::move(storage)};
  auto used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size())
    ec = boost::json::error::extra_data;
  if (ec)
    return nullptr;
  return parser.handler().stack.release();
}

boost::json::value parse_json_exact(std::string_view text) {
  boost::json::error_code ec;
  auto value = parse_json_exact(text, ec);
  if (ec)
    throw boost::system::system_error(ec);
  return value;
}

} // namespace tidesync::protocol
