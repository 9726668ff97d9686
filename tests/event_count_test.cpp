// Waiting (include/shmq/detail/wait/event_count.hpp, runtime/futex.cpp) between threads: futex wake
// and deadline, the eventcount's no-lost-wakeup guarantee, and Queue verbs that block until
// another handle acts. Label `threads`: these run under TSan. Cross-process waiting is in
// queue_process_test.cpp.
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/access.hpp"
#include "shmq/detail/wait/event_count.hpp"
#include "shmq/detail/wait/futex.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Status;
using shmq::WaitPolicy;
using shmq::detail::Counters;
using shmq::detail::Deadline;
using shmq::detail::EventCountData;
using shmq::test::eventually;
using shmq::test::ScopedName;
using Clock = std::chrono::steady_clock;

// A policy that sleeps at once, in slices so long that only a wake can end a sleep early.
WaitPolicy sleep_only(std::chrono::milliseconds slice = 60s) {
  WaitPolicy p;
  p.spin_iterations = 0;
  p.sleep_slice = slice;
  return p;
}

// ---- futex ----

TEST(Futex, WaitReturnsAtOnceWhenTheWordDiffers) {
  std::atomic<std::uint32_t> word{1};
  const auto start = Clock::now();
  shmq::detail::futex_wait_until(word, 0, Clock::now() + 60s);
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST(Futex, TimedWaitReturnsAtItsDeadline) {
  std::atomic<std::uint32_t> word{0};
  const auto start = Clock::now();
  const Deadline deadline = start + 50ms;
  shmq::detail::futex_wait_until(word, 0, deadline);
  const auto end = Clock::now();
  EXPECT_GE(end, deadline);
  EXPECT_LT(end - start, 10s);
}

TEST(Futex, WaitWithAPastDeadlineReturnsAtOnce) {
  std::atomic<std::uint32_t> word{0};
  const auto start = Clock::now();
  shmq::detail::futex_wait_until(word, 0, start - 1s);
  shmq::detail::futex_wait_until(word, 0, Deadline::min());
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST(Futex, SleeperIsWokenByWake) {
  std::atomic<std::uint32_t> word{0};
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  std::thread sleeper([&] {
    tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    const Deadline far = Clock::now() + 60s;
    while (word.load() == 0 && Clock::now() < far)
      shmq::detail::futex_wait_until(word, 0, far);
    done.store(true);
  });
  // Asleep: the thread blocks in nothing but the futex.
  EXPECT_TRUE(shmq::test::wait_until(
      [&] { return tid.load() != 0 && shmq::test::thread_state(tid.load()) == 'S'; }));
  const auto start = Clock::now();
  word.store(1);
  shmq::detail::futex_wake(word, 1);
  EXPECT_TRUE(eventually([&] { return done.load(); }, 20s));
  sleeper.join();
  EXPECT_LT(Clock::now() - start, 20s) << "woken, not timed out";
}

// ---- eventcount ----

TEST(EventCount, NotifyWithoutWaitersReportsNobodyAndLeavesTheEpoch) {
  EventCountData ec{};
  EXPECT_LT(shmq::detail::notify_all(ec), 0) << "no sleeper registered: no syscall";
  EXPECT_EQ(ec.epoch.load(), 0U);
  shmq::detail::wake_all(ec);
  EXPECT_EQ(ec.epoch.load(), 1U) << "wake_all bumps the epoch regardless";
}

TEST(EventCount, SatisfiedConditionReturnsWithoutSleeping) {
  EventCountData ec{};
  Counters counters{};
  shmq::detail::SleepGate gate;
  const Status s = shmq::detail::wait_until(
      ec, sleep_only(), shmq::detail::Sleeper{counters, 1, gate}, Deadline::max(), Status::empty,
      [](bool) { return Status::ok; }, [] {});
  EXPECT_EQ(s, Status::ok);
  EXPECT_EQ(counters.sleeps.load(), 0U);
  EXPECT_EQ(ec.waiters.load(), 0U);
}

TEST(EventCount, TimedWaitReturnsTimeoutNoEarlierThanTheDeadline) {
  EventCountData ec{};
  Counters counters{};
  shmq::detail::SleepGate gate;
  const auto start = Clock::now();
  const Deadline deadline = start + 60ms;
  const Status s = shmq::detail::wait_until(
      ec, sleep_only(20ms), shmq::detail::Sleeper{counters, 1, gate}, deadline, Status::empty,
      [](bool) { return Status::empty; }, [] {});
  EXPECT_EQ(s, Status::timeout);
  EXPECT_GE(Clock::now(), deadline);
  EXPECT_LT(Clock::now() - start, 10s);
  EXPECT_EQ(counters.timeouts.load(), 1U);
  EXPECT_GE(counters.sleeps.load(), 1U);
  EXPECT_EQ(ec.waiters.load(), 0U) << "a finished waiter deregisters";
}

TEST(EventCount, SleeperIsWokenByNotify) {
  EventCountData ec{};
  std::atomic<bool> ready{false};
  Status result = Status::corrupt;
  Counters counters{};
  shmq::detail::SleepGate gate;
  std::thread waiter([&] {
    result = shmq::detail::wait_until(
        ec, sleep_only(), shmq::detail::Sleeper{counters, 1, gate}, Clock::now() + 60s,
        Status::empty, [&](bool) { return ready.load() ? Status::ok : Status::empty; }, [] {});
  });
  ASSERT_TRUE(eventually([&] { return ec.waiters.load() > 0; })) << "the waiter registered";
  const auto start = Clock::now();
  ready.store(true);
  EXPECT_GE(shmq::detail::notify_all(ec), 0) << "a registered waiter is seen";
  waiter.join();
  EXPECT_EQ(result, Status::ok);
  EXPECT_LT(Clock::now() - start, 20s) << "woken, not ended by its 60 s slice";
  EXPECT_EQ(ec.waiters.load(), 0U);
}

TEST(EventCount, OneNotifyWakesEverySleeper) {
  EventCountData ec{};
  std::atomic<bool> ready{false};
  std::atomic<int> woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&, i] {
      Counters counters{};
      shmq::detail::SleepGate gate;  // three handles: three registry bits
      const Status s = shmq::detail::wait_until(
          ec, sleep_only(), shmq::detail::Sleeper{counters, 1ULL << i, gate}, Clock::now() + 60s,
          Status::empty, [&](bool) { return ready.load() ? Status::ok : Status::empty; }, [] {});
      if (s == Status::ok) woken.fetch_add(1);
    });
  }
  ASSERT_TRUE(eventually([&] { return ec.waiters.load() == 7; }));
  const auto start = Clock::now();
  ready.store(true);
  EXPECT_GE(shmq::detail::notify_all(ec), 0);
  for (auto& t : waiters)
    t.join();
  EXPECT_EQ(woken.load(), 3);
  EXPECT_LT(Clock::now() - start, 20s);
}

