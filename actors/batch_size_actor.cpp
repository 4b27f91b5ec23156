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

/// The policy and whether it holds outcomes not saved yet; shared with the
/// actor's exit, which saves them.
struct batch_history {
  std::shared_ptr<policy_batch_sizer> sizer;
  bool unsaved = false;
  bool save_due = false;  // a save_atom is on its way
};

struct batch_size_state {
  std::shared_ptr<batch_history> history;
  blocking_pool* pool = nullptr;
  static inline const char* name = "batch_size_actor";
};

batch_size_actor_hdl::behavior_type
batch_size_actor(batch_size_actor_hdl::stateful_pointer<batch_size_state> self,
                 std::shared_ptr<policy_batch_sizer> sizer, blocking_pool* pool) {
  auto history = std::make_shared<batch_history>();
  history->sizer = std::move(sizer);
  self->state.history = history;
  self->state.pool = pool;
  // What the last second recorded is saved as the actor ends (the agent
  // stopping, --once done): the only state write on a scheduler thread.
  self->attach_functor([history](const caf::error&) {
    if (!history->unsaved)
      return;
    try {
      history->sizer->save();
    } catch (const std::exception& e) {
      spdlog::warn("saving a batch history failed: {}", e.what());
    }
  });
  return {
    [=](next_size_atom) -> std::size_t { return self->state.history->sizer->next_size(); },
    [=](min_size_atom) -> std::size_t { return self->state.history->sizer->min_size(); },
    [=](record_atom, const sync::batch_outcome& outcome) {
      auto& history = *self->state.history;
      history.sizer->record_unsaved(outcome);
      history.unsaved = true;
      if (!history.save_due) {
        history.save_due = true;
        self->delayed_send(self, save_delay, save_atom::value);
      }
    },
    [=](save_atom) {
      auto& history = *self->state.history;
      history.save_due = false;
      history.unsaved = false;
      // The write blocks on the state file: a job of its own, on a copy of
      // the history, so the sizer keeps answering meanwhile.
      auto snapshot = std::make_shared<policy_batch_sizer>(*history.sizer);
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
  actor_batch_sizer(caf::actor_system& system, batch_size_actor_hdl actor)
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
  batch_size_actor_hdl actor_;
};

} // namespace

batch_size_actor_hdl spawn_batch_size_actor(caf::local_actor& parent,
                                            sync::batch_size_bounds bounds,
                                            storage::state_store* state,
                                            const std::string& database,
                                            const std::string& table, blocking_pool* pool) {
  auto sizer = std::make_shared<policy_batch_sizer>(bounds, state, database, table);
  return parent.spawn<caf::linked>(batch_size_actor, std::move(sizer), pool);
}

std::unique_ptr<batch_sizer> make_actor_batch_sizer(caf::actor_system& system,
                                                    batch_size_actor_hdl actor) {
  return std::make_unique<actor_batch_sizer>(system, std::move(actor));
}

} // namespace tidesync::actors
