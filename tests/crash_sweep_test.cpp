// The crash sweep: a process is killed right before each store and read-modify-write to shared
// memory that its workload passes (every call site of shm_store/shm_exchange/shm_fetch_*/shm_cas_*
// is a crash site by itself, shm_access.hpp), for every queue kind and the Pipe, with another
// process asleep and, in one variant, a full registry. A discovery run records which sites the
// victim passes and how often; then each site is armed at its first pass and at a seeded later
// one. The oracle checks, after every kill:
//   - conservation: nothing committed is lost, nothing is duplicated, each consumer sees each
//     producer's messages in order (at most the one message a killed consumer held is missing);
//   - liveness: every survivor's bounded call completes (a timeout is a wedge);
//   - the eventcount invariant INV-E1: once all are quiescent and dead sleepers are reaped, no
//     waiters bit is left, and a notify makes no syscall.
// The Manager: a client killed at any site of its requests; the server serves the survivors.
// SHMQ_SWEEP_SEEDS sets the seeded passes per site (default 1; scripts/soak.sh runs more).
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/access.hpp"
#include "shmq/detail/crash_point.hpp"
#include "shmq/inspect.hpp"
#include "shmq/manager.hpp"
#include "shmq/pipe.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Queue;
using shmq::Status;
using shmq::test::Child;
using shmq::test::ScopedName;

constexpr int kKilled = 128 + SIGKILL;
constexpr shmq::WaitPolicy kWait{.spin_iterations = 50, .sleep_slice = 1ms};
constexpr std::uint64_t kMessages = 24;
constexpr std::uint64_t kCapacity = 8;
constexpr std::uint64_t kMarkerBase = 1'000'000;
constexpr auto kBound = 10s;  // a survivor's call that takes longer is a wedge
constexpr std::size_t kMaxLog = 256;
constexpr std::size_t kMaxSites = 256;

// What the children did, in memory shared with the parent (MAP_SHARED before fork). Each array
// has one writer; its count is stored after the value.
struct SweepLog {
  std::atomic<std::uint64_t> committed;  // the victim producer's puts (sends) that returned ok
  std::atomic<std::uint64_t> victim_count;
  std::uint64_t victim_got[kMaxLog];
  std::atomic<std::uint64_t> bystander_count;
  std::uint64_t bystander_got[kMaxLog];
  std::atomic<std::uint32_t> stop_bystander;
  std::atomic<std::uint32_t> site_count;
  struct Site {
    char file[64];
    std::uint32_t line;
    std::uint64_t hits;
  } sites[kMaxSites];
};

class SweepLogMap {
 public:
  SweepLogMap() {
    void* p = ::mmap(nullptr, sizeof(SweepLog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    log_ = new (p) SweepLog{};
  }
  ~SweepLogMap() { ::munmap(log_, sizeof(SweepLog)); }
  SweepLogMap(const SweepLogMap&) = delete;
  SweepLogMap& operator=(const SweepLogMap&) = delete;
  SweepLog* operator->() const { return log_; }
  SweepLog& operator*() const { return *log_; }

 private:
  SweepLog* log_;
};

void append(std::atomic<std::uint64_t>& count, std::uint64_t* values, std::uint64_t v) {
  const std::uint64_t n = count.load();
  if (n < kMaxLog) {
    values[n] = v;
    count.store(n + 1);
  }
}

std::vector<std::uint64_t> read_log(const std::atomic<std::uint64_t>& count,
                                    const std::uint64_t* values) {
  return {values, values + std::min<std::uint64_t>(count.load(), kMaxLog)};
}

// In the victim, after a discovery run: the sites it passed.
void publish_sites(SweepLog& log) {
  const auto sites = shmq::detail::crash_sites_recorded();
  std::uint32_t n = 0;
  for (const auto& s : sites) {
    if (n == kMaxSites) break;
    std::snprintf(log.sites[n].file, sizeof(log.sites[n].file), "%s", s.file.c_str());
    log.sites[n].line = s.line;
    log.sites[n].hits = s.hits;
    ++n;
  }
  log.site_count.store(n);
}

// How the victim is set up: recording its sites (discovery), or armed at one of them.
struct Arm {
  bool discover = false;
  std::string file;
  std::uint32_t line = 0;
  std::uint64_t nth = 0;
};
void arm_in_victim(const Arm& arm) {
  if (arm.discover) {
    shmq::detail::crash_sites_record(true);
  } else {
    shmq::detail::crash_site_arm(arm.file, arm.line, arm.nth);
  }
}

// ---- workloads ----

enum class Kind { spsc_packed, spsc_slots, mpmc, mpmc_full_registry, pipe, manager };
enum class Role { producer, consumer };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::spsc_packed:
      return "spsc_packed";
    case Kind::spsc_slots:
      return "spsc_slots";
    case Kind::mpmc:
      return "mpmc";
    case Kind::mpmc_full_registry:
      return "mpmc_full_registry";
    case Kind::pipe:
      return "pipe";
    case Kind::manager:
      return "manager";
  }
  return "?";
}

