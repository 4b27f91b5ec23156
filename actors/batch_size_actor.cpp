#include "actors/batch_size_actor.hpp"

#include "actors/blocking_pool.hpp"
#include "actors/messages.hpp"
#include "storage/state_store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tidesync::actors {

namespace {

/// How long outcomes gather before the history is written: one state write
/// per table per second at most, however many batches it sends.
constexpr std::chrono::seconds save_delay{1};

struct batch_size_state {
  std::shared_ptr<policy_batch_sizer> sizer;
  blocking_pool* pool = nullptr;
  bool save_due = false;
  static inline const char* name = "batch_size_actor";
};

caf::behavior batch_size_actor(caf::stateful_actor<batch_size_state>* self,
                               std::shared_ptr<policy_batch_sizer> sizer, blocking_pool* pool) {
  self->state.sizer = std::move(sizer);
  self->state.pool = pool;
  return {
    [=](next_size_atom) { return self->state.sizer->next_size(); },
    [=](min_size_atom) { return self->state.sizer->min_size(); },
    [=](record_atom, const sync::batch_outcome& outcome) {
      self->state.sizer->record_unsaved(outcome);
      if (!self->state.save_due) {
        self->state.save_due = true;
        self->delayed_send(self, save_delay, save_atom::value);
      }
    },
    [=](save_atom) {
      self->state.save_due = false;
      // The write blocks on the state file: a job of its own, on a copy of
      // the history, so the sizer keeps answering meanwhile.
      auto snapshot = std::make_shared<policy_batch_sizer>(*self->state.sizer);
      self->state.pool->post([snapshot] {
        try {
          snapshot->save();
        } catch (const std::exception& e) {
          spdlog::warn("saving a batch history failed: {}", e.what());
        }
      });
    },
  };
}

// Asks synchronously from the caller's thread: table_sync runs on a
// blocking_pool worker, never on a CAF scheduler thread.
class actor_batch_sizer : public batch_sizer {
public:
  actor_batch_sizer(caf::actor_system& system, caf::actor actor)
    : system_(system), actor_(std::move(actor)) {}

  std::size_t next_size() override { return ask(next_size_atom::value); }
  std::size_t min_size() override { return ask(min_size_atom::value); }

  void record(const sync::batch_outcome& outcome) override {
    caf::anon_send(actor_, record_atom::value, outcome);
  }

private:
  template <class Atom>
  std::size_t ask(Atom atom) {
    std::size_t size = 1;
    caf::scoped_actor self{system_};
    self->request(actor_, caf::infinite, atom)
      .receive([&](std::size_t answer) { size = answer; }, [](const caf::error&) {});
    return size;
  }

  caf::actor_system& system_;
  caf::actor actor_;
};

} // namespace

caf::actor spawn_batch_size_actor(caf::event_based_actor& parent, sync::batch_size_bounds bounds,
                                  storage::state_store* state, const std::string& database,
                                  const std::string& table, blocking_pool* pool) {
  auto sizer = std::make_shared<policy_batch_sizer>(bounds, state, database, table);
  return parent.spawn<caf::linked>(batch_size_actor, std::move(sizer), pool);
}

std::unique_ptr<batch_sizer> make_actor_batch_sizer(caf::actor_system& system, caf::actor actor) {
  return std::make_unique<actor_batch_sizer>(system, std::move(actor));
}

} // namespace tidesync::actors
