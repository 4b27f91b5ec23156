#include "actors/change_watcher.hpp"

#include "actors/change_set.hpp"
#include "metrics/agent_metrics.hpp"
#include "storage/change_listener.hpp"
#include "storage/source.hpp"
#include "storage/version_tracking.hpp"

#include <spdlog/spdlog.h>

#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <thread>

namespace tidesync::actors {

namespace {

using clock = std::chrono::steady_clock;

// Backoff between attempts to (re)open a listening connection.
constexpr std::chrono::milliseconds listen_retry_first{250};
constexpr std::chrono::milliseconds listen_retry_max{30'000};

// What a write to a SQLite database, its WAL or its rollback journal shows as.
// Not IN_CREATE/IN_DELETE: a reader may create and remove the -wal, and the
// agent must not wake itself.
constexpr std::uint32_t sqlite_write_events = IN_MODIFY | IN_MOVED_TO;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

/// A descriptor closed on destruction.
class owned_fd {
public:
  explicit owned_fd(int fd = -1) : fd_(fd) {}
  ~owned_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

struct pg_watch {
  pg_watch(std::size_t database, const std::string& url)
    : database(database), listener(url, storage::version_notify_channel) {}

  std::size_t database;
  storage::pg_change_listener listener;
  clock::time_point retry_at{};
  std::chrono::milliseconds backoff = listen_retry_first;
  bool ever_listened = false;
  bool outage_logged = false;
};

struct file_watch {
  std::size_t database;
  int wd;
  std::array<std::string, 3> names;  // the file, -wal, -journal
};

class poll_change_watcher final : public change_watcher {
public:
  poll_change_watcher(const config::agent_config& config, change_set& changes,
                      metrics::agent_metrics* metrics)
    : config_(config), changes_(changes), metrics_(metrics),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (stop_fd_.get() < 0)
      throw_errno("change watcher: eventfd");
    for (std::size_t d = 0; d < config.databases.size(); ++d) {
      const auto& source = config.databases[d].source;
      try {
        const auto kind = storage::source_kind(source);
        if (kind == "sqlite")
          watch_file(d, storage::sqlite_path(source));
        else if (kind == "postgresql")
          pg_.push_back(std::make_unique<pg_watch>(d, source));
      } catch (const storage::storage_error& e) {
        // The table actors report the URL; a source nothing can watch still cycles every interval.
        spdlog::warn("{}: not watched for changes: {}", config.databases[d].name, e.what());
      }
    }
    thread_ = std::thread([this] { loop(); });
  }

  ~poll_change_watcher() override {
    const std::uint64_t one = 1;
    if (::write(stop_fd_.get(), &one, sizeof one) < 0)
      spdlog::warn("change watcher: can't signal its thread to stop");
    thread_.join();
  }

private:
  void watch_file(std::size_t database, const std::string& path) {
    const auto& name = config_.databases[database].name;
    if (inotify_->get() < 0) {
      inotify_ = std::make_unique<owned_fd>(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
      if (inotify_->get() < 0)
        throw_errno("change watcher: inotify_init1");
    }
    const std::filesystem::path file{path};
    auto directory = file.parent_path().string();
    // The directory, not the file: the -wal and -journal come and go.
    int wd = ::inotify_add_watch(inotify_->get(), directory.c_str(), sqlite_write_events);
    if (wd < 0) {
      spdlog::warn("{}: can't watch {} for changes ({}); the interval alone wakes it", name,
                   directory, std::error_code(errno, std::generic_category()).message());
      return;
    }
    auto base = file.filename().string();
    files_.push_back(file_watch{database, wd, {base, base + "-wal", base + "-journal"}});
  }

  void loop();
  int poll_timeout() const;
  void read_file_events();
  void on_pg_ready(pg_watch& watch);
  void start_due_listeners();
  void schedule_retry(pg_watch& watch);

  const config::agent_config& config_;
  change_set& changes_;
  metrics::agent_metrics* metrics_;
  owned_fd stop_fd_;
  std::unique_ptr<owned_fd> inotify_ = std::make_unique<owned_fd>();
  std::vector<std::unique_ptr<pg_watch>> pg_;
  std::vector<file_watch> files_;
  std::thread thread_;  // last: starts when everything above exists
};

void poll_change_watcher::loop() {
  for (auto& watch : pg_)
    watch->retry_at = clock::now();
  std::vector<pollfd> fds;
  std::vector<pg_watch*> polled;
  for (;;) {
    start_due_listeners();
    fds.assign({pollfd{stop_fd_.get(), POLLIN, 0}, pollfd{inotify_->get(), POLLIN, 0}});
    polled.clear();
    for (auto& watch : pg_)
      if (int fd = watch->listener.socket(); fd >= 0) {
        fds.push_back(pollfd{fd, static_cast<short>(watch->listener.wants_write() ? POLLOUT : POLLIN), 0});
        polled.push_back(watch.get());
      }
    if (::poll(fds.data(), fds.size(), poll_timeout()) < 0 && errno != EINTR) {
      spdlog::error("change watcher: poll failed: {}; notification stops, the interval remains",
                    std::error_code(errno, std::generic_category()).message());
      return;
    }
    if (fds[0].revents != 0)
      return;
    if (fds[1].revents != 0)
      read_file_events();
    for (std::size_t i = 0; i < polled.size(); ++i)
      if (fds[i + 2].revents != 0)
        on_pg_ready(*polled[i]);
  }
}

int poll_change_watcher::poll_timeout() const {
  auto wait = clock::duration::max();
  const auto now = clock::now();
  for (const auto& watch : pg_)
    if (watch->listener.socket() < 0)
      wait = std::min(wait, std::max(clock::duration::zero(), watch->retry_at - now));
  if (wait == clock::duration::max())
    return -1;
  // Round up, so a retry is not attempted a moment early and polled again at once.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

void poll_change_watcher::read_file_events() {
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    const auto got = ::read(inotify_->get(), buffer, sizeof buffer);
    if (got <= 0)
      return;  // EAGAIN: drained
    for (std::size_t at = 0; at < static_cast<std::size_t>(got);) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += sizeof(inotify_event) + event->len;
      if ((event->mask & IN_Q_OVERFLOW) != 0)  // events were dropped: any file may have changed
        for (const auto& file : files_)
          changes_.mark_database(file.database);
      if (event->len == 0)
        continue;
      const std::string name{event->name};
      for (const auto& file : files_)
        if (file.wd == event->wd &&
            std::find(file.names.begin(), file.names.end(), name) != file.names.end())
          changes_.mark_database(file.database);
    }
  }
}

void poll_change_watcher::on_pg_ready(pg_watch& watch) {
  const auto& database = config_.databases[watch.database];
  auto step = watch.listener.on_ready();
  if (step.started_listening) {
    spdlog::info("{}: {} for committed changes", database.name,
                 watch.ever_listened ? "listening again" : "listening");
    watch.ever_listened = true;
    watch.outage_logged = false;
    watch.backoff = listen_retry_first;
    if (metrics_ != nullptr)
      metrics_->set_listening(database.name, true);
    // Changes committed while nobody listened were not announced.
    changes_.mark_database(watch.database);
  }
  for (const auto& payload : step.payloads)
    for (auto table : tables_woken_by(database, payload))
      changes_.mark_table(watch.database, table);
  if (step.failed)
    schedule_retry(watch);
}

void poll_change_watcher::start_due_listeners() {
  const auto now = clock::now();
  for (auto& watch : pg_)
    if (watch->listener.socket() < 0 && now >= watch->retry_at && !watch->listener.start())
      schedule_retry(*watch);
}

void poll_change_watcher::schedule_retry(pg_watch& watch) {
  const auto& name = config_.databases[watch.database].name;
  spdlog::log(watch.outage_logged ? spdlog::level::debug : spdlog::level::warn,
              "{}: change notification unavailable ({}); retrying in {} ms, the interval "
              "covers the gap",
              name, watch.listener.error(), watch.backoff.count());
  watch.outage_logged = true;
  if (metrics_ != nullptr)
    metrics_->set_listening(name, false);
  watch.retry_at = clock::now() + watch.backoff;
  watch.backoff = std::min(watch.backoff * 2, listen_retry_max);
}

} // namespace

std::unique_ptr<change_watcher> start_change_watcher(const config::agent_config& config,
                                                     change_set& changes,
                                                     metrics::agent_metrics* metrics) {
  return std::make_unique<poll_change_watcher>(config, changes, metrics);
}

std::vector<std::size_t> tables_woken_by(const config::database_config& database,
                                         const std::string& payload) {
  std::vector<std::size_t> woken;
  for (std::size_t t = 0; t < database.tables.size(); ++t)
    if (database.tables[t].name == payload)
      woken.push_back(t);
  if (woken.empty())
    for (std::size_t t = 0; t < database.tables.size(); ++t)
      woken.push_back(t);
  return woken;
}

} // namespace tidesync::actors
