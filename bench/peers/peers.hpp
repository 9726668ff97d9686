// The peers shmq-bench measures, one file each in bench/peers/. To add one: write
// bench/peers/NAME.cpp with a Peer whose variants() say which scenarios it has rows for and whose
// Run::child() hands its endpoints to run_role() (workloads.hpp) — or, for a peer measured by an
// outside program, whose measure_itself() runs it (python.cpp); declare its factory here, list it
// in registry.cpp, add the file to bench/CMakeLists.txt (with its find_package, and an
// unavailable_peer() in registry.cpp where the library may be missing), and describe it in
// docs/bench.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../bench.hpp"

namespace shmq_bench {

std::unique_ptr<Peer> make_floor_peer();
std::unique_ptr<Peer> make_shmq_peer();
std::unique_ptr<Peer> make_pipe_peer();
std::unique_ptr<Peer> make_unix_peer();
std::unique_ptr<Peer> make_unix_seqpacket_peer();
std::unique_ptr<Peer> make_lockfree_peer();
std::unique_ptr<Peer> make_posix_mq_peer();
std::unique_ptr<Peer> make_bip_mq_peer();
std::unique_ptr<Peer> make_eventfd_peer();
std::unique_ptr<Peer> make_zmq_peer();      // only with SHMQ_BENCH_HAVE_ZMQ
std::unique_ptr<Peer> make_iceoryx_peer();  // only with SHMQ_BENCH_HAVE_ICEORYX
std::unique_ptr<Peer> make_python_peer();

// A peer this binary was built without: one row, skipped, that says `why`.
std::unique_ptr<Peer> unavailable_peer(std::string name, std::string why);

// The shmq peer's rows of the manager figure (shmq_manager.cpp).
std::vector<Variant> shmq_manager_variants();
std::unique_ptr<Run> make_shmq_manager_run(const Variant& v, const std::string& unique);

// Every peer, in the order of the report's rows.
std::vector<std::unique_ptr<Peer>> all_peers();

}  // namespace shmq_bench
