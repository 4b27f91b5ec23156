#pragma once

#include <string>

namespace tidesync::app {

/// Sets the process's log level and line format from a config's `log_level`
/// and `log_format`. `text`: `[time] [level] message`; `json`: one object
/// per line, `{"time":…,"level":…,"message":…}`, for log collectors. Either
/// way a message's control characters are escaped (`\n`, `\u001b`, …), so
/// a table name, a key or a request path can't forge or break a line.
void apply_log_settings(const std::string& level, const std::string& format);

} // namespace tidesync::app
