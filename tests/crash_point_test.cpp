// Every named crash point (include/shmq/detail/crash_point.hpp) × many seeds: a child process is
// SIGKILLed exactly there, and the survivors must go on with nothing committed lost, nothing
// delivered twice, per-producer order kept, and what a death did cost counted (recovered_slots,
// in_doubt). The seed picks which hit of the point kills (so a different position, lap and slot
// each time). SHMQ_CRASH_SEEDS sets how many seeds per point (default 10; CI), SHMQ_SEED the first.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "manager_test_support.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/crash_point.hpp"
#include "shmq/detail/manager/manager_client.hpp"
#include "shmq/inspect.hpp"
#include "shmq/manager.hpp"
#include "shmq/pipe.hpp"
#include "shmq/process.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Consumers;
using shmq::Producers;
using shmq::Queue;
using shmq::Status;
using shmq::detail::CrashPoint;
using shmq::test::Child;
using shmq::test::ScopedName;

constexpr int kKilled = 128 + SIGKILL;
constexpr std::uint64_t kMarkerBase = 1'000'000;  // values the survivors put after the crash
constexpr std::size_t kLogCapacity = 4096;
// Short sleep slices: a blocked survivor re-checks for dead peers every millisecond.
constexpr shmq::WaitPolicy kWait{.spin_iterations = 100, .sleep_slice = 1ms};

// What a child did before it died, in memory shared with the parent (MAP_SHARED, before fork).
struct SharedLog {
  std::atomic<std::uint64_t> committed;  // puts that returned ok
  std::atomic<std::uint64_t> got_count;  // gets that returned ok
  std::uint64_t got[kLogCapacity];
};