// Threads of one handle share its waiters bit (a duplex pipe end with a sending and a receiving
// thread, or two getters on one handle): the bit stays set while any of them sleeps, so a
// thread that wakes and leaves never deregisters one that still sleeps.
TEST(EventCount, ThreadsOfOneHandleKeepTheirSharedBitWhileAnyOfThemSleeps) {
  EventCountData ec{};
  shmq::detail::SleepGate gate;
  std::atomic<int> go_first{0};
  std::atomic<int> go_second{0};
  auto sleeper = [&](std::atomic<int>& go) {
    Counters counters{};
    return shmq::detail::wait_until(
        ec, sleep_only(), shmq::detail::Sleeper{counters, 1ULL << 5, gate}, Clock::now() + 60s,
        Status::empty, [&](bool) { return go.load() != 0 ? Status::ok : Status::empty; }, [] {});
  };
  std::thread first([&] { EXPECT_EQ(sleeper(go_first), Status::ok); });
  std::thread second([&] { EXPECT_EQ(sleeper(go_second), Status::ok); });
  ASSERT_TRUE(eventually([&] { return gate.sleepers(ec) == 2; })) << "both registered";
  go_first.store(1);
  shmq::detail::notify_all(ec);
  first.join();
  // The notify woke the second thread too: it re-checks and registers again.
  // (Read together: the second thread re-registers after each slice, and in between its
  // count and bit are both down for an instant.)
  ASSERT_TRUE(eventually([&] { return gate.sleepers(ec) == 1 && ec.waiters.load() == 1ULL << 5; }))
      << "the second thread sleeps: its bit stays";
  go_second.store(1);
  EXPECT_GE(shmq::detail::notify_all(ec), 0) << "the second sleeper is seen";
  second.join();
  EXPECT_EQ(ec.waiters.load(), 0U);
}

