// shmq: the library under test, through its public API only (shmq/shmq.hpp).
//   round trip: two SPSC Queue<Msg<8>>, put / get, spinning (a spin budget that never runs out)
//               or sleeping (WaitPolicy{spin_iterations = 0}: futex between messages);
//   throughput: one SPSC Queue<Msg<N>>, put_many / get_many in batches of 32 where that helps
//               (up to 1 KiB), and put / get one at a time for comparison;
//   mpmc:       one MPMC Queue<Msg<64>>, put / get with the default WaitPolicy;
//   manager:    a Manager's dict, set / get (shmq_manager.cpp).
#include <span>
#include <stdexcept>
#include <utility>

#include "../workloads.hpp"
#include "cleanup.hpp"
#include "peers.hpp"
#include "shmq/inspect.hpp"
#include "shmq/shmq.hpp"

namespace shmq_bench {
namespace {

// Variants whose name has this suffix keep one slot per message (QueueOptions::packed = false).
constexpr std::string_view kSlots = ", slots";
// And these notify with a full fence per put and get (QueueOptions::asymmetric_fences = false):
// what the default's compiler barrier + membarrier-on-sleep saves, measured in the same run.
constexpr std::string_view kFullFences = ", full fences";

// Spinning: far more pause iterations, and far longer, than any wait in a run, so a waiter never
// reaches the futex.
constexpr std::uint32_t kSpinForever = 1U << 30;

shmq::WaitPolicy policy_for(Wait w) {
  switch (w) {
    case Wait::spin:
      return {kSpinForever, std::chrono::milliseconds(100), true, std::chrono::hours(1)};
    case Wait::sleep:
      return {0, std::chrono::milliseconds(100)};
    case Wait::normal:
      return {};
  }
  return {};
}

void check(shmq::Status s, const char* what) {
  if (s != shmq::Status::ok) {
    throw std::runtime_error(fmt::format("shmq {}: {}", what, shmq::to_string(s)));
  }
}

template <std::size_t N>
class QueueTx {
 public:
  explicit QueueTx(shmq::Queue<Msg<N>> q) : q_(std::move(q)) { q_.claim_producer(); }
  void send(const Msg<N>& m) { check(q_.put(m), "put"); }
  void send_many(const Msg<N>* m, std::size_t n) {
    std::size_t put = 0;
    check(q_.put_many({m, n}, put), "put_many");
  }

 private:
  shmq::Queue<Msg<N>> q_;
};

template <std::size_t N>
class QueueRx {
 public:
  explicit QueueRx(shmq::Queue<Msg<N>> q) : q_(std::move(q)) { q_.claim_consumer(); }
  std::size_t recv(Msg<N>* out, std::size_t max) {
    if (max == 1) {
      check(q_.get(*out), "get");
      return 1;
    }
    std::size_t got = 0;
    check(q_.get_many({out, max}, got), "get_many");
    return got;
  }

 private:
  shmq::Queue<Msg<N>> q_;
};

class ShmqRun final : public Run {
 public:
  ShmqRun(const Scenario& s, const Variant& v, const std::string& unique) : s_(s), v_(v) {
    const bool single = s.figure != Figure::mpmc;
    const int queues = s.figure == Figure::roundtrip ? 2 : 1;
    for (int i = 0; i < queues; ++i) {
      names_.push_back(fmt::format("{}-q{}", unique, i));
      cleanup_.add([name = names_.back()] { shmq::Queue<Msg<8>>::remove(name); });
      with_size(s.bytes, [&]<std::size_t N>() {
        shmq::QueueOptions o;
        o.capacity = capacity_for(N);
        o.producers = single ? shmq::Producers::one : shmq::Producers::many;
        o.consumers = single ? shmq::Consumers::one : shmq::Consumers::many;
        o.wait = policy_for(s.wait);
        o.packed = v.name.find(kSlots) == std::string::npos;
        o.asymmetric_fences = v.name.find(kFullFences) == std::string::npos;
        // The parent only creates: the handle is dropped at once, the children open the name.
        (void)shmq::Queue<Msg<N>>::create(names_.back(), o);
      });
    }
  }

  // Futex calls (waits entered + wakes issued) per message taken, from the segments' counters,
  // which every process of the run left there (warm-up included). Yields during a long spin
  // (event_count.hpp) are not counted.
  double syscalls_per_message() const override {
    std::uint64_t calls = 0;
    std::uint64_t messages = 0;
    for (const std::string& name : names_) {
      const shmq::CounterSnapshot c = shmq::inspect(name).totals;
      calls += c.sleeps + c.wakes;
      messages += c.msgs_got;
    }
    return messages == 0 ? -1 : static_cast<double>(calls) / static_cast<double>(messages);
  }

  void child(ChildContext& ctx) override {
    with_size(s_.bytes, [&]<std::size_t N>() {
      const shmq::WaitPolicy wait = policy_for(s_.wait);
      run_role<N>(
          ctx, v_.send_batch, v_.recv_batch,
          [&](int dir) { return QueueTx<N>(shmq::Queue<Msg<N>>::open(names_[dir], wait)); },
          [&](int dir) { return QueueRx<N>(shmq::Queue<Msg<N>>::open(names_[dir], wait)); });
    });
  }

 private:
  Scenario s_;
  Variant v_;
  std::vector<std::string> names_;
  Cleanup cleanup_;  // removes every name in names_, also if the constructor throws
};

class ShmqPeer final : public Peer {
 public:
  std::string_view name() const override { return "shmq"; }
  std::string_view description() const override {
    return "shmq::Queue<T> in a named segment (this library)";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) {
          return {{"spsc", "2 SPSC queues, put/get, spin 2^30 then futex", 1, 1, true}};
        }
        return {
            {"spsc", "2 SPSC queues, put/get, WaitPolicy{spin_iterations=0}", 1, 1, true},
            {"spsc, full fences", "as spsc, QueueOptions::asymmetric_fences = false", 1, 1, false}};
      case Figure::throughput:
        if (s.bytes <= 1024) {
          return {
              {"batch×32", "SPSC put_many/get_many ×32", kBatch, kBatch, true},
              {"1/call", "SPSC put/get, one message per call", 1, 1, false},
              {"1/call, full fences",
               "as 1/call, a full fence per put and get: asymmetric_fences = false", 1, 1, false},
              {"batch×32, slots", "as batch×32, one slot (header) per message: packed = false",
               kBatch, kBatch, false},
              {"1/call, slots", "as 1/call, one slot (header) per message: packed = false", 1, 1,
               false}};
        }
        return {{"1/call", "SPSC put/get (batching does not help at this size)", 1, 1, true},
                {"1/call, slots", "as 1/call, one slot (header) per message: packed = false", 1, 1,
                 false}};
      case Figure::mpmc:
        return {
            {"mpmc", "MPMC put/get, WaitPolicy{} (spin 4000, then futex)", 1, 1, true},
            {"mpmc, full fences", "as mpmc, QueueOptions::asymmetric_fences = false", 1, 1, false}};
      case Figure::manager:
        return shmq_manager_variants();
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant& v,
                               const std::string& unique) override {
    if (s.figure == Figure::manager) return make_shmq_manager_run(v, unique);
    return std::make_unique<ShmqRun>(s, v, unique);
  }
};

}  // namespace

std::unique_ptr<Peer> make_shmq_peer() {
  return std::make_unique<ShmqPeer>();
}

}  // namespace shmq_bench
