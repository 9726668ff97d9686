// PackedRing: the SPSC ring of fixed-size elements stored back to back, with no per-message
// header (QueueControl + T[capacity], see layout.hpp, kFlagPacked). Several small messages share
// a cache line, so one line moves per several messages: what an 8-byte SPSC queue needs to beat
// rings that spend a line per message (docs/queue.md, "Packed rings").
//
// Algorithm: Lamport's single-producer single-consumer ring with cached indices. The producer
// writes element `tail`, then publishes it by storing tail + 1 ([R11]); the consumer reads element
// `head`, then frees it by storing head + 1 ([R12]). Each side keeps a private copy of the other's
// index and reloads it only when its copy says full (empty), so a busy pair does not bounce the
// index lines per message.
//
// Invariant INV-P1: 0 <= tail - head <= capacity (wrap-safe difference), in every state: the
// indices are the publication itself, so no side ever lags. Every index read from shared memory
// is checked against it before use; a violation is Status::corrupt (positions are masked, so no
// access is ever out of bounds).
//
// Crashes (docs/design.md §6): a producer killed before [R11] published nothing (the put had not
// returned); a consumer killed before [R12] leaves the message to the next consumer, which
// resumes from `head`. There is nothing to recover: a single side's private state is only its
// copies of the indices, re-read on take-over (resume_*).
//
// Claims: a handle holds at most one open claim per side (zero-copy put or get); a second one
// while the first is open is Status::busy. A dropped put claim publishes nothing.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "shmq/detail/crash_point.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/shm_access.hpp"
#include "shmq/status.hpp"

namespace shmq::detail {

// A ring position held between claim and publish (producer) or acquire and release (consumer).
struct RingClaim {
  SlotHeader* slot = nullptr;  // the slot's header; null in a packed ring
  std::byte* payload = nullptr;
  std::uint64_t pos = 0;
  std::uint32_t size = 0;  // consumer: the validated payload size
};

// Wrap-safe signed distance a - b of two free-running positions.
constexpr std::int64_t distance(std::uint64_t a, std::uint64_t b) noexcept {
  return static_cast<std::int64_t>(a - b);
}

class PackedRing {
 public:
  PackedRing() noexcept = default;
  PackedRing(QueueControl* control, std::byte* data, std::uint64_t capacity,
             std::uint32_t stride) noexcept
      : ctl_(control), data_(data), capacity_(capacity), mask_(capacity - 1), stride_(stride) {}

  // Whether `depth` = tail - head is a legal depth (INV-P1).
  bool legal_depth(std::int64_t depth) const noexcept {
    return depth >= 0 && depth <= static_cast<std::int64_t>(capacity_);
  }

  // Continue from the shared indices (take-over of the role, or after fork()). False if corrupt.
  bool resume_producer() noexcept {
    // [A11'] see the elements the consumer freed; pairs with [R12].
    const std::uint64_t h = shm_load(ctl_->head, std::memory_order_acquire);
    // relaxed: only the producer writes tail, and we are the producer now.
    const std::uint64_t t = shm_load(ctl_->tail, std::memory_order_relaxed);
    if (!legal_depth(distance(t, h))) return false;
    local_tail_ = t;
    cached_head_ = h;
    claim_open_ = false;
    return true;
  }
  bool resume_consumer() noexcept {
    // relaxed: only the consumer writes head, and we are the consumer now.
    const std::uint64_t h = shm_load(ctl_->head, std::memory_order_relaxed);
    // [A12'] see the elements published so far; pairs with [R11].
    const std::uint64_t t = shm_load(ctl_->tail, std::memory_order_acquire);
    if (!legal_depth(distance(t, h))) return false;
    local_head_ = h;
    cached_tail_ = t;
    take_open_ = false;
    return true;
  }

  // ---- runs: several elements per index store (batches) ----

  // Consecutive elements, contiguous in memory (a run ends at the end of the ring's array).
  struct Run {
    std::byte* data = nullptr;
    std::uint64_t count = 0;
  };

  // Up to `most` (>= 1) free elements at the tail, to be written and then published with
  // publish_run(). The other side's index is reloaded only when the cached copy leaves fewer
  // than `most`.
  Status try_claim_run(std::uint64_t most, Run& r) noexcept {
    if (claim_open_) return Status::busy;
    std::int64_t depth = distance(local_tail_, cached_head_);
    if (static_cast<std::int64_t>(capacity_) - depth < static_cast<std::int64_t>(most)) {
      // [A11] the consumer is done with the elements it freed; pairs with [R12].
      const std::uint64_t h = shm_load(ctl_->head, std::memory_order_acquire);
      depth = distance(local_tail_, h);
      if (!legal_depth(depth)) return Status::corrupt;
      cached_head_ = h;
    }
    const std::uint64_t free = capacity_ - static_cast<std::uint64_t>(depth);
    if (free == 0) return Status::full;
    r = run_at(local_tail_, std::min(most, free));
    return Status::ok;
  }
  // Publishes the first `n` elements of the run just claimed.
  void publish_run(std::uint64_t n) noexcept {
    SHMQ_CRASH_POINT(publish_before_tail);
    local_tail_ += n;
    // [R11] publish the elements; pairs with [A12].
    shm_store(ctl_->tail, local_tail_, std::memory_order_release);
  }

