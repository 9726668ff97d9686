// lockfree: boost::lockfree::spsc_queue (compile-time capacity, so it holds no pointer) constructed
// in a Boost.Interprocess managed_shared_memory segment; both sides busy-poll (it has no blocking
// form, so it has no sleeping row). The baseline of docs/design.md §8's throughput target.
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include "../workloads.hpp"
#include "cleanup.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

namespace bip = boost::interprocess;

template <std::size_t N>
using SpscQueue = boost::lockfree::spsc_queue<Msg<N>, boost::lockfree::capacity<capacity_for(N)>>;

const char* queue_name(int dir) {
  return dir == 0 ? "q0" : "q1";
}

template <std::size_t N>
class LockfreeTx {
 public:
  explicit LockfreeTx(SpscQueue<N>* q) : q_(q) {}
  void send(const Msg<N>& m) {
    while (!q_->push(m))
      cpu_relax();
  }
  void send_many(const Msg<N>* m, std::size_t n) {
    while (n != 0) {
      const std::size_t k = q_->push(m, n);
      if (k == 0) cpu_relax();
      m += k;
      n -= k;
    }
  }

 private:
  SpscQueue<N>* q_;
};

template <std::size_t N>
class LockfreeRx {
 public:
  explicit LockfreeRx(SpscQueue<N>* q) : q_(q) {}
  std::size_t recv(Msg<N>* out, std::size_t max) {
    for (;;) {
      const std::size_t k = max == 1 ? (q_->pop(*out) ? 1 : 0) : q_->pop(out, max);
      if (k != 0) return k;
      cpu_relax();
    }
  }

 private:
  SpscQueue<N>* q_;
};

class LockfreeRun final : public Run {
 public:
  LockfreeRun(const Scenario& s, const Variant& v, const std::string& unique)
      : s_(s), v_(v), name_(unique + "-lockfree") {
    const int queues = s.figure == Figure::roundtrip ? 2 : 1;
    cleanup_.add([name = name_] { bip::shared_memory_object::remove(name.c_str()); });
    with_size(s.bytes, [&]<std::size_t N>() {
      const std::size_t bytes = queues * sizeof(SpscQueue<N>) + 64 * 1024;
      bip::managed_shared_memory seg(bip::create_only, name_.c_str(), bytes);
      for (int i = 0; i < queues; ++i)
        seg.construct<SpscQueue<N>>(queue_name(i))();
    });  // the parent unmaps; the children map the name
  }
  void child(ChildContext& ctx) override {
    with_size(s_.bytes, [&]<std::size_t N>() {
      bip::managed_shared_memory seg(bip::open_only, name_.c_str());
      auto find = [&](int dir) {
        SpscQueue<N>* q = seg.find<SpscQueue<N>>(queue_name(dir)).first;
        if (q == nullptr) throw std::runtime_error("lockfree: queue not found in the segment");
        return q;
      };
      run_role<N>(
          ctx, v_.send_batch, v_.recv_batch, [&](int d) { return LockfreeTx<N>(find(d)); },
          [&](int d) { return LockfreeRx<N>(find(d)); });
    });
  }

 private:
  Scenario s_;
  Variant v_;
  std::string name_;
  Cleanup cleanup_;
};

class LockfreePeer final : public Peer {
 public:
  std::string_view name() const override { return "lockfree"; }
  std::string_view description() const override {
    return "boost::lockfree::spsc_queue in a managed_shared_memory segment (busy-poll)";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) return {{"spsc", "2 spsc_queues, push/pop, busy-poll"}};
        return {};  // no blocking form
      case Figure::throughput:
        if (s.bytes <= 1024) {
          return {{"batch×32", "push/pop arrays of 32, busy-poll", kBatch, kBatch},
                  {"1/call", "push/pop one at a time, busy-poll", 1, 1}};
        }
        return {{"1/call", "push/pop one at a time, busy-poll", 1, 1}};
      case Figure::mpmc:
        return {};  // single producer, single consumer only
      case Figure::manager:
        return {};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant& v,
                               const std::string& unique) override {
    return std::make_unique<LockfreeRun>(s, v, unique);
  }
};

}  // namespace

std::unique_ptr<Peer> make_lockfree_peer() {
  return std::make_unique<LockfreePeer>();
}

}  // namespace shmq_bench
