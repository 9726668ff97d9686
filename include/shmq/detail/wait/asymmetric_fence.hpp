// Asymmetric fences (docs/queue.md, "Waiting"): the eventcount's Dekker pair ([F1]/[F2],
// event_count.hpp) with the cost moved to the rare side. A notifier (every put and get) orders
// its publish before its load of `waiters` with a compiler barrier only; a waiter, on its way to
// sleep, calls membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), which makes every running thread of
// every process registered for it execute a full barrier (a thread not running has passed one
// in the context switch). So either a notifier's load came after that barrier and sees the
// waiter's bit, or its publish came before it and the waiter's re-check sees the publish.
//
// A property of the queue segment, chosen at create (QueueOptions::asymmetric_fences,
// kFlagAsymmetricFences), never a per-process choice: every waiter of such a segment calls
// membarrier, whatever fence its notifiers use, so a process whose registration failed (it
// then notifies with a full fence) is still correct beside the others.
#pragma once

namespace shmq::detail {

// Whether this kernel offers the global expedited membarrier (register + barrier). Cached.
bool asymmetric_fences_supported() noexcept;

// Registers this process (once per process: a forked child registers again) so that waiters'
// heavy_fence() covers its threads. False if the kernel refused: notify with a full fence.
bool register_light_fences() noexcept;

// The waiter's side: a full barrier on every running thread of every registered process. False
// if the call failed (then a notifier's light fence may hide its publish from this waiter: the
// caller must not sleep long).
bool heavy_fence() noexcept;

}  // namespace shmq::detail
