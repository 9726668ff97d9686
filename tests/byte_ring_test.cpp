// ByteRing, the algorithm alone: framing, full/empty, the 2^64 wrap, hostile indices and words,
// and a writer and a reader thread streaming random records through the wrap.
#include "shmq/detail/ring/byte_ring.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace {

using shmq::Status;
using shmq::detail::ByteRing;
using shmq::detail::ByteRingData;

constexpr std::uint64_t kNearWrap = std::numeric_limits<std::uint64_t>::max() - 4095;  // 8-aligned

// A ring in ordinary memory: the algorithm does not care where it lives.
struct LocalRing {
  explicit LocalRing(std::uint64_t capacity, std::uint64_t start = 0)
      : control(std::make_unique<ByteRingData>()), data(capacity) {
    ByteRing::initialize(*control, capacity, 0, start);
  }
  ByteRing handle() { return ByteRing(control.get(), data.data(), data.size()); }
  std::unique_ptr<ByteRingData> control;
  std::vector<std::byte> data;
};

std::vector<std::byte> pattern(std::size_t n, std::uint64_t seed) {
  std::vector<std::byte> v(n);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
  return v;
}

// Writes a whole message as records (what the Pipe does), spinning while the ring is full.
void write_message(ByteRing& w, std::span<const std::byte> msg) {
  std::uint64_t sent = 0;
  bool first = true;
  do {
    const std::uint64_t remaining = msg.size() - sent;
    const auto chunk = msg.subspan(sent, std::min(remaining, w.max_chunk()));
    Status s;
    while ((s = w.try_write(remaining, first, chunk)) == Status::full)
      std::this_thread::yield();
    ASSERT_EQ(s, Status::ok);
    sent += chunk.size();
    first = false;
  } while (sent < msg.size());
}

// Reads a whole message, spinning while the ring is empty.
std::vector<std::byte> read_message(ByteRing& r) {
  std::vector<std::byte> out;
  ByteRing::Record rec;
  std::uint64_t total = 0;
  bool started = false;
  for (;;) {
    Status s;
    while ((s = r.try_peek(rec)) == Status::empty)
      std::this_thread::yield();
    EXPECT_EQ(s, Status::ok);
    if (s != Status::ok) return {};
    if (!started) {
      EXPECT_TRUE(rec.first);
      total = rec.remaining;
      started = true;
    } else {
      EXPECT_FALSE(rec.first);
      EXPECT_EQ(rec.remaining, total - out.size());
    }
    const std::size_t at = out.size();
    out.resize(at + rec.length);
    r.copy_out(rec, 0, out.data() + at, rec.length);
    r.consume(rec);
    if (out.size() == total) return out;
  }
}

TEST(ByteRingTest, EmptyRingPeeksEmpty) {
  LocalRing ring(256);
  ByteRing r = ring.handle();
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::empty);
}

TEST(ByteRingTest, RecordsComeOutInOrderWithTheirFraming) {
  LocalRing ring(256);
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  const auto a = pattern(5, 1);
  ASSERT_EQ(w.try_write(5, true, a), Status::ok);
  ASSERT_EQ(w.try_write(0, true, {}), Status::ok);  // an empty message
  ByteRing::Record rec;
  ASSERT_EQ(r.try_peek(rec), Status::ok);
  EXPECT_TRUE(rec.first);
  EXPECT_EQ(rec.remaining, 5U);
  EXPECT_EQ(rec.length, 5U);
  EXPECT_EQ(rec.bytes, 16U);  // 8-byte word + 5 bytes padded to 8
  std::vector<std::byte> got(5);
  r.copy_out(rec, 0, got.data(), 5);
  EXPECT_EQ(got, a);
  r.consume(rec);
  ASSERT_EQ(r.try_peek(rec), Status::ok);
  EXPECT_TRUE(rec.first);
  EXPECT_EQ(rec.remaining, 0U);
  EXPECT_EQ(rec.bytes, 8U);
  r.consume(rec);
  EXPECT_EQ(r.try_peek(rec), Status::empty);
}

