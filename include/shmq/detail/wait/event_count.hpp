// Eventcount over a shared futex word (docs/design.md §5): blocking without a syscall on the
// busy path.
//
// A waiter registers (sets its registry entry's bit in `waiters`), reads the epoch, re-checks its
// condition, and only then sleeps on the epoch word. A notifier publishes its change, then wakes
// only if it sees a registered waiter. Both sides put a full fence between their write and their
// read ([F1]/[F2], the Dekker pair): either the notifier sees the waiter, or the waiter's re-check
// sees the change. A notifier that sees no waiter costs one fence and one load of a line that is
// read-shared while nobody sleeps: no syscall per message while both sides are busy.
//
// Sleeps are bounded slices (WaitPolicy::sleep_slice) so that a sleeper re-checks its condition,
// its deadline and its peers' liveness even if a wake is lost to a dead notifier.
// Reference: Dmitry Vyukov's eventcount; Ulrich Drepper, "Futexes Are Tricky".
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <mutex>
#include <new>

#include "shmq/detail/crash_point.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/shm_access.hpp"
#include "shmq/detail/wait/asymmetric_fence.hpp"
#include "shmq/detail/wait/futex.hpp"
#include "shmq/interrupt.hpp"
#include "shmq/options.hpp"
#include "shmq/status.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace shmq::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

#if defined(__SANITIZE_THREAD__)
#define SHMQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMQ_TSAN 1
#endif
#endif
#ifndef SHMQ_TSAN
#define SHMQ_TSAN 0
#endif

// Single-writer counter bump: only the owning process writes its registry entry's counters.
// On x86-64 one unlocked `add` to memory (the load + add + store that relaxed atomics compile to
// costs two instructions more per call): readers in other processes load it relaxed, and an
// aligned 8-byte store is atomic for them; no other writer exists, so no update is lost. TSan
// builds keep the atomic form (TSan cannot see an asm store).
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
#if defined(__x86_64__) && !SHMQ_TSAN
  static_assert(sizeof(counter) == sizeof(std::uint64_t));
  asm("addq %1, %0" : "+m"(*reinterpret_cast<std::uint64_t*>(&counter)) : "er"(by));
#else
  // relaxed: single writer; readers only want an approximate, eventually visible figure.
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
#endif
}

// The notifier's side of the Dekker pair, split so that its common case inlines: call
// has_registered() after publishing a change a waiter may be waiting for, and wake_registered()
// only when it says yes.
inline bool has_registered(const EventCountData& ec) noexcept {
  // [F1] order the caller's publish before the waiters load; pairs with [F2] in wait_until().
  // (Asymmetric fences, a compiler barrier here against membarrier() on the way to sleep, were a
  // per-process opt-in until layout 5; a process in the other mode than its peers lost wakes.)
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // relaxed: ordered by [F1].
  return shm_load(ec.waiters, std::memory_order_relaxed) != 0;
}
// has_registered() for a notifier of a queue with asymmetric fences (asymmetric_fence.hpp): the
// same Dekker pair, its fence moved to the waiter.
inline bool has_registered_light(const EventCountData& ec) noexcept {
  // [F1'] a compiler barrier: the caller's publish stays before the waiters load in program
  // order; the CPU may still reorder them, which the waiter's heavy_fence() after [F2] undoes
  // (pairs with it).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // relaxed: ordered by [F1'] and the waiter's heavy fence.
  return shm_load(ec.waiters, std::memory_order_relaxed) != 0;
}
// Wakes up to `count` sleepers. Returns how many the kernel woke (0 when the registered sleepers
// were not asleep yet — or are dead: see QueueCore::note_empty_wake()).
inline long wake_registered(EventCountData& ec, int count = INT_MAX) noexcept {
  // relaxed: the epoch only makes a racing futex_wait return; data is ordered by [F1]/[F2].
  shm_fetch_add(ec.epoch, 1, std::memory_order_relaxed);
  return futex_wake(ec.epoch, count);
}
// Both: -1 when no sleeper was registered (no syscall), else wake_registered()'s count.
inline long notify_all(EventCountData& ec) noexcept {
  return has_registered(ec) ? wake_registered(ec) : -1;
}