shmq::QueueOptions queue_options(Kind k) {
  shmq::QueueOptions o;
  o.capacity = kCapacity;
  o.wait = kWait;
  const bool single = k == Kind::spsc_packed || k == Kind::spsc_slots;
  o.producers = single ? shmq::Producers::one : shmq::Producers::many;
  o.consumers = single ? shmq::Consumers::one : shmq::Consumers::many;
  o.packed = k == Kind::spsc_packed;
  return o;
}

// Each value at most once across `lists`, each list strictly increasing (one consumer's order).
::testing::AssertionResult once_and_in_order(const std::vector<std::vector<std::uint64_t>>& lists,
                                             std::set<std::uint64_t>& all) {
  for (const auto& list : lists) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i > 0 && list[i] <= list[i - 1]) {
        return ::testing::AssertionFailure()
               << "value " << list[i] << " after " << list[i - 1] << " (reordered or duplicated)";
      }
      if (!all.insert(list[i]).second) {
        return ::testing::AssertionFailure() << "value " << list[i] << " delivered twice";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Liveness and INV-E1 for a queue, from the surviving parent: more than a lap of markers through
// the ring (so a dead party's held slot must be recovered), each call bounded; then, quiescent,
// no waiters bit after a reap.
::testing::AssertionResult queue_survives(Queue<std::uint64_t>& q) {
  for (std::uint64_t m = 0; m < 2 * kCapacity + 1; ++m) {
    if (const Status s = q.put_for(kMarkerBase + m, kBound); s != Status::ok) {
      return ::testing::AssertionFailure() << "wedge: marker put " << m << ": " << to_string(s);
    }
    std::uint64_t v = 0;
    if (const Status s = q.get_for(v, kBound); s != Status::ok) {
      return ::testing::AssertionFailure() << "wedge: marker get " << m << ": " << to_string(s);
    }
    if (v != kMarkerBase + m) {
      return ::testing::AssertionFailure() << "marker " << m << " read as " << v;
    }
  }
  shmq::detail::core_of(q).segment().reap_dead_sleepers();
  auto& ctl = shmq::detail::core_of(q).control();
  if (ctl.not_empty.waiters.load() != 0 || ctl.not_full.waiters.load() != 0) {
    return ::testing::AssertionFailure()
           << "INV-E1: waiters bits left with nobody waiting: not_empty " << std::hex
           << ctl.not_empty.waiters.load() << ", not_full " << ctl.not_full.waiters.load();
  }
  if (shmq::detail::notify_all(ctl.not_empty) >= 0) {
    return ::testing::AssertionFailure() << "INV-E1: a notify with nobody asleep woke someone";
  }
  return ::testing::AssertionSuccess();
}

// A process that holds `handles` more attachments of the queue until it is killed: with the
// others, it leaves the victim the registry's last entry. (Not the parent itself: a forked child
// takes one entry for every handle it inherits.)
Child fill_registry(const std::string& name, std::uint32_t handles) {
  Child crowd([&]() -> int {
    std::vector<Queue<std::uint64_t>> held;
    for (std::uint32_t i = 0; i < handles; ++i)
      held.push_back(Queue<std::uint64_t>::open(name, kWait));
    shmq::test::report_ready();
    for (;;)
      ::pause();
  });
  if (!crowd.wait_ready()) throw std::runtime_error("the crowd did not attach");
  return crowd;
}

struct Outcome {
  bool killed = false;
};

// The victim produces kMessages (blocking when the ring is full) while the parent (and, on a
// multi-consumer queue, a bystander that sleeps between messages) consumes.
::testing::AssertionResult queue_producer_dies(Kind kind, const Arm& arm, SweepLog& log,
                                               Outcome& out) {
  ScopedName name("sweep-qp");
  auto q = Queue<std::uint64_t>::create(name.str(), queue_options(kind));
  if (kind == Kind::spsc_packed || kind == Kind::spsc_slots) q.claim_consumer();
  const bool multi = kind == Kind::mpmc || kind == Kind::mpmc_full_registry;
  // Parent 1 + bystander 2 (its inherited handle and its own) + victim 2 + crowd 1 + 58.
  std::optional<Child> crowd;
  if (kind == Kind::mpmc_full_registry) crowd.emplace(fill_registry(name.str(), 58));
  std::optional<Child> bystander;
  if (multi) {
    bystander.emplace([&] {
      auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
      while (log.stop_bystander.load() == 0) {
        std::uint64_t v = 0;
        const Status s = mine.get_for(v, 5ms);
        if (s == Status::ok) append(log.bystander_count, log.bystander_got, v);
        if (s != Status::ok && s != Status::timeout) return 2;
      }
      return 0;
    });
  }
  Child victim([&] {
    arm_in_victim(arm);
    {
      auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
      for (std::uint64_t v = 0; v < kMessages; ++v) {
        if (mine.put_for(v, kBound) != Status::ok) return 2;
        log.committed.store(v + 1);
      }
    }
    if (arm.discover) publish_sites(log);
    return 0;
  });
  std::vector<std::uint64_t> got;
  for (;;) {
    std::uint64_t v = 0;
    const Status s = q.get_for(v, 2ms);
    if (s == Status::ok) {
      got.push_back(v);
      continue;
    }
    if (s != Status::timeout) return ::testing::AssertionFailure() << "get: " << to_string(s);
    if (victim.wait(0ms) >= 0) break;
  }
  const int status = victim.wait();
  if (status != 0 && status != kKilled) {
    return ::testing::AssertionFailure() << "victim exit " << status;
  }
  out.killed = status == kKilled;
  // Whatever is left, drained (a dead claim is recovered as a skip on the way).
  for (std::uint64_t v = 0; q.get_for(v, 20ms) == Status::ok;)
    got.push_back(v);
  if (bystander) {
    log.stop_bystander.store(1);
    if (const int b = bystander->wait(); b != 0) {
      return ::testing::AssertionFailure() << "bystander exit " << b;
    }
  }
  std::set<std::uint64_t> all;
  auto ok = once_and_in_order({got, read_log(log.bystander_count, log.bystander_got)}, all);
  if (!ok) return ok;
  // A put killed after its publish, before it returned, is delivered without being committed.
  const std::uint64_t committed = log.committed.load();
  const std::uint64_t n = all.size();
  if (n < committed || n > committed + 1 || (!all.empty() && *all.rbegin() != n - 1)) {
    return ::testing::AssertionFailure()
           << n << " values delivered (highest " << (all.empty() ? 0 : *all.rbegin()) << "), "
           << committed << " committed: lost or duplicated";
  }
  return queue_survives(q);
}

// The parent produces kMessages (blocking when full) while the victim consumes; then the parent
// consumes the rest. At most the one message the victim held is missing (counted in_doubt on a
// multi-consumer queue, or delivered and not yet logged).
::testing::AssertionResult queue_consumer_dies(Kind kind, const Arm& arm, SweepLog& log,
                                               Outcome& out) {
  ScopedName name("sweep-qc");
  auto q = Queue<std::uint64_t>::create(name.str(), queue_options(kind));
  const bool single = kind == Kind::spsc_packed || kind == Kind::spsc_slots;
  if (single) q.claim_producer();
  // Parent 1 + victim 2 (its inherited handle and its own) + crowd 1 + 60.
  std::optional<Child> crowd;
  if (kind == Kind::mpmc_full_registry) crowd.emplace(fill_registry(name.str(), 60));
  Child victim([&] {
    arm_in_victim(arm);
    {
      auto mine = Queue<std::uint64_t>::open(name.str(), kWait);
      for (std::uint64_t i = 0; i < kMessages; ++i) {
        std::uint64_t v = 0;
        if (mine.get_for(v, kBound) != Status::ok) return 2;
        append(log.victim_count, log.victim_got, v);
      }
    }
    if (arm.discover) publish_sites(log);
    return 0;
  });
  std::uint64_t put = 0;
  while (put < kMessages) {
    const Status s = q.put_for(put, 2ms);
    if (s == Status::ok) {
      ++put;
      continue;
    }
    if (s != Status::timeout) return ::testing::AssertionFailure() << "put: " << to_string(s);
    if (victim.wait(0ms) >= 0) break;
  }
  const int status = victim.wait();
  if (status != 0 && status != kKilled) {
    return ::testing::AssertionFailure() << "victim exit " << status;
  }
  out.killed = status == kKilled;
  std::vector<std::uint64_t> got;
  for (std::uint64_t v = 0; q.get_for(v, 20ms) == Status::ok;)
    got.push_back(v);
  std::set<std::uint64_t> all;
  auto ok = once_and_in_order({read_log(log.victim_count, log.victim_got), got}, all);
  if (!ok) return ok;
  if (all.size() + 1 < put || (!all.empty() && *all.rbegin() >= put)) {
    return ::testing::AssertionFailure()
           << all.size() << " of " << put << " put delivered: more than one lost";
  }
  return queue_survives(q);
}

// The victim holds the writing end and sends kMessages of 1..700 bytes through 256-byte rings
// (so messages span records and the writer sleeps); the parent reads. Received: a prefix of what
// was sent, each message whole; then end of file within the bound.
std::string pipe_message(std::uint64_t i) {
  std::string m((i * 37) % 700 + 1, '\0');
  for (std::size_t k = 0; k < m.size(); ++k)
    m[k] = static_cast<char>('a' + (i + k) % 26);
  return m;
}

// 256-byte rings: messages span records, and writers sleep.
shmq::PipeOptions small_rings() {
  shmq::PipeOptions o;
  o.capacity_bytes = 256;
  o.wait = kWait;
  return o;
}

::testing::AssertionResult pipe_writer_dies(const Arm& arm, SweepLog& log, Outcome& out) {
  ScopedName name("sweep-pw");
  auto reader = shmq::Connection::create(name.str(), shmq::End::first, small_rings());
  Child victim([&] {
    arm_in_victim(arm);
    {
      auto mine = shmq::Connection::open(name.str(), shmq::End::second, kWait);
      for (std::uint64_t i = 0; i < kMessages; ++i) {
        if (mine.send(pipe_message(i)) != Status::ok) return 2;
        log.committed.store(i + 1);
      }
    }
    if (arm.discover) publish_sites(log);
    return 0;
  });
  std::uint64_t received = 0;
  // Read while the victim writes (the 256-byte rings fill up), until end of file or its death.
  for (;;) {
    if (reader.poll(2ms)) {
      std::string m;
      const Status s = reader.recv(m);
      if (s == Status::closed) break;  // the victim is gone (reaped below)
      if (s != Status::ok) return ::testing::AssertionFailure() << "recv: " << to_string(s);
      if (m != pipe_message(received)) {
        return ::testing::AssertionFailure() << "message " << received << " torn or out of order";
      }
      ++received;
      continue;
    }
    if (victim.wait(0ms) >= 0) break;
  }
  const int status = victim.wait();
  if (status != 0 && status != kKilled) {
    return ::testing::AssertionFailure() << "victim exit " << status;
  }
  out.killed = status == kKilled;
  // A victim killed inside open() may leave its end never opened (pending, not closed): a new
  // opener must be able to take the end after the dead one (bounded), and close it.
  try {
    auto again = shmq::Connection::open(name.str(), shmq::End::second, kWait);
  } catch (const shmq::Error& e) {
    if (e.code() != make_error_code(shmq::Errc::role_taken)) {
      return ::testing::AssertionFailure() << "wedge: the end cannot be opened again: " << e.what();
    }
    return ::testing::AssertionFailure() << "a dead victim still holds its end: " << e.what();
  }
  // Everything the victim sent, then end of file (bounded: poll waits at most kBound).
  for (;;) {
    if (!reader.poll(kBound)) return ::testing::AssertionFailure() << "wedge: no end of file";
    std::string m;
    const Status s = reader.recv(m);
    if (s == Status::closed) break;
    if (s != Status::ok) return ::testing::AssertionFailure() << "recv: " << to_string(s);
    if (m != pipe_message(received)) {
      return ::testing::AssertionFailure() << "message " << received << " torn or out of order";
    }
    ++received;
  }
  const std::uint64_t committed = log.committed.load();
  if (received < committed || received > committed + 1) {
    return ::testing::AssertionFailure()
           << received << " messages received, " << committed << " sent: lost or duplicated";
  }
  return ::testing::AssertionSuccess();
}

// The victim holds the reading end; the parent sends until the reader is gone: its send returns
// closed within the bound, and the victim got a prefix of what was sent.
::testing::AssertionResult pipe_reader_dies(const Arm& arm, SweepLog& log, Outcome& out) {
  ScopedName name("sweep-pr");
  auto writer = shmq::Connection::create(name.str(), shmq::End::second, small_rings());
  Child victim([&] {
    arm_in_victim(arm);
    {
      auto mine = shmq::Connection::open(name.str(), shmq::End::first, kWait);
      for (std::uint64_t i = 0; i < kMessages; ++i) {
        std::string m;
        if (mine.recv(m) != Status::ok) return 2;
        if (m != pipe_message(i)) return 3;
        append(log.victim_count, log.victim_got, i);
      }
    }
    if (arm.discover) publish_sites(log);
    return 0;
  });
  // Send while the victim reads; stop when it is gone (closed) or dead and not reading.
  bool gone = false;
  for (std::uint64_t i = 0; i < kMessages && !gone;) {
    const std::string m = pipe_message(i);
    const Status s = writer.send_bytes_for(std::as_bytes(std::span(m)), 2ms);
    if (s == Status::ok) {
      ++i;
    } else if (s == Status::closed) {
      gone = true;
    } else if (s != Status::timeout) {
      return ::testing::AssertionFailure() << "send: " << to_string(s);
    } else if (victim.wait(0ms) >= 0) {
      break;
    }
  }
  const int status = victim.wait();
  if (status != 0 && status != kKilled) {
    return ::testing::AssertionFailure() << "victim exit " << status;
  }
  out.killed = status == kKilled;
  if (!gone) {
    // A victim killed inside open() may leave its end never opened (pending): a new opener takes
    // it after the dead one (bounded) and closes it; then the writer sees end of file.
    try {
      auto again = shmq::Connection::open(name.str(), shmq::End::first, kWait);
    } catch (const shmq::Error& e) {
      return ::testing::AssertionFailure() << "wedge: the end cannot be opened again: " << e.what();
    }
    const std::string m = pipe_message(0);
    const Status s = writer.send_bytes_for(std::as_bytes(std::span(m)), kBound);
    if (s != Status::closed && s != Status::ok) {
      return ::testing::AssertionFailure() << "wedge: send after the reader died: " << to_string(s);
    }
  }
  const auto got = read_log(log.victim_count, log.victim_got);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != i) return ::testing::AssertionFailure() << "reader got " << got[i] << " at " << i;
  }
  return ::testing::AssertionSuccess();
}

