// Multi-process property of Queue<std::string> (label `process`): rapidcheck picks the kind,
// 1..4 producer and 1..4 consumer processes (one where the kind says so), capacities, message
// counts and sizes; forked children move self-checking messages through the queue and report
// what they took through shared memory; the parent's oracle checks exactly-once, intact,
// per-producer FIFO delivery at every consumer.
// A second property does the same for packed SPSC rings (Queue<std::uint64_t> and of a 24-byte
// struct, whose elements straddle cache lines): a producer process puts a generated sequence, a
// consumer process gets it, with generated capacities (small ones included), batch sizes and
// start positions (just below the 2^64 wrap); the oracle: exactly the sequence put.
#include <gtest/gtest.h>
// rapidcheck's gtest glue needs gtest first.
#include <rapidcheck/gtest.h>

#include <sys/mman.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "shmq/detail/access.hpp"
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
  auto q = shmq::test::create_scenario_queue(name.str(), s);

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

// ---- packed SPSC rings ----

// 24 bytes: in a packed ring its elements straddle cache lines (64 is no multiple of 24).
struct Wide {
  std::uint64_t a;
  std::uint64_t b;
  std::uint64_t c;
  bool operator==(const Wide&) const = default;
};

template <class T>
T element_of(std::uint64_t v);
template <>
std::uint64_t element_of(std::uint64_t v) {
  return v;
}
template <>
Wide element_of(std::uint64_t v) {
  return {v, ~v, shmq::test::mix(v)};
}

struct PackedScenario {
  std::uint64_t capacity = 0;
  std::uint64_t start_position = 0;
  std::size_t max_batch = 1;  // put_many / get_many take 1..max_batch elements at a time
  std::uint64_t verb_seed = 0;
  std::vector<std::uint64_t> values;
};

std::ostream& operator<<(std::ostream& os, const PackedScenario& s) {
  return os << "capacity=" << s.capacity << " start=" << s.start_position
            << " max_batch=" << s.max_batch << " verb_seed=" << s.verb_seed
            << " values=" << s.values.size();
}

PackedScenario generate_packed_scenario() {
  PackedScenario s;
  s.capacity = *rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(1, 9),
                               rc::gen::inRange<std::uint64_t>(1, 1025));
  s.start_position = *rc::gen::arbitrary<bool>() ? std::numeric_limits<std::uint64_t>::max() -
                                                       *rc::gen::inRange<std::uint64_t>(0, 2000)
                                                 : 0;
  s.max_batch = *rc::gen::inRange<std::size_t>(1, 2 * s.capacity + 4);
  s.verb_seed = *rc::gen::arbitrary<std::uint64_t>();
  const auto n = *rc::gen::inRange<std::size_t>(0, 3001);
  s.values =
      *rc::gen::container<std::vector<std::uint64_t>>(n, rc::gen::arbitrary<std::uint64_t>());
  return s;
}

// What the consumer got, in shared anonymous memory inherited by the forked children.
template <class T>
class SharedElements {
 public:
  explicit SharedElements(std::size_t room)
      : room_(room), bytes_(sizeof(std::uint64_t) + room * sizeof(T)) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<std::byte*>(p);
  }
  ~SharedElements() {
    if (base_) ::munmap(base_, bytes_);
  }
  SharedElements(const SharedElements&) = delete;
  SharedElements& operator=(const SharedElements&) = delete;

  bool valid() const { return base_ != nullptr; }
  // How many the consumer got (it may exceed room(): then only the first room() are kept).
  std::uint64_t& count() const { return *reinterpret_cast<std::uint64_t*>(base_); }
  T* elements() const { return reinterpret_cast<T*>(base_ + sizeof(std::uint64_t)); }
  std::size_t room() const { return room_; }

 private:
  std::size_t room_;
  std::size_t bytes_;
  std::byte* base_ = nullptr;
};

// The producer: puts the sequence with a mix of verbs (put, put_for, try_put in a loop, claim +
// commit, put_many and try_put_many of generated batch sizes).
template <class T>
int put_sequence(const PackedScenario& s, shmq::Queue<T>& q) {
  std::mt19937_64 rng(shmq::test::mix(s.verb_seed + 1));
  std::vector<T> batch;
  std::size_t i = 0;
  while (i < s.values.size()) {
    const T v = element_of<T>(s.values[i]);
    shmq::Status st = shmq::Status::ok;
    switch (rng() % 6) {
      case 0:
        st = q.put(v);
        break;
      case 1:
        st = q.put_for(v, 30s);
        break;
      case 2:
        while ((st = q.try_put(v)) == shmq::Status::full)
          std::this_thread::yield();
        break;
      case 3: {
        typename shmq::Queue<T>::PutClaim claim;
        st = q.claim(claim);
        if (st == shmq::Status::ok) {
          std::memcpy(claim.buffer().data(), &v, sizeof(T));
          st = claim.commit(sizeof(T));
        }
        break;
      }
      default: {
        const std::size_t n = std::min(1 + rng() % s.max_batch, s.values.size() - i);
        batch.clear();
        for (std::size_t k = 0; k < n; ++k)
          batch.push_back(element_of<T>(s.values[i + k]));
        if (rng() % 2 == 0) {
          std::size_t put = 0;
          st = q.put_many(std::span<const T>(batch), put);
          if (st != shmq::Status::ok || put != n) return shmq::test::kPartyBadStatus;
        } else {
          for (std::size_t done = 0; done < n;) {
            std::size_t put = 0;
            const shmq::Status why =
                q.try_put_many(std::span<const T>(batch).subspan(done), put);  // what fits now
            if (why != shmq::Status::ok && why != shmq::Status::full)
              return shmq::test::kPartyBadStatus;
            if (put == 0) std::this_thread::yield();
            done += put;
          }
        }
        i += n;
        continue;
      }
    }
    if (st != shmq::Status::ok) return shmq::test::kPartyBadStatus;
    ++i;
  }
  return shmq::test::kPartyOk;
}

