#pragma once

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::storage {

/// Reads an upload body's text a slice at a time in the shape agents send,
/// `{"columns":["a",…],"rows":[[…],…]}`: exactly these two keys in this order,
/// cells that are strings, integers up to int64, booleans or null. Each cell
/// goes to the sink as soon as it is read, so no document is built and rows
/// can be loaded while the rest of the body is still being read.
///
/// Anything else throws `off_shape`: another key order, a float number, a
/// nested value, malformed JSON, or an error the sink threw. The body may
/// still be valid (or invalid in a way that deserves a precise message): the
/// caller reads it again as a document, which is the reference for both.
class upload_body_stream {
public:
  /// Receives the body's parts in order. A sink that throws ends the reading
  /// with off_shape.
  class sink {
  public:
    virtual ~sink() = default;
    /// The column names, once the columns array ended.
    virtual void columns(const std::vector<std::string>& names) = 0;
    /// One cell of row `row` (0-based), its `column`-th.
    virtual void cell(std::size_t row, std::size_t column, const boost::json::value& cell) = 0;
    /// Row `row` ended after `cells` cells.
    virtual void row_end(std::size_t row, std::size_t cells) = 0;
  };

  /// Thrown when the body is not in the shape read here (see above).
  struct off_shape : std::exception {
    const char* what() const noexcept override { return "upload body is not in its usual shape"; }
  };

  /// `text` and `sink` must outlive the stream.
  upload_body_stream(std::string_view text, sink& sink);
  ~upload_body_stream();
  upload_body_stream(const upload_body_stream&) = delete;
  upload_body_stream& operator=(const upload_body_stream&) = delete;

  /// Reads up to `bytes` more of the text. Returns false once the whole
  /// document was read. Throws off_shape.
  bool read_some(std::size_t bytes);

  /// Bytes of the text read so far.
  std::size_t consumed() const;

  /// Bytes of the whole text.
  std::size_t size() const { return text_.size(); }

  /// Whether the whole document was read.
  bool done() const;

private:
  struct parser;
  std::string_view text_;
  std::size_t consumed_ = 0;
  std::unique_ptr<parser> parser_;
};

} // namespace tidesync::storage
