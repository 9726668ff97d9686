// QueueCore: the type-independent part of a Queue handle — the segment, its validated queue
// control block, the ring handle, roles and closing. Queue<T> adds the element codec on top.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "shmq/detail/event_count.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/detail/slot_ring.hpp"
#include "shmq/options.hpp"
#include "shmq/status.hpp"

namespace shmq::detail {

// What a queue's elements are, as recorded in (and checked against) the segment.
struct ElementInfo {
  ElementKind kind = ElementKind::bytes;
  std::uint64_t size = 0;         // sizeof(T) for fixed elements, 0 for bytes
  std::uint32_t max_message = 0;  // bytes per slot (creation only)
};

// Sizes of a queue segment: size first, then place (STYLE.md).
struct QueueGeometry {
  std::uint64_t capacity = 0;
  std::uint32_t stride = 0;
  std::uint32_t max_message = 0;
  std::uint64_t total_bytes = 0;
};
// Throws Error(invalid_argument) for sizes that cannot be built.
QueueGeometry queue_geometry(std::string_view name, std::uint64_t capacity,
                             std::uint32_t max_message);

// Validates a queue's control block against its segment (every field read once) and, if given,
// against the expected element type. Throws Error naming the cause; returns the ring config.
SlotRing::Config validate_queue_control(const Segment& seg, const QueueControl& ctl,
                                        const ElementInfo* expected_element);

class QueueCore {
 public:
  static QueueCore create(std::string_view name, const QueueOptions& options, ElementInfo element);
  static QueueCore open(std::string_view name, ElementInfo element, const WaitPolicy& wait);
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
  // As above, but throw Error(role_taken / corrupt) naming the holder.
  void claim_producer();
  void claim_consumer();

  SlotRing& ring() noexcept { return ring_; }
  const SlotRing& ring() const noexcept { return ring_; }
  QueueControl& control() const noexcept { return ring_.control(); }
  Counters& counters() const noexcept { return segment_.self().counters; }
  const WaitPolicy& wait_policy() const noexcept { return wait_; }
  void set_wait_policy(const WaitPolicy& wait) noexcept { wait_ = wait; }
  const Segment& segment() const noexcept { return segment_; }
  const std::string& name() const noexcept { return segment_.name(); }
  bool multi_producer() const noexcept { return multi_producer_; }
  bool multi_consumer() const noexcept { return multi_consumer_; }

  // Consumer side: when the next position has stayed claimed-but-unpublished for 1 ms,
  // checks whether its claimer died and, if so, turns it into a skip (SlotRing::
  // recover_dead_claim). Cheap when nothing is stuck. Returns whether a slot was recovered.
  bool recover_stuck() noexcept;

  // [R5] store `closed` and wake every sleeper; pairs with [A5] in closed().
  void close() noexcept;
  bool closed() const noexcept {
    // [A5] a getter that sees `closed` also sees every put that happened before close().
    return control().closed.load(std::memory_order_acquire) != 0;
  }

 private:
  QueueCore(Segment segment, const WaitPolicy& wait);
  Status claim_role(bool producer) noexcept;
  void release_roles() noexcept;

  Segment segment_;
  SlotRing ring_;
  WaitPolicy wait_{};
  bool multi_producer_ = true;
  bool multi_consumer_ = true;
  std::uint64_t stuck_pos_ = 0;  // recover_stuck(): the position that has not been published
  std::chrono::steady_clock::time_point stuck_since_{};
};

}  // namespace shmq::detail
