// ByteRing: the process-local handle of one SPSC byte ring in shared memory (ByteRingData + a
// data area of `capacity` bytes, see layout.hpp), carrying a stream of framed records. The
// algorithm only: no syscalls, no waiting (the Pipe waits with event_count.hpp).
//
// Algorithm: the classic single-producer/single-consumer ring with 64-bit free-running positions
// and cached indices (Linux `Documentation/core-api/circular-buffers.rst`; Erik Rigtorp's
// SPSCQueue for the cached copies). The writer owns `tail`, the reader owns `head`; each keeps a
// private, possibly stale copy of the other's index and reloads it only when the stale copy says
// "full" (writer) or "empty" (reader). A stale copy is always conservative: `head` and `tail` only
// grow, so a stale `head` under-states the free space and a stale `tail` under-states the data.
//
// Framing (layout.hpp, "Records"): a message is one or more records, each an 8-byte word
// (remaining bytes, first flag, tag) and a chunk of at most capacity / 2 - 8 bytes padded to 8.
// A message larger than the ring streams through it chunk by chunk; the reader reassembles it.
// Chunks of at most half the ring let the writer fill one half while the reader drains the other.
//
// Guarantees: wait-free for both sides (every call is a bounded number of steps); records are
// read in the order they were written, each exactly once; a reader never sees part of a record.
//
// Invariants (names cited where they are kept):
//   INV-B1: 0 <= tail - head <= capacity (wrap-safe difference).
//   INV-B2: head and tail are multiples of 8 and lie on record boundaries.
//   INV-B3: every byte in [head, tail) belongs to a complete, published record.
// Every index, word and length read from shared memory is read once, checked against these and
// against the private capacity, and only the checked copy is used: a hostile or broken peer gets
// Status::corrupt, never an out-of-bounds access (offsets are masked, lengths are bounded).
//
// Memory ordering: a reader that loaded `tail` ([A20]) sees every byte of the records before it
// ([R20]); a writer that loaded `head` ([A21]) sees the reader done with every byte before it
// ([R21]), so it may overwrite them. The private copies of the indices are plain values.
//
// A handle is used by one thread of one process at a time, as the ring's only writer or only
// reader. Handles of the same side in several processes may take turns (fork): the own index is
// always re-read from shared memory, never cached across calls.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "shmq/detail/layout.hpp"
#include "shmq/detail/shm_access.hpp"
#include "shmq/status.hpp"

namespace shmq::detail {

class ByteRing {
 public:
  // A validated record at the reader's head.
  struct Record {
    std::uint64_t pos = 0;        // position of its header word
    std::uint64_t remaining = 0;  // message bytes from this chunk's first byte to the end
    std::uint64_t length = 0;     // payload bytes in this record
    std::uint64_t bytes = 0;      // the whole record: header, payload and padding
    bool first = false;           // starts a message
  };

  static constexpr std::uint64_t round_up8(std::uint64_t v) noexcept {
    return (v + (kPipeRecordAlign - 1)) & ~(kPipeRecordAlign - 1);
  }
  // Bytes a record with `payload` bytes takes in the ring.
  static constexpr std::uint64_t record_bytes(std::uint64_t payload) noexcept {
    return kPipeRecordHeader + round_up8(payload);
  }
  // The largest chunk of a ring of `capacity` bytes: a record fills at most half the ring.
  static constexpr std::uint64_t max_chunk_for(std::uint64_t capacity) noexcept {
    return capacity / 2 - kPipeRecordHeader;
  }
  static constexpr std::uint64_t record_word(std::uint64_t remaining, bool first) noexcept {
    return kPipeRecordTag | (first ? kPipeRecordFirst : 0) | (remaining & kPipeRemainingMask);
  }

