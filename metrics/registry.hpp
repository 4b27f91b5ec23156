#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Registry;
} // namespace prometheus

namespace tidesync::metrics {

/// Owns the process's Prometheus registry. Components build their metric
/// families from it (server_metrics, …); /metrics and the exposer read it.
class registry {
public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  prometheus::Registry& get() { return *registry_; }

  /// Shared handle, for an exposer that must keep the registry alive.
  std::shared_ptr<prometheus::Registry> shared() const { return registry_; }

private:
  std::shared_ptr<prometheus::Registry> registry_;
};

/// Every metric of `registry` in the Prometheus text exposition format.
std::string render_text(const prometheus::Registry& registry);

/// Content-Type of render_text's output.
inline constexpr const char* text_content_type = "text/plain; version=0.0.4; charset=utf-8";

} // namespace tidesync::metrics
