// Shared pieces of shmq-micro (Google Benchmark): rings on plain aligned memory for the raw cost
// of the detail API, unique segment names for the public API, and the conventions every file
// follows.
//
// Conventions. Names are BM_<Component>_<Scenario>. A single-thread benchmark times one op pair
// (put then get on the same ring), so the ring never fills and nothing waits: Time is the cost of
// the pair. A ->Threads(2) benchmark runs a producer (thread 0) and a consumer (thread 1) on one
// ring, each doing the same number of iterations, with ->UseRealTime(). Google Benchmark divides
// the wall time by the iterations of both threads, so there Time is half the time per message:
// read the producer's counters instead (count_messages()): items_per_second = messages per
// second, s_per_msg = wall seconds per message.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "shmq/detail/layout.hpp"
#include "shmq/detail/ring/slot_ring.hpp"
#include "shmq/detail/wait/event_count.hpp"
#include "shmq/status.hpp"

namespace shmq_micro {

// A zeroed block aligned to a cache line, freed on destruction.
class AlignedBlock {
 public:
  explicit AlignedBlock(std::size_t bytes)
      : bytes_((bytes + shmq::detail::kCacheLine - 1) / shmq::detail::kCacheLine *
               shmq::detail::kCacheLine),
        mem_(static_cast<std::byte*>(std::aligned_alloc(shmq::detail::kCacheLine, bytes_))) {
    if (mem_ == nullptr) throw std::bad_alloc();
    std::memset(mem_, 0, bytes_);
  }
  AlignedBlock(const AlignedBlock&) = delete;
  AlignedBlock& operator=(const AlignedBlock&) = delete;
  ~AlignedBlock() { std::free(mem_); }
  std::byte* data() const noexcept { return mem_; }

 private:
  std::size_t bytes_;
  std::byte* mem_;
};

// QueueControl followed by `capacity` slots on plain memory: what a queue segment holds, without
// the segment (no registry, no counters, no eventcounts in use).
class HeapSlotRing {
 public:
  HeapSlotRing(std::uint64_t capacity, std::uint32_t max_message)
      : capacity_(capacity),
        max_message_(max_message),
        stride_(static_cast<std::uint32_t>(
            (shmq::detail::kSlotPayloadOffset + max_message + shmq::detail::kCacheLine - 1) /
            shmq::detail::kCacheLine * shmq::detail::kCacheLine)),
        block_(sizeof(shmq::detail::QueueControl) + capacity * stride_),
        ctl_(new (block_.data()) shmq::detail::QueueControl{}) {
    shmq::detail::SlotRing::initialize(*ctl_, slots(), capacity_, stride_, 0, false);
  }

  // A handle of one kind, resumed on both sides as QueueCore does.
  shmq::detail::SlotRing handle(bool multi_producer, bool multi_consumer) const {
    shmq::detail::SlotRing::Config cfg;
    cfg.capacity = capacity_;
    cfg.stride = stride_;
    cfg.max_message = max_message_;
    cfg.multi_producer = multi_producer;
    cfg.multi_consumer = multi_consumer;
    shmq::detail::SlotRing ring(ctl_, slots(), cfg, 1U);
    if (!ring.resume_producer() || !ring.resume_consumer()) throw std::logic_error("bad ring");
    return ring;
  }

 private:
  std::byte* slots() const noexcept { return block_.data() + sizeof(shmq::detail::QueueControl); }

  std::uint64_t capacity_;
  std::uint32_t max_message_;
  std::uint32_t stride_;
  AlignedBlock block_;
  shmq::detail::QueueControl* ctl_;
};

// A registry entry's intent word, alone on its cache line: in a segment each process has its own
// (RegistryEntry::pending); sharing detail::unowned_pending between threads would add a
// contended line that real users do not pay.
struct alignas(shmq::detail::kCacheLine) PendingWord {
  std::atomic<std::uint64_t> word{0};
};

// A segment name unique to this process and benchmark.
inline std::string segment_name(const char* what) {
  return "shmq-micro-" + std::to_string(::getpid()) + "-" + what;
}

// Set once any benchmark failed: main() then exits 1 (Google Benchmark itself exits 0).
inline std::atomic<bool> any_failed{false};
// Set when a thread of the current ->Threads(2) run failed, so that its partner stops spinning
// for it; cleared by begin_run() in each such benchmark's Setup.
inline std::atomic<bool> run_failed{false};
inline void begin_run() noexcept {
  run_failed.store(false, std::memory_order_relaxed);  // relaxed: Setup runs before the threads
}

// Stops the benchmark with an error (once per thread), recorded for main().
inline void fail(benchmark::State& state, const std::string& what) {
  any_failed.store(true, std::memory_order_relaxed);  // relaxed: a flag, read after joins
  run_failed.store(true, std::memory_order_relaxed);  // relaxed: a flag, polled
  state.SkipWithError(what.c_str());
}
// Whether a ring or queue call failed; if so, fails the benchmark.
inline bool failed(benchmark::State& state, shmq::Status s, const char* what) {
  if (s == shmq::Status::ok) return false;
  fail(state, std::string(what) + ": " + std::string(shmq::to_string(s)));
  return true;
}
// For spin loops in ->Threads(2) benchmarks: whether to keep waiting for the partner.
inline bool partner_alive() noexcept {
  return !run_failed.load(std::memory_order_relaxed);  // relaxed: a flag, polled
}

// The producer's counters of a ->Threads(2) run: `messages` (its iterations) per second and wall
// seconds per message, and bytes per second if `bytes_per_message` is given.
inline void count_messages(benchmark::State& state, std::int64_t bytes_per_message = 0) {
  state.SetItemsProcessed(state.iterations());
  if (bytes_per_message != 0) state.SetBytesProcessed(state.iterations() * bytes_per_message);
  state.counters["s_per_msg"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace shmq_micro
