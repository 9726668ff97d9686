// Crash safety of the layer between the rings and the processes (runtime/segment.cpp, the
// eventcount's registration, recovery's intents, fork()): each test reproduces one way in which a
// badly timed kill, a full registry, a plain fork() or a planted file used to break a queue or a
// pipe for good (docs/design.md's crash model; the defects are listed in docs/queue.md, "Crash
// safety"). Processes meet through pipes and observed states (/proc/PID/stat, registry bits),
// never through sleeps.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/access.hpp"
#include "shmq/detail/crash_point.hpp"
#include "shmq/inspect.hpp"
#include "shmq/pipe.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Queue;
using shmq::Status;
using shmq::detail::core_of;
using shmq::detail::CrashAction;
using shmq::detail::CrashPoint;
using shmq::test::Child;
using shmq::test::eventually;
using shmq::test::ScopedName;

constexpr int kKilled = 128 + SIGKILL;
constexpr shmq::WaitPolicy kWait{.spin_iterations = 100, .sleep_slice = 1ms};

// Tells when a forked child has exec'd: a close-on-exec pipe whose only writer is the child, so
// the reader sees end of file at the exec (or the child's death). (Values go through Child's own
// report_ready/wait_ready.)
class ExecWatch {
 public:
  ExecWatch() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  }
  ~ExecWatch() {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  ExecWatch(const ExecWatch&) = delete;
  ExecWatch& operator=(const ExecWatch&) = delete;
  // In the parent, after the fork: true once the child exec'd (or died); false if it wrote.
  bool wait_for_exec() {
    ::close(fds_[1]);
    fds_[1] = -1;
    char byte = 0;
    return ::read(fds_[0], &byte, 1) == 0;
  }

 private:
  int fds_[2] = {-1, -1};
};

shmq::QueueOptions mpmc(std::uint64_t capacity) {
  shmq::QueueOptions o;
  o.capacity = capacity;
  o.wait = kWait;
  return o;
}

// The registry index of each bit in `waiters`, and whether its entry belongs to `pid`.
bool only_bit_is(const Queue<int>& q, std::uint64_t waiters, pid_t pid) {
  if (std::popcount(waiters) != 1) return false;
  const auto index = static_cast<std::uint32_t>(std::countr_zero(waiters));
  return core_of(q).segment().entry(index).pid.load() == static_cast<std::uint32_t>(pid);
}

// ---- 1. a sleeper's registration is one RMW: no kill leaves it torn ----

// A sleeper B dies at each point of its way to and from sleep while another process A sleeps on
// the same eventcount. After B's bit is reaped, A's registration must be intact (before layout 5
// a dead process's registration was a count plus a separate record, and a kill between the two
// writes made the reaper subtract A's registration: A slept through every put for a whole slice,
// then the count wrapped and every notify paid a futex_wake for good). INV-E1 is checked when
// all are quiescent: no bit left, and a notify with nobody asleep makes no syscall.
TEST(CrashSafety, ASleeperKilledOnItsWayToOrFromSleepNeverUnregistersAnother) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  for (const CrashPoint point : {CrashPoint::sleep_registered, CrashPoint::sleep_woken}) {
    SCOPED_TRACE(shmq::detail::kCrashPoints[static_cast<std::size_t>(point)].name);
    ScopedName name("cs-sleepers");
    auto q = Queue<int>::create(name.str(), mpmc(8));
    // A sleeps in get with long slices: only a wake (or a 60 s slice) ends its wait.
    Child a([&] {
      auto mine = Queue<int>::open(name.str(), {.spin_iterations = 0, .sleep_slice = 250ms});
      int v = 0;
      return mine.get(v) == Status::ok && v == 7 ? 0 : 2;
    });
    auto& not_empty = core_of(q).control().not_empty;
    ASSERT_TRUE(eventually([&] { return only_bit_is(q, not_empty.waiters.load(), a.pid()); }));
    // B registers too and dies at `point` (sleep_woken: after a wake, before deregistering).
    Child b([&] {
      auto mine = Queue<int>::open(name.str(), kWait);
      shmq::detail::crash_point_arm(point, 1);
      int v = 0;
      for (;;)
        if (mine.get_for(v, 60s) != Status::timeout) return 2;
    });
    if (point == CrashPoint::sleep_woken) {
      // B is asleep beside A; a spurious wake (close-free: an epoch bump) sends it to its point.
      ASSERT_TRUE(eventually([&] { return std::popcount(not_empty.waiters.load()) == 2; }));
      shmq::detail::wake_all(not_empty);
    }
    ASSERT_EQ(b.wait(30s), kKilled);
    core_of(q).segment().reap_dead_sleepers();
    // A went back to sleep after the wake (or never woke): its bit, and only its bit.
    ASSERT_TRUE(eventually([&] { return only_bit_is(q, not_empty.waiters.load(), a.pid()); }));
    ASSERT_EQ(q.try_put(7), Status::ok);
    ASSERT_EQ(a.wait(30s), 0) << "A was woken by the put and got it";
    core_of(q).segment().reap_dead_sleepers();
    EXPECT_EQ(not_empty.waiters.load(), 0U) << "INV-E1: nobody sleeps, no bit is set";
    EXPECT_LT(shmq::detail::notify_all(not_empty), 0) << "no sleeper: no futex_wake";
  }
}

