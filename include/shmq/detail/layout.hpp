// shmq shared-memory ABI: every struct that lives in a segment, in one place.
//
// A segment is one POSIX shared-memory object (/dev/shm/NAME) laid out as:
//
//   offset 0      SegmentHeader (256 B)   identity, sizes, `ready`, retired counters
//   offset 256    RegistryEntry[64]       (192 B each) attached processes, per-process counters
//   body_offset   kind-specific body      QueueControl (768 B) for a queue
//   slots_offset  Slot[capacity]          (slot_stride B each) for a queue
//
// Rules for everything in this file:
// - fixed-width fields only, no pointers (offsets from the segment base), standard layout;
// - every offset and size is pinned by a static_assert here and, independently, by
//   tests/layout_test.cpp, so an accidental ABI change fails loudly;
// - indices written by different parties sit on separate lines, kIndexSeparation apart
//   (adjacent-line prefetch pairs 64-byte lines on x86);
// - an opener copies and validates every field it uses once (runtime/segment.cpp,
//   runtime/queue_core.cpp); values read later on the hot path are re-checked at each use.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace shmq::detail {

// "SHMQSEG1" read as a little-endian 64-bit word.
inline constexpr std::uint64_t kMagic = 0x31474553514d4853ULL;

// The layout version. Bump it whenever any struct in this file changes a size, an offset or the
// meaning of a field, and update tests/layout_test.cpp in the same change. An opener refuses every
// version but its own: there is no cross-version compatibility.
inline constexpr std::uint32_t kLayoutVersion = 6;

inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::size_t kIndexSeparation = 128;

// Byte-range lock offsets in the segment's file (OFD locks, far beyond any real size). The kernel
// drops a process's locks when it dies: that is how liveness is known (docs/design.md §6).
inline constexpr std::uint64_t kInitLockByte = 1ULL << 40;  // held by the creator until ready
inline constexpr std::uint64_t kRegistryLockBase = kInitLockByte + 1;  // + registry index
// + registry index: held (write) by whoever is taking over a dead entry — an attacher until it
// owns the entry, a reaper while it clears the dead owner's bits — so such takers are one at a
// time; meanwhile they hold the entry's byte as a *read* lock (RegistryEntry).
inline constexpr std::uint64_t kRegistryClaimLockBase = kRegistryLockBase + 64;

enum class SegmentKind : std::uint32_t { queue = 1, pipe = 2, manager = 3 };

static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint64_t>) == 8, "atomics must be plain words in shm");
static_assert(sizeof(std::atomic<std::uint32_t>) == 4, "atomics must be plain words in shm");

// Every counter, X(name), in its order in Counters: the one list that Counters,
// shmq::CounterSnapshot (inspect.hpp), its snapshot and sum, and every tool's output are made from.
// A new counter is a line here (an ABI change: bump kLayoutVersion and update
// tests/layout_test.cpp).
#define SHMQ_COUNTERS(X)                                                   \
  X(msgs_put)                                                              \
  X(bytes_put) /* 0 in a queue of fixed-size elements: msgs × its size */ \
  X(msgs_got)                                                              \
  X(bytes_got)                                                             \
  X(full_events)  /* a put found the ring full */                          \
  X(empty_events) /* a get found the ring empty */                         \
  X(sleeps)       /* futex waits entered */                                \
  X(wakes)        /* futex wakes issued */                                 \
  X(timeouts)     /* bounded waits that expired */                         \
  X(closes)                                                                \
  X(recovered_slots) /* slots of dead claimers turned into skips */        \
  X(in_doubt)        /* messages a dead consumer took (counted lost) */

// Per-process statistics. Each attached process writes only its own copy (single writer, relaxed
// load + store, no contended RMW on the hot path); readers sum all entries plus the retired ones.
struct Counters {
#define SHMQ_COUNTER_MEMBER(name) std::atomic<std::uint64_t> name;
  SHMQ_COUNTERS(SHMQ_COUNTER_MEMBER)
#undef SHMQ_COUNTER_MEMBER
};
static_assert(sizeof(Counters) == 96);
inline constexpr std::size_t kCounterCount = sizeof(Counters) / sizeof(std::uint64_t);