TEST(ByteRingTest, FullRingRefusesARecordUntilTheReaderFreesSpace) {
  LocalRing ring(256);
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  EXPECT_EQ(w.max_chunk(), 120U);  // half the ring minus the word
  const auto chunk = pattern(120, 2);
  ASSERT_EQ(w.try_write(120, true, chunk), Status::ok);  // 128 bytes
  ASSERT_EQ(w.try_write(120, true, chunk), Status::ok);  // 256: full
  EXPECT_EQ(w.try_write(0, true, {}), Status::full);
  ByteRing::Record rec;
  ASSERT_EQ(r.try_peek(rec), Status::ok);
  r.consume(rec);
  EXPECT_EQ(w.try_write(120, true, chunk), Status::ok);
}

TEST(ByteRingTest, ChunkThatDoesNotMatchRemainingIsRefused) {
  LocalRing ring(256);
  ByteRing w = ring.handle();
  const auto chunk = pattern(10, 3);
  EXPECT_EQ(w.try_write(11, true, chunk), Status::corrupt);
  EXPECT_EQ(w.try_write(1000, true, chunk), Status::corrupt);  // must be a full chunk (120)
}

TEST(ByteRingTest, MessageLargerThanTheRingStreamsThroughIt) {
  LocalRing ring(256);
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  const auto msg = pattern(256 * 10 + 3, 4);
  std::vector<std::byte> got;
  std::thread reader([&] { got = read_message(r); });
  write_message(w, msg);
  reader.join();
  EXPECT_EQ(got, msg);
}

TEST(ByteRingTest, PositionsCrossThe2To64WrapIntact) {
  LocalRing ring(512, kNearWrap);
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  // relaxed: single-threaded test.
  EXPECT_EQ(ring.control->tail.load(std::memory_order_relaxed), kNearWrap);
  for (std::uint64_t i = 0; i < 200; ++i) {  // about 25 KiB: crosses 2^64 early
    const auto msg = pattern(1 + (i * 37) % 300, i);
    write_message(w, msg);
    EXPECT_EQ(read_message(r), msg) << "message " << i;
  }
  // relaxed: single-threaded test.
  const std::uint64_t tail = ring.control->tail.load(std::memory_order_relaxed);
  EXPECT_LT(tail, kNearWrap);  // wrapped past 2^64
  EXPECT_EQ(tail, ring.control->head.load(std::memory_order_relaxed));
}

// Regression: a fresh handle's private copy of tail was 0, which passes for "8 bytes to read"
// when head starts 8 bytes below 2^64 (found by pipe_model_test).
TEST(ByteRingTest, FreshHandleAtTheLastRecordBeforeTheWrapSeesAnEmptyRing) {
  LocalRing ring(256, std::numeric_limits<std::uint64_t>::max());  // aligned down: 2^64 - 8
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::empty);
  const auto msg = pattern(100, 9);
  write_message(w, msg);
  EXPECT_EQ(read_message(r), msg);
  EXPECT_EQ(r.try_peek(rec), Status::empty);
}

TEST(ByteRingTest, FreshWriterDoesNotTrustAnUnloadedHead) {
  LocalRing ring(256, 1024);
  // relaxed: single thread. A reader that is 200 bytes behind: only 56 bytes are free.
  ring.control->tail.store(1024 + 200, std::memory_order_relaxed);
  ByteRing w = ring.handle();
  EXPECT_EQ(w.try_write(100, true, pattern(100, 1)), Status::full);
  EXPECT_EQ(w.try_write(40, true, pattern(40, 1)), Status::ok);
}

TEST(ByteRingTest, StartPositionIsAlignedToARecordBoundary) {
  LocalRing ring(256, 13);
  // relaxed: single-threaded test.
  EXPECT_EQ(ring.control->tail.load(std::memory_order_relaxed), 8U);
}

