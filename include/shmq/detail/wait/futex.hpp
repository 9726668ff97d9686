// Futex calls on 32-bit words in shared memory. Always the shared (non-private) futex: a
// private futex never wakes another process (docs/design.md §5; libstdc++'s atomic::wait uses
// private ones).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "shmq/detail/wait/deadline.hpp"

namespace shmq::detail {

// Sleeps while *word == expected, until woken, `deadline` passes, or a signal or spurious wakeup
// ends the wait. Returns nothing: the caller re-checks its condition and its deadline.
void futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      Deadline deadline) noexcept;

// Wakes up to `count` sleepers on `word`, in any process. Returns how many it woke.
long futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace shmq::detail
