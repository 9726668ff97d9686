// Queue<T> between processes (label `process`): a sleeper in one process is woken by a put, a get
// or a close in another (the futex is shared, not private), and single roles held by a process
// that was SIGKILLed are taken over while a stopped holder keeps them.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/access.hpp"
#include "shmq/detail/wait/asymmetric_fence.hpp"
#include "shmq/inspect.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Consumers;
using shmq::Errc;
using shmq::Producers;
using shmq::Queue;
using shmq::Status;
using shmq::WaitPolicy;
using shmq::detail::core_of;
using shmq::test::Child;
using shmq::test::eventually;
using shmq::test::expect_error;
using shmq::test::FdPipe;
using shmq::test::ScopedName;
using Clock = std::chrono::steady_clock;

// Sleeps at once, in slices so long (60 s) that only a wake ends a sleep within the test's bounds.
WaitPolicy sleep_only() {
  WaitPolicy p;
  p.spin_iterations = 0;
  p.sleep_slice = 60s;
  return p;
}

shmq::QueueOptions options(std::uint64_t capacity, Producers p = Producers::many,
                           Consumers c = Consumers::many) {
  shmq::QueueOptions o;
  o.capacity = capacity;
  o.producers = p;
  o.consumers = c;
  o.wait = sleep_only();
  return o;
}

template <class T>
std::uint64_t total_sleeps(const Queue<T>& q) {
  // Departed processes' counters are retired into the header when their entry is reused.
  std::uint64_t n = core_of(q).segment().shared_header().retired.sleeps.load();
  for (std::uint32_t i = 0; i < shmq::detail::kRegistryCapacity; ++i) {
    n += core_of(q).segment().entry(i).counters.sleeps.load();
  }
  return n;
}

// Exit codes of the children: 0 is success, anything else names what went wrong.
constexpr int kWrongStatus = 10;
constexpr int kWrongValue = 11;
constexpr int kDidNotSleep = 12;

TEST(QueueProcess, ConsumerAsleepOnAnEmptyQueueIsWokenByAPutFromAnotherProcess) {
  ScopedName name("qp-get");
  auto q = Queue<int>::create(name.str(), options(4));
  Child child([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    int v = 0;
    if (mine.get(v) != Status::ok) return kWrongStatus;
    if (v != 42) return kWrongValue;
    return core_of(mine).counters().sleeps.load() >= 1 ? 0 : kDidNotSleep;
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; })) << "the child went to sleep";
  const auto start = Clock::now();
  ASSERT_EQ(q.try_put(42), Status::ok);
  EXPECT_EQ(child.wait(30s), 0);
  EXPECT_LT(Clock::now() - start, 30s) << "woken by the put, not by its 60 s slice";
}

TEST(QueueProcess, ProducerBlockedOnAFullQueueIsWokenByAGetFromAnotherProcess) {
  ScopedName name("qp-put");
  auto q = Queue<int>::create(name.str(), options(2));
  ASSERT_EQ(q.try_put(1), Status::ok);
  ASSERT_EQ(q.try_put(2), Status::ok);
  Child child([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    if (mine.put(3) != Status::ok) return kWrongStatus;
    return core_of(mine).counters().sleeps.load() >= 1 ? 0 : kDidNotSleep;
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; }));
  int v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(child.wait(30s), 0);
  for (const int expected : {2, 3}) {
    ASSERT_EQ(q.try_get(v), Status::ok);
    EXPECT_EQ(v, expected);
  }
}

TEST(QueueProcess, CloseFromAnotherProcessWakesABlockedGetterWithClosed) {
  ScopedName name("qp-close-get");
  auto q = Queue<int>::create(name.str(), options(4));
  Child child([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    int v = 0;
    return mine.get(v) == Status::closed ? 0 : kWrongStatus;
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; }));
  q.close();
  EXPECT_EQ(child.wait(30s), 0);
}

