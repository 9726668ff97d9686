// SlotRing: the process-local handle of a bounded ring of fixed-size slots in shared memory
// (QueueControl + Slot[capacity], see layout.hpp). No syscalls here: waiting is event_count.hpp's.
//
// Algorithm: Dmitry Vyukov's bounded MPMC queue with 64-bit free-running positions. Each slot
// carries a sequence word next to its payload (same cache line), so a consumer polls the slot it
// will read, not a shared index, and one line moves per message in each direction:
//   seq == p             slot free for position p        (producer may claim p)
//   seq == p + 1         slot holds the message of p     (consumer may take p)
//   seq == p + capacity  message taken; free for p + capacity
// Multi-producer (MP) sides claim a position with a CAS on `tail`; a single producer (SP) keeps
// its position privately and only stores `tail` for observers and for the next producer's
// take-over; the consumer side mirrors this with `head`. So SPSC, MPSC, SPMC and MPMC are one
// algorithm with plain stores where a side has one party.
//
// Guarantees: lock-free (MP/MC sides may retry; a claimer stalled between claim and publish
// blocks later positions until it publishes or is recovered); linearizable FIFO in position
// order; per-producer FIFO; every message taken exactly once.
//
// Invariants:
//   INV-R1: 0 <= tail - head <= capacity (wrap-safe difference), in every legal state — except
//           that a single side's index may lag by one (its owner published, or released, and has
//           not stored tail/head yet, or died in between): -1 <= tail - head with a single
//           producer, tail - head <= capacity + 1 with a single consumer.
//   INV-R2: a slot's seq is one of p, p + 1, p + capacity for the position p it serves
//           (p + capacity + 1 once the next lap's message is published there).
// Every value read from shared memory is checked against these before use; a violation is
// Status::corrupt, never an out-of-bounds access (positions are masked, sizes are bounded).
//
// Memory ordering: a consumer that took position p sees every byte the producer of p wrote before
// publish() ([R1] → [A2]); a producer that claimed a slot sees the previous consumer done with it
// ([R2] → [A1]). `head`/`tail` are tickets only: their own accesses are relaxed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "shmq/detail/layout.hpp"
#include "shmq/status.hpp"

namespace shmq::detail {

// Wrap-safe signed distance a - b of two free-running positions.
constexpr std::int64_t distance(std::uint64_t a, std::uint64_t b) noexcept {
  return static_cast<std::int64_t>(a - b);
}

class SlotRing {
 public:
  struct Config {
    std::uint64_t capacity = 0;  // power of two
    std::uint32_t stride = 0;
    std::uint32_t max_message = 0;
    bool multi_producer = true;
    bool multi_consumer = true;
  };

  // A slot held between claim and publish (producer) or between acquire and release (consumer).
  struct Claim {
    SlotHeader* slot = nullptr;
    std::byte* payload = nullptr;
    std::uint64_t pos = 0;
    std::uint32_t size = 0;  // consumer: the validated payload size
  };

  SlotRing() noexcept = default;
  SlotRing(QueueControl* control, std::byte* slots, const Config& config,
           std::uint32_t claimer_tag) noexcept
      : ctl_(control),
        slots_(slots),
        capacity_(config.capacity),
        mask_(config.capacity - 1),
        stride_(config.stride),
        max_message_(config.max_message),
        multi_producer_(config.multi_producer),
        multi_consumer_(config.multi_consumer),
        tag_(claimer_tag) {}

  // Writes the initial slot sequence of a new ring; the memory must be zeroed.
  static void initialize(QueueControl& control, std::byte* slots, std::uint64_t capacity,
                         std::uint32_t stride, std::uint64_t start) noexcept {
    for (std::uint64_t i = 0; i < capacity; ++i) {
      const std::uint64_t pos = start + i;
      auto* slot = reinterpret_cast<SlotHeader*>(slots + (pos & (capacity - 1)) * stride);
      // relaxed: published to openers by the segment's `ready` ([R0]).
      slot->seq.store(pos, std::memory_order_relaxed);
    }
    control.tail.store(start, std::memory_order_relaxed);  // relaxed: as above
    control.head.store(start, std::memory_order_relaxed);  // relaxed: as above
  }

