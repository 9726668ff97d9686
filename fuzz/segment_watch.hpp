// Invariants the queue fuzz targets check, beyond "no crash" (ASan cannot see a stray write that
// stays inside the mapped segment, nor a wrong value that is in bounds):
//
// - SegmentWatch: bytes of a queue segment outside the fields an operation may write are
//   unchanged by it. A snapshot of the whole segment is taken before each operation and compared
//   after it, byte by byte, against a mask of what that operation may write:
//     W-ANY (any state, hostile or not): never the header (an opener's attach: the retired
//       counters), never another registry entry (an opener: its entry's fields; recovery: a dead
//       entry's `pending`), never an immutable field, a pad or a reserved word; in the own entry
//       only pending, roles and counters; in the control block only the indices, the eventcounts,
//       `closed` (only close(), and only to 1), `producer_seen` (only a put, only to 1) and the
//       owner words; in a slot only seq, stamp, size
//       and, for a put, the payload up to max_message (a packed ring: its elements, for a put);
//       a read-only call (size/empty/full, a no-op close) nothing at all.
//     W-HEALTHY (as long as no hostile write or load has happened): only the slots of the
//       positions the operation moved tail (put: seq, stamp, size, the payload) and head (get:
//       seq, stamp) over — and a put the element at tail of a packed ring (a dropped claim's
//       buffer); tail and head move forward by at most a lap; a published size is at most
//       max_message; no intent (`pending`), recovery lock or waiters bit is left behind.
// - ValueOracle: every value a get returns was made by the target (a sequence number and a
//   checksum in the value), or the call returned Status::corrupt. While the state is healthy the
//   values come back exactly in put order (a deque model), and a get finds nothing only when the
//   model is empty. Once shared state has been tampered with, a get may return an older value
//   again (a rewound index) or the zero value of a slot never written, but never a value that was
//   not made — unless the peer wrote into slot sizes or payloads (tainted), after which only
//   "at most max_message bytes" is left to check.
// A violation prints what it saw and traps (__builtin_trap), so libFuzzer reports it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "shmq/detail/layout.hpp"
#include "shmq/status.hpp"

// The checks are not what the fuzzer should explore: no coverage feedback from their branches
// (and a byte loop over the segment per operation would cost more than the operation).
#define SHMQ_FUZZ_UNTRACED __attribute__((no_sanitize("coverage")))

namespace shmq::fuzz {

[[noreturn]] inline void invariant_failed(const char* what) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

// What an operation may write (see W-ANY).
enum class OpClass {
  read_only,   // size()/empty()/full(), a close op that does not close
  get,         // any get, peek or batch get
  put,         // any put, claim or batch put
  close,       // close()
  open_other,  // another handle of this process opens the segment (and gets, and goes)
};

class SegmentWatch {
 public:
  // `base`/`size`: the segment as mapped by the handle under test; `self`: its registry entry.
  // The geometry is read now (the handle has validated the same values).
  SegmentWatch(const std::byte* base, std::size_t size, std::uint32_t self)
      : base_(base), size_(size), self_(self), snap_(new std::byte[size]) {
    const auto* ctl = reinterpret_cast<const detail::QueueControl*>(base + detail::kBodyOffset);
    capacity_ = ctl->capacity;
    stride_ = ctl->slot_stride;
    max_message_ = ctl->max_message;
    packed_ = (ctl->flags & detail::kFlagPacked) != 0;
    slots_ = ctl->slots_offset;
  }

  SHMQ_FUZZ_UNTRACED void before() { std::memcpy(snap_.get(), base_, size_); }

  // Compares the segment with the snapshot of before(). `healthy`: W-HEALTHY applies too.
  SHMQ_FUZZ_UNTRACED void after(OpClass op, bool healthy) {
    op_ = op;
    healthy_ = healthy;
    mask_built_ = false;
    compare();
    const std::uint32_t closed_before = word<std::uint32_t>(snap_.get(), control(kClosed));
    const std::uint32_t closed_after = word<std::uint32_t>(base_, control(kClosed));
    if (closed_after != closed_before && (op != OpClass::close || closed_after != 1)) {
      invariant_failed("W-ANY: `closed` changed other than by close() to 1");
    }
    const std::uint32_t seen_before = word<std::uint32_t>(snap_.get(), control(kProducerSeen));
    const std::uint32_t seen_after = word<std::uint32_t>(base_, control(kProducerSeen));
    if (seen_after != seen_before && (op != OpClass::put || seen_after != 1)) {
      invariant_failed("W-ANY: `producer_seen` changed other than by a put to 1");
    }
    if (healthy && op != OpClass::read_only) check_healthy_after();
  }