TEST(QueueProcess, CloseFromAnotherProcessWakesABlockedPutterWithClosed) {
  ScopedName name("qp-close-put");
  auto q = Queue<int>::create(name.str(), options(2));
  ASSERT_EQ(q.try_put(1), Status::ok);
  ASSERT_EQ(q.try_put(2), Status::ok);
  Child child([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    return mine.put(3) == Status::closed ? 0 : kWrongStatus;
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; }));
  q.close();
  EXPECT_EQ(child.wait(30s), 0);
  EXPECT_EQ(q.size(), 2U) << "the refused put left nothing";
}

TEST(QueueProcess, EveryBlockedConsumerProcessGetsExactlyOneMessage) {
  ScopedName name("qp-many-getters");
  auto q = Queue<int>::create(name.str(), options(8));
  FdPipe results;
  std::vector<Child> children;
  for (int i = 0; i < 3; ++i) {
    children.emplace_back([&] {
      auto mine = Queue<int>::open(name.str(), sleep_only());
      int v = 0;
      if (mine.get(v) != Status::ok) return kWrongStatus;
      return results.write(v) ? 0 : kWrongValue;
    });
  }
  ASSERT_TRUE(eventually([&] {
    return std::popcount(core_of(q).control().not_empty.waiters.load()) == 3;
  })) << "all three are waiting";
  for (int v = 100; v < 103; ++v)
    ASSERT_EQ(q.try_put(v), Status::ok);
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) {
    int v = 0;
    ASSERT_TRUE(results.read(v, 30s));
    got.push_back(v);
  }
  for (auto& c : children)
    EXPECT_EQ(c.wait(30s), 0);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int>{100, 101, 102}));
}

TEST(QueueProcess, SleeperKilledInsideGetDoesNotWedgeTheQueue) {
  ScopedName name("qp-killed-sleeper");
  auto q = Queue<int>::create(name.str(), options(4));
  {
    Child child([&] {
      auto mine = Queue<int>::open(name.str(), sleep_only());
      int v = 0;
      (void)mine.get(v);
      return 0;
    });
    ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; }));
    child.kill(SIGKILL);
    ASSERT_EQ(child.wait(30s), 128 + SIGKILL);
  }
  ASSERT_EQ(q.try_put(5), Status::ok);
  int v = 0;
  ASSERT_EQ(q.get_for(v, 10s), Status::ok);
  EXPECT_EQ(v, 5);
  const std::uint64_t sleeps_before = total_sleeps(q);
  Child getter([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    int got = 0;
    return mine.get(got) == Status::ok && got == 6 ? 0 : kWrongValue;
  });
  // The killed sleeper never deregistered; the next sleeper takes its registration back
  // (its waiters bit, Segment::reap_dead_sleepers), so only the live getter is counted.
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > sleeps_before; }));
  ASSERT_TRUE(eventually(
      [&] { return std::popcount(core_of(q).control().not_empty.waiters.load()) == 1; }));
  ASSERT_EQ(q.try_put(6), Status::ok);
  EXPECT_EQ(getter.wait(30s), 0);
}

// ---- roles held by other processes ----

struct Ready {
  int pid;
};

TEST(QueueProcess, SingleProducerRoleIsTakenOverFromASigkilledProducer) {
  ScopedName name("qp-sp-kill");
  auto q = Queue<int>::create(name.str(), options(8, Producers::one, Consumers::one));
  FdPipe ready;
  Child child([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    mine.claim_producer();
    for (int v = 1; v <= 3; ++v) {
      if (mine.try_put(v) != Status::ok) return kWrongStatus;
    }
    ready.write(Ready{getpid()});
    for (;;)
      ::pause();
  });
  Ready r{};
  ASSERT_TRUE(ready.read(r));
  EXPECT_EQ(q.try_put(99), Status::role_taken);
  expect_error([&] { q.claim_producer(); }, Errc::role_taken, name,
               "held by live process " + std::to_string(r.pid));

  child.kill(SIGKILL);
  ASSERT_EQ(child.wait(30s), 128 + SIGKILL);
  EXPECT_NO_THROW(q.claim_producer());
  ASSERT_EQ(q.try_put(4), Status::ok);
  for (int expected = 1; expected <= 4; ++expected) {
    int v = 0;
    ASSERT_EQ(q.try_get(v), Status::ok);
    EXPECT_EQ(v, expected) << "nothing the dead producer committed is lost or overwritten";
  }
}

