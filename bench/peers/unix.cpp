// unix: a Unix stream socket pair (socketpair(AF_UNIX, SOCK_STREAM), default buffers), inherited
// through fork(); each end both sends and receives.
#include <sys/socket.h>

#include "fd_stream.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

class UnixRun final : public Run {
 public:
  UnixRun(const Scenario& s, const Variant& v)
      : s_(s), v_(v), pair_(SOCK_STREAM, s.wait == Wait::spin) {}
  void child(ChildContext& ctx) override {
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, v_.send_batch, v_.recv_batch, [&](int d) { return FdTx<N>(pair_.tx(d)); },
          [&](int d) { return FdRx<N>(pair_.rx(d)); });
    });
  }

 private:
  Scenario s_;
  Variant v_;
  SocketPair pair_;
};

class UnixPeer final : public Peer {
 public:
  std::string_view name() const override { return "unix"; }
  std::string_view description() const override {
    return "Unix stream socket pair (socketpair AF_UNIX, SOCK_STREAM)";
  }
  std::vector<Variant> variants(const Scenario& s) const override { return stream_variants(s); }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant& v, const std::string&) override {
    return std::make_unique<UnixRun>(s, v);
  }
};

}  // namespace

std::unique_ptr<Peer> make_unix_peer() {
  return std::make_unique<UnixPeer>();
}

}  // namespace shmq_bench
