#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <string_view>

// JSON documents as boost::json::parse reads them, except that a number with
// a fraction or exponent becomes the double nearest to its text. Boost.JSON
// 1.81 reads many doubles one unit in the last place off (about one in ten
// of those with 17 digits), so a real/double cell would be stored other than
// the site sent it, and content digests would differ forever.
namespace tidesync::protocol {

/// Parses one document; sets `ec` and returns null on malformed input.
boost::json::value parse_json_exact(std::string_view text, boost::json::error_code& ec,
                                    boost::json::storage_ptr storage = {});

/// Parses one document; throws boost::system::system_error on malformed input.
boost::json::value parse_json_exact(std::string_view text);

} // namespace tidesync::protocol
