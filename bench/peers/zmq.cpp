// zmq: ZeroMQ over ipc:// (a Unix socket under /tmp), through cppzmq. Each child makes its own
// context after the fork (a context does not survive fork()); the receiving side binds, the
// sending side connects. Round trip: one PAIR socket each side, both directions over it.
// Throughput: PUSH -> PULL, send and receive high-water marks of capacity/2 each (so at most about
// one capacity queued between them, plus the kernel socket buffers). Spinning retries
// ZMQ_DONTWAIT calls; sleeping, the calls block. ZeroMQ's I/O thread does the socket work, so
// each process runs two threads.
//
// No MPMC row: ZeroMQ has no shared queue — a PUSH load-balances over its own pipes to each PULL,
// asynchronously — so a stop sent after every producer's last message can overtake another
// producer's messages still in its pipe, which the shared workload cannot allow.
#include <unistd.h>

#include <stdexcept>
#include <zmq.hpp>

#include "../workloads.hpp"
#include "cleanup.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

template <std::size_t N>
class ZmqTx {
 public:
  ZmqTx(zmq::socket_t* s, bool spin) : s_(s), spin_(spin) {}
  void send(const Msg<N>& m) {
    if (!spin_) {
      (void)s_->send(zmq::const_buffer(m.bytes, N), zmq::send_flags::none);
      return;
    }
    while (!s_->send(zmq::const_buffer(m.bytes, N), zmq::send_flags::dontwait))
      cpu_relax();  // the high-water mark is reached
  }

 private:
  zmq::socket_t* s_;
  bool spin_;
};

template <std::size_t N>
class ZmqRx {
 public:
  ZmqRx(zmq::socket_t* s, bool spin) : s_(s), spin_(spin) {}
  std::size_t recv(Msg<N>* out, std::size_t) {
    const auto flags = spin_ ? zmq::recv_flags::dontwait : zmq::recv_flags::none;
    for (;;) {
      const zmq::recv_buffer_result_t r = s_->recv(zmq::mutable_buffer(out->bytes, N), flags);
      if (r) {
        if (r->truncated() || r->size != N) {
          throw std::runtime_error(fmt::format("zmq recv: a {}-byte message", r->untruncated_size));
        }
        return 1;
      }
      cpu_relax();
    }
  }

 private:
  zmq::socket_t* s_;
  bool spin_;
};

class ZmqRun final : public Run {
 public:
  ZmqRun(const Scenario& s, const std::string& unique)
      : s_(s), path_(fmt::format("/tmp/{}.ipc", unique)) {
    cleanup_.add([path = path_] { ::unlink(path.c_str()); });  // a receiver that died leaves it
  }
  void child(ChildContext& ctx) override {
    const bool roundtrip = s_.figure == Figure::roundtrip;
    // The receiving side (pong, consumer) binds: it is there for as long as the run needs it.
    const bool binds = ctx.role() == Role::pong || ctx.role() == Role::consumer;
    const zmq::socket_type type = roundtrip ? zmq::socket_type::pair
                                  : binds   ? zmq::socket_type::pull
                                            : zmq::socket_type::push;
    zmq::context_t context(1);
    zmq::socket_t socket(context, type);
    const int hwm = static_cast<int>(capacity_for(s_.bytes) / 2);
    socket.set(zmq::sockopt::sndhwm, hwm);
    socket.set(zmq::sockopt::rcvhwm, hwm);
    const std::string endpoint = "ipc://" + path_;
    if (binds) {
      socket.bind(endpoint);
    } else {
      socket.connect(endpoint);  // queues until the peer has bound
    }
    const bool spin = s_.wait == Wait::spin;
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, 1, 1, [&](int) { return ZmqTx<N>(&socket, spin); },
          [&](int) { return ZmqRx<N>(&socket, spin); });
    });
    // Leaving: the socket's linger (infinite by default) delivers what is queued, the stop
    // included, before the context ends. Even so, under load a PULL lost the last messages (the
    // stop included) when its PUSH peer disconnected right after sending them (the consumer then
    // waited for ever; caught with gdb: producer gone, consumer's I/O thread idle). So a sender
    // keeps its connection until every consumer took its stop.
    if (ctx.role() == Role::producer) ctx.wait_consumers_done(5'000'000'000);
  }

 private:
  Scenario s_;
  std::string path_;
  Cleanup cleanup_;
};

class ZmqPeer final : public Peer {
 public:
  std::string_view name() const override { return "zmq"; }
  std::string_view description() const override {
    return "ZeroMQ ipc:// (cppzmq): PAIR for round trip, PUSH/PULL for throughput";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) return {{"pair", "PAIR, ZMQ_DONTWAIT send/recv retried"}};
        return {{"pair", "PAIR, blocking send/recv"}};
      case Figure::throughput:
        return {{"push/pull",
                 fmt::format("PUSH/PULL, ZMQ_DONTWAIT retried, 1 msg/call, HWM {} each side",
                             capacity_for(s.bytes) / 2)}};
      case Figure::mpmc:  // no shared queue (see above)
      case Figure::manager:
        return {};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant&,
                               const std::string& unique) override {
    return std::make_unique<ZmqRun>(s, unique);
  }
};

}  // namespace

std::unique_ptr<Peer> make_zmq_peer() {
  return std::make_unique<ZmqPeer>();
}

}  // namespace shmq_bench