TEST(QueueProcess, SingleConsumerRoleIsTakenOverFromASigkilledConsumer) {
  ScopedName name("qp-sc-kill");
  auto q = Queue<int>::create(name.str(), options(8, Producers::many, Consumers::one));
  for (int v = 1; v <= 4; ++v)
    ASSERT_EQ(q.try_put(v), Status::ok);
  FdPipe ready;
  Child child([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    int v = 0;
    if (mine.try_get(v) != Status::ok || v != 1) return kWrongValue;
    ready.write(Ready{getpid()});
    for (;;)
      ::pause();
  });
  Ready r{};
  ASSERT_TRUE(ready.read(r));
  int v = 0;
  EXPECT_EQ(q.try_get(v), Status::role_taken);
  child.kill(SIGKILL);
  ASSERT_EQ(child.wait(30s), 128 + SIGKILL);
  for (int expected = 2; expected <= 4; ++expected) {
    ASSERT_EQ(q.try_get(v), Status::ok);
    EXPECT_EQ(v, expected) << "what the dead consumer took is not delivered twice";
  }
  EXPECT_EQ(q.try_get(v), Status::empty);
}

TEST(QueueProcess, StoppedProducerKeepsItsRole) {
  ScopedName name("qp-sp-stop");
  auto q = Queue<int>::create(name.str(), options(8, Producers::one, Consumers::many));
  FdPipe ready;
  Child child([&]() -> int {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    mine.claim_producer();
    ready.write(Ready{getpid()});
    for (;;)
      ::pause();
  });
  Ready r{};
  ASSERT_TRUE(ready.read(r));
  ASSERT_TRUE(child.stop()) << "not stopped: state " << shmq::test::process_state(child.pid());
  EXPECT_EQ(q.try_put(1), Status::role_taken) << "a stopped process is not a dead one";
  child.kill(SIGKILL);
  ASSERT_EQ(child.wait(30s), 128 + SIGKILL);
  EXPECT_EQ(q.try_put(1), Status::ok);
}

TEST(QueueProcess, MessagesCrossProcessesInOrder) {
  ScopedName name("qp-order");
  auto q = Queue<std::string>::create(name.str(), options(4, Producers::one, Consumers::one));
  constexpr int kCount = 2000;
  Child producer([&] {
    auto mine = Queue<std::string>::open(name.str());
    for (int i = 0; i < kCount; ++i) {
      if (mine.put("message " + std::to_string(i)) != Status::ok) return kWrongStatus;
    }
    mine.close();
    return 0;
  });
  int i = 0;
  std::string out;
  Status s;
  while ((s = q.get_for(out, 30s)) == Status::ok) {
    ASSERT_EQ(out, "message " + std::to_string(i));
    ++i;
  }
  EXPECT_EQ(s, Status::closed);
  EXPECT_EQ(i, kCount);
  EXPECT_EQ(producer.wait(30s), 0);
}

// ---- asymmetric fences (detail/wait/asymmetric_fence.hpp): a light notify loses no wake-up ----

constexpr int kLateWake = 13;
constexpr int kWrongMode = 14;

bool light_notify(const shmq::detail::QueueCore& core) {
  return (core.held_roles() & shmq::detail::kHeldLightNotify) != 0;
}
// Whether handles of this process notify lightly on a queue with asymmetric fences: the kernel
// has the command and lets this process register (a seccomp filter may refuse it).
bool can_notify_lightly() {
  return shmq::detail::asymmetric_fences_supported() && shmq::detail::register_light_fences();
}
// Waits of this process's handle that ended only because a slice ran out with no wake-up
// (SleepGate::late_wakes): a lost wake-up is one of them, whatever the slice's length.
template <class T>
std::uint64_t late_wakes(const Queue<T>& q) {
  return core_of(q).segment().sleep_gate().late_wakes();
}

