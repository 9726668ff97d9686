// QueueCore: the type-independent part of a Queue handle — the segment, its validated queue
// control block, the ring handle, roles and closing. Queue<T> adds the element codec on top.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "shmq/detail/layout.hpp"
#include "shmq/detail/ring/slot_ring.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/detail/shm_access.hpp"
#include "shmq/detail/wait/event_count.hpp"
#include "shmq/options.hpp"
#include "shmq/status.hpp"

namespace shmq::detail {

// What a queue's elements are, as recorded in (and checked against) the segment.
struct ElementInfo {
  ElementKind kind = ElementKind::bytes;
  std::uint64_t size = 0;         // sizeof(T) for fixed elements, 0 for bytes
  std::uint32_t max_message = 0;  // bytes per slot (creation only)
  // typeid(T).name() of a fixed-size T: recorded at create, checked at open when both sides have
  // one (QueueControl::element_type). Empty: not recorded, not checked.
  std::string_view type_name;
};

// Sizes of a queue segment: size first, then place (docs/style.md).
struct QueueGeometry {
  std::uint64_t capacity = 0;
  std::uint32_t stride = 0;
  std::uint32_t max_message = 0;
  std::uint64_t total_bytes = 0;
};
// Throws Error(invalid_argument) for sizes that cannot be built.
// A packed ring (kFlagPacked) stores max_message-byte elements back to back; `multi`: several
// producers or consumers (their stamps cap the capacity at 2^29).
QueueGeometry queue_geometry(std::string_view name, std::uint64_t capacity,
                             std::uint32_t max_message, bool packed, bool multi);

// Validates a queue's control block against its segment (every field read once) and, if given,
// against the expected element type. Throws Error naming the cause; returns the ring config.
SlotRing::Config validate_queue_control(const Segment& seg, const QueueControl& ctl,
                                        const ElementInfo* expected_element);

// Segment::held_roles() bits beside kRoleProducer/kRoleConsumer (never stored in the registry):
// this handle holds the producer (consumer) role of a packed ring, so Queue<T>'s fast path for a
// fixed-size T tests one bit instead of a role and the ring kind. Process-local, like the roles:
// a forked child (held_roles() is 0 there) claims again before it takes the path.
inline constexpr std::uint32_t kHeldPackedProducer = 1U << 8;
inline constexpr std::uint32_t kHeldPackedConsumer = 1U << 9;
// And: this handle may notify with a compiler barrier (the queue has kFlagAsymmetricFences and
// this process registered for membarrier; TSan builds never: TSan does not model membarrier).
inline constexpr std::uint32_t kHeldLightNotify = 1U << 10;
// Both of the above for one side: Queue<T>'s fastest path tests one bit.
inline constexpr std::uint32_t kHeldFastProducer = 1U << 11;
inline constexpr std::uint32_t kHeldFastConsumer = 1U << 12;
// And: the side whose role this handle holds is a multi side (the slot path's ring kind, read
// from the same word as the role).
inline constexpr std::uint32_t kHeldMultiProducer = 1U << 13;
inline constexpr std::uint32_t kHeldMultiConsumer = 1U << 14;

class QueueCore {
 public:
  // `start_position`: the ring's first position (detail::create_queue_at; 0 for users).
  static QueueCore create(std::string_view name, const QueueOptions& options, ElementInfo element,
                          std::uint64_t start_position = 0);
  // `appear_within` > 0: wait that long for a creator to make `name` (open_when_created()).
  static QueueCore open(std::string_view name, ElementInfo element, const WaitPolicy& wait,
                        std::chrono::milliseconds appear_within = {});
  static QueueCore open_or_create(std::string_view name, const QueueOptions& options,
                                  ElementInfo element);
  static bool remove(std::string_view name) { return Segment::remove(name); }

  QueueCore() noexcept = default;
  QueueCore(QueueCore&&) noexcept = default;
  QueueCore& operator=(QueueCore&& other) noexcept;
  ~QueueCore() { release_roles(); }

  // Claims the producer (consumer) role on first use: always granted on a multi side; on a
  // single side refused with Status::role_taken while another live attachment holds it.
  Status ensure_producer() noexcept {
    return (segment_.held_roles() & kRoleProducer) != 0 ? Status::ok : claim_role(true);
  }
  Status ensure_consumer() noexcept {
    return (segment_.held_roles() & kRoleConsumer) != 0 ? Status::ok : claim_role(false);
  }
  // kRole* and kHeldPacked* bits this handle holds (Queue<T> picks its path with one load).
  std::uint32_t held_roles() const noexcept { return segment_.held_roles(); }
  // As above, but throw Error(role_taken / corrupt) naming the holder.
  void claim_producer();
  void claim_consumer();

