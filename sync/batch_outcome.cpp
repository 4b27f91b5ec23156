#include "sync/batch_outcome.hpp"

#include <array>
#include <utility>

namespace tidesync::sync {

namespace {

constexpr std::array<std::pair<outcome_kind, std::string_view>, 3> kind_names{{
    {outcome_kind::success, "success"},
    {outcome_kind::rejected, "rejected"},
    {outcome_kind::transient, "transient"},
}};

} // namespace

std::string_view to_string(outcome_kind kind) {
  for (const auto& [value, name] : kind_names)
    if (value == kind)
      return name;
  return "unknown";
}

std::optional<outcome_kind> outcome_kind_from_string(std::string_view name) {
  for (const auto& [value, known] : kind_names)
    if (known == name)
      return value;
  return std::nullopt;
}

} // namespace tidesync::sync