  // The claimer stamp written into slots this handle claims (changes after fork()).
  void set_claimer_tag(std::uint32_t tag) noexcept { tag_ = tag; }

  std::uint64_t capacity() const noexcept { return capacity_; }
  std::uint32_t max_message() const noexcept { return max_message_; }
  QueueControl& control() const noexcept { return *ctl_; }

  // ---- producer side ----

  // SP only: continue from the shared `tail`, fixing a tail store that a dead producer missed.
  // Call once when this handle becomes the producer. Returns false if the state is corrupt.
  bool resume_producer() noexcept {
    if (multi_producer_) return true;
    // relaxed: tickets; slot seqs below are read with acquire.
    std::uint64_t t = ctl_->tail.load(std::memory_order_relaxed);
    const std::uint64_t h = ctl_->head.load(std::memory_order_relaxed);
    for (std::uint64_t step = 0; step <= capacity_; ++step) {
      const std::uint64_t seq = slot_at(t)->seq.load(std::memory_order_acquire);  // [A1]
      if (seq == t || seq == t - capacity_ + 1) {  // free, or full (message of t - capacity)
        // INV-R1; t is exact here, h may lag by one behind a single consumer.
        const std::int64_t depth = distance(t, h);
        const std::int64_t most = static_cast<std::int64_t>(capacity_) + (multi_consumer_ ? 0 : 1);
        if (depth < 0 || depth > most) return false;
        local_tail_ = t;
        return true;
      }
      if (seq != t + 1 && seq != t + capacity_) return false;  // INV-R2
      ++t;  // published (and maybe taken) but the tail store was missed
    }
    return false;
  }

  Status try_claim(Claim& c) noexcept {
    return multi_producer_ ? try_claim_multi(c) : try_claim_single(c);
  }

  // Makes the claimed slot's message visible; size == kSkipSize publishes an empty skip.
  void publish(const Claim& c, std::uint32_t size) noexcept {
    c.slot->size.store(size, std::memory_order_relaxed);  // relaxed: ordered by [R1]
    // [R1] publish the message; pairs with [A2] in try_acquire().
    c.slot->seq.store(c.pos + 1, std::memory_order_release);
    if (!multi_producer_) {
      // relaxed: only this producer writes tail; observers want an approximate size, and a
      // missed store is repaired by resume_producer().
      ctl_->tail.store(c.pos + 1, std::memory_order_relaxed);
    }
  }

  // ---- consumer side ----

  // SC only: as resume_producer(), for `head`.
  bool resume_consumer() noexcept {
    if (multi_consumer_) return true;
    std::uint64_t h = ctl_->head.load(std::memory_order_relaxed);  // relaxed: ticket
    for (std::uint64_t step = 0; step <= capacity_; ++step) {
      const std::uint64_t seq = slot_at(h)->seq.load(std::memory_order_acquire);  // [A2]
      if (seq == h || seq == h + 1) {  // empty, or holds the message of h
        local_head_ = h;
        return true;
      }
      // Taken, but the head store was missed; the producer may already have refilled the slot
      // for the next lap (h + capacity + 1).
      if (seq != h + capacity_ && seq != h + capacity_ + 1) return false;  // INV-R2
      ++h;
    }
    return false;
  }

  // Takes the next message. Skips (kSkipSize) are released and passed over. On Status::corrupt
  // the offending slot has been released (its message dropped) so the ring keeps moving.
  Status try_acquire(Claim& c) noexcept {
    for (std::uint64_t skips = 0; skips <= capacity_; ++skips) {
      const Status s = multi_consumer_ ? try_acquire_multi(c) : try_acquire_single(c);
      if (s != Status::ok) return s;
      // relaxed: ordered after [A2] by the acquire that found the message.
      const std::uint32_t size = c.slot->size.load(std::memory_order_relaxed);
      if (size == kSkipSize) {
        release(c);
        continue;
      }
      if (size > max_message_) {
        release(c);
        return Status::corrupt;
      }
      c.size = size;
      return Status::ok;
    }
    return Status::empty;
  }