struct SegmentHeader {
  std::uint64_t magic;              // kMagic
  std::uint32_t layout_version;     // kLayoutVersion
  std::uint32_t kind;               // SegmentKind
  std::uint64_t total_bytes;        // the file's size
  std::uint64_t created_unix_ns;    // CLOCK_REALTIME at creation
  std::uint32_t creator_pid;        //
  std::uint32_t registry_capacity;  // entries in the registry
  std::uint64_t registry_offset;    // from the segment base
  std::uint64_t body_offset;        // kind-specific body
  std::uint64_t body_bytes;         //
  // Set to kReadyValue by the creator after everything else, with release ([R0]); openers
  // acquire it ([A0]) before reading any other field.
  std::atomic<std::uint32_t> ready;
  std::uint8_t pad1_[128 - 68];
  // Counters of processes that detached or died and whose registry entry was reused.
  Counters retired;
  std::uint8_t pad2_[256 - 128 - sizeof(Counters)];
};
inline constexpr std::uint32_t kReadyValue = 0x52454459;  // "YDER": not a plausible stray value
static_assert(std::is_standard_layout_v<SegmentHeader>);
static_assert(sizeof(SegmentHeader) == 256);
static_assert(offsetof(SegmentHeader, ready) == 64, "ready on its own line");
static_assert(offsetof(SegmentHeader, retired) == 128);

// Role bits of a registry entry.
inline constexpr std::uint32_t kRoleProducer = 1U << 0;
inline constexpr std::uint32_t kRoleConsumer = 1U << 1;
inline constexpr std::uint32_t kRoleServer = 1U << 2;  // a Manager's server
inline constexpr std::uint32_t kRoleClient = 1U << 3;  // a Manager's client

// One attached process. Entry i is owned by whoever holds the OFD write lock on byte
// kRegistryLockBase + i; the owner writes it, anyone reads it. A held write lock with a matching
// generation means the owner is alive; a free lock means the entry's last owner is gone; a read
// lock means someone is taking the dead entry over (an attacher before it has published its new
// generation, or a reaper): its last owner is gone too. (Judged by the write lock alone, an
// attacher preempted between its lock and its generation store made a dead owner look alive:
// a new Manager server refused to adopt, "already served by live process".)
struct RegistryEntry {
  std::atomic<std::uint64_t> generation;  // bumped by each new owner
  std::atomic<std::uint64_t> attached_unix_ns;
  std::atomic<std::uint32_t> pid;
  std::atomic<std::uint32_t> roles;  // kRole* bits
  // A multi-side claim (take) in progress: make_pending(pos, kPendingClaim/Take), written before
  // the CAS on tail (head) and cleared once the slot's claimer word names the owner. A dead entry
  // with a pending value is how recovery finds a claimer killed between its CAS and its stamp;
  // such an entry is not reused until recovery clears it.
  std::atomic<std::uint64_t> pending;
  std::uint32_t reserved0;  // zero (was a sleeper record before layout 5: see EventCountData)
  std::uint8_t pad_[64 - 36];
  Counters counters;
  std::uint8_t pad2_[192 - 64 - sizeof(Counters)];
};
static_assert(std::is_standard_layout_v<RegistryEntry>);
static_assert(sizeof(RegistryEntry) == 192);
static_assert(offsetof(RegistryEntry, pending) == 24);
static_assert(offsetof(RegistryEntry, counters) == 64, "counters on lines of their own");