// The reaper's ABA: R judges a dead sleeper's entry i dead and is descheduled; N attaches, takes
// entry i and sleeps there (bit i set again). R, continued, must not clear N's bit: it takes the
// entry's lock before clearing, and N holds it. (The reaper before layout 5 judged, then CASed
// the dead record away: N's registration would have gone with it.) N is stopped while R
// finishes, so its bit cannot be re-set by a later slice: the check is exact.
TEST(CrashSafety, AReaperDelayedAfterItsVerdictNeverClearsANewOwnersBit) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  ScopedName name("cs-reap-aba");
  auto q = Queue<int>::create(name.str(), mpmc(8));
  auto& not_empty = core_of(q).control().not_empty;
  Child reaper([&]() -> int {
    auto mine = Queue<int>::open(name.str(), kWait);
    shmq::test::report_ready();
    shmq::test::wait_go();
    shmq::detail::crash_point_arm(CrashPoint::reap_judged, 1, CrashAction::stop);
    int v = 0;
    const Status s = mine.get_for(v, 20ms);  // its first slice reaps; then it times out
    shmq::test::report_ready(static_cast<std::uint64_t>(s));
    shmq::test::wait_go();
    return 0;
  });
  ASSERT_TRUE(reaper.wait_ready());
  Child dead([&] {
    auto mine = Queue<int>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(CrashPoint::sleep_registered, 1);
    int v = 0;
    (void)mine.get_for(v, 30s);
    return 2;
  });
  ASSERT_EQ(dead.wait(), kKilled);
  const std::uint64_t dead_bit = not_empty.waiters.load();
  ASSERT_EQ(std::popcount(dead_bit), 1) << "the dead sleeper's bit";
  ASSERT_TRUE(reaper.go());
  ASSERT_TRUE(shmq::test::wait_until([&] {
    return shmq::test::process_state(reaper.pid()) == 'T';
  })) << "the reaper stopped after its verdict";
  Child sleeper([&] {
    auto mine = Queue<int>::open(name.str(), {.spin_iterations = 0, .sleep_slice = 250ms});
    int v = 0;
    return mine.get(v) == Status::ok && v == 7 ? 0 : 2;
  });
  // The new sleeper took the dead entry (the first free one) and sleeps there: the same bit.
  ASSERT_TRUE(eventually([&] { return only_bit_is(q, not_empty.waiters.load(), sleeper.pid()); }));
  ASSERT_EQ(not_empty.waiters.load(), dead_bit);
  ASSERT_TRUE(sleeper.stop()) << "asleep and stopped: its bit stays as it is";
  reaper.kill(SIGCONT);
  std::uint64_t status = 99;
  ASSERT_TRUE(reaper.wait_ready(&status));
  EXPECT_EQ(status, static_cast<std::uint64_t>(Status::timeout));
  EXPECT_EQ(not_empty.waiters.load(), dead_bit) << "the reaper cleared a live sleeper's bit";
  sleeper.kill(SIGCONT);
  ASSERT_EQ(q.try_put(7), Status::ok);
  EXPECT_EQ(sleeper.wait(), 0);
  ASSERT_TRUE(reaper.go());
  EXPECT_EQ(reaper.wait(), 0);
}

