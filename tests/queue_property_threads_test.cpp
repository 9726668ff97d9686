// The multi-party property of queue_property_test.cpp with threads instead of processes (label
// `threads`, so TSan runs it): once through Queue<std::string> handles (one per thread), and once
// through the bare slot ring on heap memory shared by all threads, where TSan sees every access
// of the ring's memory-ordering protocol.
#include <gtest/gtest.h>
// rapidcheck's gtest glue needs gtest first.
#include <rapidcheck/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "shmq/detail/ring/slot_ring.hpp"
#include "shmq/queue.hpp"
#include "support/queue_oracle.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using shmq::Queue;
using shmq::Status;
using shmq::detail::SlotRing;
using shmq::test::Record;
using shmq::test::Scenario;

const bool kSeeded = shmq::test::seed_rapidcheck("queue_property_threads_test (rapidcheck)", 100);

RC_GTEST_PROP(QueuePropertyThreads, EveryMessageArrivesOnceIntactAndInProducerOrderAcrossThreads,
              ()) {
  const Scenario s = shmq::test::generate_scenario(4, 150);
  RC_LOG() << s << '\n';
  shmq::test::ScopedName name("prop-thr");
  auto q = shmq::test::create_scenario_queue(name.str(), s);

  std::vector<std::vector<Record>> per_consumer(static_cast<std::size_t>(s.consumer_count));
  std::vector<int> consumer_rc(per_consumer.size(), -1);
  std::vector<int> producer_rc(s.counts.size(), -1);
  std::vector<std::thread> consumers;
  for (std::size_t c = 0; c < per_consumer.size(); ++c) {
    consumers.emplace_back([&, c] {
      auto mine = Queue<std::string>::open(name.str(), shmq::test::party_wait());
      consumer_rc[c] =
          shmq::test::run_consumer(s, static_cast<std::uint32_t>(c), mine,
                                   [&](const Record& r) { per_consumer[c].push_back(r); });
    });
  }
  std::vector<std::thread> producers;
  for (std::uint32_t p = 0; p < s.counts.size(); ++p) {
    producers.emplace_back([&, p] {
      auto mine = Queue<std::string>::open(name.str(), shmq::test::party_wait());
      producer_rc[p] = shmq::test::run_producer(s, p, mine);
    });
  }
  for (auto& t : producers)
    t.join();
  q.close();
  for (auto& t : consumers)
    t.join();
  for (const int rc : producer_rc)
    RC_ASSERT(rc == shmq::test::kPartyOk);
  for (const int rc : consumer_rc)
    RC_ASSERT(rc == shmq::test::kPartyOk);
  const std::string wrong = shmq::test::judge(s, per_consumer);
  if (!wrong.empty()) RC_FAIL(wrong);
}

// The same scenario through SlotRing handles on one heap block (QueueControl + slots).
RC_GTEST_PROP(QueuePropertyThreads, BareSlotRingDeliversOnceIntactAndInOrderAcrossThreads, ()) {
  Scenario s = shmq::test::generate_scenario(4, 150);
  RC_LOG() << s << '\n';
  const std::uint64_t capacity = std::max<std::uint64_t>(2, std::bit_ceil(s.capacity));
  const auto stride =
      static_cast<std::uint32_t>((shmq::detail::kSlotPayloadOffset + s.max_message + 63) / 64 * 64);
  const std::size_t bytes = sizeof(shmq::detail::QueueControl) + capacity * stride;
  std::unique_ptr<std::byte, decltype(&std::free)> mem(
      static_cast<std::byte*>(std::aligned_alloc(64, bytes)), &std::free);
  RC_ASSERT(mem != nullptr);
  std::memset(mem.get(), 0, bytes);
  auto* ctl = new (mem.get()) shmq::detail::QueueControl{};
  std::byte* slots = mem.get() + sizeof(shmq::detail::QueueControl);
  SlotRing::initialize(*ctl, slots, capacity, stride, s.start_position, false);
  SlotRing::Config cfg;
  cfg.capacity = capacity;
  cfg.stride = stride;
  cfg.max_message = s.max_message;
  cfg.multi_producer = s.producers == shmq::Producers::many;
  cfg.multi_consumer = s.consumers == shmq::Consumers::many;

  std::atomic<bool> producers_done{false};
  std::atomic<bool> failed{false};
  std::vector<std::vector<Record>> per_consumer(static_cast<std::size_t>(s.consumer_count));
  std::vector<std::thread> consumers;
  for (std::size_t c = 0; c < per_consumer.size(); ++c) {
    consumers.emplace_back([&, c] {
      SlotRing ring(ctl, slots, cfg, static_cast<std::uint32_t>(100 + c));
      if (!ring.resume_consumer()) failed.store(true);
      for (;;) {
        // Read the flag before trying: a message published before it was set is then visible.
        const bool done = producers_done.load(std::memory_order_acquire);
        SlotRing::Claim claim;
        const Status st = ring.try_acquire(claim);
        if (st == Status::ok) {
          per_consumer[c].push_back(shmq::test::check_message(
              s, reinterpret_cast<const char*>(claim.payload), claim.size));
          ring.release(claim);
          continue;
        }
        if (st != Status::empty) failed.store(true);
        if (st != Status::empty || done) return;
        std::this_thread::yield();
      }
    });
  }
  std::vector<std::thread> producers;
  for (std::uint32_t p = 0; p < s.counts.size(); ++p) {
    producers.emplace_back([&, p] {
      SlotRing ring(ctl, slots, cfg, p + 1);
      if (!ring.resume_producer()) failed.store(true);
      for (std::uint32_t seq = 0; seq < s.counts[p]; ++seq) {
        const std::string m = shmq::test::make_message(s, p, seq);
        SlotRing::Claim claim;
        Status st;
        while ((st = ring.try_claim(claim)) == Status::full)
          std::this_thread::yield();
        if (st != Status::ok) {
          failed.store(true);
          return;
        }
        std::memcpy(claim.payload, m.data(), m.size());
        ring.publish(claim, static_cast<std::uint32_t>(m.size()));
      }
    });
  }
  for (auto& t : producers)
    t.join();
  producers_done.store(true, std::memory_order_release);
  for (auto& t : consumers)
    t.join();
  RC_ASSERT(!failed.load());
  const std::string wrong = shmq::test::judge(s, per_consumer);
  if (!wrong.empty()) RC_FAIL(wrong);
}

TEST(QueuePropertyThreads, RapidcheckWasSeeded) {
  EXPECT_TRUE(kSeeded || std::getenv("RC_PARAMS") != nullptr);
}

}  // namespace