// Wake-one, for a change that one sleeper can take (one message, one free slot), after
// has_registered() said yes: wakes one sleeper unless a wake is pending already — then the woken
// sleeper, not yet back, will see this change too, or pass a wake on (wait_until()). So while
// sleepers are slow to wake, notifiers make one syscall per wake-up, not one per message.
// Returns -1 when it left the wake to the pending one, else wake_registered()'s count.
inline long wake_one(EventCountData& ec) noexcept {
  // relaxed: a hint; the exchange below decides.
  if (shm_load(ec.wake_pending, std::memory_order_relaxed) != 0) return -1;
  // relaxed: the flag only suppresses wakes; data is ordered by [F1]/[F2].
  if (shm_exchange(ec.wake_pending, 1U, std::memory_order_relaxed) != 0) return -1;
  const long woken = wake_registered(ec, 1);
  // Nobody was asleep (a registered sleeper not yet in its wait returns at once, the epoch having
  // moved; or the registered ones are dead): nobody would clear the flag.
  // relaxed: as above.
  if (woken == 0) shm_store(ec.wake_pending, 0U, std::memory_order_relaxed);
  return woken;
}

// Wakes every sleeper whether or not it is registered (close()).
inline void wake_all(EventCountData& ec) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);    // [F1] as in notify_all()
  shm_fetch_add(ec.epoch, 1, std::memory_order_relaxed);  // relaxed: as in notify_all()
  futex_wake(ec.epoch, INT_MAX);
}

// A handle's adaptive spin state (process-local; see "Adaptive spinning" below).
struct SpinBudget {
  std::uint32_t rounds = UINT32_MAX;  // spin at most this many rounds (and the policy's at most)
  std::uint32_t waits = 0;            // waits so far (every kProbeEvery-th probes)
};

// One handle's sleepers, per eventcount (process-local): threads of one handle share its waiters
// bit, so the bit is set by the first of them to register and cleared by the last to leave. The
// mutex is taken only on the way to and from sleep.
class SleepGate {
 public:
  // Sets `bit` in ec.waiters unless another thread of this handle has it set already.
  void enter(EventCountData& ec, std::uint64_t bit) noexcept {
    std::lock_guard lock(mutex_);
    if (count(&ec)++ == 0) {
      // seq_cst: part of the Dekker pair with [F2] in wait_until(). One RMW: whole or not done
      // when this process is killed (INV-E1).
      shm_fetch_or(ec.waiters, bit, std::memory_order_seq_cst);
    }
  }
  // Clears `bit` when the last thread of this handle registered on `ec` leaves.
  void leave(EventCountData& ec, std::uint64_t bit) noexcept {
    std::lock_guard lock(mutex_);
    if (--count(&ec) == 0) {
      // relaxed: the bit only gates wakes; a stale bit costs one needless wake.
      shm_fetch_and(ec.waiters, ~bit, std::memory_order_relaxed);
    }
  }
  // Re-checks that succeeded right after a slice ran to its end with the epoch unmoved: a wake-up
  // that never came — lost (a broken Dekker pair), or a change nobody notifies (a recovery of a
  // dead party's slot). Process-local; tests assert 0 where no process dies.
  std::uint64_t late_wakes() const noexcept { return late_wakes_.load(std::memory_order_relaxed); }
  void note_late_wake() noexcept { late_wakes_.fetch_add(1, std::memory_order_relaxed); }
  // How many threads of this handle are registered on `ec` (for tests and inspection).
  std::uint32_t sleepers(const EventCountData& ec) noexcept {
    std::lock_guard lock(mutex_);
    for (const Slot& s : slots_)
      if (s.ec == &ec) return s.count;
    return 0;
  }
  // In a forked child: no thread of the child sleeps, whatever the parent's threads did.
  void reset_in_child() noexcept {
    new (&mutex_) std::mutex();
    slots_ = {};
    late_wakes_.store(0, std::memory_order_relaxed);
  }

 private:
  std::uint32_t& count(const EventCountData* ec) noexcept {
    Slot* free = nullptr;
    for (Slot& s : slots_) {
      if (s.ec == ec) return s.count;
      if (s.count == 0 && free == nullptr) free = &s;
    }
    free->ec = ec;  // a segment has at most kSlots eventcounts (a pipe's 4): one is free
    return free->count;
  }
  struct Slot {
    const EventCountData* ec = nullptr;
    std::uint32_t count = 0;
  };
  static constexpr std::size_t kSlots = EventCountOffsets{}.at.size();
  std::mutex mutex_;
  std::array<Slot, kSlots> slots_{};
  std::atomic<std::uint64_t> late_wakes_{0};  // relaxed: a statistic
};