inline constexpr std::uint64_t kPendingClaim = 1;  // a producer's CAS on tail
inline constexpr std::uint64_t kPendingTake = 2;   // a consumer's CAS on head
//   pending: bits 63..2: position (low 62 bits)    bits 1..0: kPendingClaim / kPendingTake
inline constexpr std::uint64_t make_pending(std::uint64_t pos, std::uint64_t kind) {
  return (pos << 2) | kind;
}
// A slot stamp: bits 63..32 the low 32 bits of make_pending(pos, kind) (never 0: kind is not),
// bits 31..0 the holder's tag (the low 32 bits of its registry token).
inline constexpr std::uint64_t make_stamp(std::uint64_t pos, std::uint64_t kind,
                                          std::uint32_t tag) {
  return (make_pending(pos, kind) << 32) | tag;
}
// make_stamp() in two steps, for a holder that stamps many positions: the part that does not
// depend on the position once, then one shift and one or per stamp.
inline constexpr std::uint64_t stamp_base(std::uint64_t kind, std::uint32_t tag) {
  return make_stamp(0, kind, tag);
}
inline constexpr std::uint64_t stamp_at(std::uint64_t pos, std::uint64_t base) {
  return (pos << 34) | base;
}
static_assert(stamp_at(0x3FFFFFFFFULL, stamp_base(kPendingTake, 0xABCD1234U)) ==
              make_stamp(0x3FFFFFFFFULL, kPendingTake, 0xABCD1234U));
static_assert(stamp_at(~0ULL, stamp_base(kPendingClaim, ~0U)) ==
              make_stamp(~0ULL, kPendingClaim, ~0U));
inline constexpr bool stamp_names(std::uint64_t stamp, std::uint64_t pos, std::uint64_t kind) {
  return (stamp >> 32) == (make_pending(pos, kind) & 0xFFFFFFFFULL);
}
inline constexpr std::uint32_t stamp_tag(std::uint64_t stamp) {
  return static_cast<std::uint32_t>(stamp);
}

inline constexpr std::uint32_t kRegistryCapacity = 64;
static_assert(kRegistryClaimLockBase >= kRegistryLockBase + kRegistryCapacity);
inline constexpr std::uint64_t kRegistryOffset = sizeof(SegmentHeader);
inline constexpr std::uint64_t kBodyOffset =
    kRegistryOffset + kRegistryCapacity * sizeof(RegistryEntry);
static_assert(kBodyOffset == 12544);

// A registry token names one attachment: an entry index and that entry's generation.
//   bits 63..8: generation (low 56 bits)    bits 7..0: index + 1 (0 = nobody)
inline constexpr std::uint64_t make_token(std::uint32_t index, std::uint64_t generation) {
  return (generation << 8) | ((index + 1) & 0xFFU);
}
inline constexpr std::uint32_t token_index(std::uint64_t token) {
  return static_cast<std::uint32_t>((token & 0xFFU) - 1);
}

// ---- Queue ----------------------------------------------------------------------------------

inline constexpr std::uint32_t kFlagMultiProducer = 1U << 0;
inline constexpr std::uint32_t kFlagMultiConsumer = 1U << 1;
// SPSC queue of fixed-size elements stored back to back, without slot headers
// (detail/ring/packed_ring.hpp): slot_stride == max_message == element_size, any multiple of the
// element's alignment; the slots area is capacity × stride rounded up to a cache line.
inline constexpr std::uint32_t kFlagPacked = 1U << 2;
// Notifiers of this queue order publish before their `waiters` load with a compiler barrier only;
// its waiters call membarrier() on the way to sleep (detail/wait/asymmetric_fence.hpp). Set at
// create where the kernel offers it (QueueOptions::asymmetric_fences).
inline constexpr std::uint32_t kFlagAsymmetricFences = 1U << 3;

enum class ElementKind : std::uint32_t { fixed = 1, bytes = 2 };

