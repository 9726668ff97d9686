// unix: a Unix stream socket pair (socketpair(AF_UNIX, SOCK_STREAM), default buffers), inherited
// through fork(); each end both sends and receives.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "cleanup.hpp"
#include "fd_stream.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

class UnixRun final : public Run {
 public:
  UnixRun(const Scenario& s, const Variant& v) : s_(s), v_(v) {
    const int type = SOCK_STREAM | (s.wait == Wait::spin ? SOCK_NONBLOCK : 0);
    if (socketpair(AF_UNIX, type, 0, sv_) != 0) {
      throw std::system_error(errno, std::generic_category(), "socketpair");
    }
    cleanup_.add([this] {
      close(sv_[0]);
      close(sv_[1]);
    });
  }
  void child(ChildContext& ctx) override {
    // Direction 0 (ping -> pong, producer -> consumer) goes from sv_[0] to sv_[1]; 1 comes back.
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, v_.send_batch, v_.recv_batch, [&](int d) { return FdTx<N>(sv_[d == 0 ? 0 : 1]); },
          [&](int d) { return FdRx<N>(sv_[d == 0 ? 1 : 0]); });
    });
  }

 private:
  Scenario s_;
  Variant v_;
  int sv_[2] = {-1, -1};
  Cleanup cleanup_;
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