class SharedLogMap {
 public:
  SharedLogMap() {
    void* p = ::mmap(nullptr, sizeof(SharedLog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    log_ = new (p) SharedLog{};
  }
  ~SharedLogMap() { ::munmap(log_, sizeof(SharedLog)); }
  SharedLogMap(const SharedLogMap&) = delete;
  SharedLogMap& operator=(const SharedLogMap&) = delete;
  SharedLog& operator*() const { return *log_; }
  SharedLog* operator->() const { return log_; }

 private:
  SharedLog* log_;
};

// A child consumer's body: opens the queue, arms `point` at its `nth` hit, and gets (logging each
// value got) until it is killed there. Returns only on a failed get.
int get_and_log(const std::string& name, CrashPoint point, std::uint64_t nth, SharedLog& log) {
  auto mine = Queue<std::uint64_t>::open(name, kWait);
  shmq::detail::crash_point_arm(point, nth);
  for (;;) {
    std::uint64_t v = 0;
    if (mine.get_for(v, 10s) != Status::ok) return 2;
    const std::uint64_t n = log.got_count.load();
    if (n == kLogCapacity) return 4;
    log.got[n] = v;
    log.got_count.store(n + 1);  // after the value: the parent reads count, then values
  }
}

std::vector<std::uint64_t> logged(const SharedLog& log) {
  return {log.got, log.got + log.got_count.load()};
}

std::uint64_t seeds_per_point() {
  const char* env = std::getenv("SHMQ_CRASH_SEEDS");
  return env != nullptr ? std::max<std::uint64_t>(1, std::strtoull(env, nullptr, 0)) : 10;
}

// `packed`: an SPSC queue of fixed-size elements is a packed ring (packed_ring.hpp) unless false.
shmq::QueueOptions options(std::uint64_t capacity, bool mp, bool mc, bool packed = false) {
  shmq::QueueOptions o;
  o.capacity = capacity;
  o.packed = packed;
  o.producers = mp ? Producers::many : Producers::one;
  o.consumers = mc ? Consumers::many : Consumers::one;
  o.wait = kWait;
  return o;
}

// Queue<std::uint64_t>::create near the 2^64 wrap, so that recovery's position arithmetic is
// exercised across it.
Queue<std::uint64_t> create_near_wrap(const std::string& name, const shmq::QueueOptions& o) {
  return shmq::detail::create_queue_at<std::uint64_t>(
      name, o, std::numeric_limits<std::uint64_t>::max() - 5);
}

shmq::CounterSnapshot totals(const std::string& name) {
  return shmq::inspect(name).totals;
}

// Gets until `want` markers arrived (or a get fails); appends everything got to `out`.
::testing::AssertionResult drain_until_markers(Queue<std::uint64_t>& q, std::uint64_t want,
                                               std::vector<std::uint64_t>& out) {
  std::uint64_t markers = 0;
  while (markers < want) {
    std::uint64_t v = 0;
    const Status s = q.get_for(v, 10s);
    if (s != Status::ok) {
      return ::testing::AssertionFailure()
             << "get: " << to_string(s) << " after " << markers << " of " << want << " markers";
    }
    out.push_back(v);
    if (v >= kMarkerBase) ++markers;
  }
  return ::testing::AssertionSuccess();
}

// The oracle for one producer's values 0..n-1 followed by markers: each value at most once, in
// order; every value below `must_have` present.
::testing::AssertionResult delivered_once_in_order(const std::vector<std::uint64_t>& got,
                                                   std::uint64_t must_have, std::uint64_t markers) {
  std::vector<std::uint64_t> values;
  std::uint64_t marker_count = 0;
  for (const std::uint64_t v : got) {
    if (v >= kMarkerBase) {
      if (v != kMarkerBase + marker_count) {
        return ::testing::AssertionFailure() << "marker " << v << " out of order";
      }
      ++marker_count;
    } else {
      values.push_back(v);
    }
  }
  if (marker_count != markers) {
    return ::testing::AssertionFailure() << marker_count << " markers of " << markers;
  }
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (values[i] <= values[i - 1]) {
      return ::testing::AssertionFailure()
             << "value " << values[i] << " after " << values[i - 1] << " (duplicate or reordered)";
    }
  }
  for (std::uint64_t v = 0; v < must_have; ++v) {
    if (!std::binary_search(values.begin(), values.end(), v)) {
      return ::testing::AssertionFailure() << "committed value " << v << " lost";
    }
  }
  return ::testing::AssertionSuccess();
}

// A child's body: waits on an empty queue, slice after slice, until an armed point kills it.
int wait_on_empty_until_killed(Queue<std::uint64_t>& mine) {
  std::uint64_t v = 0;
  for (;;)
    if (mine.get_for(v, 10s) != Status::timeout) return 2;
}

// The survivors go on: `n` messages put and got one by one, each call bounded.
::testing::AssertionResult survivors_pass(Queue<std::uint64_t>& q, std::uint64_t n) {
  for (std::uint64_t m = 0; m < n; ++m) {
    std::uint64_t v = 0;
    if (const Status s = q.put_for(m, 10s); s != Status::ok) {
      return ::testing::AssertionFailure() << "put " << m << ": " << to_string(s);
    }
    if (const Status s = q.get_for(v, 10s); s != Status::ok || v != m) {
      return ::testing::AssertionFailure() << "get " << m << ": " << to_string(s) << ", " << v;
    }
  }
  return ::testing::AssertionSuccess();
}

// ---- scenarios: one per (point, queue kind); each returns a failure with the seed's story ----

struct Scenario {
  CrashPoint point;
  const char* label;
  std::function<void(std::uint64_t seed)> run;
};

// A producer dies at the point during its nth put; a survivor puts markers after it; a consumer
// must get every committed value once, in order, then the markers (the dead claim skipped).
void producer_dies(CrashPoint point, bool mp, bool mc, bool packed, std::uint64_t seed) {
  ScopedName name("crash-prod");
  const std::uint64_t nth = 1 + seed % 40;
  auto q = create_near_wrap(name.str(), options(64, mp, mc, packed));
  if (!mp) q.claim_consumer();  // the parent is the consumer; the child the (single) producer
  SharedLogMap log;
  Child child([&] {
    auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(point, nth);
    for (std::uint64_t v = 0; v < 48; ++v) {
      if (mine.put_for(v, 10s) != Status::ok) return 2;
      log->committed.store(v + 1);
    }
    return 3;  // never reached the point
  });
  ASSERT_EQ(child.wait(), kKilled) << "the child did not die at the point";
  const std::uint64_t committed = log->committed.load();
  // The survivor (the parent, producer and consumer now) puts a marker behind the dead claim and
  // gets up to it: the blocked get recovers the claim. Then more than a lap through the ring.
  constexpr std::uint64_t kMarkers = 70;
  std::vector<std::uint64_t> got;
  ASSERT_EQ(q.put_for(kMarkerBase, 10s), Status::ok);
  ASSERT_TRUE(drain_until_markers(q, 1, got));
  for (std::uint64_t m = 1; m < kMarkers; ++m) {
    ASSERT_EQ(q.put_for(kMarkerBase + m, 10s), Status::ok) << "marker " << m;
    ASSERT_TRUE(drain_until_markers(q, 1, got)) << "marker " << m;
  }
  std::uint64_t v = 0;
  EXPECT_EQ(q.try_get(v), Status::empty);
  EXPECT_TRUE(delivered_once_in_order(got, committed, kMarkers)) << "committed " << committed;
  // A dead multi-producer claim is recovered as a skip, and counted.
  if (mp && point != CrashPoint::publish_before_tail && point != CrashPoint::claim_before_cas) {
    EXPECT_GE(totals(name).recovered_slots, 1U);
  }
}

// A consumer dies at the point during its nth get of a full queue; survivors get the rest and put
// markers for more than a lap (so producers need the dead consumer's slot). Single consumer: the
// message it held is redelivered; multi consumer: lost, counted in in_doubt.
void consumer_dies(CrashPoint point, bool mp, bool mc, bool packed, std::uint64_t seed) {
  ScopedName name("crash-cons");
  const std::uint64_t nth = 1 + seed % 16;
  constexpr std::uint64_t kCapacity = 16;
  auto q = create_near_wrap(name.str(), options(kCapacity, mp, mc, packed));
  for (std::uint64_t v = 0; v < kCapacity; ++v)
    ASSERT_EQ(q.try_put(v), Status::ok);
  SharedLogMap log;
  Child child([&] { return get_and_log(name.str(), point, nth, *log); });
  ASSERT_EQ(child.wait(), kKilled) << "the child did not die at the point";
  std::vector<std::uint64_t> got = logged(*log);
  // The survivor (the parent) gets one (taking over a single consumer's role), then puts one:
  // the puts reach the dead consumer's slot a lap later.
  constexpr std::uint64_t kMarkers = 3 * kCapacity;
  for (std::uint64_t m = 0; m < kMarkers; ++m) {
    std::uint64_t v = 0;
    if (q.try_get(v) == Status::ok) got.push_back(v);
    ASSERT_EQ(q.put_for(kMarkerBase + m, 10s), Status::ok) << "marker " << m;
  }
  std::uint64_t markers_got = 0;
  for (const std::uint64_t v : got)
    markers_got += v >= kMarkerBase ? 1 : 0;
  ASSERT_TRUE(drain_until_markers(q, kMarkers - markers_got, got));
  std::uint64_t v = 0;
  EXPECT_EQ(q.try_get(v), Status::empty);
  const std::uint64_t in_doubt = totals(name).in_doubt;
  const std::uint64_t lost = kCapacity - (got.size() - kMarkers);
  std::vector<std::uint64_t> rest;  // all but the message the child held when it died
  for (const std::uint64_t x : got)
    if (x != nth - 1) rest.push_back(x);
  EXPECT_TRUE(delivered_once_in_order(rest, 0, kMarkers));
  if (point == CrashPoint::release_before_head && !packed) {
    // Released, so delivered: the child died after taking it, before its get returned. The ring
    // cannot tell that from a get that returned; it is the application's loss, and not counted.
    EXPECT_EQ(lost, 1U);
    EXPECT_EQ(in_doubt, 0U);
  } else if (mc && point != CrashPoint::take_before_cas) {
    // Taken, not released, by a consumer on a multi side: lost, and counted.
    EXPECT_EQ(lost, 1U);
    EXPECT_EQ(in_doubt, 1U);
  } else {
    // Taken, not released, by a single consumer (in a packed ring, head is the release itself):
    // redelivered to the next one. Or never taken (killed before its CAS on head).
    EXPECT_EQ(lost, 0U);
    EXPECT_EQ(in_doubt, 0U);
    EXPECT_TRUE(delivered_once_in_order(got, kCapacity, kMarkers));
  }
}

// A producer dies holding a claim; a consumer that recovers it dies at the recovery point; the
// next consumer finishes (or redoes) the recovery and gets what came after.
void recoverer_dies(CrashPoint point, std::uint64_t seed) {
  ScopedName name("crash-recover");
  auto q = create_near_wrap(name.str(), options(16, true, true));
  const std::uint64_t before = seed % 8;  // committed puts before the dead claim
  Child producer([&] {
    auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(
        seed % 2 == 0 ? CrashPoint::claim_before_stamp : CrashPoint::publish_before_seq,
        before + 1);
    for (std::uint64_t v = 0;; ++v)
      if (mine.put_for(v, 10s) != Status::ok) return 2;
  });
  ASSERT_EQ(producer.wait(), kKilled);
  ASSERT_EQ(q.try_put(kMarkerBase), Status::ok);  // behind the dead claim
  SharedLogMap log;
  Child recoverer([&] { return get_and_log(name.str(), point, 1, *log); });
  ASSERT_EQ(recoverer.wait(), kKilled) << "the recoverer did not die at the point";
  std::vector<std::uint64_t> got = logged(*log);
  ASSERT_TRUE(drain_until_markers(q, 1, got));
  EXPECT_TRUE(delivered_once_in_order(got, before, 1));
  EXPECT_EQ(got.size(), before + 1);
  EXPECT_EQ(totals(name).recovered_slots, 1U);  // once, though two processes worked on it
}

// A consumer dies asleep on an empty queue, still registered on the eventcount: survivors take
// its registration back (producers stop paying a futex wake per message) and go on.
void sleeper_dies(CrashPoint point, std::uint64_t seed) {
  ScopedName name("crash-sleeper");
  auto q = create_near_wrap(name.str(), options(8, true, true));
  Child child([&] {
    auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(point, 1 + seed % 3);
    return wait_on_empty_until_killed(mine);
  });
  ASSERT_EQ(child.wait(), kKilled);
  EXPECT_EQ(shmq::inspect(name.str()).queue->sleepers_not_empty, 1U);  // the dead one's
  ASSERT_TRUE(survivors_pass(q, 200));
  EXPECT_TRUE(shmq::test::eventually(
      [&] { return shmq::inspect(name.str()).queue->sleepers_not_empty == 0; }, 5s));
}

// A sleeper dies registered; a survivor that reaps it dies between its verdict and taking the
// dead entry's lock; the next survivors reap it and go on.
void reaper_dies(std::uint64_t seed) {
  ScopedName name("crash-reaper");
  auto q = create_near_wrap(name.str(), options(8, true, true));
  // Attached before the sleeper dies (an attacher would take the dead entry and clear its bit).
  Child reaper([&]() -> int {
    auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
    shmq::test::report_ready();
    shmq::test::wait_go();
    shmq::detail::crash_point_arm(CrashPoint::reap_judged, 1);
    return wait_on_empty_until_killed(mine);
  });
  ASSERT_TRUE(reaper.wait_ready());
  Child sleeper([&] {
    auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
    shmq::detail::crash_point_arm(CrashPoint::sleep_registered, 1 + seed % 2);
    return wait_on_empty_until_killed(mine);
  });
  ASSERT_EQ(sleeper.wait(), kKilled);
  ASSERT_TRUE(reaper.go());
  ASSERT_EQ(reaper.wait(), kKilled);
  ASSERT_TRUE(survivors_pass(q, 100));
  EXPECT_TRUE(shmq::test::eventually(
      [&] {
        shmq::detail::core_of(q).segment().reap_dead_sleepers();
        return shmq::inspect(name.str()).queue->sleepers_not_empty == 0;
      },
      5s));
}

// A process dies while attaching (its registry entry locked, not yet named): others attach, work
// and see it as not attached.
void attacher_dies(std::uint64_t seed) {
  ScopedName name("crash-attach");
  auto q = create_near_wrap(name.str(), options(8, true, true));
  for (std::uint64_t i = 0; i <= seed % 3; ++i) {
    Child child([&] {
      shmq::detail::crash_point_arm(CrashPoint::attach_entry_locked, 1);
      auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
      return 2;
    });
    ASSERT_EQ(child.wait(), kKilled);
  }
  Child producer([&] {
    auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
    return mine.put_for(42, 10s) == Status::ok ? 0 : 2;
  });
  ASSERT_EQ(producer.wait(), 0);
  std::uint64_t v = 0;
  ASSERT_EQ(q.get_for(v, 10s), Status::ok);
  EXPECT_EQ(v, 42U);
  EXPECT_EQ(shmq::inspect(name.str()).live_processes(), 1U);
}

// A creator dies right after making the name, before its init lock: openers wait for it (a
// preempted creator looks the same) and report not_ready after their timeout; the name can be
// removed and made again.
void creator_dies(std::uint64_t seed) {
  ScopedName name("crash-create");
  Child child([&] {
    shmq::detail::crash_point_arm(CrashPoint::create_before_lock, 1);
    auto mine = create_near_wrap(name.str(), options(8, seed % 2 == 0, true));
    return 2;
  });
  ASSERT_EQ(child.wait(), kKilled);
  try {
    (void)shmq::detail::Segment::open(name.str(), shmq::detail::SegmentKind::queue, 50ms);
    ADD_FAILURE() << "opened a segment whose creator died before initialising it";
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(shmq::Errc::not_ready)) << e.what();
  }
  ASSERT_TRUE(Queue<std::uint64_t>::remove(name.str()));
  auto q = create_near_wrap(name.str(), options(8, true, true));
  ASSERT_EQ(q.try_put(1), Status::ok);
}

