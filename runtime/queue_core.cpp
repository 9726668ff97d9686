#include "shmq/detail/queue_core.hpp"
#include "shmq/detail/shm_access.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "shmq/detail/crash_point.hpp"
#include "shmq/detail/wait/asymmetric_fence.hpp"
#include "shmq/error.hpp"
#include "type_names.hpp"

namespace shmq::detail {

namespace {

// At least 2: with one slot, "holds the message of p" (seq p + 1) and "free for p + 1" would be
// the same sequence value (Vyukov's queue needs two slots).
constexpr std::uint64_t kMinCapacity = 2;
constexpr std::uint64_t kMaxCapacity = 1ULL << 30;
// A multi side's slot stamp keeps a position modulo 2^30 (layout.hpp, make_stamp): at 2^30 slots
// the previous lap's stamp of a slot would name the current position (INV-R3 needs capacity
// below 2^30), so queues with several producers or consumers stop at 2^29.
constexpr std::uint64_t kMaxMultiCapacity = 1ULL << 29;
constexpr std::uint32_t kMaxMessage = 64U << 20;  // 64 MiB per slot; larger goes through a Pipe
constexpr std::uint32_t kDefaultMaxMessage = 4096;

constexpr std::uint64_t round_up(std::uint64_t v, std::uint64_t to) {
  return (v + to - 1) / to * to;
}

// Fixed-size elements of the same size but another C++ type (Queue<double> opened as
// Queue<std::int64_t>): refused when both the segment and the opener name a type.
void check_element_type(const std::string& name, const QueueControl& ctl,
                        const ElementInfo* expected) {
  const std::uint64_t stored = ctl.element_type;  // one read: immutable after ready
  if (expected == nullptr || expected->type_name.empty() || stored == 0) return;
  if (stored == element_type_id(expected->type_name)) return;
  // The stored name, only for the message.
  const std::string held = stored_type_name(ctl.element_type_name);
  throw Error(Errc::type_mismatch, name,
              fmt::format("holds <{}>, opened as <{}>",
                          !held.empty() ? readable_type_names(held) : std::string("another type"),
                          readable_type_names(expected->type_name)));
}

// One read of each control field: the copies are all that is used (the block is shared).
struct ControlCopy {
  std::uint64_t capacity = 0;
  std::uint64_t slots_offset = 0;
  std::uint32_t stride = 0;
  std::uint32_t max_message = 0;
  std::uint32_t flags = 0;
  std::uint32_t element_kind = 0;
  std::uint64_t element_size = 0;