  // Frees the slot of an acquired message for the producer of pos + capacity.
  void release(const Claim& c) noexcept {
    // relaxed: ordered by [R2]. INV-R3: while a slot is claimed and unpublished (seq == p), its
    // claimer word is 0 or the tag of the producer that claimed p — never a stale tag.
    c.slot->claimer.store(0, std::memory_order_relaxed);
    // [R2] hand the slot back; pairs with [A1] in try_claim().
    c.slot->seq.store(c.pos + capacity_, std::memory_order_release);
    if (!multi_consumer_) {
      // relaxed: only this consumer writes head; see publish() for tail.
      ctl_->head.store(c.pos + 1, std::memory_order_relaxed);
    }
  }

  // The next position a consumer takes (approximate for a multi-consumer ring).
  std::uint64_t take_position() const noexcept {
    // relaxed: a ticket, for recovery's bookkeeping only.
    return multi_consumer_ ? ctl_->head.load(std::memory_order_relaxed) : local_head_;
  }

  // Consumer side (MP rings): if the next position to take was claimed by a producer that died
  // before publishing it, publish an empty skip in its place so the ring moves on (DESIGN §6).
  // `claimer_dead(tag)` must say whether the claimer with that tag is provably dead (never on a
  // timeout alone). Returns whether a slot was recovered. A claimer killed between its claim and
  // its tag store (a few instructions) leaves tag 0 and cannot be recovered.
  template <class ClaimerDead>
  bool recover_dead_claim(ClaimerDead&& claimer_dead) noexcept {
    if (!multi_producer_) return false;  // a single producer's claim is private until published
    const std::uint64_t pos = take_position();
    if (distance(ctl_->tail.load(std::memory_order_relaxed), pos) <= 0) return false;  // unclaimed
    SlotHeader* slot = slot_at(pos);
    // [A6] see the release that freed the slot for pos (and reset its claimer, INV-R3); pairs
    // with [R2] in release().
    if (slot->seq.load(std::memory_order_acquire) != pos) return false;
    // relaxed: INV-R3 makes any non-zero value the current claimer's tag.
    const std::uint32_t tag = slot->claimer.load(std::memory_order_relaxed);
    if (tag == 0 || !claimer_dead(tag)) return false;
    // The claimer is dead: nobody else writes this slot until it is published.
    slot->size.store(kSkipSize, std::memory_order_relaxed);  // relaxed: ordered by [R6]
    std::uint64_t expected = pos;
    // [R6] publish the skip, as [R1] would; acq_rel/relaxed: another consumer may race to do the
    // same, and only one CAS wins.
    return slot->seq.compare_exchange_strong(expected, pos + 1, std::memory_order_acq_rel,
                                             std::memory_order_relaxed);
  }

  // Approximate number of messages (claimed positions minus taken ones), clamped to [0, capacity].
  std::uint64_t size() const noexcept {
    // relaxed: an approximation by contract (like Python's qsize()).
    const std::uint64_t t = ctl_->tail.load(std::memory_order_relaxed);
    const std::uint64_t h = ctl_->head.load(std::memory_order_relaxed);
    const std::int64_t d = distance(t, h);
    if (d <= 0) return 0;
    return static_cast<std::uint64_t>(d) > capacity_ ? capacity_ : static_cast<std::uint64_t>(d);
  }

 private:
  SlotHeader* slot_at(std::uint64_t pos) const noexcept {
    return reinterpret_cast<SlotHeader*>(slots_ + (pos & mask_) * stride_);
  }
  Claim claim_at(std::uint64_t pos) const noexcept {
    SlotHeader* s = slot_at(pos);
    return {s, reinterpret_cast<std::byte*>(s) + kSlotPayloadOffset, pos, 0};
  }

