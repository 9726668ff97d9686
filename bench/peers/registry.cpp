#include <utility>

#include "peers.hpp"

namespace shmq_bench {
namespace {

class UnavailablePeer final : public Peer {
 public:
  UnavailablePeer(std::string name, std::string why)
      : name_(std::move(name)), why_(std::move(why)) {}
  std::string_view name() const override { return name_; }
  std::string_view description() const override { return why_; }
  std::vector<Variant> variants(const Scenario& s) const override {
    if (s.figure != Figure::roundtrip || s.wait != Wait::spin) return {};
    return {{"-", "not built"}};
  }
  std::unique_ptr<Run> prepare(const Scenario&, const Variant&, const std::string&) override {
    throw Unavailable(why_);
  }

 private:
  std::string name_;
  std::string why_;
};

}  // namespace

std::unique_ptr<Peer> unavailable_peer(std::string name, std::string why) {
  return std::make_unique<UnavailablePeer>(std::move(name), std::move(why));
}

std::vector<std::unique_ptr<Peer>> all_peers() {
  std::vector<std::unique_ptr<Peer>> peers;
  peers.push_back(make_floor_peer());
  peers.push_back(make_shmq_peer());
  peers.push_back(make_lockfree_peer());
  peers.push_back(make_eventfd_peer());
  peers.push_back(make_pipe_peer());
  peers.push_back(make_unix_peer());
  peers.push_back(make_unix_seqpacket_peer());
  peers.push_back(make_posix_mq_peer());
  peers.push_back(make_bip_mq_peer());
#ifdef SHMQ_BENCH_HAVE_ZMQ
  peers.push_back(make_zmq_peer());
#else
  peers.push_back(unavailable_peer("zmq", "built without ZeroMQ (libzmq3-dev, cppzmq-dev)"));
#endif
#ifdef SHMQ_BENCH_HAVE_ICEORYX
  peers.push_back(make_iceoryx_peer());
#else
  peers.push_back(
      unavailable_peer("iceoryx", "built without iceoryx (iceoryx, libiceoryx-posh-dev)"));
#endif
  peers.push_back(make_python_peer());
  return peers;
}

}  // namespace shmq_bench