// A dead owner's entry being taken over: the new attacher B holds the entry's lock but has not
// yet published its generation (stopped there). The dead producer A's token must read dead —
// judged by the lock alone it read alive, so a put here returned role_taken, and a new Manager
// server refused to adopt ("already served by live process ..."; a loaded ASan run of
// CrashPoints compact_*_rename, 1 in 5 and 1 in 15). Fails without the read-lock take-over of
// segment.cpp.
TEST(CrashSafety, AnAttacherStoppedInsideItsTakeOverDoesNotMakeADeadOwnerLookAlive) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  ScopedName name("cs-take-over");
  auto q = Queue<int>::create(
      name.str(),
      {.capacity = 8, .producers = shmq::Producers::one, .consumers = shmq::Consumers::one});
  // B first, so that it inherits no entry: it lets go of its copy of q at once.
  Child b([&]() -> int {
    { auto inherited = std::move(q); }
    shmq::test::report_ready();
    shmq::test::wait_go();
    shmq::detail::crash_point_arm(CrashPoint::attach_entry_locked, 1, CrashAction::stop);
    auto mine = Queue<int>::open(name.str(), kWait);
    return 0;
  });
  ASSERT_TRUE(b.wait_ready());
  // A takes the first free entry (its copy of q, prepared by the fork) and the producer role.
  Child a([&]() -> int {
    q.claim_producer();
    shmq::test::report_ready();
    shmq::test::wait_go();
    return 0;
  });
  ASSERT_TRUE(a.wait_ready());
  const std::uint64_t a_token = core_of(q).control().producer_owner.load();
  ASSERT_NE(a_token, 0U);
  ASSERT_TRUE(core_of(q).segment().is_alive(a_token));
  a.kill();
  ASSERT_EQ(a.wait(), kKilled);
  ASSERT_FALSE(core_of(q).segment().is_alive(a_token));
  ASSERT_TRUE(b.go());
  ASSERT_TRUE(shmq::test::wait_until([&] { return shmq::test::process_state(b.pid()) == 'T'; }))
      << "B stopped inside its attach";
  // B took A's entry (the first free one): its lock is held, its generation still A's.
  EXPECT_TRUE(core_of(q).segment().entry_alive(shmq::detail::token_index(a_token)));
  EXPECT_FALSE(core_of(q).segment().is_alive(a_token)) << "a dead owner read alive";
  EXPECT_EQ(q.try_put(1), Status::ok) << "the dead producer's role is free";
  b.kill(SIGCONT);
  EXPECT_EQ(b.wait(), 0);
  int v = 0;
  EXPECT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(v, 1);
}

// ---- 2. a producer that lost the tail CAS leaves no intent behind ----