 private:
  // What op_ may write, built when a changed byte is found.
  SHMQ_FUZZ_UNTRACED void build_mask() {
    mask_built_ = true;
    if (!mask_) mask_.reset(new std::uint8_t[size_]);
    std::fill_n(mask_.get(), size_, std::uint8_t{0});
    if (op_ == OpClass::read_only) return;
    allow_control(op_, healthy_);
    allow_registry(op_, healthy_);
    if (op_ == OpClass::open_other) {
      allow(offsetof(detail::SegmentHeader, retired), sizeof(detail::Counters));
    }
    if (healthy_) {
      allow_moved_slots(op_ == OpClass::put);
    } else {
      allow_any_slot(op_ == OpClass::put);
    }
  }

  static constexpr std::size_t kTail = offsetof(detail::QueueControl, tail);
  static constexpr std::size_t kHead = offsetof(detail::QueueControl, head);
  static constexpr std::size_t kClosed = offsetof(detail::QueueControl, closed);
  static constexpr std::size_t kProducerSeen = offsetof(detail::QueueControl, producer_seen);
  static constexpr std::size_t kNotEmpty = offsetof(detail::QueueControl, not_empty);
  static constexpr std::size_t kNotFull = offsetof(detail::QueueControl, not_full);
  static constexpr std::size_t kEpoch = offsetof(detail::EventCountData, epoch);
  static constexpr std::size_t kWaiters = offsetof(detail::EventCountData, waiters);
  static constexpr std::size_t kSeq = offsetof(detail::SlotHeader, seq);
  static constexpr std::size_t kStamp = offsetof(detail::SlotHeader, stamp);
  static constexpr std::size_t kSize = offsetof(detail::SlotHeader, size);

  static std::size_t control(std::size_t field) { return detail::kBodyOffset + field; }
  static std::size_t entry(std::uint32_t i) {
    return detail::kRegistryOffset + std::size_t{i} * sizeof(detail::RegistryEntry);
  }
  template <class W>
  SHMQ_FUZZ_UNTRACED W word(const std::byte* from, std::size_t at) const {
    W w{};
    if (at + sizeof(W) <= size_) std::memcpy(&w, from + at, sizeof(W));
    return w;
  }
  SHMQ_FUZZ_UNTRACED void allow(std::size_t at, std::size_t len) {
    if (at >= size_) return;
    std::fill_n(mask_.get() + at, std::min(len, size_ - at), std::uint8_t{1});
  }

  SHMQ_FUZZ_UNTRACED void allow_control(OpClass op, bool healthy) {
    allow(control(kTail), 8);
    allow(control(kHead), 8);
    for (const std::size_t ec : {kNotEmpty, kNotFull}) {
      allow(control(ec + kEpoch), 4);
      if (!healthy) allow(control(ec + kWaiters), 8);  // W-HEALTHY: registered and gone again
    }
    if (op == OpClass::close) allow(control(kClosed), 4);
    if (op == OpClass::put) allow(control(kProducerSeen), 4);  // a first producer's role claim
    allow(control(offsetof(detail::QueueControl, producer_owner)), 8);
    allow(control(offsetof(detail::QueueControl, consumer_owner)), 8);
    if (!healthy) allow(control(offsetof(detail::QueueControl, recovery_owner)), 8);
  }

  SHMQ_FUZZ_UNTRACED void allow_registry(OpClass op, bool healthy) {
    using E = detail::RegistryEntry;
    for (std::uint32_t i = 0; i < detail::kRegistryCapacity; ++i) {
      const std::size_t e = entry(i);
      if (i == self_ || op == OpClass::open_other) {
        if (!healthy || i != self_) allow(e + offsetof(E, pending), 8);
        allow(e + offsetof(E, roles), 4);
        allow(e + offsetof(E, counters), sizeof(detail::Counters));
      }
      if (i != self_ && op == OpClass::open_other) {
        allow(e + offsetof(E, generation), 8);
        allow(e + offsetof(E, attached_unix_ns), 8);
        allow(e + offsetof(E, pid), 4);
      }
      // Recovery clears a dead entry's intent (Segment::clear_dead_pending).
      if (!healthy) allow(e + offsetof(E, pending), 8);
    }
  }