  SlotRing& ring() noexcept { return ring_; }
  const SlotRing& ring() const noexcept { return ring_; }
  QueueControl& control() const noexcept { return ring_.control(); }
  Counters& counters() const noexcept { return segment_.self().counters; }
  // counters(), as the last role claim found them: for a handle that holds a role (every put and
  // get path has claimed one first; a forked child's handle claims again, so this follows it).
  Counters& role_counters() const noexcept { return *role_counters_; }
  const WaitPolicy& wait_policy() const noexcept { return wait_; }
  void set_wait_policy(const WaitPolicy& wait) noexcept { wait_ = wait; }
  const Segment& segment() const noexcept { return segment_; }
  const std::string& name() const noexcept { return segment_.name(); }
  bool multi_producer() const noexcept { return multi_producer_; }
  bool multi_consumer() const noexcept { return multi_consumer_; }

  // Recovery of a dead party's slot (docs/design.md §6). `side` is who is blocked: consumers on an
  // empty ring (the next position may be claimed by a dead producer: it becomes a skip, counted
  // in recovered_slots) or producers on a full ring (the oldest slot may be taken by a dead
  // consumer: it is freed and its message counted lost, in in_doubt). The holder's death is
  // established through the kernel (registry locks), never a timeout; a position must have been
  // blocked for kStuckAfter before a check is paid. Returns whether a slot was recovered.
  enum class Side { consumer, producer };
  static constexpr std::chrono::milliseconds kStuckAfter{1};
  bool recover_stuck(Side side) noexcept;

  // Live attachments that hold the producer role (they have put, or claimed it). One registry
  // scan, a liveness check per producer entry.
  std::size_t producers() const noexcept;
  // A producer has attached once, and none is attached now.
  bool producers_gone() const noexcept;
  // Whether a getter that found the ring empty should stop: the queue is closed, or (if the
  // handle asked for it) its producers are gone. The producers' scan is paid at most once a
  // millisecond, and on every re-check made while sleeping.
  bool ended() noexcept { return closed() || (end_when_gone_ && producers_gone_now()); }
  void set_end_when_producers_gone(bool on) noexcept { end_when_gone_ = on; }

  // Blocking, with the eventcount of `side` (consumers wait for items, producers for space).
  template <class Attempt>
  Status wait(Side side, Deadline deadline, Attempt&& attempt) {
    EventCountData& ec = side == Side::consumer ? control().not_empty : control().not_full;
    const Sleeper me{counters(), segment_.self_bit(), segment_.sleep_gate(),
                     wait_.adaptive ? &spin_budget_[side == Side::consumer ? 0 : 1] : nullptr,
                     asymmetric_fences_};
    return wait_until(
        ec, wait_, me, deadline, side == Side::consumer ? Status::empty : Status::full,
        [this, &attempt](bool sleeping) {
          // A re-check made while sleeping (once a slice, or woken: a producer
          // that left wakes getters) pays the producers' scan whatever its age.
          if (sleeping) next_producers_check_ = {};
          return attempt(sleeping);
        },
        [this, side] {
          segment_.reap_dead_sleepers();
          recover_stuck(side);
        });
  }

  // Wakes up to `count` of the sleepers registered on `ec` (after detail::has_registered() said
  // there are some), counting the wake. Out of line: the busy path never gets here.
  void wake(EventCountData& ec, std::size_t count) noexcept;

  // [R5] store `closed` and wake every sleeper; pairs with [A5] in closed().
  void close() noexcept;
  bool closed() const noexcept {
    // [A5] a getter that sees `closed` also sees every put that happened before close().
    return shm_load(control().closed, std::memory_order_acquire) != 0;
  }

 private:
  QueueCore(Segment segment, const WaitPolicy& wait);
  Status claim_role(bool producer) noexcept;
  bool producers_gone_now() noexcept;
  // Live producers, counting up to `enough`.
  std::size_t count_producers(std::size_t enough) const noexcept;
  void note_empty_wake() noexcept;
  void release_roles() noexcept;

  Segment segment_;
  SlotRing ring_;
  WaitPolicy wait_{};
  bool multi_producer_ = true;
  bool multi_consumer_ = true;
  bool asymmetric_fences_ = false;  // kFlagAsymmetricFences: waiters pay heavy_fence()
  bool lock_recovery() noexcept;
  void unlock_recovery() noexcept;
  bool holder_dead(const SlotRing::Held& held, std::uint64_t pos, std::uint64_t kind) noexcept;

  // recover_stuck(): per side, the blocked position and since when.
  struct Blocked {
    std::uint64_t pos = 0;
    std::chrono::steady_clock::time_point since{};
  };
  Blocked blocked_[2]{};
  // Adaptive spin budgets of this handle's getters [0] and putters [1] (event_count.hpp).
  SpinBudget spin_budget_[2]{};
  static constexpr std::uint32_t kEmptyWakesBeforeReap = 64;
  Counters* role_counters_ = nullptr;  // set by claim_role()
  bool end_when_gone_ = false;         // set_end_when_producers_gone()
  std::chrono::steady_clock::time_point next_producers_check_{};
  std::uint32_t empty_wakes_ = 0;
};

}  // namespace shmq::detail
