// The runner: one measured run = fork the run's processes (pinned to different CPUs), start them
// together, wait for them (with a watchdog), and turn what they wrote into a Measurement.
//
// Parent and children share one anonymous MAP_SHARED page (`Shared`), set up before the fork: a
// start barrier, the measurement window as absolute CLOCK_MONOTONIC times (the same clock in every
// process), and one result block per child. Nothing is passed back through pipes or files.
#pragma once

#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench.hpp"

namespace shmq_bench {

inline constexpr int kMaxChildren = 16;

enum class Role : std::uint8_t { ping, pong, producer, consumer, client, server };

// What one child reports. Written only by that child, read by the parent after the child exited.
struct alignas(64) ChildResult {
  // Messages sent (producer), taken (consumer) or echoed (pong), round trips (ping) or calls
  // (client), from the start barrier to the end, warm-up included; and of those, the ones inside
  // the window.
  std::uint64_t msgs_total = 0;
  std::uint64_t msgs_window = 0;
  std::int64_t window_start_ns = 0;
  std::int64_t window_end_ns = 0;
  std::int64_t cpu_ns = 0;  // getrusage(RUSAGE_SELF) user+sys from the start barrier to the end
  // ping only: round-trip latency over the window, nanoseconds.
  std::uint64_t samples = 0;
  double p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0, mean_ns = 0;
  char error[480] = {};
};

struct alignas(64) Shared {
  std::atomic<int> ready{0};  // children at the start barrier
  std::atomic<int> go{0};     // set by the parent once every child is ready
  std::atomic<int> producers_done{0};
  std::atomic<int> consumers_done{0};  // consumers that took their stop
  std::int64_t window_start_ns = 0;    // absolute CLOCK_MONOTONIC; warm-up ends here
  std::int64_t end_ns = 0;             // producers (the pinger) stop at this time
  ChildResult results[kMaxChildren];
};

// A child's view of its run: who it is, the barrier, the window, where its result goes.
class ChildContext {
 public:
  ChildContext(Shared& shared, const Scenario& s, Role role, int index, int slot,
               std::size_t samples_cap)
      : shared_(shared),
        scenario_(s),
        role_(role),
        index_(index),
        slot_(slot),
        samples_cap_(samples_cap) {}

  const Scenario& scenario() const noexcept { return scenario_; }
  Role role() const noexcept { return role_; }
  int index() const noexcept { return index_; }  // among the producers (consumers)
  int producers() const noexcept { return scenario_.producers; }
  int consumers() const noexcept { return scenario_.consumers; }
  std::size_t samples_cap() const noexcept { return samples_cap_; }

  // Blocks until every child of the run is ready (endpoints open, buffers allocated).
  void start_barrier() noexcept;
  std::int64_t window_start_ns() const noexcept { return shared_.window_start_ns; }
  std::int64_t end_ns() const noexcept { return shared_.end_ns; }
  // Called by each producer once it has stopped: true for the last one (it sends the stops).
  bool last_producer_done() noexcept;
  // Called by each consumer once it took its stop; a sender whose messages can be lost when it
  // disconnects (zmq) waits for all of them before it closes (at most `patience_ns`).
  void consumer_done() noexcept;
  void wait_consumers_done(std::int64_t patience_ns) const noexcept;
  ChildResult& result() noexcept { return shared_.results[slot_]; }

 private:
  Shared& shared_;
  Scenario scenario_;
  Role role_;
  int index_;
  int slot_;  // this child's ChildResult: producers (or ping) first, then consumers (or pong)
  std::size_t samples_cap_;
};

std::int64_t now_ns() noexcept;       // CLOCK_MONOTONIC (== std::chrono::steady_clock)
std::int64_t cpu_self_ns() noexcept;  // getrusage(RUSAGE_SELF): user + system

struct RunOptions {
  double seconds = 1.0;   // measurement window per run
  double warmup = 0.2;    // before the window, not measured
  std::vector<int> cpus;  // where children may run (empty: wherever this process may)
};

// One row of a figure, as measured.
struct Measurement {
  Scenario scenario;
  std::string peer;
  Variant variant;
  std::vector<int> cpus;  // the CPU each child was pinned to, in child order (empty: not pinned)
  bool ok = false;
  bool skipped = false;  // the peer cannot measure this row here (Unavailable); `error` says why
  std::string error;
  // roundtrip: latency of one round trip, microseconds
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
  std::uint64_t samples = 0;
  // throughput / mpmc: messages taken by the consumers inside the window (manager: calls)
  double msgs_per_s = 0, mb_per_s = 0, window_s = 0;
  std::uint64_t messages = 0;
  // CPU (user + system) per million messages, summed over the run's processes, each counted from
  // the start barrier to its end (a round trip is two messages); and the CPU of the whole run,
  // setup and warm-up included, from wait4().
  double cpu_s_per_million = 0;
  double cpu_total_s = 0;
  // Run::syscalls_per_message() (warm-up included), -1 where the peer cannot count them.
  double syscalls_per_message = -1;
};

// Set from a SIGINT/SIGTERM handler: the runner then kills its children and throws Interrupted.
extern volatile std::sig_atomic_t g_interrupted;
struct Interrupted {};

// The CPUs children are pinned to, in the order children take them (child i gets
// order[i % size]): one CPU per physical core first — SMT siblings share L1/L2 and would flatter
// every peer — those sharing the first CPU's L3 before the others; SMT siblings last. `wanted`
// restricts the set (empty: every CPU this process may use). Fewer than 2: nobody is pinned.
std::vector<int> cpu_order(const std::vector<int>& wanted);
int allowed_cpu_count() noexcept;  // CPUs this process may run on

// Runs one (scenario, peer, variant). Never throws except Interrupted: failures become a
// Measurement with ok == false and the reason in `error` (and skipped == true where the peer threw
// Unavailable).
Measurement measure(Peer& peer, const Scenario& s, const Variant& v, const RunOptions& t,
                    const std::string& unique);

}  // namespace shmq_bench
