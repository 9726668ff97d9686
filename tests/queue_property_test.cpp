// Multi-process property of Queue<std::string> (label `process`): rapidcheck picks the kind,
// 1..4 producer and 1..4 consumer processes (one where the kind says so), capacities, message
// counts and sizes; forked children move self-checking messages through the queue and report
// what they took through shared memory; the parent's oracle checks exactly-once, intact,
// per-producer FIFO delivery at every consumer.
#include <gtest/gtest.h>
// rapidcheck's gtest glue needs gtest first.
#include <rapidcheck/gtest.h>

#include <sys/mman.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "shmq/queue.hpp"
#include "support/queue_oracle.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Queue;
using shmq::test::Child;
using shmq::test::Record;
using shmq::test::Scenario;

const bool kSeeded = shmq::test::seed_rapidcheck("queue_property_test (rapidcheck)", 150);

// Shared anonymous memory inherited by forked children: per consumer, a count and its records.
class SharedRecords {
 public:
  SharedRecords(std::size_t consumers, std::size_t per_consumer)
      : per_consumer_(per_consumer), bytes_(consumers * (per_consumer + 1) * sizeof(Record)) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<Record*>(p);
  }
  ~SharedRecords() {
    if (base_) ::munmap(base_, bytes_);
  }
  SharedRecords(const SharedRecords&) = delete;
  SharedRecords& operator=(const SharedRecords&) = delete;

  bool valid() const { return base_ != nullptr; }
  // Record 0 of each consumer's area holds its count in `seq`.
  Record* area(std::size_t consumer) const { return base_ + consumer * (per_consumer_ + 1); }
  std::size_t per_consumer() const { return per_consumer_; }

 private:
  std::size_t per_consumer_;
  std::size_t bytes_;
  Record* base_ = nullptr;
};

RC_GTEST_PROP(QueueProperty, EveryMessageArrivesOnceIntactAndInProducerOrderAcrossProcesses, ()) {
  const Scenario s = shmq::test::generate_scenario(4, 500);
  RC_LOG() << s << '\n';
  const std::size_t total = std::accumulate(s.counts.begin(), s.counts.end(), std::size_t{0});
  // Room for every message plus some, so that duplicates show up as such.
  SharedRecords shared(static_cast<std::size_t>(s.consumer_count), total + 64);
  RC_ASSERT(shared.valid());

  shmq::test::ScopedName name("prop-proc");
  auto q = Queue<std::string>::create(name.str(), shmq::test::scenario_options(s));

  std::vector<Child> consumers;
  for (int c = 0; c < s.consumer_count; ++c) {
    consumers.emplace_back([&, c] {
      auto mine = Queue<std::string>::open(name.str(), shmq::test::party_wait());
      Record* area = shared.area(static_cast<std::size_t>(c));
      std::uint32_t n = 0;
      const int rc =
          shmq::test::run_consumer(s, static_cast<std::uint32_t>(c), mine, [&](const Record& r) {
            if (n < shared.per_consumer()) area[1 + n] = r;
            ++n;
          });
      area[0].seq = n;
      return rc;
    });
  }
  std::vector<Child> producers;
  for (std::uint32_t p = 0; p < s.counts.size(); ++p) {
    producers.emplace_back([&, p] {
      auto mine = Queue<std::string>::open(name.str(), shmq::test::party_wait());
      return shmq::test::run_producer(s, p, mine);
    });
  }
  for (auto& p : producers)
    RC_ASSERT(p.wait(60s) == shmq::test::kPartyOk);
  q.close();  // consumers drain, then see closed
  for (auto& c : consumers)
    RC_ASSERT(c.wait(60s) == shmq::test::kPartyOk);

  std::vector<std::vector<Record>> per_consumer;
  for (int c = 0; c < s.consumer_count; ++c) {
    const Record* area = shared.area(static_cast<std::size_t>(c));
    const std::size_t n = area[0].seq;
    RC_ASSERT(n <= shared.per_consumer());
    per_consumer.emplace_back(area + 1, area + 1 + n);
  }
  const std::string wrong = shmq::test::judge(s, per_consumer);
  if (!wrong.empty()) RC_FAIL(wrong);
}

TEST(QueueProperty, RapidcheckWasSeeded) {
  EXPECT_TRUE(kSeeded || std::getenv("RC_PARAMS") != nullptr);
}

}  // namespace