// Who is waiting: the bit of the handle's registry entry (1 << index), and the handle's gate.
// A dead sleeper's bit is cleared by survivors (Segment::reap_dead_sleepers).
struct Sleeper {
  Counters& counters;
  std::uint64_t bit;  // 1 << the registry index of the handle
  SleepGate& gate;
  // The handle's adaptive spin budget (process-local), or none: spin the policy's full count.
  SpinBudget* spin_budget = nullptr;
  // The eventcount's notifiers may use has_registered_light(): pay heavy_fence() after [F2].
  bool heavy_fence = false;
};

// Adaptive spinning. Spinning pays only while the peer runs on another CPU; when processes
// outnumber CPUs, a spinner burns the CPU its peer (or a stranger) needs, and a wait that is
// answered only after the spinner was descheduled was not answered by spinning (docs/design.md §8:
// 4×4 on 2 cores must not collapse). So a spin is bounded by time as well as by rounds
// (WaitPolicy::spin_limit), and judged by time: a wait that ended while spinning, within the
// limit, after i rounds keeps a budget of at least 2i; a wait that spun its budget in vain, or
// whose answer came after the limit (it was descheduled meanwhile), halves it. The budget never
// exceeds WaitPolicy::spin_iterations and never drops below kMinSpin, so a queue whose peer comes
// back regains the full spin within a few waits: a wait whose first re-check after the spin
// (before sleeping) finds the queue ready doubles it.
// A spin never yields the CPU: sched_yield() hands it to whoever else is runnable there, for a
// whole time slice on a busy machine; a futex sleep is woken with preemption instead.
// A peer that answers a little later than the budget's spin lasts (a request-reply partner, e.g.
// a Manager server) would keep the budget at kMinSpin and every wait asleep; so every
// kProbeEvery-th wait spins the policy's full count, and a probe that succeeds in time after i
// rounds lifts the budget to 2i. A probe that fails leaves it as it was: the probes cost at most
// 1/kProbeEvery of the full spin when spinning does not pay. (What was measured when these rules
// were made: docs/bench.md, "Measurements behind the waiting rules".)
inline constexpr std::uint32_t kMinSpin = 16;
inline constexpr std::uint32_t kProbeEvery = 16;
// The clock (a vDSO call) is read only once a spin has lasted kUntimedRounds rounds
// (a wait answered sooner — the busy case — reads no clock), then every kClockEvery rounds.
inline constexpr std::uint32_t kUntimedRounds = 64;
inline constexpr std::uint32_t kClockEvery = 16;
inline void spin_succeeded(SpinBudget* budget, std::uint32_t rounds, std::uint32_t most) noexcept {
  if (budget != nullptr)
    budget->rounds = std::min(most, std::max({budget->rounds, 2 * rounds, kMinSpin}));
}
inline void spin_failed(SpinBudget* budget, std::uint32_t spun) noexcept {
  if (budget != nullptr) budget->rounds = std::max(kMinSpin, std::min(budget->rounds, spun / 2));
}
// How many rounds this wait spins: the budget, or the policy's full count for a probe.
inline std::uint32_t spin_rounds(SpinBudget* budget, std::uint32_t most) noexcept {
  if (budget == nullptr || ++budget->waits % kProbeEvery == 0) return most;
  return std::min(budget->rounds, most);
}

// The spinning part of a wait: up to `rounds` re-tries, at most `limit` long. Returns the
// attempt's status (would_block when the spin gave up); adapts `budget` as described above.
template <class Attempt>
Status spin_wait(std::uint32_t rounds, std::chrono::nanoseconds limit, std::uint32_t most,
                 SpinBudget* budget, Status would_block, Attempt& attempt) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point give_up = Clock::time_point::max();  // set at round kUntimedRounds
  std::uint32_t i = 0;
  for (; i < rounds; ++i) {
    cpu_relax();
    const Status s = attempt(false);
    if (s != would_block) {
      if (i < kUntimedRounds || Clock::now() <= give_up) {
        spin_succeeded(budget, i + 1, most);
      } else {
        spin_failed(budget, i + 1);  // answered, but only after we were descheduled
      }
      return s;
    }
    if (i + 1 == kUntimedRounds) {
      give_up = Clock::now() + limit;  // the untimed rounds took well under a limit
    } else if (i > kUntimedRounds && i % kClockEvery == 0 && Clock::now() > give_up) {
      ++i;
      break;
    }
  }
  spin_failed(budget, i);
  return would_block;
}

