// The packed ring (include/shmq/detail/ring/packed_ring.hpp) driven directly on heap memory: FIFO
// order through the 2^64 wrap, full and empty, one open claim per side, take-over from the shared
// indices, and hostile indices.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "shmq/detail/layout.hpp"
#include "shmq/detail/ring/packed_ring.hpp"
#include "shmq/status.hpp"
#include "support/test_support.hpp"

namespace {

using shmq::Status;
using shmq::detail::PackedRing;
using shmq::detail::QueueControl;
using shmq::detail::RingClaim;

constexpr std::uint64_t kNearWrap = std::numeric_limits<std::uint64_t>::max() - 4;  // 2^64 - 5

// QueueControl followed by `capacity` 8-byte elements, in one zeroed, 64-byte aligned heap block.
class HeapPacked {
 public:
  HeapPacked(std::uint64_t capacity, std::uint64_t start)
      : capacity_(capacity),
        bytes_(sizeof(QueueControl) + (capacity * 8 + 63) / 64 * 64),
        mem_(static_cast<std::byte*>(std::aligned_alloc(64, bytes_)), &std::free) {
    std::memset(mem_.get(), 0, bytes_);
    ctl_ = new (mem_.get()) QueueControl{};
    ctl_->tail.store(start);
    ctl_->head.store(start);
  }
  // A handle resumed as both producer and consumer (as QueueCore does on first use).
  PackedRing handle() {
    PackedRing ring(ctl_, mem_.get() + sizeof(QueueControl), capacity_, 8);
    EXPECT_TRUE(ring.resume_producer());
    EXPECT_TRUE(ring.resume_consumer());
    return ring;
  }
  QueueControl& control() { return *ctl_; }