// One eventcount (docs/queue.md, "Waiting"): `epoch` is the futex word, bumped by a notifier that
// saw waiters; `waiters` has bit i set while registry entry i has a sleeper registered here.
// One bit per entry, not a count: registering and deregistering are each one RMW (fetch_or /
// fetch_and) that is whole or not done when its process is killed, and a dead entry's bit is
// cleared idempotently by whoever holds that entry's lock (the next attacher, or a reaper,
// Segment::reap_dead_sleepers). INV-E1: when no process is between its registration and its
// deregistration, `waiters` has no bit of a live entry, and a dead entry's bit only until it is
// reaped. Threads of one handle share its bit (a process-local count, SleepGate).
// `wake_pending` (layout 6): 1 from a wake-one notify until a sleeper returns from its futex wait;
// while it is set, wake-one notifiers make no syscall (the woken sleeper passes a wake on when it
// succeeds, event_count.hpp). Stale after a woken sleeper was killed: the next sleeper to return
// from a wait, woken or timed out, clears it.
struct EventCountData {
  std::atomic<std::uint32_t> epoch;
  std::atomic<std::uint32_t> wake_pending;
  std::atomic<std::uint64_t> waiters;
};
static_assert(sizeof(EventCountData) == 16);
static_assert(kRegistryCapacity <= 64, "one waiters bit per registry entry");

// FNV-1a of a typeid name, never 0 (QueueControl::element_type).
inline constexpr std::uint64_t element_type_id(std::string_view type_name) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : type_name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h == 0 ? 1 : h;
}

struct QueueControl {
  // Immutable after creation (written before `ready`).
  std::uint64_t capacity;        // slots, a power of two
  std::uint64_t slots_offset;    // from the segment base, a multiple of kCacheLine
  std::uint32_t slot_stride;     // bytes per slot, a multiple of kCacheLine (packed: element size)
  std::uint32_t max_message;     // payload bytes per slot
  std::uint32_t flags;           // kFlagMulti*, kFlagPacked, kFlagAsymmetricFences
  std::uint32_t element_kind;    // ElementKind
  std::uint64_t element_size;    // sizeof(T) for fixed elements, 0 for bytes
  std::uint64_t start_position;  // first position (tests start near the 2^64 wrap)
  // Fixed-size elements: which C++ type (element_type_id() of typeid(T).name()), 0 = not recorded
  // (bytes kinds, a creator that did not say, or a segment made before these had a name: they
  // were zero padding). The name (typeid's, NUL-padded, cut at 55 bytes) is for messages only.
  std::uint64_t element_type;
  char element_type_name[56];
  std::uint8_t pad0_[128 - 48 - 64];
  // Producers' line: the next position to claim (tail). MP: claimed by CAS. SP: written only by
  // the producer, read by others only for size() and by the next producer on take-over.
  std::atomic<std::uint64_t> tail;
  std::uint8_t pad1_[128 - 8];
  // Consumers' line: the next position to read (head), as `tail` for consumers.
  std::atomic<std::uint64_t> head;
  std::uint8_t pad2_[128 - 8];
  EventCountData not_empty;  // consumers sleep here
  std::uint8_t pad3_[128 - sizeof(EventCountData)];
  EventCountData not_full;  // producers sleep here
  std::uint8_t pad4_[128 - sizeof(EventCountData)];
  std::atomic<std::uint32_t> closed;  // 0 open, 1 closed; never reset
  // 1 once a producer has claimed its role (QueueCore::producers_gone()); never reset. Was zero
  // padding before it had a name: a segment made by an older build of layout 6 reads "none yet".
  std::atomic<std::uint32_t> producer_seen;
  std::atomic<std::uint64_t> producer_owner;  // SP queues: token of the producer, 0 = none
  std::atomic<std::uint64_t> consumer_owner;  // SC queues: token of the consumer, 0 = none
  // Token of the process recovering a dead party's slot (QueueCore::recover_stuck), 0 = none;
  // taken by CAS, from a dead holder too. Serialises recoverers: recovery is a rare slow path.
  std::atomic<std::uint64_t> recovery_owner;
  std::uint8_t pad6_[128 - 32];
};
static_assert(std::is_standard_layout_v<QueueControl>);
static_assert(sizeof(QueueControl) == 768);
static_assert(offsetof(QueueControl, tail) == 128);
static_assert(offsetof(QueueControl, head) == 256);
static_assert(offsetof(QueueControl, not_empty) == 384);
static_assert(offsetof(QueueControl, not_full) == 512);
static_assert(offsetof(QueueControl, closed) == 640);
static_assert(offsetof(QueueControl, producer_owner) == 648);
static_assert(offsetof(QueueControl, recovery_owner) == 664);