  bool multi_producer() const noexcept { return (flags & kFlagMultiProducer) != 0; }
  bool multi_consumer() const noexcept { return (flags & kFlagMultiConsumer) != 0; }
  bool packed() const noexcept { return (flags & kFlagPacked) != 0; }
  bool fixed() const noexcept {
    return element_kind == static_cast<std::uint32_t>(ElementKind::fixed);
  }
};

ControlCopy copy_control(const QueueControl& ctl) {
  ControlCopy c;
  c.capacity = ctl.capacity;
  c.slots_offset = ctl.slots_offset;
  c.stride = ctl.slot_stride;
  c.max_message = ctl.max_message;
  c.flags = ctl.flags;
  c.element_kind = ctl.element_kind;
  c.element_size = ctl.element_size;
  return c;
}

// Capacity, flags, slot stride and the slots' place must describe a ring that fits the segment.
void check_ring_geometry(const std::string& name, const SegmentInfo& info, const ControlCopy& c) {
  const bool multi = c.multi_producer() || c.multi_consumer();
  if (c.capacity < kMinCapacity || c.capacity > (multi ? kMaxMultiCapacity : kMaxCapacity) ||
      !std::has_single_bit(c.capacity)) {
    throw Error(Errc::corrupt, name,
                fmt::format("capacity {} is not a power of two in {}..{}", c.capacity, kMinCapacity,
                            multi ? kMaxMultiCapacity : kMaxCapacity));
  }
  constexpr std::uint32_t kKnownFlags =
      kFlagMultiProducer | kFlagMultiConsumer | kFlagPacked | kFlagAsymmetricFences;
  if ((c.flags & ~kKnownFlags) != 0) {
    throw Error(Errc::corrupt, name, fmt::format("unknown queue flags {:#x}", c.flags));
  }
  if (c.packed() && (!c.fixed() || multi)) {
    throw Error(Errc::corrupt, name,
                fmt::format("packed queue flags {:#x} with element kind {}: packing is for SPSC "
                            "queues of fixed-size elements",
                            c.flags, c.element_kind));
  }
  const bool stride_fits =
      c.packed() ? (c.stride == c.max_message && c.max_message != 0)
                 : (c.stride % kCacheLine == 0 && c.stride >= kSlotPayloadOffset + c.max_message);
  if (c.max_message > kMaxMessage || !stride_fits ||
      c.stride > round_up(kSlotPayloadOffset + kMaxMessage, kCacheLine)) {
    throw Error(
        Errc::corrupt, name,
        fmt::format("slot stride {} does not fit messages of {} bytes", c.stride, c.max_message));
  }
  // capacity <= 2^30 and stride < 2^27: the product cannot overflow.
  if (c.slots_offset != kQueueSlotsOffset || c.slots_offset > info.total_bytes ||
      round_up(c.capacity * c.stride, kCacheLine) != info.total_bytes - c.slots_offset) {
    throw Error(Errc::corrupt, name,
                fmt::format("{} slots of {} bytes at {} do not fit {} bytes", c.capacity, c.stride,
                            c.slots_offset, info.total_bytes));
  }
}

// The element kind must be known and fit the slots; if the opener expects one, it must match.
void check_elements(const std::string& name, const QueueControl& ctl, const ControlCopy& c,
                    const ElementInfo* expected) {
  if (!c.fixed() && c.element_kind != static_cast<std::uint32_t>(ElementKind::bytes)) {
    throw Error(Errc::corrupt, name, fmt::format("unknown element kind {}", c.element_kind));
  }
  if (c.fixed() && c.max_message != c.element_size) {
    throw Error(
        Errc::corrupt, name,
        fmt::format("fixed elements of {} bytes in slots of {}", c.element_size, c.max_message));
  }
  if (expected != nullptr && (c.element_kind != static_cast<std::uint32_t>(expected->kind) ||
                              c.element_size != expected->size)) {
    const std::string found = c.fixed()
                                  ? fmt::format("fixed-size elements of {} bytes", c.element_size)
                                  : std::string("byte messages");
    const std::string wanted = expected->kind == ElementKind::fixed
                                   ? fmt::format("fixed-size elements of {} bytes", expected->size)
                                   : std::string("byte messages");
    throw Error(Errc::type_mismatch, name, fmt::format("holds {}, opened for {}", found, wanted));
  }
  check_element_type(name, ctl, expected);
}

// INV-R1 on a consistent snapshot: head, then tail, then head again unchanged (a live queue
// moves; a torn snapshot must not look corrupt). A queue too busy to snapshot is not judged.
void check_positions(const std::string& name, const QueueControl& ctl, const ControlCopy& c) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    // relaxed: a sanity check of tickets; no data is read through them.
    const std::uint64_t head = shm_load(ctl.head, std::memory_order_relaxed);
    const std::uint64_t tail = shm_load(ctl.tail, std::memory_order_relaxed);
    if (shm_load(ctl.head, std::memory_order_relaxed) != head) continue;
    // A single side's index may lag by one (INV-R1): its owner is between publish (release) and
    // its index store, or died there; resume_producer()/resume_consumer() repair it.
    const std::int64_t depth = distance(tail, head);
    // A packed ring's indices are the publication itself: they never lag.
    const std::int64_t least = c.multi_producer() || c.packed() ? 0 : -1;
    const std::int64_t most =
        static_cast<std::int64_t>(c.capacity) + (c.multi_consumer() || c.packed() ? 0 : 1);
    if (depth < least || depth > most) {
      throw Error(Errc::corrupt, name,
                  fmt::format("tail {} and head {} are {} apart, capacity {}", tail, head, depth,
                              c.capacity));
    }
    return;
  }
}

}  // namespace