  ByteRing() noexcept = default;
  // `capacity` must be a validated power of two in [kPipeMinCapacity, kPipeMaxCapacity], and
  // `data` must point at `capacity` bytes.
  ByteRing(ByteRingData* ring, std::byte* data, std::uint64_t capacity) noexcept
      : ring_(ring),
        data_(data),
        capacity_(capacity),
        mask_(capacity - 1),
        max_chunk_(max_chunk_for(capacity)) {
    // The private copies start at values the indices really had, so that they are conservative
    // from the first call (a made-up 0 could pass for a valid index near the 2^64 wrap):
    // relaxed: any value head or tail had will do, the first use reloads when it matters.
    cached_tail_ =
        shm_load(ring_->head, std::memory_order_relaxed);  // "empty": reload before reading
    // relaxed: as above. tail - capacity <= head (INV-B1): "full": reload before writing.
    cached_head_ = shm_load(ring_->tail, std::memory_order_relaxed) - capacity_;
  }

  // Writes the immutable fields and the start positions of a new ring; the memory must be
  // zeroed. Published to openers by the segment's `ready` ([R0]).
  static void initialize(ByteRingData& ring, std::uint64_t capacity, std::uint64_t data_offset,
                         std::uint64_t start) noexcept {
    start &= ~(kPipeRecordAlign - 1);  // INV-B2
    ring.capacity = capacity;
    ring.data_offset = data_offset;
    ring.start_position = start;
    shm_store(ring.tail, start, std::memory_order_relaxed);  // relaxed: published by [R0]
    shm_store(ring.head, start, std::memory_order_relaxed);  // relaxed: published by [R0]
  }

  bool valid() const noexcept { return ring_ != nullptr; }
  std::uint64_t capacity() const noexcept { return capacity_; }
  std::uint64_t max_chunk() const noexcept { return max_chunk_; }
  ByteRingData& data() const noexcept { return *ring_; }

  // ---- writer side ----

  // Appends one record — the word (remaining, first) and `chunk` — if it fits now.
  // Precondition: chunk.size() == min(remaining, max_chunk()).
  // Returns ok, full (nothing written), or corrupt (the indices break INV-B1/INV-B2).
  Status try_write(std::uint64_t remaining, bool first, std::span<const std::byte> chunk) noexcept {
    if (chunk.size() != std::min(remaining, max_chunk_)) return Status::corrupt;
    // relaxed: only this ring's writer stores tail, and a writer of an earlier turn (fork) is
    // ordered before us by whatever handed the turn over.
    const std::uint64_t tail = shm_load(ring_->tail, std::memory_order_relaxed);
    if ((tail & (kPipeRecordAlign - 1)) != 0) return Status::corrupt;  // INV-B2
    const std::uint64_t need = record_bytes(chunk.size());
    if (!fits(tail, cached_head_, need)) {
      // [A21] see the reader done with the bytes it freed; pairs with [R21] in consume().
      cached_head_ = shm_load(ring_->head, std::memory_order_acquire);
      const std::int64_t used = static_cast<std::int64_t>(tail - cached_head_);
      if (used < 0 || used > static_cast<std::int64_t>(capacity_)) return Status::corrupt;
      if (!fits(tail, cached_head_, need)) return Status::full;
    }
    const std::uint64_t word = record_word(remaining, first);
    std::memcpy(data_ + (tail & mask_), &word, sizeof(word));  // never straddles: INV-B2
    copy_in(tail + kPipeRecordHeader, chunk.data(), chunk.size());
    // [R20] publish the whole record (INV-B3); pairs with [A20] in try_peek().
    shm_store(ring_->tail, tail + need, std::memory_order_release);
    return Status::ok;
  }

  // Whether a record with `payload` bytes fits now, by the private copy of head (may say no
  // when the truth is yes; never the reverse).
  bool fits_cached(std::uint64_t payload) const noexcept {
    // relaxed: as in try_write().
    return fits(shm_load(ring_->tail, std::memory_order_relaxed), cached_head_,
                record_bytes(payload));
  }

  // ---- reader side ----

