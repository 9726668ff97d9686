// The producer and consumer processes of a run, and the little state they share with the
// supervisor outside of shmq (an anonymous shared mapping made before the first fork): a stop
// flag, the --messages ticket counter, and per-slot progress figures for the live line.
// None of it takes part in the oracle: that reads only the logs (run_log.hpp).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "config.hpp"

namespace shmq::stress {

// Producers + consumers at most: the queue's registry has 64 entries, and the supervisor needs
// one at the end to close the queue.
inline constexpr unsigned kMaxWorkers = 62;

// One logical worker (a producer or consumer slot); its incarnations come and go.
struct alignas(64) SlotShared {
  std::atomic<std::uint64_t> messages;    // puts (producer) or gets (consumer) so far
  std::atomic<std::uint64_t> violations;  // consumer: damaged, reordered or repeated messages
};

struct SharedControl {
  alignas(64) std::atomic<std::uint32_t> stop_producers;
  alignas(64) std::atomic<std::uint64_t> tickets;  // puts handed out under --messages
  // Pipe: every producer has exited for good, so end-of-file is final (a queue is closed instead).
  alignas(64) std::atomic<std::uint32_t> producers_done;
  SlotShared slots[kMaxWorkers];
};

// Zeroed, shared with every child forked afterwards. Throws std::system_error.
SharedControl* map_shared_control();
void unmap_shared_control(SharedControl* control) noexcept;

struct WorkerSpec {
  Role role = Role::producer;
  unsigned slot = 0;
  std::uint32_t id = 0;  // incarnation id: unique in the run, carried by every message it puts
  std::string log_path;
  pid_t supervisor = 0;
};

// Exit codes of a worker process (anything else, or a signal the supervisor did not send, is a
// crash).
inline constexpr int kWorkerOk = 0;
inline constexpr int kWorkerSetupFailed = 3;  // open or log creation failed
inline constexpr int kWorkerUnexpected = 4;   // the queue returned a status it must not
inline constexpr int kWorkerLogFailed = 5;    // a log write failed

// The body of a worker process (runs in the forked child; returns its exit code).
int run_worker(const Config& config, const WorkerSpec& spec, SharedControl& control);

// --kind manager: the list producers append to and consumers pop from.
inline constexpr const char* kManagerList = "stress";
// The body of the Manager server process (Manager::serve until shutdown()).
int run_manager_server(const Config& config, pid_t supervisor);

}  // namespace shmq::stress
