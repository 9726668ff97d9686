// The supervisor: the parent process of a run. It creates the queue, forks the producers and
// consumers, runs the chaos schedule (SIGKILL + restart, SIGSTOP + later SIGCONT), shows the live
// progress line, watches for a run that stopped moving, and shuts the run down in order:
// producers stop, the queue is closed, consumers drain, everyone is joined, the segment unlinked.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "shmq/inspect.hpp"

namespace shmq::stress {

// One process of the run. A killed worker is replaced by a new incarnation with a new id.
struct Incarnation {
  enum class End : std::uint8_t {
    running,
    exited,      // left on its own with exit code 0
    chaos_kill,  // SIGKILLed by --chaos
    abort_kill,  // SIGKILLed by the supervisor when the run was abandoned
    crashed,     // any other end: a non-zero exit code or a signal nobody sent
  };
  std::uint32_t id = 0;
  Role role = Role::producer;
  unsigned slot = 0;
  pid_t pid = 0;
  std::uint64_t start_ns = 0;  // CLOCK_MONOTONIC before fork()
  std::uint64_t end_ns = 0;    // after it was reaped
  End end = End::running;
  int exit_code = 0;  // Process::exitcode(): -N for signal N
  std::string log_path;

  bool killed() const noexcept { return end == End::chaos_kill || end == End::abort_kill; }
};

constexpr const char* to_string(Incarnation::End e) noexcept {
  switch (e) {
    case Incarnation::End::running:
      return "running";
    case Incarnation::End::exited:
      return "exited";
    case Incarnation::End::chaos_kill:
      return "killed (chaos)";
    case Incarnation::End::abort_kill:
      return "killed (abort)";
    case Incarnation::End::crashed:
      return "crashed";
  }
  return "?";
}

struct RunOutcome {
  enum class Kind : std::uint8_t { completed, stuck, crashed, interrupted };
  Kind kind = Kind::completed;
  std::string reason;  // one line, for stuck / crashed / interrupted
  std::string dump;    // what was printed when the watchdog fired or a worker crashed
  std::vector<Incarnation> incarnations;
  std::uint64_t kills_producers = 0;
  std::uint64_t kills_consumers = 0;
  std::uint64_t stops = 0;
  double loaded_seconds = 0;                  // the phase under load (and chaos)
  double total_seconds = 0;                   // setup to the last join
  std::optional<SegmentReport> final_report;  // inspect() after every worker was joined
  std::string final_report_error;
  // INV-E1 after every worker was joined and dead sleepers were reaped: the waiters bits left
  // in the segment's eventcounts (empty: none; nobody waits any more).
  std::string waiters_left;
  bool segment_kept = false;  // --keep-segment on a run that could not finish
};

constexpr const char* to_string(RunOutcome::Kind k) noexcept {
  switch (k) {
    case RunOutcome::Kind::completed:
      return "completed";
    case RunOutcome::Kind::stuck:
      return "stuck";
    case RunOutcome::Kind::crashed:
      return "crashed";
    case RunOutcome::Kind::interrupted:
      return "interrupted";
  }
  return "?";
}

// Runs the processes; logs go to `log_dir`. Throws shmq::Error / std::system_error on setup
// failures (the queue cannot be created, fork fails). Unlinks the segment on every path.
RunOutcome supervise(const Config& config, const std::string& log_dir);

}  // namespace shmq::stress