  // Looks at the record at head without consuming it.
  // Returns ok (r filled), empty (no record published), or corrupt.
  Status try_peek(Record& r) noexcept {
    // relaxed: only this ring's reader stores head (turns as for tail in try_write()).
    const std::uint64_t head = shm_load(ring_->head, std::memory_order_relaxed);
    if ((head & (kPipeRecordAlign - 1)) != 0) return Status::corrupt;  // INV-B2
    std::int64_t avail = static_cast<std::int64_t>(cached_tail_ - head);
    if (avail <= 0 || avail > static_cast<std::int64_t>(capacity_)) {
      // [A20] see every record before tail; pairs with [R20] in try_write().
      cached_tail_ = shm_load(ring_->tail, std::memory_order_acquire);
      avail = static_cast<std::int64_t>(cached_tail_ - head);
      if (avail < 0 || avail > static_cast<std::int64_t>(capacity_)) return Status::corrupt;
      if (avail == 0) return Status::empty;
    }
    // INV-B3: a published record is whole, so at least its header is there.
    if (avail < static_cast<std::int64_t>(kPipeRecordHeader)) return Status::corrupt;
    std::uint64_t word = 0;
    word = shm_load_word(data_ + (head & mask_));  // one read; the copy is checked
    if ((word & ~(kPipeRemainingMask | kPipeRecordFirst)) != kPipeRecordTag) {
      return Status::corrupt;
    }
    r.pos = head;
    r.remaining = word & kPipeRemainingMask;
    r.first = (word & kPipeRecordFirst) != 0;
    r.length = std::min(r.remaining, max_chunk_);
    r.bytes = record_bytes(r.length);
    if (r.bytes > static_cast<std::uint64_t>(avail)) return Status::corrupt;  // INV-B3
    return Status::ok;
  }

  // Copies payload bytes [from, from + n) of a record returned by try_peek().
  // Precondition: from + n <= r.length.
  void copy_out(const Record& r, std::uint64_t from, std::byte* out,
                std::uint64_t n) const noexcept {
    if (n == 0) return;  // `out` may be null then (an empty container's data())
    const std::uint64_t pos = r.pos + kPipeRecordHeader + from;
    const std::uint64_t offset = pos & mask_;
    const std::uint64_t first_part = std::min(n, capacity_ - offset);
    std::memcpy(out, data_ + offset, first_part);
    if (first_part < n) std::memcpy(out + first_part, data_, n - first_part);
  }

  // Frees a record returned by try_peek(); the writer may reuse its bytes.
  void consume(const Record& r) noexcept {
    // [R21] done reading the record's bytes; pairs with [A21] in try_write().
    shm_store(ring_->head, r.pos + r.bytes, std::memory_order_release);
  }

  // Approximate bytes in the ring (for observers; may be stale or 0 on a corrupt ring).
  std::uint64_t size_hint() const noexcept {
    // relaxed: a snapshot for statistics only.
    const std::uint64_t t = shm_load(ring_->tail, std::memory_order_relaxed);
    const std::uint64_t h = shm_load(ring_->head, std::memory_order_relaxed);  // relaxed: as above
    const std::int64_t d = static_cast<std::int64_t>(t - h);
    return d < 0 || d > static_cast<std::int64_t>(capacity_) ? 0 : static_cast<std::uint64_t>(d);
  }

 private:
  // Whether `need` bytes fit after `tail` given `head` (INV-B1 violated → does not fit).
  bool fits(std::uint64_t tail, std::uint64_t head, std::uint64_t need) const noexcept {
    const std::int64_t used = static_cast<std::int64_t>(tail - head);
    if (used < 0 || used > static_cast<std::int64_t>(capacity_)) return false;
    return capacity_ - static_cast<std::uint64_t>(used) >= need;
  }

  void copy_in(std::uint64_t pos, const std::byte* in, std::uint64_t n) noexcept {
    if (n == 0) return;
    const std::uint64_t offset = pos & mask_;
    const std::uint64_t first_part = std::min(n, capacity_ - offset);
    std::memcpy(data_ + offset, in, first_part);
    if (first_part < n) std::memcpy(data_, in + first_part, n - first_part);
  }

  ByteRingData* ring_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  std::uint64_t max_chunk_ = 0;
  std::uint64_t cached_head_ = 0;  // writer: a value the reader's head had (a lower bound)
  std::uint64_t cached_tail_ = 0;  // reader: a value the writer's tail had (a lower bound)
};

}  // namespace shmq::detail
