// The `shmq` tool's commands. Each takes its parsed options, writes its report to stdout and
// returns the exit code; a failure about a segment propagates as shmq::Error, which main()
// prints as `shmq: segment "NAME": cause` and turns into exit code 1. See docs/cli.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace shmq::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // a segment is missing, corrupt, busy, ...
inline constexpr int kExitUsage = 2;    // the command line does not parse

// Bumped when a field of a --json document is renamed, removed or changes meaning (adding a
// field does not bump it). Every document carries it as "version".
inline constexpr int kJsonVersion = 1;

struct LsOptions {
  bool json = false;
};
int run_ls(const LsOptions& options);

struct InspectOptions {
  std::string name;
  bool json = false;
};
int run_inspect(const InspectOptions& options);

struct WatchOptions {
  std::string name;
  std::uint32_t interval_ms = 1000;
  std::uint64_t count = 0;  // refreshes; 0: until Ctrl-C
};
int run_watch(const WatchOptions& options);

enum class DumpFormat { hex, text, json };
struct DumpOptions {
  std::string name;
  std::size_t max = 100;  // 0: every message
  DumpFormat format = DumpFormat::hex;
};
int run_dump(const DumpOptions& options);

struct RmOptions {
  std::vector<std::string> names;
  bool force = false;
};
int run_rm(const RmOptions& options);

struct GcOptions {
  bool dry_run = false;
  std::string prefix;
  bool include_backlog = false;  // also remove segments that still hold messages
  bool json = false;
};
int run_gc(const GcOptions& options);

// Runs Manager::serve(name) in this process: creates the manager if absent, adopts it if its
// server died; returns once it is shut down (SIGINT, SIGTERM, or a client's shutdown()).
int run_serve(const std::string& name);

}  // namespace shmq::cli
