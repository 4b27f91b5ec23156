#include "actors/batch_size_actor.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>

namespace tidesync::actors {

namespace {

struct batch_size_state {
  std::shared_ptr<policy_batch_sizer> sizer;
  static inline const char* name = "batch_size_actor";
};

caf::behavior batch_size_actor(caf::stateful_actor<batch_size_state>* self,
                               std::shared_ptr<policy_batch_sizer> sizer) {
  self->state.sizer = std::move(sizer);
  return {
    [=](next_size_atom) { return self->state.sizer->next_size(); },
    [=](min_size_atom) { return self->state.sizer->min_size(); },
    [=](record_atom, const sync::batch_outcome& outcome) { self->state.sizer->record(outcome); },
  };
}

// Asks synchronously from the caller's thread; the table actor is detached,
// so waiting here blocks no scheduler thread.
class actor_batch_sizer : public batch_sizer {
public:
  actor_batch_sizer(caf::actor_system& system, caf::actor actor)
    : system_(system), actor_(std::move(actor)) {}

  std::size_t next_size() override { return ask(next_size_atom::value); }
  std::size_t min_size() override { return ask(min_size_atom::value); }

  void record(const sync::batch_outcome& outcome) override {
    caf::scoped_actor self{system_};
    self->request(actor_, caf::infinite, record_atom::value, outcome)
      .receive([] {}, [](const caf::error&) {});
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
                                  const std::string& table) {
  auto sizer = std::make_shared<policy_batch_sizer>(bounds, state, database, table);
  // Each record writes the history to the state file (an fsync): blocking
  // I/O, so this actor gets its own thread like the table actors.
  return parent.spawn<caf::detached + caf::linked>(batch_size_actor, std::move(sizer));
}

std::unique_ptr<batch_sizer> make_actor_batch_sizer(caf::actor_system& system, caf::actor actor) {
  return std::make_unique<actor_batch_sizer>(system, std::move(actor));
}

} // namespace tidesync::actors