SlotRing::Config validate_queue_control(const Segment& seg, const QueueControl& ctl,
                                        const ElementInfo* expected_element) {
  const std::string& name = seg.name();
  const SegmentInfo& info = seg.info();
  if (info.body_bytes != sizeof(QueueControl)) {
    throw Error(Errc::corrupt, name,
                fmt::format("queue control block of {} bytes, expected {}", info.body_bytes,
                            sizeof(QueueControl)));
  }
  const ControlCopy c = copy_control(ctl);
  check_ring_geometry(name, info, c);
  check_elements(name, ctl, c, expected_element);
  check_positions(name, ctl, c);
  SlotRing::Config cfg;
  cfg.capacity = c.capacity;
  cfg.stride = c.stride;
  cfg.max_message = c.max_message;
  cfg.multi_producer = c.multi_producer();
  cfg.multi_consumer = c.multi_consumer();
  cfg.packed = c.packed();
  cfg.asymmetric_fences = (c.flags & kFlagAsymmetricFences) != 0;
  return cfg;
}

namespace {

std::uint32_t claimer_tag(const Segment& seg) {
  return static_cast<std::uint32_t>(seg.self_token());  // index + low generation bits
}

}  // namespace

QueueGeometry queue_geometry(std::string_view name, std::uint64_t capacity,
                             std::uint32_t max_message, bool packed, bool multi) {
  const std::uint64_t most = multi ? kMaxMultiCapacity : kMaxCapacity;
  if (capacity == 0 || capacity > most) {
    throw Error(Errc::invalid_argument, name,
                fmt::format("capacity {} is outside 1..{}{}", capacity, most,
                            multi ? " (queues with several producers or consumers)" : ""));
  }
  if (max_message == 0 || max_message > kMaxMessage) {
    throw Error(Errc::invalid_argument, name,
                fmt::format("max_message {} is outside 1..{}", max_message, kMaxMessage));
  }
  QueueGeometry g;
  g.capacity = std::max(kMinCapacity, std::bit_ceil(capacity));
  g.max_message = max_message;
  g.stride =
      packed ? max_message
             : static_cast<std::uint32_t>(round_up(kSlotPayloadOffset + max_message, kCacheLine));
  const std::uint64_t slot_bytes = g.capacity * g.stride;
  if (slot_bytes / g.stride != g.capacity ||
      slot_bytes > std::numeric_limits<std::uint64_t>::max() - kQueueSlotsOffset - kCacheLine) {
    throw Error(Errc::invalid_argument, name, "capacity × message size overflows");
  }
  g.total_bytes = kQueueSlotsOffset + round_up(slot_bytes, kCacheLine);
  return g;
}

QueueCore::QueueCore(Segment segment, const WaitPolicy& wait)
    : segment_(std::move(segment)), wait_(wait) {}

QueueCore& QueueCore::operator=(QueueCore&& other) noexcept {
  if (this != &other) {
    release_roles();
    segment_ = std::move(other.segment_);
    ring_ = other.ring_;
    wait_ = other.wait_;
    multi_producer_ = other.multi_producer_;
    multi_consumer_ = other.multi_consumer_;
    asymmetric_fences_ = other.asymmetric_fences_;
    role_counters_ = other.role_counters_;
    end_when_gone_ = other.end_when_gone_;
    next_producers_check_ = other.next_producers_check_;
  }
  return *this;
}

