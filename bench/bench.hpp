// shmq-bench: the vocabulary shared by the runner, the workloads, the peers and the report.
//
// A *scenario* is one cell of a figure (round trip spinning, throughput at 64 B, ...). A *peer* is
// one IPC mechanism (shmq, a pipe, boost::lockfree in shared memory, ...); for each scenario it
// offers zero or more *variants* (one call per message, batches of 32, ...). One measured run is
// one (scenario, peer, variant): the runner forks its processes, the peer's Run gives each child
// its endpoints, and the shared workloads (workloads.hpp) do the timing, so every peer is measured
// by the same loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace shmq_bench {

enum class Figure : std::uint8_t {
  roundtrip,   // (1) ping-pong: one message each way, latency of the round trip
  throughput,  // (2) one-way, one producer and one consumer, as fast as it goes
  mpmc,        // (3) one-way, several producers and consumers on one queue
  manager,     // (5) calls per second on a dict held by a Manager's server (one client)
};

// How a waiting side waits.
enum class Wait : std::uint8_t {
  spin,   // busy-poll (shmq: WaitPolicy with a huge spin budget; kernel peers: O_NONBLOCK retries)
  sleep,  // block in the kernel between messages (shmq: WaitPolicy{spin_iterations = 0})
  normal  // each peer's default blocking calls (shmq: WaitPolicy{}; spin a little, then sleep)
};

std::string_view to_string(Figure f) noexcept;
std::string_view to_string(Wait w) noexcept;

struct Scenario {
  Figure figure = Figure::roundtrip;
  Wait wait = Wait::spin;
  std::size_t bytes = 8;  // message size; one of kMessageSizes
  int producers = 1;      // roundtrip: the pinger; throughput: 1; manager: the clients
  int consumers = 1;      // roundtrip: the ponger; throughput: 1; manager: the server
};

// The message sizes a run can use (each is a compile-time instantiation of the workloads).
inline constexpr std::size_t kMessageSizes[] = {8, 64, 1024, 65536};

// Messages per batch where a variant batches, and the ring capacity (messages) every queue-like
// peer gets, so that no peer has a larger buffer than another.
inline constexpr std::size_t kBatch = 32;
constexpr std::size_t capacity_for(std::size_t bytes) noexcept {
  return bytes >= 65536 ? 64 : 1024;
}

// The variants of the manager figure, named alike by every peer that has it (the ratio to shmq is
// taken op against op): d[i % kDictKeys] = i, and d.get(i % kDictKeys) of keys set beforehand.
inline constexpr std::string_view kDictSet = "dict set";
inline constexpr std::string_view kDictGet = "dict get";
inline constexpr std::uint64_t kDictKeys = 1000;

struct Variant {
  std::string name;  // short, shown in the table ("1/call", "batch×32")
  std::string note;  // what exactly is measured ("put_many/try_get_many ×32")
  std::size_t send_batch = 1;
  std::size_t recv_batch = 1;
  bool reference = false;  // shmq: the row other peers' ratios are taken against
};

class ChildContext;  // runner.hpp
struct RunOptions;   // runner.hpp
struct Measurement;  // runner.hpp

// Thrown by Peer::prepare() or Peer::measure_itself() when this peer cannot measure the row on
// this machine (a kernel limit, a daemon that cannot start, a missing interpreter): the row is
// reported as skipped, with the message as its reason, and the run does not fail.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One measured run, set up in the parent before the fork. It owns every named resource of the
// run (segments, queues, file descriptors) and releases them in its destructor, which the runner
// calls on every path, errors included.
class Run {
 public:
  virtual ~Run() = default;
  // In a forked child: open this child's endpoints, then run its side of the workload
  // (workloads.hpp). Throws on failure; the runner reports the message.
  virtual void child(ChildContext& ctx) = 0;
  // After the children are gone: syscalls the run made per message, where the peer can count
  // them itself (shmq: its futex waits and wakes, from the segment's counters); -1 where not.
  virtual double syscalls_per_message() const { return -1; }
};

class Peer {
 public:
  virtual ~Peer() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  // What this peer measures for `s`; empty: this peer has no row for the scenario.
  virtual std::vector<Variant> variants(const Scenario& s) const = 0;
  // `unique` is a name no other run uses (it contains the pid and a run counter) and that fits
  // every naming scheme used by the peers (characters [A-Za-z0-9-]). Throws on failure.
  virtual std::unique_ptr<Run> prepare(const Scenario& s, const Variant& v,
                                       const std::string& unique) = 0;

  // A peer measured by an outside program (Python's multiprocessing) says so here; the runner
  // then forks nothing and calls measure_itself(), which fills `m` (figures, cpus, ok) the way
  // the runner would, on the CPUs in cpu_order(t.cpus). Throws on failure.
  virtual bool measures_itself() const { return false; }
  virtual void measure_itself(const Scenario& s, const Variant& v, const RunOptions& t,
                              const std::string& unique, Measurement& m);
  // Seconds a row of this peer costs beyond its warm-up and window (process starts, setup,
  // teardown): --quick subtracts them from its budget before it sizes the windows.
  virtual double run_overhead_s() const { return 0.1; }
  // Called after this peer's last row of the run: stop what prepare() kept between rows (a
  // daemon such as iceoryx's RouDi).
  virtual void release() {}
};

}  // namespace shmq_bench
