// shmq-bench: shmq side by side with the floor and other IPC mechanisms, in one run, on this
// machine (docs/design.md §8). What each figure means and how it is measured: docs/bench.md.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench.hpp"
#include "peers/peers.hpp"
#include "report.hpp"
#include "runner.hpp"

namespace shmq_bench {
namespace {

constexpr double kQuickBudget = 55;  // seconds: --quick stays under a minute

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct Planned {
  Scenario scenario;
  Peer* peer;
  Variant variant;
};

std::vector<Scenario> scenarios(const std::vector<std::string>& figures, bool quick) {
  std::vector<Scenario> out;
  auto want = [&](std::string_view f) {
    return std::find(figures.begin(), figures.end(), f) != figures.end();
  };
  if (want("roundtrip")) {
    out.push_back({Figure::roundtrip, Wait::spin, 8, 1, 1});
    out.push_back({Figure::roundtrip, Wait::sleep, 8, 1, 1});
  }
  if (want("throughput")) {
    for (const std::size_t bytes : kMessageSizes) {
      if (quick && bytes > 1024) continue;
      out.push_back({Figure::throughput, Wait::spin, bytes, 1, 1});
    }
  }
  if (want("mpmc")) {
    out.push_back({Figure::mpmc, Wait::normal, 64, 2, 2});
    // Oversubscribed where there are few CPUs (2 cores: 8 processes): it must still progress.
    out.push_back({Figure::mpmc, Wait::normal, 64, 4, 4});
  }
  if (want("manager")) out.push_back({Figure::manager, Wait::normal, 8, 1, 1});
  return out;
}

int check_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    fmt::print(stderr, "check-json: cannot read {}\n", path);
    return 1;
  }
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    fmt::print(stderr, "check-json: {} is not JSON: {}\n", path, e.what());
    return 1;
  }
  const std::vector<std::string> bad = check_json(j);
  for (const std::string& b : bad)
    fmt::print(stderr, "check-json: {}: {}\n", path, b);
  if (bad.empty()) fmt::print("check-json: {}: ok ({} results)\n", path, j["results"].size());
  return bad.empty() ? 0 : 1;
}

extern "C" void on_signal(int) {
  g_interrupted = 1;
}

// --loaded: one busy process per CPU beside every row, so that the run's processes share the
// CPUs with strangers, as on a busy host. Killed (and reaped) when the object goes.
class Hogs {
 public:
  explicit Hogs(int n) {
    for (int i = 0; i < n; ++i) {
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error("--loaded: fork failed");
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        volatile std::uint64_t spin = 0;
        for (;;)
          spin = spin + 1;
      }
      pids_.push_back(pid);
    }
  }
  Hogs(const Hogs&) = delete;
  Hogs& operator=(const Hogs&) = delete;
  ~Hogs() {
    for (const pid_t pid : pids_)
      ::kill(pid, SIGKILL);
    for (const pid_t pid : pids_)
      ::waitpid(pid, nullptr, 0);
  }
  int count() const noexcept { return static_cast<int>(pids_.size()); }

 private:
  std::vector<pid_t> pids_;
};

struct Args {
  bool quick = false;
  std::string peers_arg;
  std::string figures_arg = "roundtrip,throughput,mpmc,manager";
  std::string json_path;
  std::string check_path;
  double seconds = 0;
  bool list = false;
  bool loaded = false;
  std::string cpus_arg;
};