// B writes its intent for position 3 and stops before its CAS; A claims 3 and dies before
// stamping it; B, continued, loses the CAS, finds the ring full and returns. B stays alive and
// idle. The consumer must still recover A's dead claim: before the fix, B's stale intent named 3
// and recovery waited for live B for ever.
TEST(CrashSafety, AProducerThatLostTheTailCasDoesNotBlockRecoveryOfTheWinner) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  ScopedName name("cs-cas-loser");
  auto q = Queue<int>::create(name.str(), mpmc(4));
  for (int v = 0; v < 3; ++v)
    ASSERT_EQ(q.try_put(v), Status::ok);
  Child b([&]() -> int {
    auto mine = Queue<int>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(CrashPoint::claim_before_cas, 1, CrashAction::stop);
    shmq::test::report_ready(static_cast<std::uint64_t>(mine.try_put(100)));
    for (;;)
      ::pause();  // alive and idle, holding its registry entry
  });
  ASSERT_TRUE(eventually([&] { return shmq::test::process_state(b.pid()) == 'T'; }, 30s))
      << "B stopped";
  Child a([&] {
    auto mine = Queue<int>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(CrashPoint::claim_before_stamp, 1);
    (void)mine.try_put(200);
    return 2;
  });
  ASSERT_EQ(a.wait(30s), kKilled);
  b.kill(SIGCONT);
  std::uint64_t b_said = 99;
  ASSERT_TRUE(b.wait_ready(&b_said));
  EXPECT_EQ(b_said, static_cast<std::uint64_t>(Status::full)) << "B lost the CAS, ring full";
  int v = 0;
  for (int want = 0; want < 3; ++want) {
    ASSERT_EQ(q.get_for(v, 30s), Status::ok);
    EXPECT_EQ(v, want);
  }
  ASSERT_EQ(q.try_put(300), Status::ok);  // behind A's dead claim
  ASSERT_EQ(q.get_for(v, 30s), Status::ok) << "A's dead claim was recovered despite live B";
  EXPECT_EQ(v, 300);
  EXPECT_EQ(shmq::inspect(name.str()).totals.recovered_slots, 1U);
}

// As above for consumers: a consumer that lost the head CAS and found the ring empty.
TEST(CrashSafety, AConsumerThatLostTheHeadCasDoesNotBlockRecoveryOfTheWinner) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  ScopedName name("cs-take-loser");
  auto q = Queue<int>::create(name.str(), mpmc(4));
  ASSERT_EQ(q.try_put(1), Status::ok);
  Child b([&]() -> int {
    auto mine = Queue<int>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(CrashPoint::take_before_cas, 1, CrashAction::stop);
    int got = 0;
    shmq::test::report_ready(static_cast<std::uint64_t>(mine.try_get(got)));
    for (;;)
      ::pause();
  });
  ASSERT_TRUE(eventually([&] { return shmq::test::process_state(b.pid()) == 'T'; }, 30s))
      << "B stopped";
  Child a([&] {
    auto mine = Queue<int>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(CrashPoint::take_before_stamp, 1);
    int got = 0;
    (void)mine.try_get(got);
    return 2;
  });
  ASSERT_EQ(a.wait(30s), kKilled);
  b.kill(SIGCONT);
  std::uint64_t b_said = 99;
  ASSERT_TRUE(b.wait_ready(&b_said));
  EXPECT_EQ(b_said, static_cast<std::uint64_t>(Status::empty)) << "B lost the CAS, ring empty";
  // Producers lap the ring: the slot A took must be recovered (its message counted lost).
  for (int m = 0; m < 8; ++m) {
    ASSERT_EQ(q.put_for(10 + m, 30s), Status::ok) << "put " << m;
    int v = 0;
    ASSERT_EQ(q.get_for(v, 30s), Status::ok);
    EXPECT_EQ(v, 10 + m);
  }
  EXPECT_EQ(shmq::inspect(name.str()).totals.in_doubt, 1U);
}

// ---- 3. a full registry reuses a dead claimer's entry without wedging recovery ----

