#include "server/fleet_view.hpp"

#include "metrics/server_metrics.hpp"
#include "storage/postgres_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace tidesync::server {

namespace {

// What the fleet gauges call seen and silent (the five and fifteen
// minutes: a minute's interval missed many times over).
constexpr std::chrono::minutes seen_within{5};
constexpr std::chrono::minutes silent_after{15};

constexpr std::string_view agent_product = "tidesync-agent/";
constexpr std::size_t max_version_length = 32;

template <class Time> void keep_later(std::optional<Time>& kept, const std::optional<Time>& other) {
  if (other && (!kept || *other > *kept))
    kept = other;
}

} // namespace

std::string agent_version_of(std::string_view user_agent) {
  if (!user_agent.starts_with(agent_product))
    return {};
  auto version = user_agent.substr(agent_product.size());
  version = version.substr(0, version.find(' '));
  if (version.empty() || version.size() > max_version_length)
    return {};
  for (char c : version)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          c == '.' || c == '+' || c == '-' || c == '~'))
      return {};
  return std::string{version};
}

storage::site_contact& fleet_reports::entry(const std::string& client_id,
                                            const std::string& database_id) {
  auto& contact = pending_[{client_id, database_id}];
  contact.client_id = client_id;
  contact.database_id = database_id;
  return contact;
}

void fleet_reports::listed(const std::string& client_id, const std::string& database_id,
                           std::string_view user_agent, std::string_view report) {
  auto version = agent_version_of(user_agent);
  auto parsed = report.empty() ? std::nullopt : protocol::parse_site_report(report);
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock{mutex_};
  auto& contact = entry(client_id, database_id);
  contact.listed_at = now;
  if (!version.empty())
    contact.agent_version = std::move(version);
  if (parsed) {
    contact.report = std::move(parsed);
    contact.reported_at = now;
  }
}

void fleet_reports::uploaded(const std::string& client_id, const std::string& database_id) {
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock{mutex_};
  entry(client_id, database_id).uploaded_at = now;
}

std::vector<storage::site_contact> fleet_reports::take() {
  std::map<std::pair<std::string, std::string>, storage::site_contact> taken;
  {
    std::lock_guard lock{mutex_};
    taken.swap(pending_);
  }
  std::vector<storage::site_contact> out;
  out.reserve(taken.size());
  for (auto& [key, contact] : taken)
    out.push_back(std::move(contact));
  return out;
}

void fleet_reports::put_back(std::vector<storage::site_contact> contacts) {
  std::lock_guard lock{mutex_};
  for (auto& old : contacts) {
    auto [at, fresh] = pending_.try_emplace({old.client_id, old.database_id}, old);
    if (fresh)
      continue;
    auto& newer = at->second;  // came since: its fields win, the older fill gaps
    keep_later(newer.listed_at, old.listed_at);
    keep_later(newer.uploaded_at, old.uploaded_at);
    if (newer.agent_version.empty())
      newer.agent_version = old.agent_version;
    if (!newer.report) {
      newer.report = old.report;
      newer.reported_at = old.reported_at ? old.reported_at : old.listed_at;
    }
  }
}

fleet_recorder::fleet_recorder(fleet_reports& reports, metrics::server_metrics& metrics,
                               const storage::store_options& store,
                               std::chrono::milliseconds every)
  : reports_(reports), metrics_(metrics), every_(every),
    thread_([this, store] { run(store); }) {}

fleet_recorder::~fleet_recorder() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void fleet_recorder::run(const storage::store_options& options) {
  std::unique_ptr<storage::postgres_store> store;
  bool failing = false;
  for (bool last = false; !last;) {
    {
      std::unique_lock lock{mutex_};
      wake_.wait_for(lock, every_, [this] { return stopping_; });
      last = stopping_;
    }
    auto contacts = reports_.take();
    try {
      if (!store)
        store = std::make_unique<storage::postgres_store>(options);
      if (auto refused = store->save_site_contacts(contacts))
        spdlog::warn("server: {} fleet reports the store refused were left out", refused);
      contacts.clear();
      auto fleet = store->summarize_fleet(seen_within, silent_after);
      metrics_.set_fleet(fleet.sites_seen, fleet.sites_silent, fleet.tables_not_in_sync,
                         fleet.agents_by_version);
      if (failing)
        spdlog::info("server: fleet reports saved again");
      failing = false;
    } catch (const std::exception& e) {
      // Kept for the next round; a lost connection is opened again then.
      // (The gauges keep their last figures meanwhile.)
      reports_.put_back(std::move(contacts));
      store.reset();
      if (!failing)
        spdlog::warn("server: saving fleet reports failed, keeping them: {}", e.what());
      failing = true;
    }
  }
}

} // namespace tidesync::server