// The consumer: gets with a mix of verbs (get, get_for, try_get in a loop, peek + release,
// get_many and try_get_many of generated batch sizes) until the queue is closed and drained.
template <class T>
int get_sequence(const PackedScenario& s, shmq::Queue<T>& q, const SharedElements<T>& out) {
  std::mt19937_64 rng(shmq::test::mix(s.verb_seed + 2));
  std::uint64_t n = 0;
  auto record = [&](const T& v) {
    if (n < out.room()) out.elements()[n] = v;
    ++n;
  };
  std::vector<T> batch(s.max_batch);
  for (;;) {
    T v{};
    shmq::Status st = shmq::Status::ok;
    switch (rng() % 6) {
      case 0:
        st = q.get(v);
        break;
      case 1:
        while ((st = q.get_for(v, 20ms)) == shmq::Status::timeout) {
        }
        break;
      case 2:
        while ((st = q.try_get(v)) == shmq::Status::empty)
          std::this_thread::yield();
        break;
      case 3: {
        typename shmq::Queue<T>::GetClaim claim;
        st = q.get(claim);
        if (st == shmq::Status::ok) {
          if (claim.data().size() != sizeof(T)) return shmq::test::kPartyBadStatus;
          std::memcpy(&v, claim.data().data(), sizeof(T));
          claim.release();
        }
        break;
      }
      case 4: {
        const std::span<T> room(batch.data(), 1 + rng() % s.max_batch);
        std::size_t got = 0;
        st = q.get_many(room, got);
        if (st == shmq::Status::ok) {
          for (std::size_t k = 0; k < got; ++k)
            record(room[k]);
          continue;
        }
        break;
      }
      default: {
        const std::span<T> room(batch.data(), 1 + rng() % s.max_batch);
        std::size_t got = 0;
        (void)q.try_get_many(room, got);  // ok, empty or closed: the loop below tells them apart
        for (std::size_t k = 0; k < got; ++k)
          record(room[k]);
        if (got != 0) continue;
        // Nothing there: closed and drained, or not yet.
        while ((st = q.try_get(v)) == shmq::Status::empty)
          std::this_thread::yield();
        break;
      }
    }
    if (st == shmq::Status::closed) break;
    if (st != shmq::Status::ok) return shmq::test::kPartyBadStatus;
    record(v);
  }
  out.count() = n;
  return shmq::test::kPartyOk;
}

// The oracle: the consumer got exactly the sequence the producer put.
template <class T>
void check_packed_delivery() {
  const PackedScenario s = generate_packed_scenario();
  RC_LOG() << s << '\n';
  SharedElements<T> shared(s.values.size() + 64);  // room beyond: duplicates show as such
  RC_ASSERT(shared.valid());

  shmq::test::ScopedName name("prop-packed");
  shmq::QueueOptions o;
  o.capacity = s.capacity;
  o.producers = shmq::Producers::one;
  o.consumers = shmq::Consumers::one;
  o.wait = shmq::test::party_wait();
  auto q = shmq::detail::create_queue_at<T>(name.str(), o, s.start_position);
  RC_ASSERT(shmq::detail::core_of(q)
                .ring()
                .packed());  // packed is the default for SPSC of trivially copyable T

  Child consumer([&] {
    auto mine = Queue<T>::open(name.str(), shmq::test::party_wait());
    return get_sequence(s, mine, shared);
  });
  Child producer([&] {
    auto mine = Queue<T>::open(name.str(), shmq::test::party_wait());
    return put_sequence(s, mine);
  });
  RC_ASSERT(producer.wait(60s) == shmq::test::kPartyOk);
  q.close();  // the consumer drains, then sees closed
  RC_ASSERT(consumer.wait(60s) == shmq::test::kPartyOk);

  const std::uint64_t got = shared.count();
  const std::size_t kept = std::min<std::uint64_t>(got, shared.room());
  for (std::size_t i = 0; i < kept && i < s.values.size(); ++i) {
    const T want = element_of<T>(s.values[i]);
    if (!(shared.elements()[i] == want)) {
      RC_FAIL("element " + std::to_string(i) + " is not the one put there (lost, duplicated or " +
              "reordered); " + std::to_string(got) + " got of " + std::to_string(s.values.size()) +
              " put");
    }
  }
  RC_ASSERT(got == s.values.size());
}

RC_GTEST_PROP(QueueProperty, APackedSpscRingOfU64DeliversExactlyThePutSequenceAcrossProcesses, ()) {
  check_packed_delivery<std::uint64_t>();
}

RC_GTEST_PROP(QueueProperty, APackedSpscRingOf24ByteElementsDeliversExactlyThePutSequence, ()) {
  check_packed_delivery<Wide>();
}

TEST(QueueProperty, RapidcheckWasSeeded) {
  EXPECT_TRUE(kSeeded || std::getenv("RC_PARAMS") != nullptr);
}

}  // namespace
