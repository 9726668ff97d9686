// The report: aligned tables on stdout (one per figure, each row with its ratio to shmq's row of
// the same scenario) and the JSON file; and the checker of such a file (--check-json).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner.hpp"

namespace shmq_bench {

struct HostInfo {
  int cpus = 0;  // CPUs this process may run on
  std::string cpu_model;
  std::string kernel;
  std::vector<int> cpu_order;  // where children were pinned (cpu_order()); empty: not pinned
};
HostInfo host_info(const RunOptions& options);

struct ReportConfig {
  bool quick = false;
  int hogs = 0;  // --loaded: busy processes started by the bench for the whole run
  RunOptions timing;
  std::vector<std::string> peers;
  std::vector<std::string> figures;
  double elapsed_s = 0;
};

// The schema's name; bump it when a key changes meaning or goes away.
inline constexpr const char* kJsonSchema = "shmq-bench/1";

void print_report(std::FILE* out, const HostInfo& host, const ReportConfig& config,
                  const std::vector<Measurement>& rows);
nlohmann::json to_json(const HostInfo& host, const ReportConfig& config,
                       const std::vector<std::pair<std::string, std::string>>& peers,
                       const std::vector<Measurement>& rows);
// What is wrong with a report file: missing or mistyped keys, failed rows. Empty: it is fine.
std::vector<std::string> check_json(const nlohmann::json& j);

}  // namespace shmq_bench
