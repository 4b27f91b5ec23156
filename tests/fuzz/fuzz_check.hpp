#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

// What the fuzz targets share: a check that turns a broken promise of the
// code under test into a crash libFuzzer reports with the input that caused it.
namespace tidesync::fuzz {

/// What the target is checking, printed with a broken promise; both parts
/// must outlive the input being checked.
struct check_context {
  std::string_view what;
  std::string_view detail;
};
inline check_context context;

/// Prints which promise broke, then aborts.
[[noreturn]] inline void broken_promise(std::string_view what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: broken promise: %.*s [%.*s %.*s]\n", file, line,
               static_cast<int>(what.size()), what.data(), static_cast<int>(context.what.size()),
               context.what.data(), static_cast<int>(context.detail.size()), context.detail.data());
  std::abort();
}

/// The first line of `input` (without its newline) and what follows it.
struct first_line_split {
  std::string_view line;
  std::string_view rest;
};

inline first_line_split split_first_line(std::string_view input) {
  auto newline = input.find('\n');
  if (newline == std::string_view::npos)
    return {input, {}};
  return {input.substr(0, newline), input.substr(newline + 1)};
}

} // namespace tidesync::fuzz

/// Aborts with `what` unless `condition` holds; asserts survive NDEBUG.
#define FUZZ_REQUIRE(condition, what)                                                              \
  do {                                                                                             \
    if (!(condition))                                                                              \
      ::tidesync::fuzz::broken_promise(what, __FILE__, __LINE__);                                  \
  } while (false)