// A Manager client dies at any site of its requests (dict sets, each awaited): the server
// serves the survivors (bounded), every set that returned is there, and no other value appears.
// INV-E1 here: after a reap, every waiters bit left in the request queue belongs to a live
// process (the server sleeps there legitimately).
::testing::AssertionResult manager_client_dies(const Arm& arm, SweepLog& log, Outcome& out) {
  ScopedName name("sweep-mgr");
  shmq::ManagerOptions mo;
  mo.wait = kWait;
  auto mgr = shmq::Manager::create(name.str(), mo);
  Child victim([&] {
    arm_in_victim(arm);
    {
      auto mine = shmq::Manager::open(name.str(), mo);
      auto d = mine.dict<std::string, std::uint64_t>("d");
      for (std::uint64_t i = 0; i < kMessages; ++i) {
        d.set("k" + std::to_string(i), i);
        log.committed.store(i + 1);
      }
    }
    if (arm.discover) publish_sites(log);
    return 0;
  });
  const int status = victim.wait();
  if (status != 0 && status != kKilled) {
    return ::testing::AssertionFailure() << "victim exit " << status;
  }
  out.killed = status == kKilled;
  const std::uint64_t committed = log.committed.load();
  try {
    auto d = mgr.dict<std::string, std::uint64_t>("d");
    for (std::uint64_t i = 0; i < kMessages; ++i) {
      const std::optional<std::uint64_t> v = d.get("k" + std::to_string(i));
      const bool must = i < committed;
      const bool may = i <= committed;  // a set applied whose reply the victim never read
      if ((must && !v.has_value()) || (!may && v.has_value()) || (v.has_value() && *v != i)) {
        return ::testing::AssertionFailure()
               << "key k" << i << ": " << (v ? *v : 0) << " (" << committed << " sets returned)";
      }
    }
    d.set("marker", 1);
    if (d.get("marker") != std::optional<std::uint64_t>(1)) {
      return ::testing::AssertionFailure() << "marker lost";
    }
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "wedge or failure serving the survivor: " << e.what();
  }
  const std::string req = name.str() + ".req";
  const auto seg = shmq::detail::Segment::open(req, shmq::detail::SegmentKind::queue);
  seg.reap_dead_sleepers();
  const auto& ctl =
      *reinterpret_cast<const shmq::detail::QueueControl*>(seg.base() + shmq::detail::kBodyOffset);
  for (std::uint64_t bits = ctl.not_empty.waiters.load() | ctl.not_full.waiters.load(); bits != 0;
       bits &= bits - 1) {
    const auto i = static_cast<std::uint32_t>(std::countr_zero(bits));
    if (!seg.entry_alive(i)) {
      return ::testing::AssertionFailure()
             << "INV-E1: a dead entry's waiters bit " << i << " survived a reap in " << req;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult run_workload(Kind kind, Role role, const Arm& arm, SweepLog& log,
                                        Outcome& out) {
  if (kind == Kind::manager) return manager_client_dies(arm, log, out);
  if (kind == Kind::pipe) {
    return role == Role::producer ? pipe_writer_dies(arm, log, out)
                                  : pipe_reader_dies(arm, log, out);
  }
  return role == Role::producer ? queue_producer_dies(kind, arm, log, out)
                                : queue_consumer_dies(kind, arm, log, out);
}

std::uint64_t seeds_per_site() {
  const char* env = std::getenv("SHMQ_SWEEP_SEEDS");
  return env != nullptr ? std::strtoull(env, nullptr, 0) : 1;
}

struct Workload {
  Kind kind;
  Role role;
};

class CrashSweep : public ::testing::TestWithParam<Workload> {};

TEST_P(CrashSweep, AKillBeforeAnySharedStoreLosesNothingAndWedgesNothing) {
  if (!shmq::detail::kCrashPointsEnabled) GTEST_SKIP() << "built without SHMQ_CRASH_POINTS";
  const Workload w = GetParam();
  const std::uint64_t seed = shmq::test::test_seed("crash sweep");
  std::vector<SweepLog::Site> sites;
  {
    SweepLogMap log;
    Outcome out;
    ASSERT_TRUE(run_workload(w.kind, w.role, Arm{.discover = true, .file = {}, .line = 0, .nth = 0},
                             *log, out))
        << "discovery";
    ASSERT_FALSE(out.killed);
    sites.assign(log->sites, log->sites + log->site_count.load());
  }
  ASSERT_FALSE(sites.empty()) << "the victim passed no crash site";
  std::uint64_t runs = 0;
  std::uint64_t kills = 0;
  for (const auto& site : sites) {
    std::set<std::uint64_t> nths{1};
    for (std::uint64_t k = 0; k < seeds_per_site(); ++k)
      nths.insert(1 + (seed + k * 7919 + site.line) % site.hits);
    for (const std::uint64_t nth : nths) {
      SweepLogMap log;
      Outcome out;
      const Arm arm{.discover = false, .file = site.file, .line = site.line, .nth = nth};
      ASSERT_TRUE(run_workload(w.kind, w.role, arm, *log, out))
          << "killed before pass " << nth << " of " << site.file << ":" << site.line << " (of "
          << site.hits << " in discovery); SHMQ_SEED=" << seed << " replays it";
      ++runs;
      kills += out.killed ? 1 : 0;
    }
  }
  std::printf(
      "[sweep] %s %s: %zu crash sites, %llu runs, %llu kills, seed %llu: 0 lost, 0 "
      "duplicated, 0 wedged, 0 waiters left\n",
      kind_name(w.kind),
      w.kind == Kind::manager    ? "client"
      : w.role == Role::producer ? "producer"
                                 : "consumer",
      sites.size(), static_cast<unsigned long long>(runs), static_cast<unsigned long long>(kills),
      static_cast<unsigned long long>(seed));
}

std::string workload_name(const ::testing::TestParamInfo<Workload>& info) {
  if (info.param.kind == Kind::manager) return "manager_client";
  return std::string(kind_name(info.param.kind)) + "_" +
         (info.param.role == Role::producer ? "producer" : "consumer");
}

INSTANTIATE_TEST_SUITE_P(EveryKind, CrashSweep,
                         ::testing::Values(Workload{Kind::spsc_packed, Role::producer},
                                           Workload{Kind::spsc_packed, Role::consumer},
                                           Workload{Kind::spsc_slots, Role::producer},
                                           Workload{Kind::spsc_slots, Role::consumer},
                                           Workload{Kind::mpmc, Role::producer},
                                           Workload{Kind::mpmc, Role::consumer},
                                           Workload{Kind::mpmc_full_registry, Role::producer},
                                           Workload{Kind::mpmc_full_registry, Role::consumer},
                                           Workload{Kind::pipe, Role::producer},
                                           Workload{Kind::pipe, Role::consumer},
                                           Workload{Kind::manager, Role::producer}),
                         workload_name);

}  // namespace
