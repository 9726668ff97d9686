// bip_mq: boost::interprocess::message_queue — a named shared-memory queue guarded by an
// interprocess mutex and two condition variables (process-shared pthread objects on Linux).
// Multi-producer, multi-consumer; spinning uses try_send/try_receive, otherwise send/receive block.
#include <boost/interprocess/ipc/message_queue.hpp>

#include <memory>

#include "../workloads.hpp"
#include "cleanup.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

namespace bip = boost::interprocess;

template <std::size_t N>
class MqTx {
 public:
  MqTx(bip::message_queue* q, bool spin) : q_(q), spin_(spin) {}
  void send(const Msg<N>& m) {
    if (!spin_) return q_->send(m.bytes, N, 0);
    while (!q_->try_send(m.bytes, N, 0))
      cpu_relax();
  }

 private:
  bip::message_queue* q_;
  bool spin_;
};

template <std::size_t N>
class MqRx {
 public:
  MqRx(bip::message_queue* q, bool spin) : q_(q), spin_(spin) {}
  std::size_t recv(Msg<N>* out, std::size_t) {
    bip::message_queue::size_type got = 0;
    unsigned int priority = 0;
    if (spin_) {
      while (!q_->try_receive(out->bytes, N, got, priority))
        cpu_relax();
    } else {
      q_->receive(out->bytes, N, got, priority);
    }
    if (got != N) throw std::runtime_error(fmt::format("message_queue: got {} bytes", got));
    return 1;
  }

 private:
  bip::message_queue* q_;
  bool spin_;
};

class MqRun final : public Run {
 public:
  MqRun(const Scenario& s, const std::string& unique) : s_(s) {
    const int queues = s.figure == Figure::roundtrip ? 2 : 1;
    for (int i = 0; i < queues; ++i) {
      names_.push_back(fmt::format("{}-mq{}", unique, i));
      cleanup_.add([name = names_.back()] { bip::message_queue::remove(name.c_str()); });
      bip::message_queue(bip::create_only, names_.back().c_str(), capacity_for(s.bytes), s.bytes);
    }
  }
  void child(ChildContext& ctx) override {
    std::vector<std::unique_ptr<bip::message_queue>> open;
    for (const std::string& n : names_) {
      open.push_back(std::make_unique<bip::message_queue>(bip::open_only, n.c_str()));
    }
    const bool spin = s_.wait == Wait::spin;
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, 1, 1, [&](int d) { return MqTx<N>(open[d].get(), spin); },
          [&](int d) { return MqRx<N>(open[d].get(), spin); });
    });
  }

 private:
  Scenario s_;
  std::vector<std::string> names_;
  Cleanup cleanup_;
};

class MqPeer final : public Peer {
 public:
  std::string_view name() const override { return "bip_mq"; }
  std::string_view description() const override {
    return "boost::interprocess::message_queue (mutex + condition variables in shared memory)";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) return {{"try", "2 queues, try_send/try_receive busy-poll"}};
        return {{"blocking", "2 queues, blocking send/receive"}};
      case Figure::throughput:
        return {{"try", "try_send/try_receive busy-poll, 1 msg/call"}};
      case Figure::mpmc:
        return {{"blocking", "blocking send/receive"}};
      case Figure::manager:
        return {};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant&,
                               const std::string& unique) override {
    return std::make_unique<MqRun>(s, unique);
  }
};

}  // namespace

std::unique_ptr<Peer> make_bip_mq_peer() {
  return std::make_unique<MqPeer>();
}

}  // namespace shmq_bench
