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
//   INV-R3: a slot's stamp names its last holder on a multi side and what it held
//           (make_stamp(pos, kind, tag)): a producer stamps right after its CAS on tail, a
//           consumer right after its CAS on head. Stamps are never cleared: a stamp that does
//           not name (pos, kind) is a former holder's, and says nothing about the holder of pos.
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

#include "shmq/detail/crash_point.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/ring/packed_ring.hpp"
#include "shmq/detail/shm_access.hpp"
#include "shmq/status.hpp"

namespace shmq::detail {

// Intents of rings that have no registry entry (rings on plain memory, in tests) go here.
inline std::atomic<std::uint64_t> unowned_pending{0};

class SlotRing {
 public:
  struct Config {
    std::uint64_t capacity = 0;  // power of two
    std::uint32_t stride = 0;
    std::uint32_t max_message = 0;
    bool multi_producer = true;
    bool multi_consumer = true;
    bool packed = false;             // SPSC fixed-size elements back to back (packed_ring.hpp)
    bool asymmetric_fences = false;  // kFlagAsymmetricFences
  };

  // A slot held between claim and publish (producer) or between acquire and release (consumer).
  using Claim = RingClaim;

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
        packed_(config.packed),
        claim_stamp_(stamp_base(kPendingClaim, claimer_tag)),
        take_stamp_(stamp_base(kPendingTake, claimer_tag)),
        packed_ring_(control, slots, config.capacity, config.stride) {}

  // Writes the initial slot sequence of a new ring; the memory must be zeroed. A packed ring
  // has no slot headers: only its indices are set.
  static void initialize(QueueControl& control, std::byte* slots, std::uint64_t capacity,
                         std::uint32_t stride, std::uint64_t start, bool packed) noexcept {
    for (std::uint64_t i = 0; i < capacity && !packed; ++i) {
      const std::uint64_t pos = start + i;
      auto* slot = reinterpret_cast<SlotHeader*>(slots + (pos & (capacity - 1)) * stride);
      // relaxed: published to openers by the segment's `ready` ([R0]).
      shm_store(slot->seq, pos, std::memory_order_relaxed);
    }
    shm_store(control.tail, start, std::memory_order_relaxed);  // relaxed: as above
    shm_store(control.head, start, std::memory_order_relaxed);  // relaxed: as above
  }

  // Who this handle is (both change after fork()): the claimer stamp it writes into slots it
  // holds, and its registry entry's intent word (RegistryEntry::pending; multi sides only).
  void set_owner(std::uint32_t tag, std::atomic<std::uint64_t>* pending) noexcept {
    claim_stamp_ = stamp_base(kPendingClaim, tag);
    take_stamp_ = stamp_base(kPendingTake, tag);
    pending_ = pending;
  }

  std::uint64_t capacity() const noexcept { return capacity_; }
  std::uint32_t max_message() const noexcept { return max_message_; }
  bool packed() const noexcept { return packed_; }
  // The packed ring itself, for runs of elements (valid only when packed()).
  PackedRing& packed_ring() noexcept { return packed_ring_; }
  QueueControl& control() const noexcept { return *ctl_; }
  // As PackedRing::closed_for_producers(), through this ring's own ctl_ (the slot path has that
  // pointer in a register already: delegating costs MPMC an instruction per put).
  bool closed_for_producers() const noexcept {
    return shm_load(ctl_->closed, std::memory_order_relaxed) != 0;
  }

  // ---- producer side ----

