// The oracle: reconciles every process's log after the run (Jepsen's total-queue check) and sets
// the library's own counters beside them. How each class is decided: docs/stress.md, "Oracle".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "shmq/inspect.hpp"
#include "supervisor.hpp"

namespace shmq::stress {

struct Verdict {
  // Deliveries and commits.
  std::uint64_t committed = 0;  // puts that returned ok and were logged
  std::uint64_t received = 0;   // messages consumers logged (damaged ones included)
  std::uint64_t distinct = 0;   // distinct (producer, seq) among the intact ones

  // Violations: any of them fails the run.
  std::uint64_t lost = 0;  // meaningful only if `drained`
  std::uint64_t duplicated = 0;
  std::uint64_t corrupt = 0;  // damaged + phantom
  std::uint64_t phantom = 0;  // of corrupt: a (producer, seq) that was never put
  std::uint64_t reordered = 0;

  // In doubt: attributable to a killed process, never a violation.
  std::uint64_t in_doubt_put = 0;  // delivered, but its killed producer never logged the put
  std::uint64_t in_doubt_get = 0;  // committed, never logged, taken by a killed consumer
  std::uint64_t in_doubt_bound = 0;
  std::uint64_t killed_producers = 0;
  std::uint64_t killed_consumers = 0;

  bool drained = false;           // the run completed: everything committed was consumable
  std::uint64_t undelivered = 0;  // committed and never received (the raw figure)
  std::uint64_t torn_bytes = 0;   // trailing partial records in killed processes' logs
  std::uint64_t attribution_limit_hit = 0;

  // The library's counters (shmq::inspect totals after every worker was joined).
  bool have_library = false;
  CounterSnapshot library;
  std::uint64_t logged_puts = 0;  // Σ over producer logs
  std::uint64_t logged_gets = 0;  // Σ over consumer logs of messages get() returned
  bool library_consistent = true;
  std::vector<std::string> library_notes;  // why not, one line each

  std::vector<std::string> examples;        // a few instances of each violation, for the report
  std::vector<std::string> harness_errors;  // a log that makes no sense (a shmq-stress bug)

  std::uint64_t violations() const noexcept { return lost + duplicated + corrupt + reordered; }
  bool pass() const noexcept {
    return drained && violations() == 0 && library_consistent && harness_errors.empty();
  }
};

Verdict reconcile(const Config& config, const RunOutcome& run);

}  // namespace shmq::stress
