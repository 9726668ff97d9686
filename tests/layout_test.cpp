// Pins the shared-memory ABI (include/shmq/detail/layout.hpp) against an independent description:
// every number below is written out by hand, not derived from the structs. A change that moves a
// field or resizes a struct must fail here and bump kLayoutVersion in the same change.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/access.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/detail/wait/asymmetric_fence.hpp"
#include "shmq/queue.hpp"
#include "support/test_support.hpp"

namespace {

using namespace shmq::detail;
using shmq::test::ScopedName;

// A queue created with default options has asymmetric fences where the kernel offers them.
std::uint32_t fences_flag() {
  return asymmetric_fences_supported() ? kFlagAsymmetricFences : 0U;
}

TEST(Layout, VersionAndMagicAreTheDocumentedValues) {
  EXPECT_EQ(kLayoutVersion, 6U);
  const char expected[8] = {'S', 'H', 'M', 'Q', 'S', 'E', 'G', '1'};
  std::uint64_t magic_from_bytes = 0;
  std::memcpy(&magic_from_bytes, expected, sizeof(expected));
  EXPECT_EQ(kMagic, magic_from_bytes);
  EXPECT_EQ(kMagic, 0x31474553514d4853ULL);
  EXPECT_EQ(kReadyValue, 0x52454459U);
  EXPECT_EQ(kSkipSize, 0xFFFFFFFFU);
}

TEST(Layout, ConstantsAreTheDocumentedValues) {
  EXPECT_EQ(kCacheLine, 64U);
  EXPECT_EQ(kIndexSeparation, 128U);
  EXPECT_EQ(kInitLockByte, 1ULL << 40);
  EXPECT_EQ(kRegistryLockBase, (1ULL << 40) + 1);
  EXPECT_EQ(kRegistryCapacity, 64U);
  EXPECT_EQ(kRegistryOffset, 256U);
  EXPECT_EQ(kBodyOffset, 12544U);
  EXPECT_EQ(kQueueBodyBytes, 768U);
  EXPECT_EQ(kQueueSlotsOffset, 13312U);
  EXPECT_EQ(kSlotPayloadOffset, 32U);
  EXPECT_EQ(kMaxPayloadAlign, 16U);
  EXPECT_EQ(static_cast<std::uint32_t>(SegmentKind::queue), 1U);
  EXPECT_EQ(static_cast<std::uint32_t>(SegmentKind::pipe), 2U);
  EXPECT_EQ(static_cast<std::uint32_t>(SegmentKind::manager), 3U);
  EXPECT_EQ(static_cast<std::uint32_t>(ElementKind::fixed), 1U);
  EXPECT_EQ(static_cast<std::uint32_t>(ElementKind::bytes), 2U);
  EXPECT_EQ(kFlagMultiProducer, 1U);
  EXPECT_EQ(kFlagMultiConsumer, 2U);
  EXPECT_EQ(kFlagPacked, 4U);
  EXPECT_EQ(kRoleProducer, 1U);
  EXPECT_EQ(kRoleConsumer, 2U);
  EXPECT_EQ(kRoleServer, 4U);
  EXPECT_EQ(kRoleClient, 8U);
}

TEST(Layout, SegmentHeaderHasTheDocumentedSizeAndOffsets) {
  EXPECT_EQ(sizeof(SegmentHeader), 256U);
  EXPECT_EQ(offsetof(SegmentHeader, magic), 0U);
  EXPECT_EQ(offsetof(SegmentHeader, layout_version), 8U);
  EXPECT_EQ(offsetof(SegmentHeader, kind), 12U);
  EXPECT_EQ(offsetof(SegmentHeader, total_bytes), 16U);
  EXPECT_EQ(offsetof(SegmentHeader, created_unix_ns), 24U);
  EXPECT_EQ(offsetof(SegmentHeader, creator_pid), 32U);
  EXPECT_EQ(offsetof(SegmentHeader, registry_capacity), 36U);
  EXPECT_EQ(offsetof(SegmentHeader, registry_offset), 40U);
  EXPECT_EQ(offsetof(SegmentHeader, body_offset), 48U);
  EXPECT_EQ(offsetof(SegmentHeader, body_bytes), 56U);
  EXPECT_EQ(offsetof(SegmentHeader, ready), 64U);
  EXPECT_EQ(offsetof(SegmentHeader, retired), 128U);
}

TEST(Layout, CountersHaveTheDocumentedOrder) {
  EXPECT_EQ(sizeof(Counters), 96U);
  EXPECT_EQ(kCounterCount, 12U);
  EXPECT_EQ(offsetof(Counters, msgs_put), 0U);
  EXPECT_EQ(offsetof(Counters, bytes_put), 8U);
  EXPECT_EQ(offsetof(Counters, msgs_got), 16U);
  EXPECT_EQ(offsetof(Counters, bytes_got), 24U);
  EXPECT_EQ(offsetof(Counters, full_events), 32U);
  EXPECT_EQ(offsetof(Counters, empty_events), 40U);
  EXPECT_EQ(offsetof(Counters, sleeps), 48U);
  EXPECT_EQ(offsetof(Counters, wakes), 56U);
  EXPECT_EQ(offsetof(Counters, timeouts), 64U);
  EXPECT_EQ(offsetof(Counters, closes), 72U);
  EXPECT_EQ(offsetof(Counters, recovered_slots), 80U);
  EXPECT_EQ(offsetof(Counters, in_doubt), 88U);
}

TEST(Layout, RegistryEntryHasTheDocumentedSizeAndOffsets) {
  EXPECT_EQ(sizeof(RegistryEntry), 192U);
  EXPECT_EQ(offsetof(RegistryEntry, generation), 0U);
  EXPECT_EQ(offsetof(RegistryEntry, attached_unix_ns), 8U);
  EXPECT_EQ(offsetof(RegistryEntry, pid), 16U);
  EXPECT_EQ(offsetof(RegistryEntry, roles), 20U);
  EXPECT_EQ(offsetof(RegistryEntry, pending), 24U);
  EXPECT_EQ(offsetof(RegistryEntry, reserved0), 32U);
  EXPECT_EQ(offsetof(RegistryEntry, counters), 64U);
  EXPECT_EQ(make_pending(5, kPendingClaim), (5ULL << 2) | 1U);
  EXPECT_EQ(make_pending(5, kPendingTake), (5ULL << 2) | 2U);
}

TEST(Layout, TokenPacksGenerationAboveTheIndex) {
  EXPECT_EQ(make_token(0, 1), 0x101U);
  EXPECT_EQ(make_token(3, 5), (5ULL << 8) | 4U);
  EXPECT_EQ(token_index(make_token(63, 77)), 63U);
  EXPECT_EQ(make_token(0, 0) & 0xFFU, 1U) << "index 0 must not encode as 'nobody'";
}

TEST(Layout, QueueControlHasTheDocumentedSizeAndOffsets) {
  EXPECT_EQ(sizeof(QueueControl), 768U);
  EXPECT_EQ(offsetof(QueueControl, capacity), 0U);
  EXPECT_EQ(offsetof(QueueControl, slots_offset), 8U);
  EXPECT_EQ(offsetof(QueueControl, slot_stride), 16U);
  EXPECT_EQ(offsetof(QueueControl, max_message), 20U);
  EXPECT_EQ(offsetof(QueueControl, flags), 24U);
  EXPECT_EQ(offsetof(QueueControl, element_kind), 28U);
  EXPECT_EQ(offsetof(QueueControl, element_size), 32U);
  EXPECT_EQ(offsetof(QueueControl, start_position), 40U);
  EXPECT_EQ(offsetof(QueueControl, tail), 128U);
  EXPECT_EQ(offsetof(QueueControl, head), 256U);
  EXPECT_EQ(offsetof(QueueControl, not_empty), 384U);
  EXPECT_EQ(offsetof(QueueControl, not_full), 512U);
  EXPECT_EQ(offsetof(QueueControl, closed), 640U);
  EXPECT_EQ(offsetof(QueueControl, producer_owner), 648U);
  EXPECT_EQ(offsetof(QueueControl, consumer_owner), 656U);
  EXPECT_EQ(offsetof(QueueControl, recovery_owner), 664U);
  EXPECT_EQ(sizeof(EventCountData), 16U);
  EXPECT_EQ(offsetof(EventCountData, epoch), 0U);
  EXPECT_EQ(offsetof(EventCountData, wake_pending), 4U);
  EXPECT_EQ(offsetof(EventCountData, waiters), 8U);
}

TEST(Layout, SlotHeaderHasTheDocumentedSizeAndOffsets) {
  EXPECT_EQ(sizeof(SlotHeader), 32U);
  EXPECT_EQ(offsetof(SlotHeader, seq), 0U);
  EXPECT_EQ(offsetof(SlotHeader, stamp), 8U);
  EXPECT_EQ(offsetof(SlotHeader, size), 16U);
  EXPECT_EQ(kSlotPayloadOffset, 32U);
}

// ---- the bytes of a real segment file, read with plain read() ----

std::vector<unsigned char> read_file(const std::string& name) {
  const std::string path = "/dev/shm/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << path;
  std::vector<unsigned char> bytes;
  if (fd < 0) return bytes;
  unsigned char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  ::close(fd);
  return bytes;
}

template <class T>
T at(const std::vector<unsigned char>& bytes, std::size_t offset) {
  T v{};
  EXPECT_LE(offset + sizeof(T), bytes.size());
  if (offset + sizeof(T) <= bytes.size()) std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

std::uint64_t unix_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

TEST(Layout, QueueSegmentFileHasTheDocumentedBytesAtTheDocumentedOffsets) {
  ScopedName name("layout-file");
  const std::uint64_t before_ns = unix_now_ns();
  shmq::QueueOptions opts;
  opts.capacity = 8;
  opts.producers = shmq::Producers::many;
  opts.consumers = shmq::Consumers::one;
  auto q = shmq::detail::create_queue_at<std::uint64_t>(name.str(), opts, 1000);
  ASSERT_EQ(q.try_put(0xABCDEF0123456789ULL), shmq::Status::ok);
  const std::uint64_t after_ns = unix_now_ns();

  const auto b = read_file(name);
  // 13312 header bytes, then 8 slots of 64 bytes (32 header + 8 payload, rounded to a line).
  ASSERT_EQ(b.size(), 13312U + 8U * 64U);

  // SegmentHeader at 0.
  EXPECT_EQ(std::memcmp(b.data(), "SHMQSEG1", 8), 0);
  EXPECT_EQ(at<std::uint32_t>(b, 8), 6U);       // layout version
  EXPECT_EQ(at<std::uint32_t>(b, 12), 1U);      // kind: queue
  EXPECT_EQ(at<std::uint64_t>(b, 16), 13824U);  // total bytes
  const auto created = at<std::uint64_t>(b, 24);
  EXPECT_GE(created, before_ns);
  EXPECT_LE(created, after_ns);
  EXPECT_EQ(at<std::uint32_t>(b, 32), static_cast<std::uint32_t>(getpid()));
  EXPECT_EQ(at<std::uint32_t>(b, 36), 64U);          // registry capacity
  EXPECT_EQ(at<std::uint64_t>(b, 40), 256U);         // registry offset
  EXPECT_EQ(at<std::uint64_t>(b, 48), 12544U);       // body offset
  EXPECT_EQ(at<std::uint64_t>(b, 56), 768U);         // body bytes
  EXPECT_EQ(at<std::uint32_t>(b, 64), 0x52454459U);  // ready

  // The creator's registry entry (the first) at 256.
  EXPECT_EQ(at<std::uint64_t>(b, 256 + 0), 1U);  // generation
  const auto attached = at<std::uint64_t>(b, 256 + 8);
  EXPECT_GE(attached, before_ns);
  EXPECT_LE(attached, after_ns);
  EXPECT_EQ(at<std::uint32_t>(b, 256 + 16), static_cast<std::uint32_t>(getpid()));
  EXPECT_EQ(at<std::uint32_t>(b, 256 + 20), 1U);      // roles: producer
  EXPECT_EQ(at<std::uint64_t>(b, 256 + 64 + 0), 1U);  // msgs_put
  // bytes_put: a queue of fixed-size elements leaves it 0 (observers derive msgs × size).
  EXPECT_EQ(at<std::uint64_t>(b, 256 + 64 + 8), 0U);
  EXPECT_EQ(at<std::uint64_t>(b, 256 + 192), 0U);  // the second entry was never used

  // QueueControl at 12544.
  constexpr std::size_t c = 12544;
  EXPECT_EQ(at<std::uint64_t>(b, c + 0), 8U);                   // capacity
  EXPECT_EQ(at<std::uint64_t>(b, c + 8), 13312U);               // slots offset
  EXPECT_EQ(at<std::uint32_t>(b, c + 16), 64U);                 // stride
  EXPECT_EQ(at<std::uint32_t>(b, c + 20), 8U);                  // max message
  EXPECT_EQ(at<std::uint32_t>(b, c + 24), 1U | fences_flag());  // flags: multi-producer only
  EXPECT_EQ(at<std::uint32_t>(b, c + 28), 1U);                  // element kind: fixed
  EXPECT_EQ(at<std::uint64_t>(b, c + 32), 8U);                  // element size
  EXPECT_EQ(at<std::uint64_t>(b, c + 40), 1000U);               // start position
  EXPECT_EQ(at<std::uint64_t>(b, c + 128), 1001U);              // tail: one message claimed
  EXPECT_EQ(at<std::uint64_t>(b, c + 256), 1000U);              // head
  EXPECT_EQ(at<std::uint32_t>(b, c + 640), 0U);                 // closed
  EXPECT_EQ(at<std::uint64_t>(b, c + 648), 0U);  // producer owner: multi-producer, none
  EXPECT_EQ(at<std::uint64_t>(b, c + 656), 0U);  // consumer owner: not yet claimed

  // Slots at 13312. Position p lives in slot p % 8; 1000 % 8 == 0.
  constexpr std::size_t s = 13312;
  EXPECT_EQ(at<std::uint64_t>(b, s + 0), 1001U);  // seq: holds the message of 1000
  // stamp: the producer's claim of 1000 (make_pending = 1000 << 2 | 1), tag = entry 0, generation 1
  EXPECT_EQ(at<std::uint64_t>(b, s + 8), (4001ULL << 32) | 257U);
  EXPECT_EQ(at<std::uint32_t>(b, s + 16), 8U);                     // size
  EXPECT_EQ(at<std::uint64_t>(b, s + 32), 0xABCDEF0123456789ULL);  // payload
  for (std::uint64_t i = 1; i < 8; ++i) {
    EXPECT_EQ(at<std::uint64_t>(b, s + i * 64), 1000U + i) << "slot " << i;  // free for 1000+i
  }

  // Closing is visible in the file; taking the consumer role writes the owner token.
  std::uint64_t out = 0;
  ASSERT_EQ(q.try_get(out), shmq::Status::ok);
  q.close();
  const auto b2 = read_file(name);
  EXPECT_EQ(at<std::uint32_t>(b2, c + 640), 1U);
  EXPECT_EQ(at<std::uint64_t>(b2, c + 656), (1ULL << 8) | 1U);  // generation 1, entry 0
  EXPECT_EQ(at<std::uint64_t>(b2, c + 256), 1001U);             // head stored by the consumer
  EXPECT_EQ(at<std::uint64_t>(b2, s + 0), 1008U);               // free for 1000 + capacity
  EXPECT_EQ(at<std::uint32_t>(b2, 256 + 20), 3U);               // roles: producer | consumer
}

TEST(Layout, ByteQueueSlotsAreRoundedToWholeCacheLines) {
  ScopedName name("layout-bytes");
  shmq::QueueOptions opts;
  opts.capacity = 3;  // rounded up to 4
  opts.max_message = 100;
  auto q = shmq::Queue<std::string>::create(name.str(), opts);
  const auto b = read_file(name);
  // 32 + 100 = 132 bytes per slot, rounded up to 192.
  ASSERT_EQ(b.size(), 13312U + 4U * 192U);
  EXPECT_EQ(at<std::uint64_t>(b, 12544 + 0), 4U);
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 16), 192U);
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 20), 100U);
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 24), 3U | fences_flag());  // flags: MPMC by default
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 28), 2U);                  // element kind: bytes
  EXPECT_EQ(at<std::uint64_t>(b, 12544 + 32), 0U);                  // element size
}