namespace {

// What create() makes of `options` for `element`: its geometry and flags.
struct QueueShape {
  QueueGeometry geometry;
  std::uint32_t flags = 0;
};
QueueShape queue_shape(std::string_view name, const QueueOptions& options, ElementInfo element) {
  const std::uint32_t max_message =
      element.kind == ElementKind::fixed
          ? static_cast<std::uint32_t>(element.size)
          : (options.max_message != 0 ? options.max_message : kDefaultMaxMessage);
  const bool packed = options.packed && element.kind == ElementKind::fixed &&
                      options.producers == Producers::one && options.consumers == Consumers::one;
  const bool multi = options.producers == Producers::many || options.consumers == Consumers::many;
  QueueShape shape;
  shape.geometry = queue_geometry(name, options.capacity, max_message, packed, multi);
  shape.flags =
      (options.producers == Producers::many ? kFlagMultiProducer : 0U) |
      (options.consumers == Consumers::many ? kFlagMultiConsumer : 0U) |
      (packed ? kFlagPacked : 0U) |
      (options.asymmetric_fences && asymmetric_fences_supported() ? kFlagAsymmetricFences : 0U);
  return shape;
}

const char* side_kind(std::uint32_t flags, std::uint32_t multi_flag) {
  return (flags & multi_flag) != 0 ? "many" : "one";
}

// open_or_create() found `name` made with other options than `options`: an error naming each
// field that differs, or nothing when they agree.
void check_same_options(std::string_view name, const QueueControl& ctl, const QueueShape& want) {
  std::string diff;
  const auto add = [&diff](std::string_view field, const auto& found, const auto& asked) {
    diff += fmt::format("{}{} {} (asked for {})", diff.empty() ? "" : ", ", field, found, asked);
  };
  // relaxed-free: immutable fields, validated by open() (validate_queue_control).
  if (ctl.capacity != want.geometry.capacity) add("capacity", ctl.capacity, want.geometry.capacity);
  if (ctl.max_message != want.geometry.max_message)
    add("max_message", ctl.max_message, want.geometry.max_message);
  if ((ctl.flags & kFlagMultiProducer) != (want.flags & kFlagMultiProducer)) {
    add("producers", side_kind(ctl.flags, kFlagMultiProducer),
        side_kind(want.flags, kFlagMultiProducer));
  }
  if ((ctl.flags & kFlagMultiConsumer) != (want.flags & kFlagMultiConsumer)) {
    add("consumers", side_kind(ctl.flags, kFlagMultiConsumer),
        side_kind(want.flags, kFlagMultiConsumer));
  }
  if ((ctl.flags & kFlagPacked) != (want.flags & kFlagPacked))
    add("packed", (ctl.flags & kFlagPacked) != 0, (want.flags & kFlagPacked) != 0);
  if (diff.empty()) return;
  throw Error(Errc::options_mismatch, name,
              fmt::format("exists with other options: {} (open() takes it as it is; remove it "
                          "first to make it anew: shmq rm {})",
                          diff, name));
}

}  // namespace

