// iox-roudi, iceoryx's daemon, started by the bench for the iceoryx rows and stopped after them.
//
// Start: a config sized for the bench (a few MiB of chunks instead of the default ~216 MB) is
// written next to a log file under /tmp; iox-roudi runs in its own process group with SIGINT as
// its parent-death signal (so it cleans up even if the bench is killed); the bench waits until its
// log says "RouDi is ready for clients" (at most 10 s). If RouDi's lock is held, a RouDi is
// already running on this machine: the bench uses it and leaves it alone. Any other failure
// (no permission, no binary, a crash) becomes Unavailable with the reason from the log.
// The binary is the iox-roudi CMake found, or $SHMQ_BENCH_IOX_ROUDI.
// One run at a time: RouDi's names are fixed (one RouDi per machine), so a second bench that
// used the first one's RouDi would lose it when the first stops it mid-row. Each bench holds an
// flock on /tmp/shmq-bench-iox-roudi.lock from start to stop; another one waits for it (up to
// 5 minutes, then its iceoryx rows are Unavailable with that reason).
// Stop: SIGINT (RouDi removes its shared memory, socket and locks), SIGKILL after 5 s, and then
// the bench removes what a killed RouDi leaves: /dev/shm/iceoryx_mgmt, /dev/shm/<user>,
// /tmp/roudi, /tmp/roudi.lock, /tmp/iox-unique-roudi.lock.
#pragma once

#include <sys/types.h>

#include <string>

namespace shmq_bench {

class Roudi {
 public:
  // Starts (or finds) RouDi. Throws Unavailable when neither works.
  explicit Roudi(const std::string& unique);
  ~Roudi();
  Roudi(const Roudi&) = delete;
  Roudi& operator=(const Roudi&) = delete;

  bool ours() const noexcept { return pid_ > 0; }  // false: one was already running

 private:
  void stop() noexcept;

  // The flock that makes this bench the only one using RouDi; released with the object, also when
  // the constructor throws.
  struct RunLock {
    int fd = -1;
    ~RunLock();
  };
  RunLock run_lock_;
  pid_t pid_ = -1;
  std::string config_path_;
  std::string log_path_;
};

}  // namespace shmq_bench