  SHMQ_FUZZ_UNTRACED void allow_any_slot(bool put) {
    if (packed_) {
      if (put) allow(slots_, capacity_ * stride_);
      return;
    }
    for (std::uint64_t i = 0; i < capacity_; ++i) {
      const std::size_t s = slots_ + i * stride_;
      allow(s + kSeq, 8);
      allow(s + kStamp, 8);
      allow(s + kSize, 4);  // a get's recovery turns a dead claim into a skip
      if (put) allow(s + detail::kSlotPayloadOffset, max_message_);
    }
  }

  // W-HEALTHY: only the positions tail and head moved over.
  SHMQ_FUZZ_UNTRACED void allow_moved_slots(bool put) {
    const std::uint64_t tb = word<std::uint64_t>(snap_.get(), control(kTail));
    const std::uint64_t ta = word<std::uint64_t>(base_, control(kTail));
    const std::uint64_t hb = word<std::uint64_t>(snap_.get(), control(kHead));
    const std::uint64_t ha = word<std::uint64_t>(base_, control(kHead));
    if (ta - tb > capacity_ || ha - hb > capacity_) {
      invariant_failed("W-HEALTHY: tail or head moved back, or by more than a lap");
    }
    for (std::uint64_t p = tb; p != ta; ++p) {
      const std::size_t s = slots_ + (p & (capacity_ - 1)) * stride_;
      if (packed_) {
        allow(s, stride_);
        continue;
      }
      allow(s + kSeq, 8);
      allow(s + kStamp, 8);
      allow(s + kSize, 4);
      const std::uint32_t size = word<std::uint32_t>(base_, s + kSize);
      if (size != detail::kSkipSize && size > max_message_) {
        invariant_failed("W-HEALTHY: a put published a size over max_message");
      }
      // A claim's buffer is all of max_message: its writer may fill more than it commits.
      allow(s + detail::kSlotPayloadOffset, max_message_);
    }
    // A dropped claim of a packed ring (the target wrote its buffer) publishes nothing.
    if (packed_ && put) allow(slots_ + (ta & (capacity_ - 1)) * stride_, stride_);
    if (packed_) return;
    for (std::uint64_t p = hb; p != ha; ++p) {
      const std::size_t s = slots_ + (p & (capacity_ - 1)) * stride_;
      allow(s + kSeq, 8);
      allow(s + kStamp, 8);
    }
  }

  SHMQ_FUZZ_UNTRACED void check_healthy_after() const {
    if (word<std::uint64_t>(base_, entry(self_) + offsetof(detail::RegistryEntry, pending)) != 0) {
      invariant_failed("W-HEALTHY: an intent (`pending`) was left in the registry");
    }
    if (word<std::uint64_t>(base_, control(offsetof(detail::QueueControl, recovery_owner))) != 0) {
      invariant_failed("W-HEALTHY: the recovery lock was left held");
    }
  }

  // Where offset `at` is, for the report.
  std::string describe(std::size_t at) const {
    char buf[96];
    if (at < detail::kRegistryOffset) {
      std::snprintf(buf, sizeof(buf), "header+%zu", at);
    } else if (at < detail::kBodyOffset) {
      const std::size_t r = at - detail::kRegistryOffset;
      std::snprintf(buf, sizeof(buf), "registry[%zu]+%zu (self %u)",
                    r / sizeof(detail::RegistryEntry), r % sizeof(detail::RegistryEntry), self_);
    } else if (at < slots_) {
      std::snprintf(buf, sizeof(buf), "control+%zu", at - detail::kBodyOffset);
    } else if (at < slots_ + capacity_ * stride_) {
      std::snprintf(buf, sizeof(buf), "slot[%zu]+%zu (stride %zu%s)", (at - slots_) / stride_,
                    (at - slots_) % stride_, stride_, packed_ ? ", packed" : "");
    } else {
      std::snprintf(buf, sizeof(buf), "past the slots +%zu", at - slots_ - capacity_ * stride_);
    }
    return buf;
  }