// Two threads hand a token back and forth through two eventcounts, sleeping every time. A lost
// wakeup would leave one side asleep for its whole 60 s slice.
TEST(EventCount, PingPongNeverLosesAWakeup) {
  EventCountData to_b{};
  EventCountData to_a{};
  std::atomic<int> turn{0};  // even: A's turn, odd: B's turn
  constexpr int kRounds = 2000;
  const auto start = Clock::now();
  auto player = [&](int parity, EventCountData& mine, EventCountData& theirs) {
    Counters counters{};
    shmq::detail::SleepGate gate;
    for (int i = parity; i < 2 * kRounds; i += 2) {
      const Status s = shmq::detail::wait_until(
          mine, sleep_only(), shmq::detail::Sleeper{counters, 1, gate}, Clock::now() + 60s,
          Status::empty, [&](bool) { return turn.load() == i ? Status::ok : Status::empty; },
          [] {});
      if (s != Status::ok) return;
      turn.store(i + 1);
      shmq::detail::notify_all(theirs);
    }
  };
  std::thread a(player, 0, std::ref(to_a), std::ref(to_b));
  std::thread b(player, 1, std::ref(to_b), std::ref(to_a));
  a.join();
  b.join();
  EXPECT_EQ(turn.load(), 2 * kRounds);
  EXPECT_LT(Clock::now() - start, 50s);
}

// ---- Queue verbs that block until another handle acts (one handle per thread) ----

shmq::QueueOptions blocking_options(std::uint64_t capacity) {
  shmq::QueueOptions o;
  o.capacity = capacity;
  o.wait = sleep_only();
  return o;
}

std::uint64_t total_sleeps(const shmq::Queue<int>& q) {
  std::uint64_t n = 0;
  for (std::uint32_t i = 0; i < shmq::detail::kRegistryCapacity; ++i) {
    n += shmq::detail::core_of(q).segment().entry(i).counters.sleeps.load();
  }
  return n;
}

TEST(QueueWaiting, BlockedGetIsWokenByAPutFromAnotherHandle) {
  ScopedName name("ec-get");
  auto q = shmq::Queue<int>::create(name.str(), blocking_options(4));
  std::atomic<bool> done{false};
  int got = 0;
  Status s = Status::corrupt;
  std::thread getter([&] {
    auto mine = shmq::Queue<int>::open(name.str(), sleep_only());
    s = mine.get(got);
    done.store(true);
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; })) << "the getter went to sleep";
  EXPECT_FALSE(done.load());
  ASSERT_EQ(q.try_put(42), Status::ok);
  getter.join();
  EXPECT_EQ(s, Status::ok);
  EXPECT_EQ(got, 42);
}

TEST(QueueWaiting, BlockedPutIsWokenByAGetFromAnotherHandle) {
  ScopedName name("ec-put");
  auto q = shmq::Queue<int>::create(name.str(), blocking_options(2));
  ASSERT_EQ(q.try_put(1), Status::ok);
  ASSERT_EQ(q.try_put(2), Status::ok);
  Status s = Status::corrupt;
  std::thread putter([&] {
    auto mine = shmq::Queue<int>::open(name.str(), sleep_only());
    s = mine.put(3);
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; }));
  int v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  putter.join();
  EXPECT_EQ(s, Status::ok);
  for (const int expected : {2, 3}) {
    ASSERT_EQ(q.try_get(v), Status::ok);
    EXPECT_EQ(v, expected);
  }
}

