// The slot ring (include/shmq/detail/ring/slot_ring.hpp) driven directly on heap memory, for all
// four kinds, including positions that run through the 2^64 wrap and hostile slot contents.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/layout.hpp"
#include "shmq/detail/ring/slot_ring.hpp"
#include "shmq/status.hpp"
#include "support/test_support.hpp"

namespace {

using shmq::Status;
using shmq::detail::QueueControl;
using shmq::detail::SlotHeader;
using shmq::detail::SlotRing;

constexpr std::uint64_t kNearWrap = std::numeric_limits<std::uint64_t>::max() - 4;  // 2^64 - 5

// QueueControl followed by `capacity` slots, in one 64-byte aligned, zeroed heap block.
class HeapRing {
 public:
  HeapRing(std::uint64_t capacity, std::uint32_t max_message, std::uint64_t start)
      : capacity_(capacity),
        max_message_(max_message),
        stride_(static_cast<std::uint32_t>((shmq::detail::kSlotPayloadOffset + max_message + 63) /
                                           64 * 64)),
        bytes_(sizeof(QueueControl) + capacity * stride_),
        mem_(static_cast<std::byte*>(std::aligned_alloc(64, bytes_)), &std::free) {
    std::memset(mem_.get(), 0, bytes_);
    ctl_ = new (mem_.get()) QueueControl{};
    SlotRing::initialize(*ctl_, slots(), capacity, stride_, start, false);
  }

  // A handle of the given kind, not yet resumed.
  SlotRing raw_handle(bool multi_producer, bool multi_consumer, std::uint32_t tag = 1) {
    SlotRing::Config cfg;
    cfg.capacity = capacity_;
    cfg.stride = stride_;
    cfg.max_message = max_message_;
    cfg.multi_producer = multi_producer;
    cfg.multi_consumer = multi_consumer;
    return SlotRing(ctl_, slots(), cfg, tag);
  }
  // A handle of the given kind, resumed as both producer and consumer (as QueueCore does).
  SlotRing handle(bool multi_producer, bool multi_consumer, std::uint32_t tag = 1) {
    SlotRing ring = raw_handle(multi_producer, multi_consumer, tag);
    EXPECT_TRUE(ring.resume_producer());
    EXPECT_TRUE(ring.resume_consumer());
    return ring;
  }

  QueueControl& control() { return *ctl_; }
  std::byte* slots() { return mem_.get() + sizeof(QueueControl); }
  SlotHeader& slot_for(std::uint64_t pos) {
    return *reinterpret_cast<SlotHeader*>(slots() + (pos & (capacity_ - 1)) * stride_);
  }

