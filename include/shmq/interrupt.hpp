// shmq::interrupt(): make the blocked calls of this process return, from a signal handler —
// what Python's KeyboardInterrupt does to a blocked Queue.get().
//
//   std::signal(SIGINT, [](int) { shmq::interrupt(); });
//   while (q.get(job) == shmq::Status::ok) work(job);   // Ctrl-C: a waiting get returns
//   interrupted
//
// interrupt() is async-signal-safe (one lock-free atomic increment). Every blocking Queue or
// Connection call of this process that is waiting when it runs returns Status::interrupted
// (Connection::poll returns false): the call on the thread that ran the handler at once (its
// futex wait ends with EINTR; if the signal came in the instant before it went to sleep, after
// that sleep slice), calls on other threads within one sleep slice (WaitPolicy::sleep_slice). A
// call that starts after interrupt() returned waits normally, so clean-up code (draining, a last
// put) still works. An interrupt() while no call of this process is waiting is not kept: a loop
// that is busy (its gets keep finding messages) should also test a flag its handler sets
// (examples/jobs_consumer.cpp). An interrupted call moved nothing more: a single put/get did
// nothing; put_many / get_many count what they moved before it; a Connection send interrupted
// part-way drops the part, as a timeout does; a recv that has begun a message finishes it.
// try_* calls never block and are never interrupted. A handler that does not call interrupt()
// leaves blocked calls blocked: a signal alone never ends a wait (as PEP 475 retries Python's
// system calls). Manager calls are not interrupted (they keep waiting for their reply;
// docs/manager.md).
#pragma once

#include <atomic>
#include <cstdint>

namespace shmq {

// Async-signal-safe. See above.
void interrupt() noexcept;

namespace detail {
// Bumped by interrupt(); a blocking call compares it with the value it saw when it started.
extern std::atomic<std::uint32_t> g_interrupts;
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "interrupt() must be signal-safe");
inline std::uint32_t interrupt_generation() noexcept {
  // relaxed: only a change matters; the waiter acts on nothing the handler wrote.
  return g_interrupts.load(std::memory_order_relaxed);
}
}  // namespace detail

}  // namespace shmq