// Two processes hand a token back and forth through two queues (`to_child`, `to_parent`),
// sleeping for every message (no spin). A wake-up lost between a notifier's fence and a waiter's
// registration would end a wait only at its slice's end with the epoch unmoved: counted, per
// process, and asserted 0 (no process dies here, so nothing else ends a wait that way).
template <class T>
void ping_pong_asleep(const std::string& to_child, const std::string& to_parent,
                      const shmq::QueueOptions& opts, bool light) {
  constexpr std::uint64_t kRounds = 5000;
  auto out = Queue<T>::create(to_child, opts);
  auto in = Queue<T>::create(to_parent, opts);
  Child child([&] {
    auto mine_in = Queue<T>::open(to_child, sleep_only());
    auto mine_out = Queue<T>::open(to_parent, sleep_only());
    for (std::uint64_t i = 0; i < kRounds; ++i) {
      T v{};
      if (mine_in.get_for(v, 30s) != Status::ok) return kWrongStatus;
      if (v != T{2 * i}) return kWrongValue;
      if (mine_out.put(T{2 * i + 1}) != Status::ok) return kWrongStatus;
    }
    if (light_notify(core_of(mine_in)) != light || light_notify(core_of(mine_out)) != light)
      return kWrongMode;
    return late_wakes(mine_in) + late_wakes(mine_out) == 0 ? 0 : kLateWake;
  });
  for (std::uint64_t i = 0; i < kRounds; ++i) {
    ASSERT_EQ(out.put(T{2 * i}), Status::ok);
    T v{};
    ASSERT_EQ(in.get_for(v, 30s), Status::ok) << "round " << i;
    ASSERT_EQ(v, T{2 * i + 1});
  }
  EXPECT_EQ(child.wait(30s), 0);
  EXPECT_GT(total_sleeps(in), 0U) << "the parent slept: the waiters' path was taken";
  EXPECT_EQ(late_wakes(in), 0U) << "a wake-up never came";
  EXPECT_EQ(light_notify(core_of(out)), light);
  EXPECT_EQ(light_notify(core_of(in)), light);
}

TEST(QueueProcess, ALightNotifyLosesNoWakeUpOnAPackedQueue) {
  ScopedName a("qp-fence-packed-a");
  ScopedName b("qp-fence-packed-b");
  ping_pong_asleep<std::uint64_t>(a.str(), b.str(), options(4, Producers::one, Consumers::one),
                                  can_notify_lightly());
}

TEST(QueueProcess, ALightNotifyLosesNoWakeUpOnAnMpmcQueue) {
  ScopedName a("qp-fence-mpmc-a");
  ScopedName b("qp-fence-mpmc-b");
  ping_pong_asleep<std::uint64_t>(a.str(), b.str(), options(4), can_notify_lightly());
}

TEST(QueueProcess, FullFencesStillWorkWhenTheCreatorAskedForThem) {
  ScopedName a("qp-fence-full-a");
  ScopedName b("qp-fence-full-b");
  shmq::QueueOptions opts = options(4, Producers::one, Consumers::one);
  opts.asymmetric_fences = false;
  ping_pong_asleep<std::uint64_t>(a.str(), b.str(), opts, false);
  EXPECT_FALSE(shmq::inspect(a.str()).queue->asymmetric_fences);
}