// A dies between its tail CAS and its stamp, its intent in its registry entry. Then the registry
// fills: 63 live handles, and one more attacher must take A's dead entry (erasing the intent).
// Before the fix, recovery then found no intent and refused for ever.
TEST(CrashSafety, AFullRegistryThatReusesADeadClaimersEntryDoesNotWedgeRecovery) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  ScopedName name("cs-full-registry");
  auto q = Queue<int>::create(name.str(), mpmc(8));
  Child a([&] {
    auto mine = Queue<int>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(CrashPoint::claim_before_stamp, 1);
    (void)mine.try_put(1);
    return 2;
  });
  ASSERT_EQ(a.wait(30s), kKilled);
  std::vector<Queue<int>> extra;
  for (std::uint32_t i = 0; i + 2 < shmq::detail::kRegistryCapacity; ++i)
    extra.push_back(Queue<int>::open(name.str(), kWait));
  // 63 live entries; this one can only be A's.
  extra.push_back(Queue<int>::open(name.str(), kWait));
  EXPECT_EQ(shmq::inspect(name.str()).live_processes(), shmq::detail::kRegistryCapacity)
      << "the registry is full";
  ASSERT_EQ(q.try_put(2), Status::ok);
  int v = 0;
  ASSERT_EQ(q.get_for(v, 30s), Status::ok) << "the dead claim was recovered";
  EXPECT_EQ(v, 2);
}

// ---- 4. fork() + exec() leaves no segment behind in the exec'd program ----

TEST(CrashSafety, AnExecdChildInheritsNeitherTheSegmentNorARegistryEntry) {
  ScopedName name("cs-exec");
  auto q = Queue<int>::create(name.str(), mpmc(8));
  ExecWatch exec_done;
  Child child([&] {
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    return 99;
  });
  ASSERT_TRUE(exec_done.wait_for_exec());
  ASSERT_NE(shmq::test::process_state(child.pid()), '?');
  // exec() closes the close-on-exec descriptors one by one: the report pipe may close first.
  // A leaked descriptor (or entry) stays for the child's whole life.
  EXPECT_TRUE(eventually([&] { return shmq::inspect(name.str()).live_processes() == 1; }))
      << "only the parent is attached";
  const std::string shm = shmq::detail::segment_path(name.str());
  for (const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(child.pid()) + "/fd")) {
    std::error_code ec;
    EXPECT_NE(std::filesystem::read_symlink(fd.path(), ec).string(), shm)
        << "the exec'd child holds the segment open as " << fd.path();
  }
  child.kill(SIGKILL);
  EXPECT_EQ(child.wait(30s), kKilled);
}

// An end held only by a fork+exec'd child and a killed parent: the peer gets end of file.
TEST(CrashSafety, APipeEndHeldOnlyByAnExecdChildIsClosed) {
  ScopedName name("cs-exec-pipe");
  auto ends = shmq::Pipe::create(name.str());
  shmq::Connection& reader = ends.first;
  shmq::Connection& writer = ends.second;
  Child holder([&]() -> int {
    reader.close();
    ExecWatch exec_done;
    Child sleeper([&] {
      ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
      return 99;
    });
    if (!exec_done.wait_for_exec()) return 3;
    shmq::test::report_ready(static_cast<std::uint64_t>(sleeper.pid()));
    for (;;)
      ::pause();
  });
  writer.close();
  std::uint64_t sleeper = 0;
  ASSERT_TRUE(holder.wait_ready(&sleeper));
  const auto sleeper_pid = static_cast<pid_t>(sleeper);
  ASSERT_GT(sleeper_pid, 0);
  holder.kill(SIGKILL);
  EXPECT_EQ(holder.wait(30s), kKilled);
  std::string msg;
  EXPECT_EQ(reader.recv(msg), Status::closed) << "the exec'd sleeper does not hold the end";
  ::kill(sleeper_pid, SIGKILL);
}

// ---- 5. a plain fork(): the child holds the ends it inherited from its first instruction ----

// Python's idiom: fork, the parent closes its copy of the child's end at once and reads. The
// child must be a holder before the parent's close, or the reader sees no holder: a spurious
// end of file (49 of 50 runs before the fix).
TEST(CrashSafety, APlainForkHoldsTheInheritedEndBeforeTheParentClosesItsCopy) {
  for (int run = 0; run < 50; ++run) {
    ScopedName name("cs-fork-pipe");
    auto [reader, writer] = shmq::Pipe::create(name.str());
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      reader.close();
      const bool sent = writer.send(std::string_view("a")) == Status::ok;
      std::fflush(nullptr);
      ::_exit(sent ? 0 : 2);
    }
    writer.close();  // at once, as the parent in Python's example does
    std::string msg;
    ASSERT_EQ(reader.recv(msg), Status::ok) << "run " << run << ": spurious end of file";
    EXPECT_EQ(msg, "a");
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
    EXPECT_EQ(reader.recv(msg), Status::closed) << "the child exited: end of file";
  }
}