 private:
  std::uint64_t capacity_;
  std::uint32_t max_message_;
  std::uint32_t stride_;
  std::size_t bytes_;
  std::unique_ptr<std::byte, decltype(&std::free)> mem_;
  QueueControl* ctl_ = nullptr;
};

Status put(SlotRing& ring, const std::string& msg, std::uint64_t* pos = nullptr) {
  SlotRing::Claim c;
  const Status s = ring.try_claim(c);
  if (s != Status::ok) return s;
  if (pos) *pos = c.pos;
  std::memcpy(c.payload, msg.data(), msg.size());
  ring.publish(c, static_cast<std::uint32_t>(msg.size()));
  return Status::ok;
}

Status get(SlotRing& ring, std::string& out, std::uint64_t* pos = nullptr) {
  SlotRing::Claim c;
  const Status s = ring.try_acquire(c);
  if (s != Status::ok) return s;
  if (pos) *pos = c.pos;
  out.assign(reinterpret_cast<const char*>(c.payload), c.size);
  ring.release(c);
  return Status::ok;
}

struct Kind {
  bool mp;
  bool mc;
};

std::string kind_name(const ::testing::TestParamInfo<std::tuple<Kind, std::uint64_t>>& info) {
  const Kind k = std::get<0>(info.param);
  return std::string(k.mp ? "MP" : "SP") + (k.mc ? "MC" : "SC") +
         (std::get<1>(info.param) == 0 ? "_FromZero" : "_NearWrap");
}

class SlotRingKinds : public ::testing::TestWithParam<std::tuple<Kind, std::uint64_t>> {
 protected:
  Kind kind() const { return std::get<0>(GetParam()); }
  std::uint64_t start() const { return std::get<1>(GetParam()); }
};

TEST_P(SlotRingKinds, DeliversInFifoOrderAtConsecutivePositionsThroughTheWrap) {
  HeapRing mem(4, 32, start());
  SlotRing ring = mem.handle(kind().mp, kind().mc);
  std::uint64_t next_put = start();
  std::uint64_t next_get = start();
  int sent = 0;
  int received = 0;
  // Batches of 1..4 messages, so that every slot is used at every fill level.
  for (int round = 0; round < 40; ++round) {
    const int batch = 1 + round % 4;
    for (int i = 0; i < batch; ++i) {
      std::uint64_t pos = 0;
      ASSERT_EQ(put(ring, "m" + std::to_string(sent), &pos), Status::ok);
      EXPECT_EQ(pos, next_put++);
      ++sent;
    }
    for (int i = 0; i < batch; ++i) {
      std::string out;
      std::uint64_t pos = 0;
      ASSERT_EQ(get(ring, out, &pos), Status::ok);
      EXPECT_EQ(pos, next_get++);
      EXPECT_EQ(out, "m" + std::to_string(received++));
    }
  }
  EXPECT_EQ(sent, received);
  EXPECT_EQ(mem.control().tail.load(), start() + 100);
  EXPECT_EQ(mem.control().head.load(), start() + 100);
}

TEST_P(SlotRingKinds, ReportsFullAtCapacityAndEmptyWhenDrained) {
  HeapRing mem(8, 16, start());
  SlotRing ring = mem.handle(kind().mp, kind().mc);
  std::string out;
  EXPECT_EQ(get(ring, out), Status::empty);
  for (int lap = 0; lap < 3; ++lap) {
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(ring.size(), static_cast<std::uint64_t>(i));
      ASSERT_EQ(put(ring, std::to_string(i)), Status::ok);
    }
    EXPECT_EQ(ring.size(), 8U);
    EXPECT_EQ(put(ring, "x"), Status::full);
    EXPECT_EQ(ring.size(), 8U);
    for (int i = 0; i < 8; ++i) {
      ASSERT_EQ(get(ring, out), Status::ok);
      EXPECT_EQ(out, std::to_string(i));
      EXPECT_EQ(ring.size(), static_cast<std::uint64_t>(7 - i));
    }
    EXPECT_EQ(get(ring, out), Status::empty);
  }
}

TEST_P(SlotRingKinds, SkipSlotsArePassedOverAndFreed) {
  HeapRing mem(4, 16, start());
  SlotRing ring = mem.handle(kind().mp, kind().mc);
  SlotRing::Claim c;
  ASSERT_EQ(ring.try_claim(c), Status::ok);
  ring.publish(c, shmq::detail::kSkipSize);
  ASSERT_EQ(put(ring, "real"), Status::ok);
  ASSERT_EQ(ring.try_claim(c), Status::ok);
  ring.publish(c, shmq::detail::kSkipSize);
  std::string out;
  ASSERT_EQ(get(ring, out), Status::ok);
  EXPECT_EQ(out, "real");
  EXPECT_EQ(get(ring, out), Status::empty) << "a trailing skip is consumed, not delivered";
  EXPECT_EQ(ring.size(), 0U);
  // A ring made only of skips drains to empty and every slot can be used again.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(ring.try_claim(c), Status::ok);
    ring.publish(c, shmq::detail::kSkipSize);
  }
  EXPECT_EQ(put(ring, "x"), Status::full);
  EXPECT_EQ(get(ring, out), Status::empty);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(put(ring, std::to_string(i)), Status::ok);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(get(ring, out), Status::ok);
    EXPECT_EQ(out, std::to_string(i));
  }
}

