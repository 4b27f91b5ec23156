#include "metrics/registry.hpp"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace tidesync::metrics {

registry::registry() : registry_(std::make_shared<prometheus::Registry>()) {}

registry::~registry() = default;

std::string render_text(const prometheus::Registry& registry) {
  return prometheus::TextSerializer{}.Serialize(registry.Collect());
}

} // namespace tidesync::metrics