  // SP only: continue from the shared `tail`, fixing a tail store that a dead producer missed.
  // Call once when this handle becomes the producer. Returns false if the state is corrupt.
  bool resume_producer() noexcept {
    if (multi_producer_) return true;
    if (packed_) return packed_ring_.resume_producer();
    // relaxed: tickets; slot seqs below are read with acquire.
    std::uint64_t t = shm_load(ctl_->tail, std::memory_order_relaxed);
    const std::uint64_t h = shm_load(ctl_->head, std::memory_order_relaxed);
    for (std::uint64_t step = 0; step <= capacity_; ++step) {
      const std::uint64_t seq = shm_load(slot_at(t)->seq, std::memory_order_acquire);  // [A1]
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
    if (packed_) return packed_ring_.try_claim(c);
    return try_claim_slot(c);
  }
  // try_claim() of a ring that is not packed (the caller knows it is not: Queue<T>'s copying
  // path); publish with publish_slot().
  Status try_claim_slot(Claim& c) noexcept {
    return multi_producer_ ? try_claim_multi(c) : try_claim_single(c);
  }
  // The *_as<kMulti>() forms: the caller knows the side's kind (Queue<T> reads it from its held
  // roles, once per call), so the ring does not test it again.
  template <bool kMulti>
  Status try_claim_slot_as(Claim& c) noexcept {
    if constexpr (kMulti) {
      return try_claim_multi(c);
    } else {
      return try_claim_single(c);
    }
  }

  // Makes the claimed slot's message visible; size == kSkipSize publishes an empty skip. A packed
  // ring holds whole elements only: any other size than the element's publishes nothing.
  void publish(const Claim& c, std::uint32_t size) noexcept {
    if (packed_) {
      packed_ring_.publish(c, size == max_message_);
      return;
    }
    publish_slot(c, size);
  }
  void publish_slot(const Claim& c, std::uint32_t size) noexcept {
    if (multi_producer_) {
      publish_slot_as<true>(c, size);
    } else {
      publish_slot_as<false>(c, size);
    }
  }
  template <bool kMulti>
  void publish_slot_as(const Claim& c, std::uint32_t size) noexcept {
    shm_store(c.slot->size, size, std::memory_order_relaxed);  // relaxed: ordered by [R1]
    SHMQ_CRASH_POINT(publish_before_seq);
    // [R1] publish the message; pairs with [A2] in try_acquire().
    shm_store(c.slot->seq, c.pos + 1, std::memory_order_release);
    if constexpr (!kMulti) {
      SHMQ_CRASH_POINT(publish_before_tail);
      // relaxed: only this producer writes tail; observers want an approximate size, and a
      // missed store is repaired by resume_producer().
      shm_store(ctl_->tail, c.pos + 1, std::memory_order_relaxed);
    }
  }

  // ---- consumer side ----

  // SC only: as resume_producer(), for `head`.
  bool resume_consumer() noexcept {
    if (multi_consumer_) return true;
    if (packed_) return packed_ring_.resume_consumer();
    std::uint64_t h = shm_load(ctl_->head, std::memory_order_relaxed);  // relaxed: ticket
    for (std::uint64_t step = 0; step <= capacity_; ++step) {
      const std::uint64_t seq = shm_load(slot_at(h)->seq, std::memory_order_acquire);  // [A2]
      // Empty, holds the message of h, or a dead producer's claim of h is being recovered.
      if (seq == h || seq == h + 1 || (seq == h - 1 && multi_producer_)) {
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
    if (packed_) return packed_ring_.try_acquire(c);
    return try_acquire_slot(c);
  }
  // try_acquire() of a ring that is not packed; release with release_slot().
  Status try_acquire_slot(Claim& c) noexcept {
    return multi_consumer_ ? try_acquire_slot_as<true>(c) : try_acquire_slot_as<false>(c);
  }
  template <bool kMulti>
  Status try_acquire_slot_as(Claim& c) noexcept {
    for (std::uint64_t skips = 0; skips <= capacity_; ++skips) {
      Status s;
      if constexpr (kMulti) {
        s = try_acquire_multi(c);
      } else {
        s = try_acquire_single(c);
      }
      if (s != Status::ok) return s;
      // relaxed: ordered after [A2] by the acquire that found the message.
      const std::uint32_t size = shm_load(c.slot->size, std::memory_order_relaxed);
      if (size == kSkipSize) {
        release_slot_as<kMulti>(c);
        continue;
      }
      if (size > max_message_) {
        release_slot_as<kMulti>(c);
        return Status::corrupt;
      }
      c.size = size;
      return Status::ok;
    }
    return Status::empty;
  }

  // Frees the slot of an acquired message for the producer of pos + capacity.
  void release(const Claim& c) noexcept {
    if (packed_) {
      packed_ring_.release(c);
      return;
    }
    release_slot(c);
  }
  void release_slot(const Claim& c) noexcept {
    if (multi_consumer_) {
      release_slot_as<true>(c);
    } else {
      release_slot_as<false>(c);
    }
  }
  template <bool kMulti>
  void release_slot_as(const Claim& c) noexcept {
    SHMQ_CRASH_POINT(release_before_seq);
    // [R2] hand the slot back; pairs with [A1] in try_claim().
    shm_store(c.slot->seq, c.pos + capacity_, std::memory_order_release);
    if constexpr (!kMulti) {
      SHMQ_CRASH_POINT(release_before_head);
      // relaxed: only this consumer writes head; see publish() for tail.
      shm_store(ctl_->head, c.pos + 1, std::memory_order_relaxed);
    }
  }

  // ---- recovery primitives (docs/design.md §6; the policy is QueueCore::recover_stuck) ----
  //
  // A multi side's party may die holding a slot: a producer between its CAS on tail and its
  // publish (the slot stays seq == p), a consumer between its CAS on head and its release
  // (seq == p + 1). INV-R3 says who holds it: a stamp naming (p, kind) is the holder's. A holder
  // killed between its CAS and its stamp is found through its registry intent
  // (RegistryEntry::pending, written before the CAS, [R7]; cleared after the stamp, [R8]).
  // Recovery acts with a CAS on the slot's seq, so a slot that moved on after it was judged (its
  // holder published or released after all) is left alone.

  // The next position consumers take / producers claim (approximate on a multi side).
  std::uint64_t take_position() const noexcept {
    // relaxed: a ticket, for recovery's bookkeeping only.
    return multi_consumer_ ? shm_load(ctl_->head, std::memory_order_relaxed) : local_head_;
  }
  std::uint64_t claim_position() const noexcept {
    // relaxed: a ticket, for recovery's bookkeeping only.
    return multi_producer_ ? shm_load(ctl_->tail, std::memory_order_relaxed) : local_tail_;
  }

  // A slot some party holds at position `pos`, as recovery sees it.
  struct Held {
    SlotHeader* slot = nullptr;  // null: nobody holds pos (or pos is not what was asked)
    std::uint64_t stamp = 0;     // the slot's stamp (the holder's if it names pos, see INV-R3)
  };
  // A producer's claim on `pos` that is not published: tail has passed pos, seq is still pos.
  Held claimed_unpublished(std::uint64_t pos) const noexcept {
    if (!multi_producer_) return {};  // a single producer's claim is private until published
    // [A7] see the claimer's intent; pairs with [R7] in try_claim_multi().
    if (distance(shm_load(ctl_->tail, std::memory_order_acquire), pos) <= 0) return {};
    SlotHeader* slot = slot_at(pos);
    // [A6] see the release that freed the slot for pos; pairs with [R2].
    if (shm_load(slot->seq, std::memory_order_acquire) != pos) return {};
    return {slot, shm_load(slot->stamp, std::memory_order_relaxed)};  // relaxed: after [A6]
  }
  // A consumer's take of `pos` that is not released: head has passed pos, seq is still pos + 1.
  Held taken_unreleased(std::uint64_t pos) const noexcept {
    if (!multi_consumer_) return {};  // a single consumer's message is redelivered instead
    // [A7] as above, for head; pairs with [R7] in try_acquire_multi().
    if (distance(shm_load(ctl_->head, std::memory_order_acquire), pos) <= 0) return {};
    SlotHeader* slot = slot_at(pos);
    // [A6'] see the publish of pos; pairs with [R1].
    if (shm_load(slot->seq, std::memory_order_acquire) != pos + 1) return {};
    return {slot, shm_load(slot->stamp, std::memory_order_relaxed)};  // relaxed: after [A6']
  }
  // The stamp now in the slot of `pos` (to re-check it after a registry scan, see [A8]).
  std::uint64_t stamp(std::uint64_t pos) const noexcept {
    return shm_load(slot_at(pos)->stamp, std::memory_order_relaxed);  // relaxed: after [A8]
  }
  // Turns a dead producer's claim on `pos` into an empty skip. Caller: the recovery lock holder,
  // after claimed_unpublished(pos) named a dead holder. False if the slot moved on meanwhile.
  // The slot passes through seq == pos - 1 ("being recovered": consumers see it empty), so that
  // the skip's size is written before any consumer can take the slot.
  bool publish_skip_for_dead(const Held& h, std::uint64_t pos) noexcept {
    std::uint64_t expected = pos;
    // acq_rel: fails if the holder published after all; success makes the slot ours. Failure
    // relaxed: nothing is done then.
    if (!shm_cas_strong(h.slot->seq, expected, pos - 1, std::memory_order_acq_rel,
                        std::memory_order_relaxed)) {
      return false;
    }
    SHMQ_CRASH_POINT(recover_skip_marked);
    finish_skip(h.slot, pos);
    return true;
  }
  // A recoverer that died between marking `pos` and publishing its skip left seq == pos - 1:
  // finishes its work. Caller: the recovery lock holder (so the marker's writer is dead).
  bool finish_interrupted_skip(std::uint64_t pos) noexcept {
    if (!multi_producer_) return false;
    // [A7] tail past pos first: from then on seq is >= pos, except for the marker.
    if (distance(shm_load(ctl_->tail, std::memory_order_acquire), pos) <= 0) return false;
    SlotHeader* slot = slot_at(pos);
    // acquire: the dead recoverer's marking CAS (the recovery lock's [A9] orders it as well).
    if (shm_load(slot->seq, std::memory_order_acquire) != pos - 1) return false;
    finish_skip(slot, pos);
    return true;
  }
  // Frees the slot of a dead consumer's take of `pos` (its message is lost: counted in_doubt).
  // False if the slot moved on meanwhile.
  bool release_for_dead(const Held& h, std::uint64_t pos) noexcept {
    std::uint64_t expected = pos + 1;
    // [R6'] hand the slot back, as [R2] would; pairs with [A1] in try_claim(). Fails if the
    // holder released after all (failure relaxed: nothing is done then).
    return shm_cas_strong(h.slot->seq, expected, pos + capacity_, std::memory_order_acq_rel,
                          std::memory_order_relaxed);
  }

  // Approximate number of messages (claimed positions minus taken ones), clamped to [0, capacity].
  std::uint64_t size() const noexcept {
    // relaxed: an approximation by contract (like Python's qsize()).
    const std::uint64_t t = shm_load(ctl_->tail, std::memory_order_relaxed);
    const std::uint64_t h = shm_load(ctl_->head, std::memory_order_relaxed);
    const std::int64_t d = distance(t, h);
    if (d <= 0) return 0;
    return static_cast<std::uint64_t>(d) > capacity_ ? capacity_ : static_cast<std::uint64_t>(d);
  }

 private:
  SlotHeader* slot_at(std::uint64_t pos) const noexcept {
    return reinterpret_cast<SlotHeader*>(slots_ + (pos & mask_) * stride_);
  }
  static void finish_skip(SlotHeader* slot, std::uint64_t pos) noexcept {
    shm_store(slot->size, kSkipSize, std::memory_order_relaxed);  // relaxed: ordered by [R6]
    // [R6] publish the skip, as [R1] would; pairs with [A2] in try_acquire().
    shm_store(slot->seq, pos + 1, std::memory_order_release);
  }
  static Claim claim_at(SlotHeader* s, std::uint64_t pos) noexcept {
    return {s, reinterpret_cast<std::byte*>(s) + kSlotPayloadOffset, pos, 0};
  }

  Status try_claim_single(Claim& c) noexcept {
    const std::uint64_t pos = local_tail_;
    SlotHeader* slot = slot_at(pos);
    // [A1] the consumer of pos - capacity is done with the slot; pairs with [R2] in release().
    const std::uint64_t seq = shm_load(slot->seq, std::memory_order_acquire);
    if (seq == pos) {
      c = claim_at(slot, pos);
      ++local_tail_;
      return Status::ok;
    }
    if (seq == pos - capacity_ + 1) return Status::full;
    return Status::corrupt;  // INV-R2: only this producer writes positions >= local_tail_
  }

  Status try_claim_multi(Claim& c) noexcept {
    // relaxed: a ticket; the slot's seq ([A1]) orders the data.
    std::uint64_t pos = shm_load(ctl_->tail, std::memory_order_relaxed);
    bool intent = false;  // our intent is in pending_ (a CAS of ours failed)
    for (;;) {
      SlotHeader* slot = slot_at(pos);
      // [A1] as in try_claim_single().
      const std::uint64_t seq = shm_load(slot->seq, std::memory_order_acquire);
      const std::int64_t d = distance(seq, pos);
      if (d == 0) {
        // [R8'] release: a recoverer that reads this intent also sees the stamp of this
        // handle's previous claim (continues [R8]); published to recovery by [R7].
        shm_store(*pending_, make_pending(pos, kPendingClaim), std::memory_order_release);
        intent = true;
        SHMQ_CRASH_POINT(claim_before_cas);
        // [R7] take the ticket, publishing the intent above to recovery; pairs with [A7] in
        // claimed_unpublished(). Failure relaxed: nothing is taken. [A1] ordered the slot.
        if (shm_cas_weak(ctl_->tail, pos, pos + 1, std::memory_order_release,
                         std::memory_order_relaxed)) {
          c = claim_at(slot, pos);
          SHMQ_CRASH_POINT(claim_before_stamp);
          // relaxed: ordered by [R8].
          shm_store(c.slot->stamp, stamp_at(pos, claim_stamp_), std::memory_order_relaxed);
          // [R8] the stamp names us now: drop the intent; pairs with [A8] in scan_pending().
          shm_store(*pending_, 0, std::memory_order_release);
          return Status::ok;
        }
        continue;  // pos was reloaded by the failed CAS
      }
      // the slot still holds the message of pos - capacity
      if (d < 0) return drop_intent(intent, Status::full);
      // Another producer took pos: move on. Legally tail has moved past pos by now.
      const std::uint64_t next =
          shm_load(ctl_->tail, std::memory_order_relaxed);                        // relaxed: ticket
      if (distance(next, pos) <= 0) return drop_intent(intent, Status::corrupt);  // INV-R2
      pos = next;
    }
  }

  // A claim (take) that lost its CAS and then gave up must not leave its intent behind: it names
  // a position another party won, and a live process's intent makes recovery wait for it — for
  // ever, if the winner died before stamping and this handle stays idle.
  Status drop_intent(bool intent, Status s) noexcept {
    // [R8] as after a stamp: nothing of ours is pending.
    if (intent) shm_store(*pending_, 0, std::memory_order_release);
    return s;
  }

  Status try_acquire_single(Claim& c) noexcept {
    const std::uint64_t pos = local_head_;
    SlotHeader* slot = slot_at(pos);
    // [A2] the producer of pos is done writing; pairs with [R1] in publish().
    const std::uint64_t seq = shm_load(slot->seq, std::memory_order_acquire);
    if (seq == pos + 1) {
      c = claim_at(slot, pos);
      ++local_head_;
      return Status::ok;
    }
    if (seq == pos) return Status::empty;  // free, or claimed and not yet published
    // A recoverer is turning a dead producer's claim of pos into a skip.
    if (seq == pos - 1 && multi_producer_) return Status::empty;
    return Status::corrupt;  // INV-R2
  }

  Status try_acquire_multi(Claim& c) noexcept {
    // relaxed: a ticket; the slot's seq ([A2]) orders the data.
    std::uint64_t pos = shm_load(ctl_->head, std::memory_order_relaxed);
    bool intent = false;  // as in try_claim_multi()
    for (;;) {
      SlotHeader* slot = slot_at(pos);
      // [A2] as in try_acquire_single().
      const std::uint64_t seq = shm_load(slot->seq, std::memory_order_acquire);
      const std::int64_t d = distance(seq, pos + 1);
      if (d == 0) {
        // [R8'] as in try_claim_multi().
        shm_store(*pending_, make_pending(pos, kPendingTake), std::memory_order_release);
        intent = true;
        SHMQ_CRASH_POINT(take_before_cas);
        // [R7] take the ticket, publishing the intent above; pairs with [A7] in
        // taken_unreleased(). Failure relaxed: nothing is taken. [A2] ordered the slot.
        if (shm_cas_weak(ctl_->head, pos, pos + 1, std::memory_order_release,
                         std::memory_order_relaxed)) {
          c = claim_at(slot, pos);
          SHMQ_CRASH_POINT(take_before_stamp);
          // relaxed: ordered by [R8].
          shm_store(c.slot->stamp, stamp_at(pos, take_stamp_), std::memory_order_relaxed);
          // [R8] as in try_claim_multi().
          shm_store(*pending_, 0, std::memory_order_release);
          return Status::ok;
        }
        continue;
      }
      if (d < 0) return drop_intent(intent, Status::empty);  // not yet published
      const std::uint64_t next =
          shm_load(ctl_->head, std::memory_order_relaxed);                        // relaxed: ticket
      if (distance(next, pos) <= 0) return drop_intent(intent, Status::corrupt);  // INV-R2
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
  bool packed_ = false;
  // stamp_base() of this handle's tag, for a claim and for a take.
  std::uint64_t claim_stamp_ = 0;
  std::uint64_t take_stamp_ = 0;
  // Where intents go: this handle's RegistryEntry::pending (a sink until set_owner()).
  std::atomic<std::uint64_t>* pending_ = &unowned_pending;
  std::uint64_t local_tail_ = 0;  // SP: next position to claim
  std::uint64_t local_head_ = 0;  // SC: next position to take
  PackedRing packed_ring_;        // used instead of the above when packed_
};

}  // namespace shmq::detail
