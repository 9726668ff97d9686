// What shmq-stress prints: aligned tables, the final summary, the --json document, and the
// queue state the watchdog dumps (the same fields `shmq inspect` shows).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "oracle.hpp"
#include "shmq/inspect.hpp"
#include "supervisor.hpp"

namespace shmq::stress {

// Columns separated by two spaces, each as wide as its widest cell.
class TextTable {
 public:
  struct Column {
    std::string title;
    bool right = false;
  };
  explicit TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "950", "12.3k", "4.56M".
std::string human_count(double n);

// The segment report as text: header lines, processes, counters.
std::string format_inspect(const SegmentReport& report);
nlohmann::ordered_json inspect_json(const SegmentReport& report);

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
