#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace tidesync::testing {

/// Seeded random values of every replicated type, in the text PostgreSQL reads
/// and prints back unchanged, weighted towards the edges (extremes, subnormals,
/// signed zeros, infinities, NaN, every Unicode plane, every byte).
class random_values {
public:
  explicit random_values(std::uint64_t seed) : engine_(seed) {}

  /// True with probability `p`.
  bool chance(double p);
  /// A uniform integer in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi);

  /// An integer of `bits` (16, 32 or 64) bits: its extremes and small values
  /// often, otherwise uniform over the whole width.
  std::int64_t integer(int bits);
  /// A numeric's text with its own scale (trailing zeros kept), long digit
  /// runs, exponents never (PostgreSQL prints none), and NaN / ±Infinity.
  std::string numeric_text();
  /// A double over the whole range: uniform bit patterns (NaN payloads,
  /// subnormals, both zeros), named edges, and short decimals that a rounding
  /// parser gets wrong.
  double any_double();
  /// A float likewise.
  float any_float();
  /// Valid UTF-8 without NUL: code points from every plane, the bytes COPY
  /// escapes, quotes and backslashes.
  std::string utf8_text();
  /// Bytes of every value, up to 40 of them.
  std::string bytes();
  /// A date as PostgreSQL prints it in ISO style ("0044-03-15 BC" included).
  std::string date_text();
  /// A timestamp to the microsecond as PostgreSQL prints it; with `zone`,
  /// as a UTC session prints a timestamptz ("…+00").
  std::string timestamp_text(bool zone);
  /// A version-4-shaped uuid in lowercase 8-4-4-4-12 form (any bits).
  std::string uuid_text();
  /// A JSON document with spaces, nesting, long numbers and escaped text.
  std::string json_text();

private:
  std::uint64_t bits() { return engine_(); }
  std::string decimal_digits(std::size_t count);

  std::mt19937_64 engine_;
};

/// The shortest text that reads back as `value` ("NaN", "Infinity", "-Infinity", "-0").
std::string exact_text(double value);
std::string exact_text(float value);

/// The value's bytes in network order as lowercase hex, as
/// `encode(float8send(x), 'hex')` / `float4send` print them.
std::string bits_hex(double value);
std::string bits_hex(float value);

/// Lowercase hex of `bytes`, as `encode(b, 'hex')` prints it.
std::string hex_of(const std::string& bytes);

} // namespace tidesync::testing