QueueCore QueueCore::create(std::string_view name, const QueueOptions& options, ElementInfo element,
                            std::uint64_t start_position) {
  validate_name(name);
  const QueueShape shape = queue_shape(name, options, element);
  const QueueGeometry& g = shape.geometry;
  const std::uint32_t flags = shape.flags;
  const bool packed = (flags & kFlagPacked) != 0;
  Segment::CreateSpec spec;
  spec.kind = SegmentKind::queue;
  spec.body_bytes = sizeof(QueueControl);
  spec.total_bytes = g.total_bytes;
  spec.mode = options.mode;
  Segment seg = Segment::create(name, spec, [&](std::byte* base) {
    auto* ctl = new (base + kBodyOffset) QueueControl{};
    ctl->capacity = g.capacity;
    ctl->slots_offset = kQueueSlotsOffset;
    ctl->slot_stride = g.stride;
    ctl->max_message = g.max_message;
    ctl->flags = flags;
    ctl->element_kind = static_cast<std::uint32_t>(element.kind);
    ctl->element_size = element.size;
    if (!element.type_name.empty()) {
      ctl->element_type = element_type_id(element.type_name);
      const std::size_t n = std::min(element.type_name.size(), sizeof(ctl->element_type_name) - 1);
      std::memcpy(ctl->element_type_name, element.type_name.data(), n);  // the rest stays zero
    }
    ctl->start_position = start_position;
    SlotRing::initialize(*ctl, base + kQueueSlotsOffset, g.capacity, g.stride, start_position,
                         packed);
  });
  QueueCore core(std::move(seg), options.wait);
  auto* ctl = reinterpret_cast<QueueControl*>(core.segment_.base() + kBodyOffset);
  const SlotRing::Config cfg = validate_queue_control(core.segment_, *ctl, &element);
  core.multi_producer_ = cfg.multi_producer;
  core.multi_consumer_ = cfg.multi_consumer;
  core.asymmetric_fences_ = cfg.asymmetric_fences;
  core.ring_ =
      SlotRing(ctl, core.segment_.base() + kQueueSlotsOffset, cfg, claimer_tag(core.segment_));
  core.ring_.set_owner(claimer_tag(core.segment_), &core.segment_.self().pending);
  return core;
}

QueueCore QueueCore::open(std::string_view name, ElementInfo element, const WaitPolicy& wait,
                          std::chrono::milliseconds appear_within) {
  if (appear_within.count() > 0) {
    return open_when_created(name, appear_within, [&] { return open(name, element, wait); });
  }
  Segment seg = Segment::open(name, SegmentKind::queue);
  auto* ctl = reinterpret_cast<QueueControl*>(seg.base() + kBodyOffset);
  const SlotRing::Config cfg = validate_queue_control(seg, *ctl, &element);
  QueueCore core(std::move(seg), wait);
  core.multi_producer_ = cfg.multi_producer;
  core.multi_consumer_ = cfg.multi_consumer;
  core.asymmetric_fences_ = cfg.asymmetric_fences;
  core.ring_ =
      SlotRing(ctl, core.segment_.base() + kQueueSlotsOffset, cfg, claimer_tag(core.segment_));
  core.ring_.set_owner(claimer_tag(core.segment_), &core.segment_.self().pending);
  return core;
}

QueueCore QueueCore::open_or_create(std::string_view name, const QueueOptions& options,
                                    ElementInfo element) {
  // Exactly one racer creates; the others open (and wait for `ready`). A name removed between
  // the two steps sends us round again.
  for (int attempt = 0;; ++attempt) {
    try {
      return create(name, options, element);
    } catch (const Error& e) {
      if (e.code() != make_error_code(Errc::already_exists)) throw;
    }
    try {
      QueueCore core = open(name, element, options.wait);
      check_same_options(name, core.control(), queue_shape(name, options, element));
      return core;
    } catch (const Error& e) {
      if (e.code() != make_error_code(Errc::not_found) || attempt >= 8) throw;
    }
  }
}