 private:
  std::uint64_t capacity_;
  std::size_t bytes_;
  std::unique_ptr<std::byte, decltype(&std::free)> mem_;
  QueueControl* ctl_ = nullptr;
};

Status put(PackedRing& ring, std::uint64_t v) {
  RingClaim c;
  const Status s = ring.try_claim(c);
  if (s != Status::ok) return s;
  std::memcpy(c.payload, &v, sizeof(v));
  ring.publish(c, true);
  return Status::ok;
}

Status get(PackedRing& ring, std::uint64_t& v) {
  RingClaim c;
  const Status s = ring.try_acquire(c);
  if (s != Status::ok) return s;
  EXPECT_EQ(c.size, 8U);
  std::memcpy(&v, c.payload, sizeof(v));
  ring.release(c);
  return Status::ok;
}

TEST(PackedRing, ElementsComeOutInOrderThroughThe64BitWrap) {
  HeapPacked mem(4, kNearWrap);
  PackedRing ring = mem.handle();
  const std::uint64_t seed = shmq::test::test_seed("packed ring wrap");
  std::mt19937_64 rng(seed);
  std::uint64_t next_put = 0;
  std::uint64_t next_get = 0;
  for (int step = 0; step < 2000; ++step) {
    if (rng() % 2 == 0) {
      const Status s = put(ring, next_put);
      ASSERT_TRUE(s == Status::ok || s == Status::full);
      EXPECT_EQ(s == Status::full, next_put - next_get == 4);
      if (s == Status::ok) ++next_put;
    } else {
      std::uint64_t v = 0;
      const Status s = get(ring, v);
      ASSERT_TRUE(s == Status::ok || s == Status::empty);
      EXPECT_EQ(s == Status::empty, next_put == next_get);
      if (s == Status::ok) {
        EXPECT_EQ(v, next_get++);
      }
    }
  }
  EXPECT_GT(next_get, 8U) << "ran past the 2^64 wrap";
}

TEST(PackedRing, EightByteElementsShareACacheLine) {
  HeapPacked mem(16, 0);
  PackedRing ring = mem.handle();
  RingClaim first;
  ASSERT_EQ(ring.try_claim(first), Status::ok);
  ring.publish(first, true);
  RingClaim second;
  ASSERT_EQ(ring.try_claim(second), Status::ok);
  EXPECT_EQ(second.payload - first.payload, 8);
  EXPECT_EQ(second.slot, nullptr) << "no slot header in a packed ring";
}

TEST(PackedRing, ASecondOpenClaimOnTheSameSideIsBusy) {
  HeapPacked mem(4, 0);
  PackedRing ring = mem.handle();
  RingClaim a;
  RingClaim b;
  ASSERT_EQ(ring.try_claim(a), Status::ok);
  EXPECT_EQ(ring.try_claim(b), Status::busy);
  ring.publish(a, true);
  RingClaim g1;
  RingClaim g2;
  ASSERT_EQ(ring.try_acquire(g1), Status::ok);
  EXPECT_EQ(ring.try_acquire(g2), Status::busy);
  ring.release(g1);
  EXPECT_EQ(ring.try_acquire(g2), Status::empty);
}

TEST(PackedRing, ADroppedClaimPublishesNothing) {
  HeapPacked mem(4, 0);
  PackedRing ring = mem.handle();
  RingClaim c;
  ASSERT_EQ(ring.try_claim(c), Status::ok);
  ring.publish(c, false);
  EXPECT_EQ(mem.control().tail.load(), 0U);
  std::uint64_t v = 0;
  EXPECT_EQ(get(ring, v), Status::empty);
  ASSERT_EQ(put(ring, 7), Status::ok);
  ASSERT_EQ(get(ring, v), Status::ok);
  EXPECT_EQ(v, 7U);
}

TEST(PackedRing, ANewHandleResumesFromTheSharedIndices) {
  HeapPacked mem(4, kNearWrap);
  {
    PackedRing first = mem.handle();
    for (std::uint64_t v = 0; v < 3; ++v)
      ASSERT_EQ(put(first, v), Status::ok);
    std::uint64_t v = 0;
    ASSERT_EQ(get(first, v), Status::ok);
    RingClaim unreleased;  // a consumer that dies holding element 1: it stays for the next one
    ASSERT_EQ(first.try_acquire(unreleased), Status::ok);
    RingClaim unpublished;  // a producer that dies before publishing: nothing was put
    ASSERT_EQ(first.try_claim(unpublished), Status::ok);
    std::memset(unpublished.payload, 0xAB, 8);
  }
  PackedRing next = mem.handle();
  for (const std::uint64_t expected : {1U, 2U}) {
    std::uint64_t v = 0;
    ASSERT_EQ(get(next, v), Status::ok);
    EXPECT_EQ(v, expected);
  }
  std::uint64_t v = 0;
  EXPECT_EQ(get(next, v), Status::empty);
}

TEST(PackedRing, HostileTailIsCorruptForTheConsumer) {
  HeapPacked mem(4, 0);
  PackedRing ring = mem.handle();
  for (const std::uint64_t tail : {5ULL, ~0ULL, 1ULL << 40}) {
    mem.control().tail.store(tail);  // more than a capacity ahead of head, or behind it
    std::uint64_t v = 0;
    EXPECT_EQ(get(ring, v), Status::corrupt) << "tail " << tail;
  }
  mem.control().tail.store(0);
  PackedRing fresh(&mem.control(), nullptr, 4, 8);
  mem.control().tail.store(9);
  EXPECT_FALSE(fresh.resume_consumer());
  EXPECT_FALSE(fresh.resume_producer());
}

TEST(PackedRing, HostileHeadIsCorruptForAProducerThatFindsTheRingFull) {
  HeapPacked mem(4, 0);
  PackedRing ring = mem.handle();
  for (std::uint64_t v = 0; v < 4; ++v)
    ASSERT_EQ(put(ring, v), Status::ok);
  mem.control().head.store(7);  // ahead of tail
  EXPECT_EQ(put(ring, 9), Status::corrupt);
  mem.control().head.store(0);
  EXPECT_EQ(put(ring, 9), Status::full);
}

// Two threads, one handle each: every value arrives once, in order (run under TSan: the
// release/acquire pairs [R11]/[A12] and [R12]/[A11] are all the synchronisation there is).
TEST(PackedRing, TwoThreadsPassValuesInOrder) {
  HeapPacked mem(8, kNearWrap);
  PackedRing producer = mem.handle();
  PackedRing consumer = mem.handle();
  constexpr std::uint64_t kCount = 200000;
  std::atomic<bool> producer_failed{false};
  std::atomic<bool> consumer_failed{false};
  std::thread t([&] {
    for (std::uint64_t v = 0; v < kCount && !consumer_failed;) {
      const Status s = put(producer, v);
      if (s == Status::ok) {
        ++v;
      } else if (s == Status::full) {
        std::this_thread::yield();
      } else {
        producer_failed = true;
        return;
      }
    }
  });
  std::uint64_t expected = 0;
  while (expected < kCount && !producer_failed) {
    std::uint64_t v = 0;
    const Status s = get(consumer, v);
    if (s == Status::empty) {
      std::this_thread::yield();
      continue;
    }
    if (s != Status::ok || v != expected) {
      ADD_FAILURE() << "got " << shmq::to_string(s) << " value " << v << ", expected " << expected;
      consumer_failed = true;  // the producer stops too
      break;
    }
    ++expected;
  }
  t.join();
  EXPECT_FALSE(producer_failed);
}

}  // namespace