// A single producer dies while its handle goes away, its role still named: a new producer takes
// the role over and continues after the last committed message.
void role_holder_dies(std::uint64_t seed) {
  ScopedName name("crash-role");
  auto q = create_near_wrap(name.str(), options(64, false, false));
  q.claim_consumer();
  const std::uint64_t sent = 1 + seed % 20;  // at least one put: the role is claimed by it
  Child child([&] {
    {
      auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
      for (std::uint64_t v = 0; v < sent; ++v)
        if (mine.put_for(v, 10s) != Status::ok) return 2;
      shmq::detail::crash_point_arm(CrashPoint::role_release_before_handover, 1);
    }
    return 3;
  });
  ASSERT_EQ(child.wait(), kKilled);
  std::vector<std::uint64_t> got;
  ASSERT_EQ(q.put_for(kMarkerBase, 10s), Status::ok);  // takes the dead producer's role
  ASSERT_TRUE(drain_until_markers(q, 1, got));
  EXPECT_TRUE(delivered_once_in_order(got, sent, 1));
  EXPECT_EQ(got.size(), sent + 1);
}

// ---- the Manager journal's compaction ----

// What a client knows about a dict it writes: the values of the sets that returned, and the one
// set that threw when the server died (applied or not).
struct Written {
  std::map<std::string, std::string> committed;
  std::string doubt_key;
  std::string doubt_value;
};

