// The agent's pools: blocking_pool (fixed worker threads) and lending_pool
// (at most N connections or clients, lent one borrower at a time).
#include "actors/blocking_pool.hpp"
#include "actors/lending_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tidesync::actors {
namespace {

using namespace std::chrono_literals;

struct connection {
  int serial = 0;
};

TEST(LendingPool, NeverLendsMoreThanItsLimitAtOnceAndKeepsWhatItMade) {
  std::atomic<int> made{0};
  lending_pool<connection> pool{[&] { return std::make_unique<connection>(connection{++made}); },
                                3};
  std::atomic<int> lent{0};
  std::atomic<int> most{0};
  std::vector<std::thread> borrowers;
  for (int b = 0; b < 8; ++b)
    borrowers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto loan = pool.borrow();
        auto now = ++lent;
        for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::yield();
        --lent;
      }
    });
  for (auto& borrower : borrowers)
    borrower.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 2);  // the borrowers did overlap
  EXPECT_LE(made.load(), 3);  // returned connections are lent again, not made anew
  EXPECT_EQ(pool.open(), static_cast<std::size_t>(made.load()));
}

TEST(LendingPool, ADiscardedObjectIsClosedAndAFreshOneMadeForTheNextBorrower) {
  int made = 0;
  lending_pool<connection> pool{[&] { return std::make_unique<connection>(connection{++made}); },
                                1};
  {
    auto loan = pool.borrow();
    EXPECT_EQ(loan->serial, 1);
    loan.discard();
  }
  EXPECT_EQ(pool.open(), 0u);
  auto loan = pool.borrow();
  EXPECT_EQ(loan->serial, 2);
}

TEST(LendingPool, KeepsOnlyKeepIdleOfWhatComesBackAndLendsUpToItsLimit) {
  int made = 0;
  lending_pool<connection> pool{[&] { return std::make_unique<connection>(connection{++made}); },
                                2, 1};
  {
    auto first = pool.borrow();
    auto second = pool.borrow();  // two at once: the limit, not keep_idle, bounds loans
    EXPECT_EQ(pool.open(), 2u);
  }
  EXPECT_EQ(pool.open(), 1u);  // the second returned was closed
  auto again = pool.borrow();
  EXPECT_EQ(made, 2);  // the kept one is lent again
}

TEST(LendingPool, AFailureToMakeOneFreesItsPlace) {
  int attempts = 0;
  lending_pool<connection> pool{[&]() -> std::unique_ptr<connection> {
                                  if (++attempts == 1)
                                    throw std::runtime_error("refused");
                                  return std::make_unique<connection>();
                                },
                                1};
  EXPECT_THROW(pool.borrow(), std::runtime_error);
  auto loan = pool.borrow();  // would wait forever if the failed attempt kept its place
  EXPECT_EQ(attempts, 2);
}

TEST(BlockingPool, RunsEveryJobOnItsFixedThreads) {
  std::mutex mutex;
  std::condition_variable finished;
  std::set<std::thread::id> threads;
  int done = 0;
  {
    blocking_pool pool{3};
    EXPECT_EQ(pool.threads(), 3u);
    for (int i = 0; i < 60; ++i)
      pool.post([&] {
        std::this_thread::sleep_for(1ms);
        std::lock_guard lock{mutex};
        threads.insert(std::this_thread::get_id());
        ++done;
        finished.notify_all();
      });
    std::unique_lock lock{mutex};
    EXPECT_TRUE(finished.wait_for(lock, 30s, [&] { return done == 60; }));
  }
  EXPECT_LE(threads.size(), 3u);
  EXPECT_FALSE(threads.count(std::this_thread::get_id()));
}

TEST(BlockingPool, AThrowingJobLeavesTheWorkerRunning) {
  std::atomic<bool> ran{false};
  {
    blocking_pool pool{1};
    pool.post([] { throw std::runtime_error("job failed"); });
    pool.post([&] { ran = true; });
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         !ran && std::chrono::steady_clock::now() < deadline;)
      std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(ran.load());
}

} // namespace
} // namespace tidesync::actors