// Putters asleep too: a producer fills a queue of two and sleeps on not_full for further
// messages while the consumer sleeps on not_empty, so both eventcounts are waited on and notified
// lightly (a get's light notify of not_full included).
template <class T>
void fill_and_drain_asleep(const std::string& name, const shmq::QueueOptions& opts) {
  constexpr std::uint64_t kCount = 5000;
  auto q = Queue<T>::create(name, opts);
  Child producer([&] {
    auto mine = Queue<T>::open(name, sleep_only());
    for (std::uint64_t i = 0; i < kCount; ++i) {
      if (mine.put(T{i}) != Status::ok) return kWrongStatus;
    }
    if (core_of(mine).counters().sleeps.load() == 0) return kDidNotSleep;
    return late_wakes(mine) == 0 ? 0 : kLateWake;
  });
  for (std::uint64_t i = 0; i < kCount; ++i) {
    T v{};
    ASSERT_EQ(q.get_for(v, 30s), Status::ok) << "message " << i;
    ASSERT_EQ(v, T{i});
  }
  EXPECT_EQ(producer.wait(30s), 0);
  EXPECT_EQ(late_wakes(q), 0U) << "a wake-up never came";
}

TEST(QueueProcess, ALightNotifyLosesNoWakeUpWhenPuttersSleepOnAPackedQueue) {
  ScopedName name("qp-fence-putters-packed");
  fill_and_drain_asleep<std::uint64_t>(name.str(), options(2, Producers::one, Consumers::one));
}

TEST(QueueProcess, ALightNotifyLosesNoWakeUpWhenPuttersSleepOnAnMpmcQueue) {
  ScopedName name("qp-fence-putters-mpmc");
  fill_and_drain_asleep<std::uint64_t>(name.str(), options(2));
}

// The mode is the segment's: every handle of a default queue notifies lightly once it holds a
// role, a forked child's handle too (it registers its own process), and inspect says so.
TEST(QueueProcess, EveryHandleOfADefaultQueueNotifiesLightlyAForkedChildsToo) {
  // Where the kernel lacks membarrier's global expedited command, the queue has full fences.
  const bool supported = shmq::detail::asymmetric_fences_supported();
  const bool lightly = can_notify_lightly();
  ScopedName name("qp-fence-mode");
  auto q = Queue<std::uint64_t>::create(name.str(), options(8));
  EXPECT_EQ(shmq::inspect(name.str()).queue->asymmetric_fences, supported);
  EXPECT_FALSE(light_notify(core_of(q))) << "no role yet";
  ASSERT_EQ(q.try_put(1), Status::ok);
  EXPECT_EQ(light_notify(core_of(q)), lightly);
  Child child([&] {
    if (light_notify(core_of(q))) return kWrongStatus;  // roles are the parent's
    if (q.try_put(2) != Status::ok) return kWrongStatus;
    return light_notify(core_of(q)) == lightly ? 0 : kWrongValue;
  });
  EXPECT_EQ(child.wait(30s), 0);
}

// ---- Queue::end_when_producers_gone() and producers() (issue 11: the quick start ends) ----

// A getter asleep (60 s slices) when the last producer's handle is destroyed is woken at once and
// drains what was put, then sees Status::closed.
TEST(QueueProcess, AGetterThatAskedForItEndsWhenItsLastProducerLeaves) {
  ScopedName name("qp-gone-leave");
  auto q = Queue<int>::create(name.str(), options(8));
  q.end_when_producers_gone();
  Child producer([&] {
    auto mine = Queue<int>::open(name.str());
    for (int i = 0; i < 3; ++i) {
      if (mine.put(i) != Status::ok) return kWrongStatus;
    }
    shmq::test::report_ready();
    return shmq::test::wait_go() == 1 ? 0 : kWrongValue;  // leaves when told
  });
  ASSERT_TRUE(producer.wait_ready());
  EXPECT_EQ(q.producers(), 1U);
  for (int i = 0; i < 3; ++i) {
    int v = -1;
    ASSERT_EQ(q.get_for(v, 30s), Status::ok);
    EXPECT_EQ(v, i);
  }
  Child getter([&] {
    auto mine = Queue<int>::open(name.str(), sleep_only());
    mine.end_when_producers_gone();
    int v = 0;
    return mine.get(v) == Status::closed ? 0 : kWrongStatus;
  });
  ASSERT_TRUE(eventually([&] { return total_sleeps(q) > 0; }));
  ASSERT_TRUE(producer.go(1));
  EXPECT_EQ(producer.wait(), 0);
  EXPECT_EQ(getter.wait(30s), 0) << "woken when the producer's handle went";
  int v = 0;
  EXPECT_EQ(q.try_get(v), Status::closed);
  EXPECT_EQ(q.producers(), 0U);
}