// ---- a creator preempted between making the name and locking it is waited for ----

// Before, three looks 10 ms apart without the init lock and without `ready` meant "the creator
// died": a creator descheduled right after its O_EXCL open made open() and open_or_create() throw
// not_ready. The creator stops exactly there; the opener must wait and then succeed.
TEST(CrashSafety, AnOpenerWaitsForACreatorPreemptedBeforeItsInitLock) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  ScopedName name("cs-slow-creator");
  Child creator([&]() -> int {
    shmq::detail::crash_point_arm(CrashPoint::create_before_lock, 1, CrashAction::stop);
    auto q = Queue<int>::create(name.str(), mpmc(8));
    shmq::test::report_ready(static_cast<std::uint64_t>(q.try_put(5)));
    for (;;)
      ::pause();
  });
  ASSERT_TRUE(eventually([&] { return shmq::test::process_state(creator.pid()) == 'T'; }, 30s));
  std::atomic<int> outcome{-1};  // 0 opened and got 5, 1 an error, 2 wrong value
  std::thread opener([&] {
    try {
      auto q = Queue<int>::open_or_create(name.str(), mpmc(8));
      int v = 0;
      outcome = q.get_for(v, 30s) == Status::ok && v == 5 ? 0 : 2;
    } catch (const shmq::Error& e) {
      std::fprintf(stderr, "opener: %s\n", e.what());
      outcome = 1;
    }
  });
  // deliberate-sleep: the time a descheduled creator takes; the old verdict came after 30 ms.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(outcome.load(), -1) << "the opener gave up on a live creator";
  creator.kill(SIGCONT);
  opener.join();
  EXPECT_EQ(outcome.load(), 0);
  std::uint64_t created = 99;
  ASSERT_TRUE(creator.wait_ready(&created));
  EXPECT_EQ(created, static_cast<std::uint64_t>(Status::ok));
}

// A fork() needs one registry entry per inherited handle. With none left, the child cannot be
// told apart from its parent: it aborts with a message (the parent is untouched) rather than run
// sharing the parent's entry.
TEST(CrashSafety, AChildForkedWithAFullRegistryAbortsWithAMessage) {
  ScopedName name("cs-fork-full");
  auto q = Queue<int>::create(name.str(), mpmc(8));
  // The crowd inherits q (one entry) and holds 62 more: 64 with the parent's.
  Child crowd([&]() -> int {
    std::vector<Queue<int>> held;
    for (std::uint32_t i = 0; i + 2 < shmq::detail::kRegistryCapacity; ++i)
      held.push_back(Queue<int>::open(name.str(), kWait));
    shmq::test::report_ready();
    for (;;)
      ::pause();
  });
  ASSERT_TRUE(crowd.wait_ready());
  Child child([&] { return q.try_put(1) == Status::ok ? 0 : 2; });
  EXPECT_EQ(child.wait(), 128 + SIGABRT);
  ASSERT_EQ(q.try_put(2), Status::ok) << "the parent's handle still works";
  int v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(v, 2);
}