TEST(QueueWaiting, CloseWakesBlockedGettersAndPuttersWithClosed) {
  ScopedName empty_name("ec-close-get");
  ScopedName full_name("ec-close-put");
  auto empty = shmq::Queue<int>::create(empty_name.str(), blocking_options(2));
  auto full = shmq::Queue<int>::create(full_name.str(), blocking_options(2));
  ASSERT_EQ(full.try_put(1), Status::ok);
  ASSERT_EQ(full.try_put(2), Status::ok);
  Status get_status = Status::ok;
  Status put_status = Status::ok;
  std::thread getter([&] {
    auto mine = shmq::Queue<int>::open(empty_name.str(), sleep_only());
    int v = 0;
    get_status = mine.get(v);
  });
  std::thread putter([&] {
    auto mine = shmq::Queue<int>::open(full_name.str(), sleep_only());
    put_status = mine.put(3);
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(empty) > 0 && total_sleeps(full) > 0; }));
  const auto start = Clock::now();
  empty.close();
  full.close();
  getter.join();
  putter.join();
  EXPECT_EQ(get_status, Status::closed);
  EXPECT_EQ(put_status, Status::closed);
  EXPECT_LT(Clock::now() - start, 20s) << "woken, not ended by the 60 s slice";
}

TEST(QueueWaiting, BlockingBatchAndPeekWaitForMessages) {
  ScopedName name("ec-batch");
  auto q = shmq::Queue<int>::create(name.str(), blocking_options(4));
  std::size_t got = 0;
  std::array<int, 3> out{};
  Status many = Status::corrupt;
  Status peek = Status::corrupt;
  int peeked = 0;
  std::atomic<bool> first_done{false};
  std::thread getter([&] {
    auto mine = shmq::Queue<int>::open(name.str(), sleep_only());
    many = mine.get_many(out, got);
    first_done.store(true);
    shmq::Queue<int>::GetClaim claim;
    peek = mine.get(claim);
    if (peek == Status::ok) std::memcpy(&peeked, claim.data().data(), sizeof(int));
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; }));
  ASSERT_EQ(q.try_put(7), Status::ok);
  ASSERT_TRUE(eventually([&] { return first_done.load(); }));
  ASSERT_TRUE(eventually([&] {
    return shmq::detail::core_of(q).control().not_empty.waiters.load() > 0;
  })) << "waiting again, in peek";
  ASSERT_EQ(q.try_put(8), Status::ok);
  getter.join();
  EXPECT_EQ(many, Status::ok);
  EXPECT_EQ(got, 1U);
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(peek, Status::ok);
  EXPECT_EQ(peeked, 8);
}

// Adaptive spinning: a wait that spun in vain and slept halves the handle's budget (down to
// kMinSpin); a wait that ended while spinning keeps at least twice the rounds it needed.
TEST(EventCount, SpinBudgetHalvesAfterSleepingAndGrowsBackWhenSpinningPays) {
  EventCountData ec{};
  Counters counters{};
  shmq::detail::SleepGate gate;
  shmq::detail::SpinBudget spin;
  std::uint32_t& budget = spin.rounds;
  // No time bound: these count rounds (the time bound has its own tests below).
  const WaitPolicy policy{.spin_iterations = 1024, .sleep_slice = 1ms, .spin_limit = 1h};
  const shmq::detail::Sleeper me{counters, 1, gate, &spin};
  int calls = 0;
  // Never ready: spins the whole budget, then times out asleep.
  EXPECT_EQ(shmq::detail::wait_until(
                ec, policy, me, Clock::now() + 2ms, Status::empty,
                [&](bool) {
                  ++calls;
                  return Status::empty;
                },
                [] {}),
            Status::timeout);
  EXPECT_EQ(budget, 512U);
  EXPECT_GE(calls, 1 + 1024);
  for (int i = 0; i < 10; ++i) {
    (void)shmq::detail::wait_until(
        ec, policy, me, Clock::now(), Status::empty, [](bool) { return Status::empty; }, [] {});
  }
  EXPECT_EQ(budget, shmq::detail::kMinSpin);
  // Ready just after the spin gives up (at the re-check before sleeping): the budget doubles,
  // back to the policy's within a few waits.
  for (int i = 0; i < 8; ++i) {
    const std::uint32_t ready_at = budget + 2;  // the first try, the spin, then the re-check
    std::uint32_t tries = 0;
    EXPECT_EQ(shmq::detail::wait_until(
                  ec, policy, me, Clock::now() + 1s, Status::empty,
                  [&](bool) { return ++tries >= ready_at ? Status::ok : Status::empty; }, [] {}),
              Status::ok);
  }
  EXPECT_EQ(budget, 1024U);
  // Ready within the spin: the budget keeps at least twice the rounds it needed.
  budget = 64;
  std::uint32_t tries = 0;
  EXPECT_EQ(shmq::detail::wait_until(
                ec, policy, me, Clock::now() + 1s, Status::empty,
                [&](bool) { return ++tries > 50 ? Status::ok : Status::empty; }, [] {}),
            Status::ok);
  EXPECT_EQ(budget, 100U);
  EXPECT_LE(budget, 1024U);
}