// The header of every slot; the payload follows at +32 in the same line(s).
// Slot state, for position p mapped to this slot (p & mask):
//   seq == p            free: a producer may claim p
//   seq == p + 1        holds the message of position p
//   seq == p + capacity consumed: free for position p + capacity
//   seq == p - 1        (tail past p) a recoverer is turning a dead producer's claim of p into
//                       a skip; only ever seen while the recovery lock is held (or its holder died)
// `stamp` names the last holder of the slot and what it held (make_stamp): a multi-side producer
// writes it right after its CAS on tail, a multi-side consumer right after its CAS on head. It is
// never cleared: the position in it tells a stale stamp from the current holder's (INV-R3).
struct SlotHeader {
  std::atomic<std::uint64_t> seq;
  std::atomic<std::uint64_t> stamp;  // make_stamp(pos, kind, tag), 0 before the first holder
  std::atomic<std::uint32_t> size;   // payload bytes, or kSkipSize for a slot that holds nothing
  std::uint32_t reserved0;
  std::uint64_t reserved1;  // keeps the payload 16-byte aligned
};
static_assert(sizeof(SlotHeader) == 32);
inline constexpr std::uint32_t kSkipSize = 0xFFFFFFFFU;
inline constexpr std::size_t kSlotPayloadOffset = sizeof(SlotHeader);
inline constexpr std::size_t kMaxPayloadAlign = 16;

inline constexpr std::uint64_t kQueueBodyBytes = sizeof(QueueControl);
inline constexpr std::uint64_t kQueueSlotsOffset = kBodyOffset + kQueueBodyBytes;
static_assert(kQueueSlotsOffset % kCacheLine == 0);
static_assert(kQueueSlotsOffset <= 16 * 1024, "docs/design.md §8: at most 16 KiB of header");

// ---- Pipe -----------------------------------------------------------------------------------
//
// A pipe segment (SegmentKind::pipe) carries byte messages between two ends, `first` (0) and
// `second` (1), through one SPSC byte ring per direction (detail/ring/byte_ring.hpp):
//
//   kBodyOffset         PipeControl (1664 B)  options, both ends, both rings' indices
//   kPipeDataOffset     ring 0 data           messages TO end first  (sent by end second)
//   + capacity          ring 1 data           messages TO end second (sent by end first);
//                                             absent when the pipe is not duplex
//
// Records. A ring holds a stream of records, each starting at a multiple of 8:
//   word (8 B, little-endian u64)   bits  0..39  remaining: message bytes from this chunk's
//                                                first byte to the message's end
//                                   bit     40   first: this record starts a message
//                                   bits 41..47  zero
//                                   bits 48..63  kPipeRecordTag
//   payload                         min(remaining, capacity / 2 - 8) bytes, then padding
//                                   (unspecified bytes) up to a multiple of 8
// A message of L bytes is the records remaining = L, L - c, L - 2c, ... (c = the chunk size);
// an empty message is one record with remaining = 0. The writer publishes whole records only.
//
// Holders. Which processes hold an end is recorded in the registry: an entry whose `roles` has
// kRolePipeFirst (kRolePipeSecond) and whose OFD lock is held is a live holder of that end. Set
// by create/open and, for handles inherited across fork(), by the child itself; cleared by
// close(); dropped by the kernel with the lock when the holder dies. An end that was opened once
// and has no live holder now is closed: its peer drains what was sent, then sees Status::closed.

inline constexpr std::uint32_t kRolePipeFirst = 1U << 4;
inline constexpr std::uint32_t kRolePipeSecond = 1U << 5;

inline constexpr std::uint32_t kPipeFlagDuplex = 1U << 0;

inline constexpr std::uint64_t kPipeMinCapacity = 256;         // bytes per ring
inline constexpr std::uint64_t kPipeMaxCapacity = 1ULL << 30;  // bytes per ring