// Openers of one end race: exactly one holds it, the others are told it is held (never two
// holders, never a hang).
TEST(CrashSafety, RacingOpenersOfOnePipeEndLeaveExactlyOneHolder) {
  ScopedName name("cs-pipe-race");
  auto first = shmq::Connection::create(name.str(), shmq::End::first);
  constexpr int kOpeners = 4;
  std::vector<Child> openers;
  for (int i = 0; i < kOpeners; ++i) {
    openers.emplace_back([&]() -> int {
      shmq::test::wait_go();
      int result = 0;
      std::optional<shmq::Connection> mine;
      try {
        mine.emplace(shmq::Connection::open(name.str(), shmq::End::second));
      } catch (const shmq::Error& e) {
        result = e.code() == make_error_code(shmq::Errc::role_taken) ? 1 : 2;
      }
      shmq::test::report_ready(static_cast<std::uint64_t>(result));
      shmq::test::wait_go();  // hold the end until every opener has answered
      return 0;
    });
  }
  for (auto& o : openers)
    ASSERT_TRUE(o.go());
  int holders = 0;
  for (auto& o : openers) {
    std::uint64_t result = 9;
    ASSERT_TRUE(o.wait_ready(&result));
    ASSERT_LE(result, 1U) << "an opener failed otherwise than role_taken";
    holders += result == 0 ? 1 : 0;
  }
  EXPECT_EQ(holders, 1);
  for (auto& o : openers) {
    ASSERT_TRUE(o.go());
    EXPECT_EQ(o.wait(), 0);
  }
}

// ---- 7. a planted FIFO, socket, directory or symbolic link is an error, never a hang ----

TEST(CrashSafety, EveryOpenPathRefusesSpecialFilesWithoutBlocking) {
  ScopedName target("cs-special-target");
  auto real = Queue<int>::create(target.str(), mpmc(4));
  struct Planted {
    const char* what;
    std::function<void(const std::string& path)> make;
  };
  const std::vector<Planted> kinds = {
      {"fifo", [](const std::string& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0); }},
      {"directory", [](const std::string& p) { ASSERT_EQ(::mkdir(p.c_str(), 0700), 0); }},
      {"symlink",
       [&](const std::string& p) {
         ASSERT_EQ(::symlink(shmq::detail::segment_path(target.str()).c_str(), p.c_str()), 0);
       }},
      {"socket",
       [](const std::string& p) {
         const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
         ASSERT_GE(s, 0);
         sockaddr_un addr{};
         addr.sun_family = AF_UNIX;
         ASSERT_LT(p.size(), sizeof(addr.sun_path));
         std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", p.c_str());
         ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
         ::close(s);
       }},
  };
  for (const Planted& kind : kinds) {
    SCOPED_TRACE(kind.what);
    ScopedName name(std::string("cs-special-") + kind.what);
    const std::string path = shmq::detail::segment_path(name.str());
    kind.make(path);
    // In a child with an alarm: a blocked open fails the test instead of hanging it.
    Child child([&] {
      ::alarm(20);
      int wrong = 0;
      auto refused = [&](auto&& call) {
        try {
          call();
          return false;
        } catch (const shmq::Error& e) {
          return e.code() == make_error_code(shmq::Errc::not_a_segment);
        }
      };
      wrong += refused([&] { (void)Queue<int>::open(name.str()); }) ? 0 : 1;
      wrong += refused([&] { (void)shmq::inspect(name.str()); }) ? 0 : 2;
      wrong += refused([&] { (void)shmq::Connection::open(name.str(), shmq::End::first); }) ? 0 : 4;
      return wrong;
    });
    EXPECT_EQ(child.wait(60s), 0) << "exit 128+14 is a hang; otherwise a bit per wrong answer";
    if (std::string(kind.what) == "directory") {
      ::rmdir(path.c_str());
    } else {
      Child remover([&] {
        ::alarm(20);
        (void)shmq::remove_segment(name.str(), false);  // unlinks the foreign file, never blocks
        return 0;
      });
      EXPECT_EQ(remover.wait(60s), 0);
      struct stat st {};
      EXPECT_NE(::lstat(path.c_str(), &st), 0) << "rm unlinked it";
    }
    struct stat st {};
    EXPECT_EQ(::stat(shmq::detail::segment_path(target.str()).c_str(), &st), 0)
        << "the symbolic link's target is untouched";
  }
}

}  // namespace
