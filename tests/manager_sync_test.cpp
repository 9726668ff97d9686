// shmq::Manager: list, value, lock, rlock, semaphore, event, barrier, condition, queue.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "manager_test_support.hpp"
#include "shmq/manager.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Manager;
using shmq::test::Child;
using shmq::test::fast_options;
using shmq::test::request_sent_after;
using shmq::test::request_tail;
using shmq::test::ScopedManagerName;
using Clock = std::chrono::steady_clock;

TEST(ManagerList, AppendInsertPopAndIndexFollowPython) {
  ScopedManagerName name("mgr-list");
  auto m = Manager::create(name, fast_options());
  auto l = m.list<int>("l");
  l.append(1);
  l.extend(std::vector<int>{2, 3});
  l.insert(0, 0);
  l.insert(-1, 9);    // before the last
  l.insert(100, 10);  // past the end: appended
  EXPECT_EQ(l.to_string(), "[0, 1, 2, 9, 3, 10]");
  EXPECT_EQ(l.get(-1), 10);
  EXPECT_EQ(l.pop(), 10);
  EXPECT_EQ(l.pop(0), 0);
  l.set(1, 7);
  EXPECT_TRUE(l.remove(9));
  EXPECT_FALSE(l.remove(42));
  EXPECT_EQ(l.items(), (std::vector<int>{1, 7, 3}));
  EXPECT_EQ(l.size(), 3U);
  EXPECT_THROW(l.get(3), std::out_of_range);
  EXPECT_THROW(l.set(-4, 1), std::out_of_range);
  l.clear();
  EXPECT_THROW(l.pop(), std::out_of_range);
  EXPECT_EQ(l.to_string(), "[]");
}

TEST(ManagerValue, GetSetAndCompareExchange) {
  ScopedManagerName name("mgr-value");
  auto m = Manager::create(name, fast_options());
  auto v = m.value<std::int64_t>("v", 5);
  EXPECT_EQ(v.get(), 5);
  EXPECT_EQ(m.value<std::int64_t>("v", 99).get(), 5);  // the initial value only creates
  v.set(6);
  std::int64_t expected = 5;
  EXPECT_FALSE(v.compare_exchange(expected, 8));
  EXPECT_EQ(expected, 6);
  EXPECT_TRUE(v.compare_exchange(expected, 8));
  EXPECT_EQ(v.to_string(), "8");
  auto s = m.value<std::string>("s", "x");
  EXPECT_EQ(s.to_string(), "'x'");
}

TEST(ManagerLock, ExcludesOtherProcessesAndAnyoneMayReleaseIt) {
  ScopedManagerName name("mgr-lock");
  auto m = Manager::create(name, fast_options());
  auto lock = m.lock("l");
  auto counter = m.value<int>("n", 0);
  std::vector<Child> children;
  for (int p = 0; p < 3; ++p) {
    children.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        std::lock_guard guard(lock);
        counter.set(counter.get() + 1);
      }
      return 0;
    });
  }
  for (auto& c : children)
    ASSERT_EQ(c.wait(), 0);
  EXPECT_EQ(counter.get(), 300);
  EXPECT_TRUE(lock.try_acquire());
  EXPECT_FALSE(lock.try_acquire());  // not re-entrant
  const auto t0 = Clock::now();
  EXPECT_FALSE(lock.acquire_for(50ms));
  EXPECT_GE(Clock::now() - t0, 50ms);
  Child other([&] {
    lock.release();  // Python's Lock: another process may release it
    return 0;
  });
  EXPECT_EQ(other.wait(), 0);
  EXPECT_FALSE(lock.locked());
  EXPECT_THROW(lock.release(), shmq::Error);  // releasing an unlocked lock
}

TEST(ManagerRLock, IsReentrantAndOnlyItsHolderReleasesIt) {
  ScopedManagerName name("mgr-rlock");
  auto m = Manager::create(name, fast_options());
  auto r = m.rlock("r");
  r.acquire();
  r.acquire();
  Child other([&] {
    if (r.try_acquire()) return 1;
    try {
      r.release();
      return 2;
    } catch (const shmq::Error& e) {
      return e.code() == std::make_error_code(std::errc::operation_not_permitted) ? 0 : 3;
    }
  });
  EXPECT_EQ(other.wait(), 0);
  r.release();
  EXPECT_TRUE(r.locked());
  r.release();
  EXPECT_FALSE(r.locked());
}

TEST(ManagerSemaphore, CountsPermitsAndWakesWaitersInOrder) {
  ScopedManagerName name("mgr-sem");
  auto m = Manager::create(name, fast_options());
  auto s = m.semaphore("s", 2);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  EXPECT_FALSE(s.acquire_for(20ms));
  Child waiter([&] {
    (void)s.value();  // its first call connects it: requests of its own, done before it reports
    shmq::test::report_ready();
    shmq::test::wait_go();
    s.acquire();
    // Gives it back itself: a client that exits holding a permit has it released by the server
    // (docs/manager.md), which would race with the checks below.
    s.release();
    return 0;
  });
  ASSERT_TRUE(waiter.wait_ready());
  const std::uint64_t tail = request_tail(name);
  ASSERT_TRUE(waiter.go());
  // The waiter's acquire is the only request sent since `tail`: the server applies it (the waiter
  // waits, no permit is free) before the release below, which wakes it.
  ASSERT_TRUE(request_sent_after(name, tail));
  s.release();
  EXPECT_EQ(waiter.wait(), 0);
  EXPECT_EQ(s.value(), 1);
  s.release(1);
  EXPECT_EQ(s.value(), 2);
}