inline constexpr std::uint64_t kPipeRecordAlign = 8;
inline constexpr std::uint64_t kPipeRecordHeader = 8;
inline constexpr std::uint64_t kPipeRemainingMask = (1ULL << 40) - 1;
inline constexpr std::uint64_t kPipeRecordFirst = 1ULL << 40;
inline constexpr std::uint64_t kPipeRecordTagMask = 0xFFFFULL << 48;
inline constexpr std::uint64_t kPipeRecordTag = 0x5250ULL << 48;  // "PR": not zeroed memory
inline constexpr std::uint64_t kPipeMaxMessage = kPipeRemainingMask;

// An opener (Connection::open) holds `opener` of its end while it checks for live holders and
// registers itself; the creator holds both with kPipeOpenerCreating until its handles hold them.
inline constexpr std::uint64_t kPipeOpenerCreating = ~0ULL;

struct PipeEndData {
  // Bumped (release) by every close() of a holder of this end, so a peer notices a close with
  // one load instead of scanning the registry.
  std::atomic<std::uint32_t> close_epoch;
  // 0 until a process first holds this end, then 1 forever: an end that was never opened is
  // pending (its peer waits), not closed.
  std::atomic<std::uint32_t> opened;
  std::atomic<std::uint64_t> opener;  // token of the opener in progress, 0 = none
  std::uint8_t pad1_[128 - 16];
};
static_assert(std::is_standard_layout_v<PipeEndData>);
static_assert(sizeof(PipeEndData) == 128);
static_assert(offsetof(PipeEndData, opener) == 8);

// One direction: an SPSC byte ring. Writer and reader indices on separate lines.
struct ByteRingData {
  // Immutable after creation (written before `ready`).
  std::uint64_t capacity;        // bytes, a power of two; 0 for the absent ring of a one-way pipe
  std::uint64_t data_offset;     // from the segment base
  std::uint64_t start_position;  // first position (tests start near the 2^64 wrap)
  std::uint8_t pad0_[128 - 24];
  std::atomic<std::uint64_t> tail;  // written by the writing end only: next byte to write
  std::uint8_t pad1_[128 - 8];
  std::atomic<std::uint64_t> head;  // written by the reading end only: next byte to read
  std::uint8_t pad2_[128 - 8];
  EventCountData readable;  // the reader sleeps here: records published, or the writer left
  std::uint8_t pad3_[128 - sizeof(EventCountData)];
  EventCountData writable;  // the writer sleeps here: space freed, or the reader left
  std::uint8_t pad4_[128 - sizeof(EventCountData)];
};
static_assert(std::is_standard_layout_v<ByteRingData>);
static_assert(sizeof(ByteRingData) == 640);
static_assert(offsetof(ByteRingData, tail) == 128);
static_assert(offsetof(ByteRingData, head) == 256);
static_assert(offsetof(ByteRingData, readable) == 384);
static_assert(offsetof(ByteRingData, writable) == 512);

struct PipeControl {
  // Immutable after creation (written before `ready`).
  std::uint64_t ring_capacity;  // bytes per ring, a power of two
  std::uint64_t max_message;    // largest message, bytes (<= kPipeMaxMessage)
  std::uint32_t flags;          // kPipeFlag*
  std::uint32_t ring_count;     // 2 if duplex, else 1
  std::uint8_t pad0_[128 - 24];
  PipeEndData ends[2];    // [0] = first, [1] = second
  ByteRingData rings[2];  // rings[i] carries messages to end i
};
static_assert(std::is_standard_layout_v<PipeControl>);
static_assert(sizeof(PipeControl) == 1664);
static_assert(offsetof(PipeControl, ends) == 128);
static_assert(offsetof(PipeControl, rings) == 384);

inline constexpr std::uint64_t kPipeBodyBytes = sizeof(PipeControl);
inline constexpr std::uint64_t kPipeDataOffset = kBodyOffset + kPipeBodyBytes;
static_assert(kPipeDataOffset == kBodyOffset + 1664);
static_assert(kPipeDataOffset % kIndexSeparation == 0, "ring data starts on its own lines");
static_assert(kPipeDataOffset <= 16 * 1024, "docs/design.md §8: at most 16 KiB of header");