  // Word by word (most of the segment does not change), then byte by byte where it did. Not
  // instrumented by ASan either: both sides are plain memory the checker owns or maps whole.
  __attribute__((no_sanitize("coverage", "address"))) void compare() {
    const auto* snap = reinterpret_cast<const std::uint64_t*>(snap_.get());
    const auto* live = reinterpret_cast<const std::uint64_t*>(base_);
    constexpr std::size_t kLine = 8;  // words: a cache line at a time
    const std::size_t words = size_ / 8;
    std::size_t w = 0;
    for (; w + kLine <= words; w += kLine) {
      std::uint64_t x = 0;
      for (std::size_t k = 0; k < kLine; ++k)
        x |= snap[w + k] ^ live[w + k];
      if (x != 0) compare_bytes(w * 8, (w + kLine) * 8);
    }
    if (w * 8 < size_) compare_bytes(w * 8, size_);
  }
  SHMQ_FUZZ_UNTRACED void compare_bytes(std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      if (snap_[i] == base_[i]) continue;
      if (!mask_built_) build_mask();
      if (mask_[i] != 0) continue;
      const char* op = op_ == OpClass::read_only ? "a read-only call"
                       : op_ == OpClass::put     ? "a put"
                       : op_ == OpClass::get     ? "a get"
                                                 : "a close/open";
      std::fprintf(stderr, "%s changed byte %zu (%s): %#04x -> %#04x\n", op, i, describe(i).c_str(),
                   static_cast<unsigned>(snap_[i]), static_cast<unsigned>(base_[i]));
      invariant_failed("W-ANY/W-HEALTHY: an operation wrote outside the fields it may write");
    }
  }

  const std::byte* base_;
  std::size_t size_;
  std::uint32_t self_;
  std::unique_ptr<std::byte[]> snap_;     // not zeroed: before() fills it
  std::unique_ptr<std::uint8_t[]> mask_;  // made on the first changed byte
  std::uint64_t capacity_ = 0;
  std::size_t stride_ = 0;
  std::uint32_t max_message_ = 0;
  bool packed_ = false;
  std::size_t slots_ = 0;
  OpClass op_ = OpClass::read_only;
  bool healthy_ = false;
  bool mask_built_ = false;
};

// How much of the oracle's promise holds now (see the header comment).
enum class Trust {
  healthy,  // nothing hostile yet: exact FIFO
  values,   // indices or sequence words tampered with: values made, or zero
  tainted,  // slot sizes or payloads tampered with: at most max_message bytes
};

// Values that carry their own sequence number and checksum, and a model of the queue.
//   integers: (seq << 8) | check8(seq), never 0;
//   strings: 8..max_message bytes: seq (u32), check32(seq, length), then letters from seq — or
//   empty (every 32nd value: empty messages are a path of their own).
template <class T>
class ValueOracle {
 public:
  explicit ValueOracle(std::uint32_t max_message) : max_message_(max_message) {}

  // A new value (which the target then puts, or writes into a claim).
  SHMQ_FUZZ_UNTRACED T make() {
    const std::uint64_t seq = next_++;
    if constexpr (std::is_same_v<T, std::string>) {
      if (seq % 32 == 0 || max_message_ < 8) return std::string();
      std::string s(length(seq), '\0');
      const auto s32 = static_cast<std::uint32_t>(seq);
      const std::uint32_t check = check32(seq, s.size());
      std::memcpy(s.data(), &s32, 4);
      std::memcpy(s.data() + 4, &check, 4);
      for (std::size_t i = 8; i < s.size(); ++i)
        s[i] = static_cast<char>('a' + (seq + i) % 26);
      return s;
    } else {
      return static_cast<T>((seq << 8) | check8(seq));
    }
  }

  // Healthy model: a value (or a message that must read back as Status::corrupt: a fixed-size
  // element committed with another size) went in.
  SHMQ_FUZZ_UNTRACED void put(const T& v) { model_.push_back(v); }
  SHMQ_FUZZ_UNTRACED void put_malformed() { model_.push_back(std::nullopt); }