TEST(ManagerEvent, WaitReturnsWhenAnotherProcessSetsIt) {
  ScopedManagerName name("mgr-event");
  auto m = Manager::create(name, fast_options());
  auto e = m.event("e");
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait_for(20ms));
  Child setter([&] {
    (void)e.is_set();  // its first call connects it
    const std::uint64_t tail = request_tail(name);
    shmq::test::report_ready();
    // The parent's wait is the next request: set the event only once it was sent, so the parent
    // is waiting when it is set.
    if (!request_sent_after(name, tail)) return 2;
    e.set();
    return 0;
  });
  ASSERT_TRUE(setter.wait_ready());
  EXPECT_TRUE(e.wait_for(60s));
  EXPECT_TRUE(e.is_set());
  e.clear();
  EXPECT_FALSE(e.is_set());
  EXPECT_EQ(setter.wait(), 0);
}

TEST(ManagerBarrier, ReleasesAllPartiesTogetherWithDistinctIndexes) {
  ScopedManagerName name("mgr-barrier");
  auto m = Manager::create(name, fast_options());
  auto b = m.barrier("b", 3);
  auto seen = m.list<std::uint64_t>("seen");
  std::vector<Child> children;
  for (int p = 0; p < 2; ++p) {
    children.emplace_back([&] {
      seen.append(b.wait());
      return 0;
    });
  }
  seen.append(b.wait());
  for (auto& c : children)
    ASSERT_EQ(c.wait(), 0);
  auto idx = seen.items();
  std::sort(idx.begin(), idx.end());
  EXPECT_EQ(idx, (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(b.parties(), 3U);
  // A timed-out wait breaks the barrier, as in Python.
  EXPECT_THROW(b.wait_for(20ms), shmq::Error);
  EXPECT_TRUE(b.broken());
  b.reset();
  EXPECT_FALSE(b.broken());
}

TEST(ManagerCondition, WaitReleasesTheLockAndNotifyWakesTheWaiter) {
  ScopedManagerName name("mgr-cond");
  auto m = Manager::create(name, fast_options());
  auto c = m.condition("c");
  auto ready = m.value<int>("ready", 0);
  Child waiter([&] {
    std::unique_lock guard(c);
    while (ready.get() == 0)
      c.wait();  // releases c while waiting
    return ready.get() == 1 ? 0 : 1;
  });
  // Notifies until a notify wakes the waiter: it is then waiting, and has released c, which this
  // process holds (the waiter re-acquires it once this process releases it, and sees ready).
  EXPECT_TRUE(shmq::test::wait_until([&] {
    std::lock_guard guard(c);
    if (c.notify() == 0) return false;  // the waiter is not waiting yet
    ready.set(1);
    return true;
  }));
  EXPECT_EQ(waiter.wait(), 0);
  // A wait that nobody notifies times out, holding the lock again.
  c.acquire();
  EXPECT_FALSE(c.wait_for(20ms));
  EXPECT_TRUE(c.locked());
  c.release();
  EXPECT_THROW(c.wait(), shmq::Error);  // not holding the lock
}

TEST(ManagerQueue, HandsOutOneQueueByName) {
  ScopedManagerName name("mgr-queue");
  auto m = Manager::create(name, fast_options());
  auto q = m.queue<std::string>("jobs", {.capacity = 10, .max_message = 64});
  Child producer([&] {
    auto own = Manager::open(name, fast_options());
    return own.queue<std::string>("jobs").put("a") == shmq::Status::ok ? 0 : 1;
  });
  std::string got;
  EXPECT_EQ(q.get_for(got, 5s), shmq::Status::ok);
  EXPECT_EQ(got, "a");
  EXPECT_EQ(producer.wait(), 0);
}

// The options a queue is asked for are checked against the queue that exists, as
// Queue::open_or_create checks them: a difference is refused with an error naming the field.
TEST(ManagerQueue, AQueueAskedForWithOtherOptionsIsRefusedNamingTheField) {
  ScopedManagerName name("mgr-queue-opts");
  auto m = Manager::create(name, fast_options());
  auto q = m.queue<int>("jobs", {.capacity = 8});
  auto same = m.queue<int>("jobs", {.capacity = 5});  // rounded up to 8: the same queue
  ASSERT_EQ(q.try_put(1), shmq::Status::ok);
  int got = 0;
  EXPECT_EQ(same.try_get(got), shmq::Status::ok);
  try {
    (void)m.queue<int>("jobs", {.capacity = 64});
    ADD_FAILURE() << "a queue of capacity 8 handed out as one of 64";
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(shmq::Errc::options_mismatch)) << e.what();
    EXPECT_NE(std::string(e.what()).find("capacity 8 (asked for 64)"), std::string::npos)
        << e.what();
  }
}

// A worker that asks for the queue by name alone before anyone made it makes it with the default
// options (docs/manager.md, "Queues"); whoever asks later with other options is refused, and
// asking by name alone takes it as it is.
TEST(ManagerQueue, AskedForByNameFirstTheQueueIsMadeWithTheDefaultOptions) {
  ScopedManagerName name("mgr-queue-default");
  auto m = Manager::create(name, fast_options());
  Child worker([&] {
    auto own = Manager::open(name, fast_options());
    return own.queue<int>("jobs").put(7) == shmq::Status::ok ? 0 : 1;
  });
  ASSERT_EQ(worker.wait(), 0);
  auto q = m.queue<int>("jobs");
  EXPECT_EQ(q.capacity(), shmq::QueueOptions{}.capacity);
  int got = 0;
  ASSERT_EQ(q.try_get(got), shmq::Status::ok);
  EXPECT_EQ(got, 7);
  try {
    (void)m.queue<int>("jobs", {.capacity = 16});
    ADD_FAILURE() << "the default-made queue handed out as one of capacity 16";
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(shmq::Errc::options_mismatch)) << e.what();
    EXPECT_NE(std::string(e.what()).find("capacity 1024 (asked for 16)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