Status QueueCore::claim_role(bool producer) noexcept {
  const bool multi = producer ? multi_producer_ : multi_consumer_;
  ring_.set_owner(claimer_tag(segment_), &segment_.self().pending);  // new after fork()
  if (!multi) {
    std::atomic<std::uint64_t>& owner =
        producer ? control().producer_owner : control().consumer_owner;
    const std::uint64_t me = segment_.self_token();
    // [A4] see the previous owner's hand-over; pairs with [R4] in release_roles().
    std::uint64_t current = shm_load(owner, std::memory_order_acquire);
    for (;;) {
      if (current == me) break;
      if (current != 0 && segment_.is_alive(current)) return Status::role_taken;
      // [R4]/[A4]: take the role (from nobody, or from a dead owner).
      if (shm_cas_strong(owner, current, me, std::memory_order_acq_rel,
                         std::memory_order_acquire)) {
        break;
      }
    }
    const bool resumed = producer ? ring_.resume_producer() : ring_.resume_consumer();
    if (!resumed) {
      std::uint64_t mine = me;
      // [R4] give the role back.
      shm_cas_strong(owner, mine, 0, std::memory_order_release, std::memory_order_relaxed);
      return Status::corrupt;
    }
  }
  RegistryEntry& self = segment_.self();
  // relaxed: only this process writes its entry; observers read roles as advisory.
  shm_store(
      self.roles,
      shm_load(self.roles, std::memory_order_relaxed) | (producer ? kRoleProducer : kRoleConsumer),
      std::memory_order_relaxed);
  // [R14] release, after the role bit: a getter that sees the flag also sees this producer's
  // role bit (pairs with [A14] in producers_gone()). Set once; a relaxed load skips the store.
  if (producer && shm_load(control().producer_seen, std::memory_order_relaxed) == 0)
    shm_store(control().producer_seen, 1U, std::memory_order_release);
  role_counters_ = &self.counters;
  std::uint32_t held = producer ? kRoleProducer : kRoleConsumer;
  if (ring_.packed()) held |= producer ? kHeldPackedProducer : kHeldPackedConsumer;
  // A process the kernel would not register notifies with a full fence (always correct).
  if (asymmetric_fences_ && !SHMQ_TSAN && register_light_fences()) held |= kHeldLightNotify;
  if (multi) held |= producer ? kHeldMultiProducer : kHeldMultiConsumer;
  if (ring_.packed() && (held & kHeldLightNotify) != 0)
    held |= producer ? kHeldFastProducer : kHeldFastConsumer;
  segment_.set_held_roles(segment_.held_roles() | held);
  return Status::ok;
}

void QueueCore::wake(EventCountData& ec, std::size_t count) noexcept {
  const long woken =
      count == 1 ? wake_one(ec)
                 : wake_registered(ec, static_cast<int>(std::min<std::size_t>(count, INT_MAX)));
  if (woken < 0) return;  // a wake is pending already: no syscall
  bump(counters().wakes);
  if (woken == 0) note_empty_wake();
}

// After a wake that found registered sleepers but woke nobody: after a run of those, take back
// dead sleepers' registrations (so notifiers stop paying a futex wake per message).
void QueueCore::note_empty_wake() noexcept {
  if (++empty_wakes_ < kEmptyWakesBeforeReap) return;
  empty_wakes_ = 0;
  segment_.reap_dead_sleepers();
}

namespace {
[[noreturn]] void throw_role(const QueueCore& core, Status s, const char* role,
                             std::uint64_t owner) {
  if (s == Status::role_taken) {
    const std::uint32_t index = token_index(owner);
    const std::uint32_t pid = index < kRegistryCapacity ? shm_load(core.segment().entry(index).pid,
                                                                   std::memory_order_relaxed)
                                                        : 0;  // relaxed: for the message only
    throw Error(
        Errc::role_taken, core.name(),
        fmt::format("single-{} queue: the {} role is held by live process {}", role, role, pid));
  }
  throw Error(Errc::corrupt, core.name(),
              fmt::format("cannot resume as {}: ring state is corrupt", role));
}
}  // namespace

void QueueCore::claim_producer() {
  const Status s = ensure_producer();
  // relaxed: for the error message only.
  if (s != Status::ok)
    throw_role(*this, s, "producer", shm_load(control().producer_owner, std::memory_order_relaxed));
}

void QueueCore::claim_consumer() {
  const Status s = ensure_consumer();
  // relaxed: for the error message only.
  if (s != Status::ok)
    throw_role(*this, s, "consumer", shm_load(control().consumer_owner, std::memory_order_relaxed));
}