// An exit code if the command line is bad (2) or asks only for help.
std::optional<int> parse_args(int argc, char** argv, Args& a) {
  CLI::App app{"shmq-bench: shmq side by side with the floor and other IPC mechanisms"};
  app.add_flag("--quick", a.quick,
               "Shorter runs, no 64 KiB messages: the whole run stays under 60 s");
  app.add_option("--peers", a.peers_arg, "Comma-separated peers to run (default: all; see --list)");
  app.add_option("--figures", a.figures_arg,
                 "Comma-separated figures: roundtrip,throughput,mpmc,manager")
      ->capture_default_str();
  app.add_option("--seconds", a.seconds,
                 "Measured seconds per row (default 2, or 0.5 with --quick)")
      ->check(CLI::Range(0.01, 600.0));
  app.add_option("--json", a.json_path, "Also write the results to this JSON file");
  app.add_option("--check-json", a.check_path,
                 "Only validate a JSON file written by --json (keys, types, every row ok)");
  app.add_option("--cpus", a.cpus_arg,
                 "Comma-separated CPUs the processes may be pinned to (default: all allowed)");
  app.add_flag("--loaded", a.loaded,
               "Run one busy process per CPU beside every row (an oversubscribed machine)");
  app.add_flag("--list", a.list, "List the peers and exit");
  app.footer("Manual: docs/bench.md in shmq's sources.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // 2 for every bad command line, as shmq and shmq-stress (CLI11's own codes are 100 and up).
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

// The peers and figures asked for, checked against those that exist.
struct Selection {
  std::vector<Peer*> peers;
  std::vector<std::string> peer_names;
  std::vector<std::pair<std::string, std::string>> peer_info;
  std::vector<std::string> figures;
};

// False (after saying why) if a peer or a figure does not exist.
bool select_peers(const std::vector<std::unique_ptr<Peer>>& all, const Args& a, Selection& out) {
  const std::vector<std::string> wanted = split(a.peers_arg);
  for (const std::string& w : wanted) {
    if (std::none_of(all.begin(), all.end(), [&](const auto& p) { return p->name() == w; })) {
      fmt::print(stderr, "shmq-bench: no peer \"{}\" (see --list)\n", w);
      return false;
    }
  }
  out.figures = split(a.figures_arg);
  for (const std::string& f : out.figures) {
    if (f != "roundtrip" && f != "throughput" && f != "mpmc" && f != "manager") {
      fmt::print(stderr, "shmq-bench: no figure \"{}\" (roundtrip, throughput, mpmc, manager)\n",
                 f);
      return false;
    }
  }
  for (const auto& p : all) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), p->name()) == wanted.end()) {
      continue;
    }
    out.peers.push_back(p.get());
    out.peer_names.emplace_back(p->name());
    out.peer_info.emplace_back(p->name(), p->description());
  }
  return true;
}

std::vector<Planned> make_plan(const Selection& sel, bool quick) {
  std::vector<Planned> plan;
  for (const Scenario& s : scenarios(sel.figures, quick)) {
    for (Peer* p : sel.peers) {
      for (const Variant& v : p->variants(s))
        plan.push_back({s, p, v});
    }
  }
  return plan;
}

// The measured window and warm-up of each row; --quick fits them all into kQuickBudget.
RunOptions timing_for(const Args& a, const std::vector<Planned>& plan) {
  RunOptions timing;
  timing.seconds = a.seconds > 0 ? a.seconds : (a.quick ? 0.5 : 2.0);
  timing.warmup = std::clamp(timing.seconds * 0.2, 0.05, 0.25);
  if (!a.quick) return timing;
  // Each run costs its warm-up, its window and its peer's overhead (processes, setup).
  const auto runs = static_cast<double>(plan.size());
  double overhead = 0;
  for (const Planned& p : plan)
    overhead += p.peer->run_overhead_s();
  const double per_run = (kQuickBudget - overhead) / runs;
  if (timing.seconds + timing.warmup > per_run) {
    timing.warmup = std::clamp(per_run * 0.2, 0.02, 0.25);
    timing.seconds = std::max(0.05, per_run - timing.warmup);
    fmt::print(stderr, "shmq-bench: --quick: {} runs, {:.2f} s each to stay under a minute\n",
               plan.size(), timing.seconds);
  }
  return timing;
}

// False (after saying why) if an entry of --cpus is not a number.
bool parse_cpus(const std::string& cpus_arg, RunOptions& timing) {
  for (const std::string& c : split(cpus_arg)) {
    try {
      timing.cpus.push_back(std::stoi(c));
    } catch (const std::exception&) {
      fmt::print(stderr, "shmq-bench: --cpus: \"{}\" is not a CPU number\n", c);
      return false;
    }
  }
  return true;
}