  // Up to `most` (>= 1) published elements at the head, to be read and then freed with
  // release_run().
  Status try_acquire_run(std::uint64_t most, Run& r) noexcept {
    if (take_open_) return Status::busy;
    std::int64_t depth = distance(cached_tail_, local_head_);
    if (depth < static_cast<std::int64_t>(most)) {
      // [A12] the producer is done writing the elements it published; pairs with [R11].
      const std::uint64_t t = shm_load(ctl_->tail, std::memory_order_acquire);
      depth = distance(t, local_head_);
      if (!legal_depth(depth)) return Status::corrupt;
      cached_tail_ = t;
    }
    if (depth == 0) return Status::empty;
    r = run_at(local_head_, std::min(most, static_cast<std::uint64_t>(depth)));
    return Status::ok;
  }
  // Frees the first `n` elements of the run just acquired.
  void release_run(std::uint64_t n) noexcept {
    SHMQ_CRASH_POINT(release_before_head);
    local_head_ += n;
    // [R12] hand the elements back; pairs with [A11].
    shm_store(ctl_->head, local_head_, std::memory_order_release);
  }

  // For producers (Queue::ready_to_put()): relaxed, close is a hint to them; a put racing close()
  // may land and is then drained.
  bool closed_for_producers() const noexcept {
    return shm_load(ctl_->closed, std::memory_order_relaxed) != 0;
  }

  // ---- one element of a compile-time size: Queue<T>'s put and get of a fixed-size T ----
  //
  // A run of one without a claim: the copy has a constant size and the element's address a
  // constant stride (`Stride` must be the ring's stride). put_one() is Status::closed once the
  // queue is closed (closed_for_producers()). Status::busy while a zero-copy claim of the same
  // side is open: opening one makes the cached index say "full" ("empty"), so only
  // the slow path, which reloads the index, tests the flag (docs/bench.md, "Instructions per
  // call").

  template <std::size_t Stride>
  Status put_one(const void* element) noexcept {
    // Locals: the stores below may alias the members.
    QueueControl* const ctl = ctl_;
    // relaxed: as in closed_for_producers().
    if (shm_load(ctl->closed, std::memory_order_relaxed) != 0) return Status::closed;
    const std::uint64_t pos = local_tail_;
    if (distance(pos, cached_head_) >= static_cast<std::int64_t>(capacity_)) {
      if (claim_open_) return Status::busy;
      // [A11] as in try_claim_run().
      const std::uint64_t h = shm_load(ctl->head, std::memory_order_acquire);
      const std::int64_t depth = distance(pos, h);
      if (!legal_depth(depth)) return Status::corrupt;
      cached_head_ = h;
      if (depth == static_cast<std::int64_t>(capacity_)) return Status::full;
    }
    std::memcpy(data_ + (pos & mask_) * Stride, element, Stride);
    SHMQ_CRASH_POINT(publish_before_tail);
    local_tail_ = pos + 1;
    // [R11] as in publish_run().
    shm_store(ctl->tail, pos + 1, std::memory_order_release);
    return Status::ok;
  }
  template <std::size_t Stride>
  Status get_one(void* element) noexcept {
    const std::uint64_t pos = local_head_;  // as in put_one()
    if (cached_tail_ == pos) {
      if (take_open_) return Status::busy;
      // [A12] as in try_acquire_run().
      const std::uint64_t t = shm_load(ctl_->tail, std::memory_order_acquire);
      // One unsigned compare is INV-P1 here: tail - head in 1..capacity, or 0 (empty).
      const std::uint64_t depth = t - pos;
      if (depth - 1 >= capacity_) return depth == 0 ? Status::empty : Status::corrupt;
      cached_tail_ = t;
    }
    std::memcpy(element, data_ + (pos & mask_) * Stride, Stride);
    SHMQ_CRASH_POINT(release_before_head);
    local_head_ = pos + 1;
    // [R12] as in release_run().
    shm_store(ctl_->head, pos + 1, std::memory_order_release);
    return Status::ok;
  }

  // ---- one element (zero-copy claims): a run of one, held open until publish/release ----

  Status try_claim(RingClaim& c) noexcept {
    Run run;
    if (const Status s = try_claim_run(1, run); s != Status::ok) return s;
    c = at(local_tail_);
    claim_open_ = true;
    // A stale copy of head that says "full" (head >= tail - capacity always holds): put_one()
    // takes its slow path, which sees the open claim.
    cached_head_ = local_tail_ - capacity_;
    return Status::ok;
  }
  // Publishes the claimed element; `commit == false` drops the claim and publishes nothing.
  void publish(const RingClaim&, bool commit) noexcept {
    claim_open_ = false;
    if (commit) publish_run(1);
  }

  Status try_acquire(RingClaim& c) noexcept {
    Run run;
    if (const Status s = try_acquire_run(1, run); s != Status::ok) return s;
    c = at(local_head_);
    c.size = stride_;
    take_open_ = true;
    cached_tail_ = local_head_;  // "empty", as in try_claim(): get_one() sees the open take
    return Status::ok;
  }
  // Frees the acquired element for the producer.
  void release(const RingClaim&) noexcept {
    take_open_ = false;
    release_run(1);
    cached_tail_ = local_head_;  // was one behind it now (try_acquire()): stale, never ahead
  }

 private:
  RingClaim at(std::uint64_t pos) const noexcept {
    return {nullptr, data_ + (pos & mask_) * stride_, pos, 0};
  }
  Run run_at(std::uint64_t pos, std::uint64_t most) const noexcept {
    const std::uint64_t index = pos & mask_;
    return {data_ + index * stride_, std::min(most, capacity_ - index)};
  }

  QueueControl* ctl_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  std::uint32_t stride_ = 0;
  bool claim_open_ = false;
  bool take_open_ = false;
  // Producer: next position to write, and its latest copy of head.
  std::uint64_t local_tail_ = 0;
  std::uint64_t cached_head_ = 0;
  // Consumer: next position to read, and its latest copy of tail.
  std::uint64_t local_head_ = 0;
  std::uint64_t cached_tail_ = 0;
};

}  // namespace shmq::detail