// Sleep slices are clamped to this range: a sleeper re-checks its peers at least this often.
inline constexpr std::chrono::milliseconds kMinSleepSlice{1};
inline constexpr std::chrono::milliseconds kMaxSleepSlice{250};

// Runs `attempt(sleeping)` until it returns something other than `would_block`, spinning first,
// then sleeping on `ec` in slices; `sleeping` is true for the re-checks made while registered as
// a sleeper (where a slow check, e.g. a peer's liveness, is worth its syscall). Before each slice
// `on_slice()` runs (recovery of dead peers). Returns the attempt's status, or Status::timeout
// once `deadline` has passed, or Status::interrupted once shmq::interrupt() has run since the
// call began (checked before each sleep slice; a handler's EINTR ends the slice).
template <class Attempt, class OnSlice>
Status wait_until(EventCountData& ec, const WaitPolicy& policy, const Sleeper& me,
                  Deadline deadline, Status would_block, Attempt&& attempt, OnSlice&& on_slice) {
  const std::uint32_t interrupts = interrupt_generation();
  Status s = attempt(false);
  if (s != would_block) return s;
  const std::uint32_t spins = spin_rounds(me.spin_budget, policy.spin_iterations);
  s = spin_wait(spins, policy.spin_limit, policy.spin_iterations, me.spin_budget, would_block,
                attempt);
  if (s != would_block) return s;
  const auto slice = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::clamp(policy.sleep_slice, kMinSleepSlice, kMaxSleepSlice));
  bool first_slice = true;
  bool slept = false;
  bool unwoken = false;  // the last slice ran to its end and the epoch never moved
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      bump(me.counters.timeouts);
      // Notifiers wake one sleeper per message: a wake that reached us now goes unused, so hand
      // it on to the next sleeper, if any (a timeout is not the busy path).
      if (slept && has_registered(ec)) wake_one(ec);
      return Status::timeout;
    }
    if (interrupt_generation() != interrupts) {
      if (slept && has_registered(ec)) wake_one(ec);  // as for a timeout
      return Status::interrupted;
    }
    on_slice();
    me.gate.enter(ec, me.bit);  // seq_cst: part of the Dekker pair with [F2] below
    // relaxed: the epoch only arms the futex compare; [F2] orders it before the re-check.
    const std::uint32_t epoch = shm_load(ec.epoch, std::memory_order_relaxed);
    // [F2] order the registration before the re-check; pairs with [F1] in notify_all(). Paid
    // only on the way to sleep.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // [F2'] and, where notifiers use [F1'], a full barrier on each of their CPUs. Should the
    // kernel refuse it, a notifier may miss our bit: sleep the shortest slice.
    const bool fenced = !me.heavy_fence || heavy_fence();
    s = attempt(true);
    if (s != would_block && unwoken) me.gate.note_late_wake();
    // Ready right after the spin gave up: a longer spin would have caught it without the fence
    // and the registration; grow the budget back.
    if (s != would_block && first_slice)
      spin_succeeded(me.spin_budget, 2 * spins, policy.spin_iterations);
    first_slice = false;
    if (s == would_block) {
      bump(me.counters.sleeps);
      SHMQ_CRASH_POINT(sleep_registered);
      const auto this_slice = fenced ? slice : std::chrono::steady_clock::duration(kMinSleepSlice);
      const auto slice_end = deadline - now > this_slice ? now + this_slice : deadline;
      futex_wait_until(ec.epoch, epoch, slice_end);
      // relaxed: a statistic (late_wakes()).
      unwoken = std::chrono::steady_clock::now() >= slice_end &&
                shm_load(ec.epoch, std::memory_order_relaxed) == epoch;
      SHMQ_CRASH_POINT(sleep_woken);
      // Back from the wait, woken or not: the next change wakes someone again (wake_one()).
      // relaxed: as in wake_one(); the re-check after the next [F2] sees what was published.
      if (shm_load(ec.wake_pending, std::memory_order_relaxed) != 0)
        shm_store(ec.wake_pending, 0U, std::memory_order_relaxed);
      slept = true;
    }
    me.gate.leave(ec, me.bit);
    if (s != would_block) {
      // Several changes may have come while one wake was pending, and we took one of them: pass
      // a wake on to the next sleeper, if any (it finds nothing at worst).
      if (slept && s == Status::ok && has_registered(ec)) wake_one(ec);
      return s;
    }
  }
}

}  // namespace shmq::detail
