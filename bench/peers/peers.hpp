// The peers shmq-bench measures, one file each in bench/peers/. To add one (ZeroMQ, iceoryx, POSIX
// mq, Python's multiprocessing, ...): write bench/peers/NAME.cpp with a Peer whose variants() say
// which scenarios it has rows for and whose Run::child() hands its endpoints to run_role()
// (workloads.hpp); declare its factory here, list it in registry.cpp, add the file to
// bench/CMakeLists.txt (with its find_package), and describe it in docs/bench.md.
#pragma once

#include <memory>
#include <vector>

#include "../bench.hpp"

namespace shmq_bench {

std::unique_ptr<Peer> make_floor_peer();
std::unique_ptr<Peer> make_shmq_peer();
std::unique_ptr<Peer> make_pipe_peer();
std::unique_ptr<Peer> make_unix_peer();
std::unique_ptr<Peer> make_lockfree_peer();
std::unique_ptr<Peer> make_bip_mq_peer();

// Every peer, in the order of the report's rows.
std::vector<std::unique_ptr<Peer>> all_peers();

}  // namespace shmq_bench