  Status try_claim_single(Claim& c) noexcept {
    const std::uint64_t pos = local_tail_;
    // [A1] the consumer of pos - capacity is done with the slot; pairs with [R2] in release().
    const std::uint64_t seq = slot_at(pos)->seq.load(std::memory_order_acquire);
    if (seq == pos) {
      c = claim_at(pos);
      ++local_tail_;
      return Status::ok;
    }
    if (seq == pos - capacity_ + 1) return Status::full;
    return Status::corrupt;  // INV-R2: only this producer writes positions >= local_tail_
  }

  Status try_claim_multi(Claim& c) noexcept {
    // relaxed: a ticket; the slot's seq ([A1]) orders the data.
    std::uint64_t pos = ctl_->tail.load(std::memory_order_relaxed);
    for (;;) {
      // [A1] as in try_claim_single().
      const std::uint64_t seq = slot_at(pos)->seq.load(std::memory_order_acquire);
      const std::int64_t d = distance(seq, pos);
      if (d == 0) {
        // relaxed/relaxed: the CAS only hands out the ticket; [A1] already ordered the slot.
        if (ctl_->tail.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed,
                                             std::memory_order_relaxed)) {
          c = claim_at(pos);
          // relaxed: read by recovery only after seeing the claim in `tail`.
          c.slot->claimer.store(tag_, std::memory_order_relaxed);
          return Status::ok;
        }
        continue;  // pos was reloaded by the failed CAS
      }
      if (d < 0) return Status::full;  // the slot still holds the message of pos - capacity
      // Another producer took pos: move on. Legally tail has moved past pos by now.
      const std::uint64_t next = ctl_->tail.load(std::memory_order_relaxed);  // relaxed: ticket
      if (distance(next, pos) <= 0) return Status::corrupt;  // seq ahead of tail: INV-R2
      pos = next;
    }
  }

  Status try_acquire_single(Claim& c) noexcept {
    const std::uint64_t pos = local_head_;
    // [A2] the producer of pos is done writing; pairs with [R1] in publish().
    const std::uint64_t seq = slot_at(pos)->seq.load(std::memory_order_acquire);
    if (seq == pos + 1) {
      c = claim_at(pos);
      ++local_head_;
      return Status::ok;
    }
    if (seq == pos) return Status::empty;  // free, or claimed and not yet published
    return Status::corrupt;                // INV-R2
  }

  Status try_acquire_multi(Claim& c) noexcept {
    // relaxed: a ticket; the slot's seq ([A2]) orders the data.
    std::uint64_t pos = ctl_->head.load(std::memory_order_relaxed);
    for (;;) {
      // [A2] as in try_acquire_single().
      const std::uint64_t seq = slot_at(pos)->seq.load(std::memory_order_acquire);
      const std::int64_t d = distance(seq, pos + 1);
      if (d == 0) {
        // relaxed/relaxed: the CAS only hands out the ticket; [A2] already ordered the slot.
        if (ctl_->head.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed,
                                             std::memory_order_relaxed)) {
          c = claim_at(pos);
          // relaxed: read by recovery only after seeing the claim in `head`.
          c.slot->claimer.store(tag_, std::memory_order_relaxed);
          return Status::ok;
        }
        continue;
      }
      if (d < 0) return Status::empty;                                        // not yet published
      const std::uint64_t next = ctl_->head.load(std::memory_order_relaxed);  // relaxed: ticket
      if (distance(next, pos) <= 0) return Status::corrupt;                   // INV-R2
      pos = next;
    }
  }

  QueueControl* ctl_ = nullptr;
  std::byte* slots_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  std::uint32_t stride_ = 0;
  std::uint32_t max_message_ = 0;
  bool multi_producer_ = true;
  bool multi_consumer_ = true;
  std::uint32_t tag_ = 0;
  std::uint64_t local_tail_ = 0;  // SP: next position to claim
  std::uint64_t local_head_ = 0;  // SC: next position to take
};

}  // namespace shmq::detail