// Wake-one with a pending wake: while a woken sleeper has not come back from its futex wait, more
// wake-ones make no syscall; the sleeper clears the flag when it returns, and one that succeeds
// passes a wake on to the others (they may be owed a change the skipped notifiers published).
TEST(EventCount, AWakeOneWhileAWakeIsPendingMakesNoSyscallAndTheWokenClearsIt) {
  EventCountData ec{};
  Counters counters{};
  shmq::detail::SleepGate gate;
  const WaitPolicy policy{.spin_iterations = 0, .sleep_slice = 250ms};
  // No sleeper in the kernel: nobody to clear the flag, so it is not left set.
  ec.waiters.store(1);
  EXPECT_EQ(shmq::detail::wake_one(ec), 0);
  EXPECT_EQ(ec.wake_pending.load(), 0U);
  ec.waiters.store(0);

  std::atomic<bool> ready{false};
  std::atomic<int> result{-1};
  std::atomic<pid_t> tid{0};
  std::thread sleeper([&] {
    tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    const shmq::detail::Sleeper me{counters, 1, gate, nullptr};
    const Status s = shmq::detail::wait_until(
        ec, policy, me, Clock::now() + 30s, Status::empty,
        [&](bool) { return ready.load() ? Status::ok : Status::empty; }, [] {});
    result.store(static_cast<int>(s));
  });
  ASSERT_TRUE(eventually([&] {
    return counters.sleeps.load() > 0 && shmq::test::thread_state(tid.load()) == 'S';
  })) << "the sleeper is in its futex wait";
  ready.store(true);
  ASSERT_TRUE(shmq::detail::has_registered(ec));
  const long first = shmq::detail::wake_one(ec);
  const long second = shmq::detail::wake_one(ec);  // before or after the sleeper is back
  sleeper.join();
  EXPECT_EQ(result.load(), static_cast<int>(Status::ok));
  EXPECT_GE(first, 0) << "the first wake-one wakes (or finds it already awake)";
  if (first == 1) {
    EXPECT_TRUE(second == -1 || second == 0) << "no second wake while one pends";
  }
  EXPECT_EQ(ec.wake_pending.load(), 0U) << "the woken sleeper cleared the flag";
  EXPECT_EQ(ec.waiters.load(), 0U);
}

// A spin is bounded by time as well as by rounds: with a round budget that would last minutes,
// a wait that is never answered still reaches its sleep (and its deadline).
TEST(EventCount, ASpinGivesUpAtItsTimeLimitWhateverItsRounds) {
  EventCountData ec{};
  Counters counters{};
  shmq::detail::SleepGate gate;
  shmq::detail::SpinBudget spin;
  const WaitPolicy policy{
      .spin_iterations = 0xFFFFFFFFU, .sleep_slice = 1ms, .adaptive = false, .spin_limit = 50us};
  const shmq::detail::Sleeper me{counters, 1, gate, nullptr};
  EXPECT_EQ(shmq::detail::wait_until(
                ec, policy, me, Clock::now() + 20ms, Status::empty,
                [](bool) { return Status::empty; }, [] {}),
            Status::timeout);
  EXPECT_GT(counters.sleeps.load(), 0U) << "the spin ended and the waiter slept";
  (void)spin;
}