std::size_t QueueCore::count_producers(std::size_t enough) const noexcept {
  std::size_t n = 0;
  for (std::uint32_t i = 0; i < kRegistryCapacity && n < enough; ++i) {
    // [A13] a producer whose role bit is seen cleared has published everything it put; pairs
    // with [R13] in release_roles(). (A dead producer's entry is judged by its lock.)
    if ((shm_load(segment_.entry(i).roles, std::memory_order_acquire) & kRoleProducer) == 0)
      continue;
    if (segment_.entry_alive(i)) ++n;
  }
  return n;
}

std::size_t QueueCore::producers() const noexcept {
  return count_producers(kRegistryCapacity);
}

bool QueueCore::producers_gone() const noexcept {
  // [A14] pairs with [R14] in claim_role().
  return shm_load(control().producer_seen, std::memory_order_acquire) != 0 &&
         count_producers(1) == 0;
}

bool QueueCore::producers_gone_now() noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_producers_check_) return false;
  next_producers_check_ = now + std::chrono::milliseconds(1);
  if (!producers_gone()) return false;
  // A position reserved by a producer that died before publishing it (several producers only)
  // is not the end: recovery turns it into a skip after kStuckAfter, and what other producers
  // published behind it is delivered first.
  // [A13'] acquire: read after the producers' scan; a reservation made before a producer left
  // is seen.
  return !multi_producer_ ||
         distance(shm_load(control().tail, std::memory_order_acquire), ring_.take_position()) <= 0;
}

void QueueCore::release_roles() noexcept {
  if (!segment_.valid()) return;
  const std::uint64_t me = segment_.self_token();
  const std::uint32_t held = segment_.held_roles();
  if ((held & kRoleProducer) != 0) {
    RegistryEntry& self = segment_.self();
    // [R13] this producer is gone, with everything it put; pairs with [A13] in producers().
    shm_store(self.roles, shm_load(self.roles, std::memory_order_relaxed) & ~kRoleProducer,
              std::memory_order_release);
    // Getters that wait for producers to go (Queue::end_when_producers_gone) re-check now
    // (notify_all's [F1] orders the clearing before its waiters load).
    notify_all(control().not_empty);
  }
  if (held != 0) SHMQ_CRASH_POINT(role_release_before_handover);
  if ((held & kRoleProducer) != 0 && !multi_producer_) {
    std::uint64_t mine = me;
    // [R4] hand the role over with everything this producer published; pairs with [A4].
    shm_cas_strong(control().producer_owner, mine, 0, std::memory_order_release,
                   std::memory_order_relaxed);
  }
  if ((held & kRoleConsumer) != 0 && !multi_consumer_) {
    std::uint64_t mine = me;
    // [R4] as above, for the consumer.
    shm_cas_strong(control().consumer_owner, mine, 0, std::memory_order_release,
                   std::memory_order_relaxed);
  }
  segment_.set_held_roles(0);
}

void QueueCore::close() noexcept {
  // [R5] pairs with [A5] in closed().
  shm_store(control().closed, 1, std::memory_order_release);
  bump(counters().closes);
  wake_all(control().not_empty);
  wake_all(control().not_full);
}

bool QueueCore::lock_recovery() noexcept {
  std::atomic<std::uint64_t>& owner = control().recovery_owner;
  const std::uint64_t me = segment_.self_token();
  // [A9] see what the previous holder did; pairs with [R9] in unlock_recovery().
  std::uint64_t current = shm_load(owner, std::memory_order_acquire);
  for (;;) {
    if (current != 0 && current != me && segment_.is_alive(current)) return false;  // busy
    // [R9]/[A9]: take the lock from nobody, or from a holder that died holding it.
    if (shm_cas_strong(owner, current, me, std::memory_order_acq_rel, std::memory_order_acquire)) {
      return true;
    }
  }
}

void QueueCore::unlock_recovery() noexcept {
  // [R9] hand over what this recovery did; pairs with [A9] in lock_recovery().
  shm_store(control().recovery_owner, 0, std::memory_order_release);
}