// A SIGKILLed producer: what it put is delivered, then closed, within a sleep slice.
TEST(QueueProcess, AGetterThatAskedForItEndsWhenItsProducerIsKilled) {
  ScopedName name("qp-gone-kill");
  auto q = Queue<std::string>::create(name.str(), options(8));
  WaitPolicy slices;
  slices.sleep_slice = 5ms;
  q.set_wait_policy(slices);
  q.end_when_producers_gone();
  Child producer([&] {
    auto mine = Queue<std::string>::open(name.str());
    if (mine.put(std::string("one")) != Status::ok || mine.put(std::string("two")) != Status::ok)
      return kWrongStatus;
    shmq::test::report_ready();
    shmq::test::wait_go();
    return 0;
  });
  ASSERT_TRUE(producer.wait_ready());
  ::kill(producer.pid(), SIGKILL);
  EXPECT_EQ(producer.wait(), 128 + SIGKILL);
  std::string got;
  ASSERT_EQ(q.get_for(got, 30s), Status::ok);
  EXPECT_EQ(got, "one");
  ASSERT_EQ(q.get_for(got, 30s), Status::ok);
  EXPECT_EQ(got, "two");
  EXPECT_EQ(q.get_for(got, 30s), Status::closed);
}

// A producer killed while it holds a reserved, unpublished slot, with another producer's message
// behind it: the getter waits for recovery to skip the dead slot, takes that message, then ends.
TEST(QueueProcess, AGetterThatAskedForItDeliversWhatWasPutBehindADeadProducersSlot) {
  ScopedName name("qp-gone-reserved");
  auto q = Queue<std::string>::create(name.str(), options(8));
  WaitPolicy slices;
  slices.sleep_slice = 5ms;
  q.set_wait_policy(slices);
  q.end_when_producers_gone();
  // Move the read position off 0, so that the dead slot is one recovery has not seen blocked yet
  // (the getter must not take "nothing there" for the end before recovery has had its turn).
  {
    auto warm_up = Queue<std::string>::open(name.str());  // a producer that leaves at once
    ASSERT_EQ(warm_up.try_put(std::string("warm")), Status::ok);
  }
  std::string warm;
  ASSERT_EQ(q.try_get(warm), Status::ok);
  Child holder([&] {
    auto mine = Queue<std::string>::open(name.str());
    Queue<std::string>::PutClaim claim;
    if (mine.try_claim(claim) != Status::ok) return kWrongStatus;
    shmq::test::report_ready();
    shmq::test::wait_go();
    return 0;
  });
  ASSERT_TRUE(holder.wait_ready());
  Child later([&] {
    auto mine = Queue<std::string>::open(name.str());
    return mine.put(std::string("behind")) == Status::ok ? 0 : kWrongStatus;
  });
  EXPECT_EQ(later.wait(), 0);
  ::kill(holder.pid(), SIGKILL);
  EXPECT_EQ(holder.wait(), 128 + SIGKILL);
  std::string got;
  ASSERT_EQ(q.get_for(got, 30s), Status::ok) << "the message behind the dead slot";
  EXPECT_EQ(got, "behind");
  EXPECT_EQ(q.get_for(got, 30s), Status::closed);
}

// Before any producer attached there is nothing to end: the getter waits (its bound expires).
// An attachment that only opened the queue is not a producer.
TEST(QueueProcess, NoProducerYetIsNotTheEnd) {
  ScopedName name("qp-gone-none");
  auto q = Queue<int>::create(name.str(), options(8));
  q.end_when_producers_gone();
  auto opened_only = Queue<int>::open(name.str());
  EXPECT_EQ(q.producers(), 0U);
  int v = 0;
  EXPECT_EQ(q.get_for(v, 20ms), Status::timeout);
  EXPECT_EQ(q.try_get(v), Status::empty);
}

