#include "shmq/detail/wait/futex.hpp"

#include "shmq/interrupt.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace shmq::detail {

namespace {

// FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (no FUTEX_CLOCK_REALTIME flag).
timespec to_timespec(Deadline deadline) noexcept {
  using namespace std::chrono;
  const auto since_epoch = deadline.time_since_epoch();
  if (since_epoch <= nanoseconds::zero()) return {0, 0};
  // steady_clock's epoch is CLOCK_MONOTONIC's on Linux/libstdc++.
  const auto secs = duration_cast<seconds>(since_epoch);
  const auto nanos = duration_cast<nanoseconds>(since_epoch - secs);
  return {static_cast<time_t>(secs.count()), static_cast<long>(nanos.count())};
}

}  // namespace

void futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      Deadline deadline) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  const bool forever = deadline == Deadline::max();
  timespec ts{};
  if (!forever) ts = to_timespec(deadline);
  // EINTR, EAGAIN (the word changed), ETIMEDOUT and spurious returns all end here; the caller
  // loops.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET, expected,
          forever ? nullptr : &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
}

long futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, count, nullptr,
                 nullptr, 0);
}

}  // namespace shmq::detail

namespace shmq {

namespace detail {
std::atomic<std::uint32_t> g_interrupts{0};
}  // namespace detail

void interrupt() noexcept {
  detail::g_interrupts.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace shmq
