#include "storage/upload_body_stream.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace tidesync::storage {

namespace {

namespace json = boost::json;

/// basic_parser events for the one shape upload_body_stream reads. Every
/// event outside it stops the parser (returns false) and leaves `off_shape` set.
class shape_handler {
public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  using error_code = json::error_code;
  using piece = json::string_view;

  explicit shape_handler(upload_body_stream::sink& sink) : sink_(sink) {}

  bool off_shape() const { return off_shape_; }
  bool ended() const { return where_ == place::ended; }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code& ec) {
    if (where_ != place::start)
      return stop(ec);
    where_ = place::top;
    return true;
  }
  bool on_object_end(std::size_t, error_code& ec) {
    if (where_ != place::after_rows)
      return stop(ec);
    where_ = place::ended;
    return true;
  }

  bool on_key_part(piece s, std::size_t, error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_key(piece s, std::size_t, error_code& ec) {
    auto key = whole(s);
    if (where_ == place::top && key == "columns")
      where_ = place::columns_key;
    else if (where_ == place::between && key == "rows")
      where_ = place::rows_key;
    else
      return stop(ec);
    text_.clear();
    return true;
  }

  bool on_array_begin(error_code& ec) {
    switch (where_) {
    case place::columns_key: where_ = place::columns; return true;
    case place::rows_key: where_ = place::rows; return true;
    case place::rows:
      where_ = place::row;
      column_ = 0;
      return true;
    default: return stop(ec);
    }
  }
  bool on_array_end(std::size_t, error_code& ec) {
    switch (where_) {
    case place::columns:
      where_ = place::between;
      return deliver(ec, [&] { sink_.columns(names_); });
    case place::row:
      where_ = place::rows;
      return deliver(ec, [&] { sink_.row_end(row_++, column_); });
    case place::rows: where_ = place::after_rows; return true;
    default: return stop(ec);
    }
  }

  bool on_string_part(piece s, std::size_t, error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(piece s, std::size_t, error_code& ec) {
    auto text = whole(s);
    if (where_ == place::columns) {
      names_.emplace_back(text);
      text_.clear();
      return true;
    }
    // One string value reused for every string cell: its buffer grows to the
    // longest cell and is not allocated again.
    string_cell_.get_string().assign(text);
    text_.clear();
    return cell(ec, string_cell_);
  }

  bool on_number_part(piece, error_code&) { return true; }
  bool on_int64(std::int64_t i, piece, error_code& ec) { return cell(ec, json::value(i)); }
  // Beyond int64, and every fraction or exponent: the document reader's
  // exact number handling decides.
  bool on_uint64(std::uint64_t, piece, error_code& ec) { return stop(ec); }
  bool on_double(double, piece, error_code& ec) { return stop(ec); }
  bool on_bool(bool b, error_code& ec) { return cell(ec, json::value(b)); }
  bool on_null(error_code& ec) { return cell(ec, json::value(nullptr)); }
  bool on_comment_part(piece, error_code& ec) { return stop(ec); }
  bool on_comment(piece, error_code& ec) { return stop(ec); }

private:
  enum class place { start, top, columns_key, columns, between, rows_key, rows, row, after_rows, ended };

  bool stop(error_code& ec) {
    off_shape_ = true;
    ec = json::error::syntax;
    return false;
  }

  template <class Deliver> bool deliver(error_code& ec, Deliver&& deliver) {
    try {
      deliver();
      return true;
    } catch (const std::exception&) {
      return stop(ec);
    }
  }

  bool cell(error_code& ec, const json::value& value) {
    if (where_ != place::row)
      return stop(ec);
    return deliver(ec, [&] { sink_.cell(row_, column_++, value); });
  }

  // A string or key that arrived in parts ends with `s`.
  std::string_view whole(piece s) {
    if (text_.empty())
      return {s.data(), s.size()};
    text_.append(s.data(), s.size());
    return text_;
  }

  upload_body_stream::sink& sink_;
  place where_ = place::start;
  bool off_shape_ = false;
  std::string text_;
  std::vector<std::string> names_;
  json::value string_cell_ = json::value(json::string_kind);
  std::size_t row_ = 0;
  std::size_t column_ = 0;
};

} // namespace

struct upload_body_stream::parser {
  explicit parser(upload_body_stream::sink& sink) : basic(json::parse_options{}, sink) {}
  json::basic_parser<shape_handler> basic;
};

upload_body_stream::upload_body_stream(std::string_view text, sink& sink)
    : text_(text), parser_(std::make_unique<parser>(sink)) {}

upload_body_stream::~upload_body_stream() = default;

bool upload_body_stream::read_some(std::size_t bytes) {
  if (done())
    return false;
  auto size = std::min(bytes, text_.size() - consumed_);
  const bool more = consumed_ + size < text_.size();
  json::error_code ec;
  auto used = parser_->basic.write_some(more, text_.data() + consumed_, size, ec);
  consumed_ += used;
  // Whatever went wrong (a parse error, bytes after the document), the
  // document reader says what.
  if (ec || used != size || (!more && !parser_->basic.handler().ended()))
    throw off_shape{};
  return !done();
}

std::size_t upload_body_stream::consumed() const { return consumed_; }

bool upload_body_stream::done() const {
  return consumed_ == text_.size() && parser_->basic.handler().ended();
}

} // namespace tidesync::storage