// Without the request, a departed producer changes nothing (Python's Queue.get blocks too); and
// a getter that is itself a producer never sees its producers gone.
TEST(QueueProcess, ProducersGoneEndsOnlyTheHandlesThatAskedForIt) {
  ScopedName name("qp-gone-optin");
  auto q = Queue<int>::create(name.str(), options(8));
  {
    auto producer = Queue<int>::open(name.str());
    ASSERT_EQ(producer.try_put(7), Status::ok);
    EXPECT_EQ(q.producers(), 1U);
  }
  EXPECT_EQ(q.producers(), 0U);
  int v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(q.try_get(v), Status::empty) << "not asked: empty, not closed";
  ASSERT_EQ(q.try_put(8), Status::ok);  // q is a producer now
  q.end_when_producers_gone();
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(q.get_for(v, 20ms), Status::timeout) << "its own producer role is alive";
}

// A forked child inherits its parent's handles, not their roles (docs/queue.md, "fork()"): its
// copy of a producer handle counts as a producer from its own first put or claim_producer(), not
// from the fork. A child that is to produce claims the role before the parent's handle goes.
TEST(QueueProcess, AForkedChildsCopyOfAProducerHandleCountsFromItsOwnClaim) {
  ScopedName name("qp-gone-fork");
  auto q = Queue<int>::create(name.str(), options(8));
  ASSERT_EQ(q.try_put(1), Status::ok);  // the parent's handle is a producer
  auto c = Queue<int>::open(name.str(), sleep_only());
  c.end_when_producers_gone();
  Child child([&] {
    shmq::test::report_ready();  // holds its copy of q
    shmq::test::wait_go();
    q.claim_producer();
    shmq::test::report_ready();
    shmq::test::wait_go();
    if (q.put(2) != Status::ok) return kWrongStatus;
    q = Queue<int>();  // leaves: wakes the getters that wait for the producers to go
    return 0;
  });
  ASSERT_TRUE(child.wait_ready());
  EXPECT_EQ(c.producers(), 1U) << "the child's copy is not a producer before it claims";
  ASSERT_TRUE(child.go());
  ASSERT_TRUE(child.wait_ready());
  EXPECT_EQ(c.producers(), 2U);
  q = Queue<int>();
  EXPECT_EQ(c.producers(), 1U);
  int v = 0;
  ASSERT_EQ(c.try_get(v), Status::ok);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(c.try_get(v), Status::empty) << "the child is a producer still";
  ASSERT_TRUE(child.go());
  ASSERT_EQ(c.get_for(v, 30s), Status::ok);
  EXPECT_EQ(v, 2);
  EXPECT_EQ(c.get_for(v, 30s), Status::closed);
  EXPECT_EQ(child.wait(), 0);
}

// Why a copy is not counted from the fork: Python's "fill the queue, then start the workers",
// each worker getting from its copy of the parent's producer handle until the producers are gone.
// The workers end once the parent's handle goes; were each copy a producer from the fork, every
// worker would wait for itself.
TEST(QueueProcess, WorkersForkedWithTheFillersHandleEndWhenTheFillersHandleGoes) {
  ScopedName name("qp-gone-workers");
  auto q = Queue<int>::create(name.str(), options(8));
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(q.try_put(i), Status::ok);
  const auto worker = [&] {
    q.end_when_producers_gone();
    int v = 0;
    std::uint64_t got = 0;
    Status s = Status::ok;
    while ((s = q.get(v)) == Status::ok)
      ++got;
    shmq::test::report_ready(got);
    return s == Status::closed ? 0 : kWrongStatus;
  };
  Child a(worker);
  Child b(worker);
  q = Queue<int>();  // the filler is done
  std::uint64_t got_a = 0;
  std::uint64_t got_b = 0;
  ASSERT_TRUE(a.wait_ready(&got_a));
  ASSERT_TRUE(b.wait_ready(&got_b));
  EXPECT_EQ(got_a + got_b, 4U);
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.wait(), 0);
}

}  // namespace