// Rounds of writes: a small key that is never overwritten, then the 256 KiB "blob" overwritten
// (the journal grows by it, the snapshot does not, so the server compacts every ~4 MiB). Stops,
// successfully, once `done()` holds after a round or, with `stop_on_error`, once a set throws
// owner_dead (the server died; that set is in doubt). A failure after `rounds` rounds.
::testing::AssertionResult write_rounds(shmq::Dict<std::string, std::string>& d, int& round,
                                        int rounds, Written& w, bool stop_on_error,
                                        const std::function<bool()>& done = {}) {
  const std::string blob(256 << 10, 'b');
  for (int n = 0; n < rounds; ++n, ++round) {
    for (int part = 0; part < 2; ++part) {
      const std::string key = part == 0 ? "k" + std::to_string(round) : "blob";
      const std::string value = std::to_string(round) + (part == 0 ? "" : blob);
      try {
        d.set(key, value);
      } catch (const shmq::Error& e) {
        if (!stop_on_error || e.code() != std::make_error_code(std::errc::owner_dead)) {
          return ::testing::AssertionFailure() << "set " << key << ": " << e.what();
        }
        w.doubt_key = key;
        w.doubt_value = value;
        return ::testing::AssertionSuccess();
      }
      w.committed[key] = value;
    }
    if (done && done()) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << rounds << " rounds and the awaited event did not come";
}

// Every committed key is there with its value (the key in doubt with either value, or absent if
// it was new), and nothing else.
::testing::AssertionResult holds_everything(shmq::Dict<std::string, std::string>& d,
                                            const Written& w) {
  std::map<std::string, std::string> got;
  for (auto& [k, v] : d.items())
    got.emplace(std::move(k), std::move(v));
  for (const auto& [k, v] : w.committed) {
    const auto it = got.find(k);
    if (it == got.end()) return ::testing::AssertionFailure() << "committed key " << k << " lost";
    if (it->second != v && !(k == w.doubt_key && it->second == w.doubt_value)) {
      return ::testing::AssertionFailure() << "key " << k << " has an older value";
    }
  }
  for (const auto& [k, v] : got) {
    if (w.committed.count(k) == 0 && !(k == w.doubt_key && v == w.doubt_value)) {
      return ::testing::AssertionFailure() << "key " << k << " was never set";
    }
  }
  return ::testing::AssertionSuccess();
}

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

// A Manager server dies at the point in its nth compaction (the seed picks n) while a client
// writes. An adopter must hold every key whose set returned. Killed before the rename, the
// server leaves a whole snapshot in N.journal.tmp beside the old journal; after it, no tmp. The
// adopter then writes on until it compacts (past any stale tmp: the journal shrinks, no tmp is
// left), and a third server, adopting that compacted journal, must hold everything again.
void compactor_dies(CrashPoint point, std::uint64_t seed) {
  using shmq::Manager;
  shmq::test::ScopedManagerName name("crash-compact");
  const std::string journal = shmq::detail::manager_journal_path(name.str());
  const std::string tmp = journal + ".tmp";
  // Armed here, so the server create() forks inherits it; disarmed here at once (only that
  // server compacts).
  shmq::detail::crash_point_arm(point, 1 + seed % 2);
  struct Disarm {
    ~Disarm() { shmq::detail::crash_point_disarm(); }
  };
  auto m = [&] {
    Disarm disarm;
    return Manager::create(name, shmq::test::fast_options());
  }();
  const pid_t first = m.server_pid();
  auto d = m.dict<std::string, std::string>("d");
  Written w;
  int round = 0;
  ASSERT_TRUE(write_rounds(d, round, 200, w, true)) << "the server never died at the point";
  int status = 0;
  ASSERT_EQ(::waitpid(first, &status, 0), first);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  if (point == CrashPoint::compact_before_rename) {
    EXPECT_GT(file_size(tmp), 8) << "no snapshot left in " << tmp;
  } else {
    EXPECT_EQ(file_size(tmp), -1) << tmp << " left after the rename";
  }

  Child second([&] {
    Manager::serve(name, shmq::test::fast_options());
    return 0;
  });
  {
    auto m2 = shmq::test::open_when_served(name);
    auto d2 = m2.dict<std::string, std::string>("d");
    ASSERT_TRUE(holds_everything(d2, w)) << "adopted after the kill";
    // No more doubt: what the adopter holds is what is committed from now on.
    w.committed.clear();
    for (auto& [k, v] : d2.items())
      w.committed.emplace(std::move(k), std::move(v));
    w.doubt_key.clear();
    std::int64_t last = file_size(journal);
    ASSERT_TRUE(write_rounds(d2, round, 200, w, false, [&] {
      const std::int64_t now = file_size(journal);
      return std::exchange(last, now) > now;  // shrunk: replaced by a snapshot
    })) << "the adopter never compacted";
    EXPECT_EQ(file_size(tmp), -1) << "a tmp left after the adopter's compaction";
  }
  second.kill();
  ASSERT_EQ(second.wait(), kKilled);

  Child third([&] {
    Manager::serve(name, shmq::test::fast_options());
    return 0;
  });
  auto m3 = shmq::test::open_when_served(name);
  auto d3 = m3.dict<std::string, std::string>("d");
  EXPECT_TRUE(holds_everything(d3, w)) << "adopted from the adopter's compacted journal";
  m3.shutdown();
  EXPECT_EQ(third.wait(), 0);
}

std::vector<Scenario> scenarios() {
  using CP = CrashPoint;
  std::vector<Scenario> all;
  auto prod = [&](CP p, bool mp, bool mc, const char* label, bool packed = false) {
    all.push_back({p, label, [=](std::uint64_t s) { producer_dies(p, mp, mc, packed, s); }});
  };
  auto cons = [&](CP p, bool mp, bool mc, const char* label, bool packed = false) {
    all.push_back({p, label, [=](std::uint64_t s) { consumer_dies(p, mp, mc, packed, s); }});
  };
  prod(CP::claim_before_cas, true, true, "mpmc");
  prod(CP::claim_before_stamp, true, true, "mpmc");
  prod(CP::claim_before_stamp, true, false, "mpsc");
  prod(CP::publish_before_seq, true, true, "mpmc");
  prod(CP::publish_before_seq, false, false, "spsc");
  prod(CP::publish_before_tail, false, true, "spmc");
  prod(CP::publish_before_tail, false, false, "spsc_packed", true);
  cons(CP::take_before_cas, true, true, "mpmc");
  cons(CP::take_before_stamp, true, true, "mpmc");
  cons(CP::take_before_stamp, false, true, "spmc");
  cons(CP::release_before_seq, true, true, "mpmc");
  cons(CP::release_before_seq, true, false, "mpsc");
  cons(CP::release_before_head, false, false, "spsc");
  cons(CP::release_before_head, false, false, "spsc_packed", true);
  all.push_back({CP::recover_lock_held, "mpmc",
                 [](std::uint64_t s) { recoverer_dies(CP::recover_lock_held, s); }});
  all.push_back({CP::recover_skip_marked, "mpmc",
                 [](std::uint64_t s) { recoverer_dies(CP::recover_skip_marked, s); }});
  all.push_back({CP::sleep_registered, "mpmc",
                 [](std::uint64_t s) { sleeper_dies(CP::sleep_registered, s); }});
  all.push_back(
      {CP::sleep_woken, "mpmc", [](std::uint64_t s) { sleeper_dies(CP::sleep_woken, s); }});
  all.push_back({CP::reap_judged, "mpmc", reaper_dies});
  all.push_back({CP::attach_entry_locked, "mpmc", attacher_dies});
  all.push_back({CP::create_before_lock, "queue", creator_dies});
  all.push_back({CP::role_release_before_handover, "spsc", role_holder_dies});
  all.push_back({CP::compact_before_rename, "manager",
                 [](std::uint64_t s) { compactor_dies(CP::compact_before_rename, s); }});
  all.push_back({CP::compact_after_rename, "manager",
                 [](std::uint64_t s) { compactor_dies(CP::compact_after_rename, s); }});
  return all;
}

class CrashPoints : public ::testing::TestWithParam<Scenario> {};

TEST_P(CrashPoints, SurvivorsLoseNothingCommittedAfterAKillExactlyHere) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  const std::uint64_t first = shmq::test::test_seed("crash point seeds");
  const std::uint64_t n = seeds_per_point();
  for (std::uint64_t i = 0; i < n && !HasFailure(); ++i) {
    const std::uint64_t seed = first + i;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (SHMQ_SEED=" + std::to_string(seed) +
                 " SHMQ_CRASH_SEEDS=1 replays it)");
    GetParam().run(seed);
  }
}