TEST(Layout, PackedQueueStoresElementsBackToBackAfterTheControlBlock) {
  ScopedName name("layout-packed");
  shmq::QueueOptions opts;
  opts.capacity = 5;  // rounded up to 8
  opts.producers = shmq::Producers::one;
  opts.consumers = shmq::Consumers::one;
  struct Twelve {
    std::uint32_t w[3];
  };
  auto q = shmq::detail::create_queue_at<Twelve>(name.str(), opts, 6);
  ASSERT_EQ(q.try_put(Twelve{{1, 2, 3}}), shmq::Status::ok);
  ASSERT_EQ(q.try_put(Twelve{{4, 5, 6}}), shmq::Status::ok);
  ASSERT_EQ(q.try_put(Twelve{{7, 8, 9}}), shmq::Status::ok);
  const auto b = read_file(name);
  // 8 elements × 12 bytes = 96, rounded up to two lines.
  ASSERT_EQ(b.size(), 13312U + 128U);
  EXPECT_EQ(at<std::uint64_t>(b, 12544 + 0), 8U);                   // capacity
  EXPECT_EQ(at<std::uint64_t>(b, 12544 + 8), 13312U);               // slots offset
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 16), 12U);                 // stride: the element itself
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 20), 12U);                 // max_message
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 24), 4U | fences_flag());  // packed, single sides
  EXPECT_EQ(at<std::uint32_t>(b, 12544 + 28), 1U);                  // element kind: fixed
  EXPECT_EQ(at<std::uint64_t>(b, 12544 + 128), 9U);                 // tail: start 6 + 3 puts
  EXPECT_EQ(at<std::uint64_t>(b, 12544 + 256), 6U);                 // head
  // Positions 6, 7, 8 live at indices 6, 7, 0 (position & 7), 12 bytes apart, no headers.
  EXPECT_EQ(at<std::uint32_t>(b, 13312 + 6 * 12), 1U);
  EXPECT_EQ(at<std::uint32_t>(b, 13312 + 7 * 12 + 8), 6U);
  EXPECT_EQ(at<std::uint32_t>(b, 13312 + 0 * 12 + 4), 8U);
}

}  // namespace
