// What shmq-stress prints: the final summary and the --json document. Tables, figures and the
// queue state the watchdog dumps come from output/, as `shmq inspect` prints them.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "oracle.hpp"
#include "output/human.hpp"
#include "output/segment_text.hpp"
#include "output/table.hpp"
#include "supervisor.hpp"

namespace shmq::stress {

// The run as a whole, for the summary and --json.
struct Summary {
  const Config& config;
  const RunOutcome& run;
  const Verdict& verdict;
  std::string log_dir;  // empty when the logs were removed
  int exit_code = 0;
};

std::string format_summary(const Summary& s);
nlohmann::ordered_json summary_json(const Summary& s);

}  // namespace shmq::stress