TEST(ByteRingTest, TailBeyondCapacityIsCorrupt) {
  LocalRing ring(256);
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  ring.control->tail.store(256 + 8, std::memory_order_relaxed);  // relaxed: single thread
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::corrupt);
  EXPECT_EQ(w.try_write(0, true, {}), Status::corrupt);
}

TEST(ByteRingTest, TailBehindHeadIsCorrupt) {
  LocalRing ring(256, 1024);
  ByteRing r = ring.handle();
  ring.control->tail.store(1024 - 8, std::memory_order_relaxed);  // relaxed: single thread
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::corrupt);
}

TEST(ByteRingTest, MisalignedIndicesAreCorrupt) {
  LocalRing ring(256);
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  ring.control->head.store(3, std::memory_order_relaxed);  // relaxed: single thread
  ring.control->tail.store(5, std::memory_order_relaxed);  // relaxed: single thread
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::corrupt);
  EXPECT_EQ(w.try_write(0, true, {}), Status::corrupt);
}

TEST(ByteRingTest, WordWithoutTheTagIsCorrupt) {
  LocalRing ring(256);
  ByteRing r = ring.handle();
  const std::uint64_t word = 5;  // no tag
  std::memcpy(ring.data.data(), &word, 8);
  ring.control->tail.store(16, std::memory_order_relaxed);  // relaxed: single thread
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::corrupt);
}

TEST(ByteRingTest, RecordLongerThanWhatWasPublishedIsCorrupt) {
  LocalRing ring(256);
  ByteRing r = ring.handle();
  const std::uint64_t word = ByteRing::record_word(100, true);  // needs 112 bytes
  std::memcpy(ring.data.data(), &word, 8);
  ring.control->tail.store(16, std::memory_order_relaxed);  // relaxed: single thread
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::corrupt);
}

TEST(ByteRingTest, HugeRemainingIsBoundedByTheChunkSize) {
  LocalRing ring(256);
  ByteRing r = ring.handle();
  // remaining = 2^40 - 1 claims a huge message; the record itself is one chunk, and it must be
  // published whole — 128 bytes are.
  const std::uint64_t word = ByteRing::record_word(shmq::detail::kPipeRemainingMask, true);
  std::memcpy(ring.data.data(), &word, 8);
  ring.control->tail.store(128, std::memory_order_relaxed);  // relaxed: single thread
  ByteRing::Record rec;
  ASSERT_EQ(r.try_peek(rec), Status::ok);
  EXPECT_EQ(rec.length, 120U);
  EXPECT_EQ(rec.bytes, 128U);
}

// A writer and a reader thread stream random messages (sizes up to 3x the ring) through a ring
// that starts just below 2^64; every message is checked byte for byte.
TEST(ByteRingTest, WriterAndReaderThreadsStreamRandomMessagesThroughTheWrap) {
  const std::uint64_t seed = shmq::test::test_seed("ByteRingTest.threads");
  constexpr std::uint64_t kCapacity = 1024;
  LocalRing ring(kCapacity, kNearWrap);
  ByteRing w = ring.handle();
  ByteRing r = ring.handle();
  constexpr int kMessages = 3000;
  std::vector<std::size_t> sizes(kMessages);
  std::mt19937_64 rng(seed);
  for (auto& s : sizes) {
    s = rng() % 4 == 0 ? rng() % (3 * kCapacity) : rng() % 64;
  }
  std::thread writer([&] {
    for (int i = 0; i < kMessages; ++i)
      write_message(w, pattern(sizes[i], seed + i));
  });
  int bad = 0;
  for (int i = 0; i < kMessages; ++i) {
    if (read_message(r) != pattern(sizes[i], seed + i)) ++bad;
  }
  writer.join();
  EXPECT_EQ(bad, 0);
  ByteRing::Record rec;
  EXPECT_EQ(r.try_peek(rec), Status::empty);
}

}  // namespace