// ---- Eventcounts of each kind ----------------------------------------------------------------

// Where a segment of `kind` keeps its eventcounts (offsets from the segment base): the places a
// dead entry's waiters bit may be left in (Segment::reap_dead_sleepers). A Manager segment has
// none: its waiting happens in its queues' segments.
struct EventCountOffsets {
  std::array<std::uint64_t, 4> at{};
  std::uint32_t count = 0;
};
inline constexpr EventCountOffsets eventcount_offsets(SegmentKind kind) {
  EventCountOffsets o;
  if (kind == SegmentKind::queue) {
    o.at[0] = kBodyOffset + offsetof(QueueControl, not_empty);
    o.at[1] = kBodyOffset + offsetof(QueueControl, not_full);
    o.count = 2;
  } else if (kind == SegmentKind::pipe) {
    for (std::uint32_t r = 0; r < 2; ++r) {
      const std::uint64_t ring =
          kBodyOffset + offsetof(PipeControl, rings) + r * sizeof(ByteRingData);
      o.at[2 * r] = ring + offsetof(ByteRingData, readable);
      o.at[2 * r + 1] = ring + offsetof(ByteRingData, writable);
    }
    o.count = 4;
  }
  return o;
}

// ---- Manager --------------------------------------------------------------------------------
//
// A Manager named N owns these names (runtime/manager*.cpp):
//   N            this segment (SegmentKind::manager): ManagerControl, and the registry in which
//                the server's attachment is its liveness token
//   N.req        Queue<std::string>, MPSC: every client's requests, consumed by the server
//   N.c<id>      Queue<std::string>, SPSC: replies to client <id>, created by that client
//   N.journal    a plain file: the server's append-only journal of committed changes
//   N.q.<name>   the queues that queue<T>(name) hands out
// Requests and replies are byte messages (detail/manager/manager_protocol.hpp), not structs in
// shared memory; what lives in shared memory for the Manager is only ManagerControl.

inline constexpr std::uint32_t kManagerStateServing = 0;
inline constexpr std::uint32_t kManagerStateShutDown = 1;

struct ManagerControl {
  // Immutable after creation (written before `ready`).
  std::uint32_t request_capacity;  // messages in N.req
  std::uint32_t reply_capacity;    // messages in each N.c<id>
  std::uint32_t max_message;       // bytes per request/reply message (N.req and N.c<id>)
  std::uint32_t pad0_;
  std::uint8_t pad1_[128 - 16];
  // Server identity: a starting server takes `claim_token` by CAS (from 0 or from a dead token),
  // so at most one live server serves N; once it can serve, it bumps `epoch` and publishes its
  // token in `server_token` ([R10]; clients acquire it, [A10]).
  std::atomic<std::uint64_t> claim_token;
  std::atomic<std::uint64_t> server_token;  // the serving server's token in this registry; 0 none
  std::atomic<std::uint32_t> epoch;         // bumped by each server that starts serving
  std::atomic<std::uint32_t> state;         // kManagerState*
  std::atomic<std::uint32_t> server_pid;    // for messages only
  std::uint32_t pad2_;
  std::atomic<std::uint64_t> next_client_id;  // fetch_add by clients: ids are never reused
  // Server statistics (single writer: the server).
  std::atomic<std::uint64_t> requests;      // requests applied
  std::atomic<std::uint64_t> malformed;     // requests rejected as malformed
  std::atomic<std::uint64_t> dead_clients;  // clients found dead and cleaned up
  std::uint8_t pad3_[128 - 64];
};
static_assert(std::is_standard_layout_v<ManagerControl>);
static_assert(sizeof(ManagerControl) == 256);
static_assert(offsetof(ManagerControl, claim_token) == 128, "server's line apart from constants");
static_assert(offsetof(ManagerControl, next_client_id) == 160);
inline constexpr std::uint64_t kManagerBodyBytes = sizeof(ManagerControl);
inline constexpr std::uint64_t kManagerTotalBytes = kBodyOffset + kManagerBodyBytes;

}  // namespace shmq::detail
