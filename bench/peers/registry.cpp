#include "peers.hpp"

namespace shmq_bench {

std::vector<std::unique_ptr<Peer>> all_peers() {
  std::vector<std::unique_ptr<Peer>> peers;
  peers.push_back(make_floor_peer());
  peers.push_back(make_shmq_peer());
  peers.push_back(make_lockfree_peer());
  peers.push_back(make_pipe_peer());
  peers.push_back(make_unix_peer());
  peers.push_back(make_bip_mq_peer());
  return peers;
}

}  // namespace shmq_bench
