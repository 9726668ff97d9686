// unix_seqpacket: a Unix seqpacket socket pair (socketpair(AF_UNIX, SOCK_SEQPACKET), default
// buffers), inherited through fork(). The kernel keeps message boundaries: one write() is one
// packet, one recvmmsg() takes up to a batch of whole packets, and several processes may share an
// end — so, unlike a byte stream, it has an MPMC row (every producer writes to end 0, every
// consumer reads end 1).
#include <sys/socket.h>

#include "fd_stream.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

class SeqpacketRun final : public Run {
 public:
  SeqpacketRun(const Scenario& s, const Variant& v)
      : s_(s), v_(v), pair_(SOCK_SEQPACKET, s.wait == Wait::spin) {}
  void child(ChildContext& ctx) override {
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, v_.send_batch, v_.recv_batch, [&](int d) { return FdTx<N>(pair_.tx(d)); },
          [&](int d) { return SeqpacketRx<N>(pair_.rx(d)); });
    });
  }

 private:
  Scenario s_;
  Variant v_;
  SocketPair pair_;
};

class SeqpacketPeer final : public Peer {
 public:
  std::string_view name() const override { return "unix_seqpacket"; }
  std::string_view description() const override {
    return "Unix seqpacket socket pair (socketpair AF_UNIX, SOCK_SEQPACKET)";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) return {{"nonblock", "O_NONBLOCK write/recv retried"}};
        return {{"blocking", "blocking write/recv"}};
      case Figure::throughput: {
        const std::size_t rb = s.bytes <= 1024 ? kBatch : 1;
        return {{"nonblock",
                 fmt::format("write 1 msg/call, recvmmsg ≤{} msgs/call, O_NONBLOCK", rb), 1, rb}};
      }
      case Figure::mpmc:
        return {{"blocking", "one socket pair shared by all, blocking write/recv"}};
      case Figure::manager:
        return {};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant& v, const std::string&) override {
    return std::make_unique<SeqpacketRun>(s, v);
  }
};

}  // namespace

std::unique_ptr<Peer> make_unix_seqpacket_peer() {
  return std::make_unique<SeqpacketPeer>();
}

}  // namespace shmq_bench