std::string scenario_name(const ::testing::TestParamInfo<Scenario>& info) {
  return std::string(shmq::detail::kCrashPoints[static_cast<std::size_t>(info.param.point)].name) +
         "_" + info.param.label;
}

INSTANTIATE_TEST_SUITE_P(EveryPoint, CrashPoints, ::testing::ValuesIn(scenarios()), scenario_name);

TEST(CrashPointList, EveryNamedPointHasAScenario) {
  std::set<std::size_t> covered;
  for (const Scenario& s : scenarios())
    covered.insert(static_cast<std::size_t>(s.point));
  for (std::size_t i = 0; i < shmq::detail::kCrashPoints.size(); ++i) {
    EXPECT_TRUE(covered.count(i) == 1) << shmq::detail::kCrashPoints[i].name << " has no scenario";
  }
}

// The longest time a blocked call takes to notice a dead peer (issue: at most 500 ms). A getter
// asleep with the default WaitPolicy (100 ms slices) on an empty MPMC queue, while a producer
// dies holding a claim: measured from the producer's death to the recovered skip. A Pipe reader
// asleep in recv while the writer's holder is SIGKILLed: from the kill to recv's Status::closed.
// Prints the worst of 5 trials of each.
TEST(DeadPeer, BlockedCallsNoticeADeadPeerWithinHalfASecond) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  using Clock = std::chrono::steady_clock;
  Clock::duration worst_queue{};
  Clock::duration worst_pipe{};
  for (int trial = 0; trial < 5; ++trial) {
    ScopedName name("dead-notice");
    shmq::QueueOptions o;
    o.capacity = 16;
    auto q = Queue<std::uint64_t>::create(name.str(), o);  // default WaitPolicy
    std::thread getter([&] {
      std::uint64_t v = 0;
      EXPECT_EQ(q.get(v), Status::ok);  // blocked, until the message put after the recovery
      EXPECT_EQ(v, 2U);
    });
    // The getter registered as a sleeper (its bit in not_empty): it is asleep, or about to be.
    ASSERT_TRUE(shmq::test::eventually(
        [&] {
          return std::popcount(shmq::detail::core_of(q).control().not_empty.waiters.load()) == 1;
        },
        30s));
    Child producer([&] {
      auto mine = Queue<std::uint64_t>::open(name.str());
      shmq::detail::crash_point_arm(CrashPoint::claim_before_stamp, 1);
      return mine.put(1) == Status::ok ? 3 : 2;
    });
    ASSERT_EQ(producer.wait(), kKilled);
    const auto died = Clock::now();
    ASSERT_TRUE(shmq::test::eventually([&] { return totals(name).recovered_slots == 1; }, 5s));
    worst_queue = std::max(worst_queue, Clock::now() - died);
    EXPECT_EQ(q.put(2), Status::ok);
    getter.join();
  }
  for (int trial = 0; trial < 5; ++trial) {
    ScopedName name("dead-notice-pipe");
    auto ends = shmq::Pipe::create(name.str());
    shmq::Process writer(
        [](shmq::Connection&) {
          for (;;)
            pause();
        },
        std::ref(ends.second));
    writer.start();
    ends.second.close();  // the child's copy is the only writing end
    std::atomic<Clock::time_point> killed{};
    const pid_t reader_tid = ::gettid();
    std::thread killer([&] {
      // The reader (this test's main thread) is asleep in recv's futex wait.
      EXPECT_TRUE(
          shmq::test::wait_until([&] { return shmq::test::thread_state(reader_tid) == 'S'; }, 30s));
      killed.store(Clock::now());
      writer.kill();
    });
    std::string msg;
    EXPECT_EQ(ends.first.recv(msg), Status::closed);
    const auto noticed = Clock::now();
    killer.join();
    EXPECT_GT(noticed, killed.load());
    worst_pipe = std::max(worst_pipe, noticed - killed.load());
    writer.join();
  }
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  std::printf(
      "[figure] dead peer noticed by a blocked call, worst of 5: queue getter %lld us, "
      "pipe reader %lld us\n",
      static_cast<long long>(duration_cast<microseconds>(worst_queue).count()),
      static_cast<long long>(duration_cast<microseconds>(worst_pipe).count()));
  // The figure (≤ 500 ms on an idle machine) is printed above; the assertion only catches a
  // blocked call that never notices (a loaded machine under ASan may take longer than 500 ms).
  EXPECT_LT(worst_queue, 5s);
  EXPECT_LT(worst_pipe, 5s);
}

}  // namespace