// Whether the holder of `pos` (as `held` shows it) is provably dead. A stamp naming (pos, kind)
// is the holder's (INV-R3): its attachment decides. Without one, the holder is between its CAS
// and its stamp, or died there: its intent `make_pending(pos, kind)` was in its registry entry
// when its CAS took pos ([R7] → [A7]), and stays there until its stamp is visible ([R8] → [A8];
// its next intent is a release store too, so reading that one also shows the stamp). So if no
// live process has the intent now and the stamp, read again after the scan, still does not name
// pos, the holder is dead — whether a dead entry still shows its intent, or the entry was taken
// by a new attacher meanwhile (a full registry reuses dead entries, intent and all: that intent
// is lost, not the verdict). The caller acts with a CAS on the slot's seq, so a holder that let
// go of the slot after this judgment is never overruled.
bool QueueCore::holder_dead(const SlotRing::Held& held, std::uint64_t pos,
                            std::uint64_t kind) noexcept {
  if (stamp_names(held.stamp, pos, kind)) return segment_.tag_dead(stamp_tag(held.stamp));
  const Segment::PendingScan scan = segment_.scan_pending(make_pending(pos, kind));
  if (scan.live) return false;
  const std::uint64_t again = ring_.stamp(pos);
  if (stamp_names(again, pos, kind)) return segment_.tag_dead(stamp_tag(again));
  return true;
}

bool QueueCore::recover_stuck(Side side) noexcept {
  const bool consumers = side == Side::consumer;
  if (!(consumers ? multi_producer_ : multi_consumer_)) return false;  // single sides resume
  // The position the blocked side waits on: the next one to take (held by a producer that has
  // not published), or the oldest one producers must reuse (held by a consumer that has not
  // released it).
  const std::uint64_t pos =
      consumers ? ring_.take_position() : ring_.claim_position() - ring_.capacity();
  // relaxed: hints; the checks below re-read with the right orderings.
  const std::uint64_t other = consumers ? shm_load(control().tail, std::memory_order_relaxed)
                                        : shm_load(control().head, std::memory_order_relaxed);
  if (distance(other, pos) <= 0) return false;  // empty (full) for real: nothing is held
  Blocked& blocked = blocked_[consumers ? 0 : 1];
  const auto now = std::chrono::steady_clock::now();
  if (pos != blocked.pos) {  // a new position: not stuck (yet)
    blocked.pos = pos;
    blocked.since = now;
    return false;
  }
  if (now - blocked.since < kStuckAfter) return false;
  blocked.since = now;
  if (!lock_recovery()) return false;  // another process is recovering
  SHMQ_CRASH_POINT(recover_lock_held);
  // Consumers wait on a slot claimed and not published: its dead producer's slot becomes a skip.
  // Producers wait on a slot taken and not released: its dead consumer's message is in doubt.
  const std::uint64_t pending = consumers ? kPendingClaim : kPendingTake;
  // A recoverer that died mid-skip (we took the lock from it) left its marker: finish it.
  bool recovered = consumers && ring_.finish_interrupted_skip(pos);
  if (!recovered) {
    const SlotRing::Held held =
        consumers ? ring_.claimed_unpublished(pos) : ring_.taken_unreleased(pos);
    recovered =
        held.slot != nullptr && holder_dead(held, pos, pending) &&
        (consumers ? ring_.publish_skip_for_dead(held, pos) : ring_.release_for_dead(held, pos));
  }
  if (recovered) {
    segment_.clear_dead_pending(make_pending(pos, pending));
    bump(consumers ? counters().recovered_slots : counters().in_doubt);
  }
  unlock_recovery();
  if (recovered) {
    // The other side may be asleep on what was just freed.
    notify_all(consumers ? control().not_empty : control().not_full);
  }
  return recovered;
}

}  // namespace shmq::detail