TEST_P(SlotRingKinds, MessagesOfEverySizeUpToMaxMessageRoundTrip) {
  HeapRing mem(2, 200, start());
  SlotRing ring = mem.handle(kind().mp, kind().mc);
  for (std::size_t n = 0; n <= 200; ++n) {
    std::string msg(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
      msg[i] = static_cast<char>('a' + (i * 7 + n) % 26);
    ASSERT_EQ(put(ring, msg), Status::ok);
    std::string out;
    ASSERT_EQ(get(ring, out), Status::ok);
    ASSERT_EQ(out, msg);
  }
}

TEST_P(SlotRingKinds, SizeFieldAboveMaxMessageIsCorruptAndTheSlotIsReleased) {
  HeapRing mem(4, 16, start());
  SlotRing ring = mem.handle(kind().mp, kind().mc);
  SlotRing::Claim c;
  ASSERT_EQ(ring.try_claim(c), Status::ok);
  ring.publish(c, 17);  // one byte more than a slot holds
  ASSERT_EQ(put(ring, "after"), Status::ok);
  std::string out;
  EXPECT_EQ(get(ring, out), Status::corrupt);
  ASSERT_EQ(get(ring, out), Status::ok) << "the ring keeps moving past the bad slot";
  EXPECT_EQ(out, "after");
  ASSERT_EQ(ring.try_claim(c), Status::ok);
  ring.publish(c, 16);  // exactly max_message is fine
  EXPECT_EQ(get(ring, out), Status::ok);
  EXPECT_EQ(out.size(), 16U);
}

TEST_P(SlotRingKinds, SeqAheadOfItsPositionIsCorruptOnBothSides) {
  for (const std::uint64_t ahead :
       {std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{1000}, std::uint64_t{1} << 40}) {
    SCOPED_TRACE(ahead);
    HeapRing mem(4, 16, start());
    SlotRing ring = mem.handle(kind().mp, kind().mc);
    // Producer side: the slot of the next position claims to be further on.
    mem.slot_for(start()).seq.store(start() + ahead);
    EXPECT_EQ(put(ring, "x"), Status::corrupt);
    EXPECT_EQ(put(ring, "x"), Status::corrupt) << "stays corrupt, no crash, no progress";
    // Consumer side: the next position to read claims to be further on.
    std::string out;
    EXPECT_EQ(get(ring, out), Status::corrupt);
  }
}

TEST_P(SlotRingKinds, GarbageEverywhereNeverReadsOutOfBounds) {
  const std::uint64_t seed = shmq::test::test_seed("SlotRing garbage");
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 50; ++trial) {
    HeapRing mem(8, 24, start());
    SlotRing ring = mem.handle(kind().mp, kind().mc);
    for (int op = 0; op < 200; ++op) {
      // A hostile peer rewrites a random slot header or index at any time.
      const std::uint64_t pos = start() + rng() % 16;
      const std::uint64_t choices[] = {pos, pos + 1, pos + 8, pos + 9, rng(), pos - 7};
      switch (rng() % 4) {
        case 0:
          mem.slot_for(pos).seq.store(choices[rng() % 6]);
          break;
        case 1:
          mem.slot_for(pos).size.store(static_cast<std::uint32_t>(rng() % 40));
          break;
        case 2:
          mem.control().tail.store(choices[rng() % 6]);
          break;
        default:
          mem.control().head.store(choices[rng() % 6]);
          break;
      }
      std::string out;
      const Status p = put(ring, std::string(rng() % 25, 'p'));
      EXPECT_TRUE(p == Status::ok || p == Status::full || p == Status::corrupt) << to_string(p);
      const Status g = get(ring, out);
      EXPECT_TRUE(g == Status::ok || g == Status::empty || g == Status::corrupt) << to_string(g);
      if (g == Status::ok) {
        EXPECT_LE(out.size(), 24U);
      }
      EXPECT_LE(ring.size(), 8U);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllKinds, SlotRingKinds,
                         ::testing::Combine(::testing::Values(Kind{false, false}, Kind{true, false},
                                                              Kind{false, true}, Kind{true, true}),
                                            ::testing::Values(std::uint64_t{0}, kNearWrap)),
                         kind_name);

// ---- resuming a side after a missed index store (a producer/consumer killed in between) ----

TEST(SlotRingResume, NewSingleProducerRepairsATailStoreItsPredecessorMissed) {
  HeapRing mem(4, 16, kNearWrap);
  {
    SlotRing old = mem.handle(false, false);
    for (int i = 0; i < 3; ++i)
      ASSERT_EQ(put(old, std::to_string(i)), Status::ok);
  }
  // The old producer published position start+2 and died before storing tail.
  mem.control().tail.store(kNearWrap + 2);
  SlotRing next = mem.handle(false, false);
  std::uint64_t pos = 0;
  ASSERT_EQ(put(next, "3", &pos), Status::ok);
  EXPECT_EQ(pos, kNearWrap + 3) << "continues after the published message, not over it";
  EXPECT_EQ(mem.control().tail.load(), kNearWrap + 4);
  for (int i = 0; i < 4; ++i) {
    std::string out;
    ASSERT_EQ(get(next, out), Status::ok);
    EXPECT_EQ(out, std::to_string(i));
  }
}

TEST(SlotRingResume, NewSingleProducerResumesAFullRing) {
  HeapRing mem(4, 16, kNearWrap);
  {
    SlotRing old = mem.handle(false, true);
    for (int i = 0; i < 4; ++i)
      ASSERT_EQ(put(old, std::to_string(i)), Status::ok);
  }
  mem.control().tail.store(kNearWrap + 3);  // the last tail store was missed
  SlotRing next = mem.handle(false, true);
  EXPECT_EQ(put(next, "x"), Status::full);
  std::string out;
  ASSERT_EQ(get(next, out), Status::ok);
  EXPECT_EQ(out, "0");
  std::uint64_t pos = 0;
  ASSERT_EQ(put(next, "4", &pos), Status::ok);
  EXPECT_EQ(pos, kNearWrap + 4);
}

TEST(SlotRingResume, NewSingleConsumerRepairsAHeadStoreItsPredecessorMissed) {
  HeapRing mem(4, 16, kNearWrap);
  SlotRing producer = mem.handle(true, false);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(put(producer, std::to_string(i)), Status::ok);
  {
    SlotRing old = mem.handle(true, false);
    std::string out;
    ASSERT_EQ(get(old, out), Status::ok);
    ASSERT_EQ(get(old, out), Status::ok);
  }
  mem.control().head.store(kNearWrap + 1);  // released start+1, died before storing head
  SlotRing next = mem.handle(true, false);
  std::string out;
  std::uint64_t pos = 0;
  ASSERT_EQ(get(next, out, &pos), Status::ok);
  EXPECT_EQ(out, "2");
  EXPECT_EQ(pos, kNearWrap + 2);
  EXPECT_EQ(get(next, out), Status::empty);
}

TEST(SlotRingResume, NewSingleConsumerResumesWhenTheProducerAlreadyReusedTheMissedSlot) {
  for (const bool mp : {false, true}) {
    SCOPED_TRACE(mp ? "MPSC" : "SPSC");
    HeapRing mem(2, 16, kNearWrap);
    SlotRing producer = mem.handle(mp, false);
    ASSERT_EQ(put(producer, "0"), Status::ok);
    ASSERT_EQ(put(producer, "1"), Status::ok);
    {
      SlotRing old = mem.handle(mp, false);
      std::string out;
      ASSERT_EQ(get(old, out), Status::ok);
      EXPECT_EQ(out, "0");
    }
    mem.control().head.store(kNearWrap);  // released start, died before storing head
    ASSERT_EQ(put(producer, "2"), Status::ok) << "the producer reuses the released slot";
    SlotRing next = mem.raw_handle(mp, false);
    ASSERT_TRUE(next.resume_consumer());
    for (const char* expected : {"1", "2"}) {
      std::string out;
      ASSERT_EQ(get(next, out), Status::ok);
      EXPECT_EQ(out, expected);
    }
    std::string out;
    EXPECT_EQ(get(next, out), Status::empty);
  }
}

TEST(SlotRingResume, NewSingleProducerResumesWhileTheConsumersHeadStoreIsMissing) {
  HeapRing mem(2, 16, kNearWrap);
  {
    SlotRing producer = mem.handle(false, false);
    ASSERT_EQ(put(producer, "0"), Status::ok);
    ASSERT_EQ(put(producer, "1"), Status::ok);
    {
      SlotRing consumer = mem.handle(false, false);
      std::string out;
      ASSERT_EQ(get(consumer, out), Status::ok);
    }
    mem.control().head.store(kNearWrap);  // the consumer died before storing head
    ASSERT_EQ(put(producer, "2"), Status::ok);
  }  // ... and then the producer died too: tail - head is now capacity + 1
  SlotRing producer = mem.raw_handle(false, false);
  ASSERT_TRUE(producer.resume_producer());
  EXPECT_EQ(put(producer, "x"), Status::full);
  SlotRing consumer = mem.raw_handle(false, false);
  ASSERT_TRUE(consumer.resume_consumer());
  for (const char* expected : {"1", "2"}) {
    std::string out;
    ASSERT_EQ(get(consumer, out), Status::ok);
    EXPECT_EQ(out, expected);
  }
  std::uint64_t pos = 0;
  ASSERT_EQ(put(producer, "3", &pos), Status::ok);
  EXPECT_EQ(pos, kNearWrap + 3);
}

TEST(SlotRingResume, ResumeOnCorruptSlotsFails) {
  HeapRing mem(4, 16, 0);
  SlotRing::Config cfg{4, 64, 16, false, false};
  for (std::uint64_t i = 0; i < 4; ++i)
    mem.slot_for(i).seq.store(1000 + i);
  SlotRing ring(&mem.control(), mem.slots(), cfg, 1);
  EXPECT_FALSE(ring.resume_producer());
  EXPECT_FALSE(ring.resume_consumer());
}

TEST(SlotRingResume, MultiSidesNeedNoResume) {
  HeapRing mem(4, 16, 0);
  SlotRing::Config cfg{4, 64, 16, true, true};
  for (std::uint64_t i = 0; i < 4; ++i)
    mem.slot_for(i).seq.store(1000 + i);
  SlotRing ring(&mem.control(), mem.slots(), cfg, 1);
  EXPECT_TRUE(ring.resume_producer());
  EXPECT_TRUE(ring.resume_consumer());
}

TEST(SlotRing, InitializeWritesOneFreeSequencePerSlotFromTheStartPosition) {
  HeapRing mem(8, 8, kNearWrap);
  for (std::uint64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(mem.slot_for(kNearWrap + i).seq.load(), kNearWrap + i);
  }
  EXPECT_EQ(mem.control().tail.load(), kNearWrap);
  EXPECT_EQ(mem.control().head.load(), kNearWrap);
}

TEST(SlotRing, DistanceIsWrapSafe) {
  using shmq::detail::distance;
  EXPECT_EQ(distance(2, std::numeric_limits<std::uint64_t>::max() - 1), 4);
  EXPECT_EQ(distance(std::numeric_limits<std::uint64_t>::max() - 1, 2), -4);
  EXPECT_EQ(distance(5, 5), 0);
}

// ---- recovery primitives: they act only on a slot that has not moved on (INV-R3) ----

// The race CI's stress run found: a recoverer judged a claim (no stamp naming it, a dead intent)
// while its live holder was publishing; acting on that judgment must fail once the slot moved on.
TEST(SlotRingRecovery, SkipForAClaimThatWasPublishedMeanwhileIsRefused) {
  HeapRing mem(4, 24, kNearWrap);
  SlotRing producer = mem.handle(true, true, 7);
  SlotRing::Claim c;
  ASSERT_EQ(producer.try_claim(c), Status::ok);
  const SlotRing::Held held = producer.claimed_unpublished(c.pos);
  ASSERT_NE(held.slot, nullptr);
  EXPECT_TRUE(shmq::detail::stamp_names(held.stamp, c.pos, shmq::detail::kPendingClaim));
  EXPECT_EQ(shmq::detail::stamp_tag(held.stamp), 7U);
  std::memcpy(c.payload, "kept", 4);
  producer.publish(c, 4);  // the holder was alive after all
  EXPECT_FALSE(producer.publish_skip_for_dead(held, c.pos));
  std::string out;
  ASSERT_EQ(get(producer, out), Status::ok);
  EXPECT_EQ(out, "kept");
}

TEST(SlotRingRecovery, ReleaseForATakeThatWasReleasedMeanwhileIsRefused) {
  HeapRing mem(4, 24, kNearWrap);
  SlotRing ring = mem.handle(true, true, 9);
  ASSERT_EQ(put(ring, "a"), Status::ok);
  SlotRing::Claim c;
  ASSERT_EQ(ring.try_acquire(c), Status::ok);
  const SlotRing::Held held = ring.taken_unreleased(c.pos);
  ASSERT_NE(held.slot, nullptr);
  EXPECT_TRUE(shmq::detail::stamp_names(held.stamp, c.pos, shmq::detail::kPendingTake));
  ring.release(c);
  // The producer of the next lap takes the slot; a late recovery must not free it again.
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(put(ring, "x"), Status::ok);
  EXPECT_FALSE(ring.release_for_dead(held, c.pos));
  EXPECT_EQ(put(ring, "y"), Status::full);
}

TEST(SlotRingRecovery, StaleStampsDoNotNameTheNextHolder) {
  HeapRing mem(2, 24, 0);
  SlotRing ring = mem.handle(true, true, 5);
  ASSERT_EQ(put(ring, "a"), Status::ok);  // position 0: stamped as claim, then as take
  std::string out;
  ASSERT_EQ(get(ring, out), Status::ok);
  ASSERT_EQ(put(ring, "b"), Status::ok);  // position 1
  ASSERT_EQ(put(ring, "c"), Status::ok);  // position 2: slot 0 again
  const std::uint64_t stamp = mem.slot_for(2).stamp.load();
  EXPECT_TRUE(shmq::detail::stamp_names(stamp, 2, shmq::detail::kPendingClaim));
  EXPECT_FALSE(shmq::detail::stamp_names(stamp, 0, shmq::detail::kPendingClaim));
  EXPECT_FALSE(shmq::detail::stamp_names(stamp, 0, shmq::detail::kPendingTake));
  EXPECT_FALSE(shmq::detail::stamp_names(stamp, 2, shmq::detail::kPendingTake));
}

// A recoverer killed between marking a dead claim and publishing its skip leaves seq == pos - 1:
// consumers see the slot empty (never corrupt), and the next recoverer finishes the skip.
TEST(SlotRingRecovery, InterruptedSkipLooksEmptyAndIsFinishedByTheNextRecoverer) {
  for (const bool mc : {true, false}) {
    HeapRing mem(4, 24, kNearWrap);
    SlotRing ring = mem.handle(true, mc, 3);
    SlotRing::Claim dead;
    ASSERT_EQ(ring.try_claim(dead), Status::ok);  // its holder "dies" here
    ASSERT_EQ(put(ring, "after"), Status::ok);
    mem.slot_for(dead.pos).seq.store(dead.pos - 1);  // the marker a dead recoverer left
    std::string out;
    EXPECT_EQ(get(ring, out), Status::empty) << "mc " << mc;
    EXPECT_FALSE(ring.finish_interrupted_skip(dead.pos + 1));
    ASSERT_TRUE(ring.finish_interrupted_skip(dead.pos));
    EXPECT_FALSE(ring.finish_interrupted_skip(dead.pos));  // once
    ASSERT_EQ(get(ring, out), Status::ok) << "mc " << mc;
    EXPECT_EQ(out, "after");
  }
}

}  // namespace