std::string row_label(std::size_t i, std::size_t rows, const Planned& p) {
  return fmt::format("[{}/{}] {} {} {}{}{}", i + 1, rows, to_string(p.scenario.figure),
                     p.scenario.figure == Figure::roundtrip
                         ? std::string(to_string(p.scenario.wait))
                         : fmt::format("{} B", p.scenario.bytes),
                     p.peer->name(), p.variant.name.empty() ? "" : " ", p.variant.name);
}

// Measures every planned row in order, with a progress line; none if interrupted (every segment
// of the run is removed by then).
std::optional<std::vector<Measurement>> measure_all(const std::vector<Planned>& plan,
                                                    const RunOptions& timing) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  std::vector<Measurement> rows;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    const std::string label = row_label(i, plan.size(), p);
    // Progress: rewritten in place on a terminal; elsewhere (a log, CI) one line per row, as it
    // starts, so a row that hangs is named.
    if (tty) {
      fmt::print(stderr, "\r\033[K{}", label);
    } else {
      fmt::print(stderr, "shmq-bench: {}\n", label);
    }
    // Unique per run: this process's pid and the run's index: names never collide.
    const std::string unique = fmt::format("shmq-bench-{}-{}-{}", getpid(), i, p.peer->name());
    try {
      rows.push_back(measure(*p.peer, p.scenario, p.variant, timing, unique));
    } catch (const Interrupted&) {
      if (tty) fmt::print(stderr, "\n");
      fmt::print(stderr, "shmq-bench: interrupted; every segment of the run was removed\n");
      return std::nullopt;
    }
    if (std::none_of(plan.begin() + static_cast<std::ptrdiff_t>(i) + 1, plan.end(),
                     [&](const Planned& later) { return later.peer == p.peer; })) {
      p.peer->release();  // its last row
    }
    if (!rows.back().ok) {
      if (tty) fmt::print(stderr, "\n");
      fmt::print(stderr, "shmq-bench: {} {}: {}\n", label,
                 rows.back().skipped ? "skipped" : "failed", rows.back().error);
    }
  }
  if (tty) fmt::print(stderr, "\r\033[K");
  return rows;
}

// Prints the report (and writes --json); the exit code: 0 if every row ran or was skipped.
int report(const Args& a, const Selection& sel, ReportConfig config,
           const std::vector<Measurement>& rows) {
  config.quick = a.quick;
  config.peers = sel.peer_names;
  config.figures = sel.figures;
  const HostInfo host = host_info(config.timing);
  print_report(stdout, host, config, rows);
  if (!a.json_path.empty()) {
    std::ofstream out(a.json_path);
    out << to_json(host, config, sel.peer_info, rows).dump(2) << '\n';
    if (!out) {
      fmt::print(stderr, "shmq-bench: cannot write {}\n", a.json_path);
      return 1;
    }
  }
  const bool ok =
      std::all_of(rows.begin(), rows.end(), [](const auto& m) { return m.ok || m.skipped; });
  return ok ? 0 : 1;
}

int run(int argc, char** argv) {
  Args a;
  if (const std::optional<int> rc = parse_args(argc, argv, a)) return *rc;
  if (!a.check_path.empty()) return check_json_file(a.check_path);

  const std::vector<std::unique_ptr<Peer>> all = all_peers();
  if (a.list) {
    for (const auto& p : all)
      fmt::print("{:<15} {}\n", p->name(), p->description());
    return 0;
  }
  Selection sel;
  if (!select_peers(all, a, sel)) return 2;
  const std::vector<Planned> plan = make_plan(sel, a.quick);
  if (plan.empty()) {
    fmt::print(stderr, "shmq-bench: nothing to measure for these peers and figures\n");
    return 2;
  }
  ReportConfig config;
  config.timing = timing_for(a, plan);
  if (!parse_cpus(a.cpus_arg, config.timing)) return 2;

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  const Hogs hogs(a.loaded ? allowed_cpu_count() : 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::optional<std::vector<Measurement>> rows = measure_all(plan, config.timing);
  if (!rows) return 130;
  config.hogs = hogs.count();
  config.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report(a, sel, config, *rows);
}

}  // namespace
}  // namespace shmq_bench

int main(int argc, char** argv) {
  try {
    return shmq_bench::run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "shmq-bench: {}\n", e.what());
    return 1;
  }
}
