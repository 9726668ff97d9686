// Futex calls on 32-bit words in shared memory. Always the shared (non-private) futex: a private
// futex never wakes another process (DESIGN §5; libstdc++'s atomic::wait uses private ones).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace shmq::detail {

using Deadline = std::chrono::steady_clock::time_point;  // CLOCK_MONOTONIC in libstdc++

// Sleeps while *word == expected, until woken, `deadline` passes, or a signal or spurious wakeup
// ends the wait. Returns nothing: the caller re-checks its condition and its deadline.
void futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      Deadline deadline) noexcept;

// Wakes up to `count` sleepers on `word`, in any process. Returns how many it woke.
long futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

// Asymmetric fences for the eventcount's Dekker pair (folly's asymmetricLight/HeavyBarrier),
// opt-in with SHMQ_ASYMMETRIC_FENCES=1: the notifier, on every message, then needs only a compiler
// barrier (light_fence) because the sleeper, on the rare way to sleep, makes every CPU that runs a
// registered process execute a full barrier (heavy_fence: membarrier(GLOBAL_EXPEDITED)). Each
// process registers when it first attaches a segment, and again in a forked child (registration
// is not inherited). Every process that uses a segment must run in the same mode: a sleeper in
// symmetric mode can miss a wake from an asymmetric notifier (until its slice ends, ≤ 250 ms).
// Off by default: on the 2-vCPU VMs here the heavy fence made the sleeping round trip's p99 8×
// worse (a preempted vCPU delays the IPI) and the one-message-per-call gain did not show; see
// docs/bench.md.
void enable_asymmetric_fences() noexcept;  // idempotent; called by the segment layer
inline bool asymmetric_fences = false;     // this process is registered (set only by the above)
void heavy_fence() noexcept;
inline void light_fence() noexcept {
  if (asymmetric_fences) {
    std::atomic_signal_fence(std::memory_order_seq_cst);  // pairs with heavy_fence()
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

}  // namespace shmq::detail