  // A get-kind call returned `s` and, if ok, `v`.
  SHMQ_FUZZ_UNTRACED void got(Status s, const T* v, Trust trust) {
    check_status(s);
    if (trust == Trust::healthy) {
      if (s == Status::empty || s == Status::timeout || s == Status::closed) {
        if (!model_.empty()) invariant_failed("healthy: a get found nothing, the model has some");
        return;
      }
      if (s == Status::corrupt) {
        if (model_.empty() || model_.front().has_value())
          invariant_failed("healthy: a get returned corrupt for a well-formed message");
        model_.pop_front();
        return;
      }
      if (s != Status::ok) return;  // role_taken, busy: nothing taken
      if (model_.empty() || !model_.front() || *model_.front() != *v) {
        invariant_failed("healthy: a get returned another value than the oldest put");
      }
      model_.pop_front();
      return;
    }
    if (s == Status::ok) check_made(*v, trust);
  }
  // A peek returned `bytes`: as got(), but a fixed-size queue may show a malformed message.
  SHMQ_FUZZ_UNTRACED void peeked(std::span<const std::byte> bytes, Trust trust) {
    if (bytes.size() > max_message_) invariant_failed("a peek showed more than max_message bytes");
    if constexpr (std::is_same_v<T, std::string>) {
      const std::string v(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      got(Status::ok, &v, trust);
    } else {
      if (bytes.size() == sizeof(T)) {
        T v;
        std::memcpy(&v, bytes.data(), sizeof(T));
        got(Status::ok, &v, trust);
      } else if (trust == Trust::healthy) {
        if (model_.empty() || model_.front().has_value())
          invariant_failed("healthy: a peek showed a malformed message that was not put");
        model_.pop_front();
      }
    }
  }
  // The healthy model: what is queued, oldest first (nullopt: a malformed message).
  const std::deque<std::optional<T>>& model() const { return model_; }
  // A batch get stopped after its values on a malformed message it consumed (healthy only).
  bool front_malformed() const { return !model_.empty() && !model_.front().has_value(); }
  void drop_front() { model_.pop_front(); }

 private:
  SHMQ_FUZZ_UNTRACED static std::uint8_t check8(std::uint64_t seq) {
    return static_cast<std::uint8_t>(((seq * 0x9E3779B97F4A7C15ULL) >> 56) | 1U);
  }
  SHMQ_FUZZ_UNTRACED static std::uint32_t check32(std::uint64_t seq, std::size_t len) {
    return static_cast<std::uint32_t>(((seq ^ (len << 40)) * 0x9E3779B97F4A7C15ULL) >> 32);
  }
  SHMQ_FUZZ_UNTRACED std::size_t length(std::uint64_t seq) const {
    return 8 + seq % (max_message_ - 7);
  }

  static void check_status(Status s) {
    if (static_cast<std::uint8_t>(s) > static_cast<std::uint8_t>(Status::interrupted))
      invariant_failed("an unknown Status");
  }

  SHMQ_FUZZ_UNTRACED void check_made(const T& v, Trust trust) const {
    if constexpr (std::is_same_v<T, std::string>) {
      if (v.size() > max_message_) invariant_failed("a get returned more than max_message bytes");
      if (trust == Trust::tainted || v.empty()) return;  // "": made, or a slot never written
      std::uint32_t seq = 0;
      std::uint32_t check = 0;
      if (v.size() >= 8) {
        std::memcpy(&seq, v.data(), 4);
        std::memcpy(&check, v.data() + 4, 4);
      }
      bool ok = v.size() >= 8 && seq != 0 && seq < next_ && v.size() == length(seq) &&
                check == check32(seq, v.size());
      for (std::size_t i = 8; ok && i < v.size(); ++i)
        ok = v[i] == static_cast<char>('a' + (seq + i) % 26);
      if (!ok) {
        std::fprintf(stderr, "got %zu bytes:", v.size());
        for (const char ch : v)
          std::fprintf(stderr, " %02x", static_cast<unsigned char>(ch));
        std::fprintf(stderr, " (values made: 1..%llu)\n",
                     static_cast<unsigned long long>(next_ - 1));
        invariant_failed("a get returned a value that was never put");
      }
    } else {
      if (trust == Trust::tainted || v == T{}) return;  // 0: a slot never written
      const std::uint64_t seq = static_cast<std::uint64_t>(v) >> 8;
      if (seq == 0 || seq >= next_ || (static_cast<std::uint64_t>(v) & 0xFF) != check8(seq)) {
        std::fprintf(stderr, "got %#llx (values made: 1..%llu)\n",
                     static_cast<unsigned long long>(v),
                     static_cast<unsigned long long>(next_ - 1));
        invariant_failed("a get returned a value that was never put");
      }
    }
  }

  std::uint32_t max_message_;
  std::uint64_t next_ = 1;
  std::deque<std::optional<T>> model_;
};

}  // namespace shmq::fuzz