// A wait answered while spinning, but only after the spin's time limit (its spinner was
// descheduled meanwhile), did not pay: it halves the budget instead of growing it.
TEST(EventCount, AnAnswerThatCameAfterTheTimeLimitCountsAsAFailedSpin) {
  EventCountData ec{};
  Counters counters{};
  shmq::detail::SleepGate gate;
  const auto wait_answered_at = [&](std::uint32_t at, bool late) {
    shmq::detail::SpinBudget spin;
    spin.rounds = 1000;
    spin.waits = 1;  // not a probe
    // In time: a limit no scheduler delay reaches; late: an answer 5 ms after a 1 ms limit.
    const WaitPolicy policy{
        .spin_iterations = 1000, .sleep_slice = 1ms, .spin_limit = late ? 1ms : 1h};
    const shmq::detail::Sleeper me{counters, 1, gate, &spin};
    std::uint32_t tries = 0;
    EXPECT_EQ(shmq::detail::wait_until(
                  ec, policy, me, Clock::now() + 10s, Status::empty,
                  [&](bool) {
                    if (++tries < at) return Status::empty;
                    // deliberate-sleep: stands for the spinner being descheduled past the limit.
                    if (late) std::this_thread::sleep_for(5ms);
                    return Status::ok;
                  },
                  [] {}),
              Status::ok);
    return spin.rounds;
  };
  // Answered at round ~200 (past the untimed rounds, so the clock is read).
  EXPECT_EQ(wait_answered_at(200, false), 1000U) << "in time: keeps its budget";
  EXPECT_LE(wait_answered_at(200, true), 100U) << "late: halved to about half its rounds";
}

// A peer that answers a little after the budget's spin ends would keep every wait asleep: every
// kProbeEvery-th wait spins the policy's full count, and a probe that succeeds lifts the budget.
TEST(EventCount, AProbeWithTheFullSpinLiftsABudgetThatWasTooShort) {
  EventCountData ec{};
  Counters counters{};
  shmq::detail::SleepGate gate;
  shmq::detail::SpinBudget spin;
  spin.rounds = shmq::detail::kMinSpin;
  // No time bound: these count rounds (the time bound has its own tests below).
  const WaitPolicy policy{.spin_iterations = 1024, .sleep_slice = 1ms, .spin_limit = 1h};
  const shmq::detail::Sleeper me{counters, 1, gate, &spin};
  std::uint32_t slept = 0;
  for (std::uint32_t wait = 0; wait < shmq::detail::kProbeEvery; ++wait) {
    std::uint32_t tries = 0;
    std::uint32_t rechecks = 0;
    const std::uint64_t sleeps_before = counters.sleeps.load();
    // Ready at the 100th try; a wait that gave up spinning finds it after one slice asleep (the
    // re-check before sleeping is too early, so the budget is not doubled by it).
    EXPECT_EQ(shmq::detail::wait_until(
                  ec, policy, me, Clock::now() + 1s, Status::empty,
                  [&](bool asleep) {
                    if (asleep) return ++rechecks >= 2 ? Status::ok : Status::empty;
                    return ++tries >= 100 ? Status::ok : Status::empty;
                  },
                  [] {}),
              Status::ok);
    slept += counters.sleeps.load() != sleeps_before ? 1 : 0;
  }
  EXPECT_GE(spin.rounds, 2U * 99U) << "the probe found the answer after 99 rounds";
  EXPECT_GE(slept, 1U) << "the waits before the probe gave up spinning";
  std::uint32_t tries = 0;
  EXPECT_EQ(shmq::detail::wait_until(
                ec, policy, me, Clock::now() + 1s, Status::empty,
                [&](bool asleep) {
                  EXPECT_FALSE(asleep) << "spinning catches it now";
                  return ++tries >= 100 ? Status::ok : Status::empty;
                },
                [] {}),
            Status::ok);
  // A probe that fails does not raise the budget.
  spin.rounds = 64;
  spin.waits = shmq::detail::kProbeEvery - 1;
  (void)shmq::detail::wait_until(
      ec, policy, me, Clock::now(), Status::empty, [](bool) { return Status::empty; }, [] {});
  EXPECT_EQ(spin.rounds, 64U);
}

}  // namespace
