// shmq-stress: qualify a machine, a kernel or a build of shmq. Producers and consumers run as
// separate processes, chaos kills and pauses them, every process logs what it did, and an oracle
// reconciles the logs at the end (docs/stress.md).
//
// Exit codes: 0 pass; 1 a violation (lost, duplicated, corrupt, reordered; or the library's
// counters disagree with the logs); 2 bad command line (as shmq and shmq-bench); 3 setup failed;
// 4 the run could not finish (the watchdog fired, a worker crashed); 130 interrupted.
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config.hpp"
#include "message.hpp"
#include "oracle.hpp"
#include "report.hpp"
#include "shmq/error.hpp"
#include "supervisor.hpp"
#include "worker.hpp"

namespace {

using namespace shmq::stress;
namespace fs = std::filesystem;

constexpr int kExitPass = 0;
constexpr int kExitViolation = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSetup = 3;
constexpr int kExitStuck = 4;
constexpr int kExitInterrupted = 130;

struct UsageError {
  std::string what;
};

// "MIN:MAX" or "N".
void parse_size(const std::string& text, Config& c) {
  const auto colon = text.find(':');
  try {
    std::size_t used = 0;
    const std::string lo = text.substr(0, colon);
    const std::string hi = colon == std::string::npos ? lo : text.substr(colon + 1);
    c.size_min = static_cast<std::uint32_t>(std::stoul(lo, &used));
    if (used != lo.size()) throw std::invalid_argument(text);
    c.size_max = static_cast<std::uint32_t>(std::stoul(hi, &used));
    if (used != hi.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    throw UsageError{fmt::format("--size {}: expected MIN:MAX or N (bytes)", text)};
  }
  if (c.size_min < kMinMessageSize || c.size_max < c.size_min || c.size_max > (16U << 20)) {
    throw UsageError{
        fmt::format("--size {}: need {} <= MIN <= MAX <= {} (a message starts with "
                    "a {}-byte header)",
                    text, kMinMessageSize, 16U << 20, kMinMessageSize)};
  }
}

std::uint64_t parse_u64(const std::string& text, const char* option) {
  try {
    std::size_t used = 0;
    const std::uint64_t v = std::stoull(text, &used, 0);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError{fmt::format("{} {}: expected an unsigned integer", option, text)};
}

std::uint64_t clock_seed() {
  return static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
         (static_cast<std::uint64_t>(::getpid()) << 32);
}

std::string make_log_dir(const Config& c) {
  const fs::path parent = c.log_dir.empty() ? fs::temp_directory_path() : fs::path(c.log_dir);
  std::string templ = (parent / fmt::format("shmq-stress-{}-XXXXXX", c.seed)).string();
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
  }
  return templ;
}

void write_run_file(const std::string& dir, const Config& c, const RunOutcome& run) {
  nlohmann::ordered_json doc;
  doc["seed"] = c.seed;
  doc["kind"] = to_string(c.kind);
  doc["segment"] = c.name;
  doc["log_batch"] = c.log_batch;
  nlohmann::ordered_json incs = nlohmann::ordered_json::array();
  for (const Incarnation& i : run.incarnations) {
    incs.push_back({{"id", i.id},
                    {"role", to_string(i.role)},
                    {"slot", i.slot},
                    {"pid", i.pid},
                    {"start_ns", i.start_ns},
                    {"end_ns", i.end_ns},
                    {"end", to_string(i.end)},
                    {"exit_code", i.exit_code},
                    {"log", fs::path(i.log_path).filename().string()}});
  }
  doc["incarnations"] = std::move(incs);
  std::ofstream(fs::path(dir) / "run.json") << doc.dump(2) << "\n";
}

// What the command line says, before it is checked and turned into a Config.
struct CommandLine {
  Config c;
  std::string kind_text = "mpmc";
  std::string side_text = "both";
  std::string size_text = "32:256";
  std::string seed_text;
  std::string start_text = "auto";
  unsigned producers = 0;
  unsigned consumers = 0;
  unsigned log_batch = 0;
  double inject_stall = -1;
  std::uint32_t spin = 0;
  bool spin_given = false;
  bool seconds_given = false;
  long stop_pause_ms = 250;
};

const std::map<std::string, Kind>& kinds() {
  static const std::map<std::string, Kind> map{{"spsc", Kind::spsc},      {"mpsc", Kind::mpsc},
                                               {"spmc", Kind::spmc},      {"mpmc", Kind::mpmc},
                                               {"packed", Kind::packed},  {"pipe", Kind::pipe},
                                               {"manager", Kind::manager}};
  return map;
}

const std::map<std::string, ChaosSide>& sides() {
  static const std::map<std::string, ChaosSide> map{{"producers", ChaosSide::producers},
                                                    {"consumers", ChaosSide::consumers},
                                                    {"both", ChaosSide::both}};
  return map;
}

// What runs: the kind, the workers, the messages and their sizes, the ring.
void add_workload_options(CLI::App& app, CommandLine& cl) {
  Config& c = cl.c;
  app.add_option("--kind", cl.kind_text,
                 "spsc | mpsc | spmc | mpmc (Queue) | packed (SPSC Queue of fixed 128-byte "
                 "records, a packed ring; --size max <= 124) | pipe (one-way Pipe) | manager "
                 "(a Manager list)")
      ->check(CLI::IsMember(kinds(), CLI::ignore_case))
      ->default_str("mpmc");
  app.add_option("--producers,-p", cl.producers,
                 "producer processes (default: 1 on a single-producer kind, else 2)")
      ->check(CLI::Range(1U, kMaxWorkers));
  app.add_option("--consumers,-c", cl.consumers,
                 "consumer processes (default: 1 on a single-consumer kind, else 2)")
      ->check(CLI::Range(1U, kMaxWorkers));
  app.add_option("--seconds,-s", c.seconds,
                 "length of the loaded phase; 0 = until --messages are put")
      ->check(CLI::Range(0.0, 1e7))
      ->default_str("10, or no limit with --messages");
  app.add_option("--messages,-n", c.messages, "puts to attempt in total, over all producers");
  app.add_option("--size", cl.size_text, "message size in bytes, MIN:MAX or N (MIN >= 32)")
      ->default_str("32:256");
  app.add_option("--capacity", c.capacity,
                 "queue: capacity in messages (2^k); pipe: the ring holds this many of the "
                 "largest messages")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20))
      ->default_str("1024");
  app.add_option("--start-position", cl.start_text,
                 "first ring position: auto = 16 laps below the 2^64 wrap, or a number")
      ->default_str("auto");
}

// What disturbs the run: the chaos, and the seed that replays it.
void add_chaos_options(CLI::App& app, CommandLine& cl) {
  Config& c = cl.c;
  app.add_option("--chaos", c.chaos, "SIGKILLs per second (then a restart with a new id)")
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--chaos-side", cl.side_text, "which processes --chaos kills")
      ->check(CLI::IsMember(sides(), CLI::ignore_case))
      ->default_str("both");
  app.add_option("--stop-chaos", c.stop_chaos, "SIGSTOPs per second (SIGCONT after a pause)")
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--stop-pause-max", cl.stop_pause_ms, "longest SIGSTOP pause, milliseconds")
      ->check(CLI::Range(1L, 60'000L))
      ->default_str("250");
  app.add_option("--seed", cl.seed_text,
                 "seed of everything (default: $SHMQ_SEED, else the clock)");
}

// How the run is watched and what it leaves: the JSON summary, the watchdog, the logs.
void add_output_options(CLI::App& app, CommandLine& cl) {
  Config& c = cl.c;
  app.add_option("--json", c.json_path, "write the summary as JSON to FILE (- for stdout)");
  app.add_option("--watchdog", c.watchdog, "seconds without progress before failing; 0 = off")
      ->check(CLI::Range(0.0, 1e6))
      ->default_str("10");
  app.add_option("--log-batch", cl.log_batch,
                 "log entries a process holds before one write (default: 1 with --chaos, "
                 "else 64); the in-doubt bound is this many per kill")
      ->check(CLI::Range(1U, 4096U));
  app.add_option("--log-dir", c.log_dir, "where the run's temporary log directory goes");
  app.add_flag("--keep-logs", c.keep_logs, "keep the logs even when the run passes");
  app.add_flag("--keep-segment", c.keep_segment,
               "leave the segment of a stuck or crashed run for `shmq inspect` / `shmq dump`");
  app.add_option("--spin", cl.spin, "spin iterations before a blocked put/get sleeps");
  app.add_option("--name", c.name, "segment name (default: shmq-stress-<pid>-<seed>)");
  app.add_flag("--quiet,-q", c.quiet, "no live progress line");
  app.add_option("--inject-stall", cl.inject_stall,
                 "self-test: after SECONDS, SIGSTOP every consumer for good (the watchdog must "
                 "fire)")
      ->check(CLI::Range(0.0, 1e6));
}

// --seed, else $SHMQ_SEED, else the clock.
std::uint64_t resolve_seed(const std::string& seed_text) {
  if (!seed_text.empty()) return parse_u64(seed_text, "--seed");
  if (const char* env = std::getenv("SHMQ_SEED"); env != nullptr && *env != '\0') {
    return parse_u64(env, "SHMQ_SEED");
  }
  return clock_seed();
}

// Worker counts default by kind; a single-producer (consumer) kind has exactly one.
void resolve_workers(const CommandLine& cl, Config& c) {
  const bool mp = multi_producer(c.kind);
  const bool mc = multi_consumer(c.kind);
  c.producers = cl.producers != 0 ? cl.producers : (mp ? 2 : 1);
  c.consumers = cl.consumers != 0 ? cl.consumers : (mc ? 2 : 1);
  if (!mp && c.producers != 1) {
    throw UsageError{fmt::format("--kind {} has exactly one producer", to_string(c.kind))};
  }
  if (!mc && c.consumers != 1) {
    throw UsageError{fmt::format("--kind {} has exactly one consumer", to_string(c.kind))};
  }
  if (c.producers + c.consumers > kMaxWorkers) {
    throw UsageError{fmt::format("at most {} producers and consumers in all", kMaxWorkers)};
  }
}

// A queue holds at least 2; a packed queue's element bounds the message size.
void check_capacity(const Config& c) {
  if (is_queue(c.kind) && c.capacity < 2) {
    throw UsageError{"--capacity of a queue is at least 2"};
  }
  if (c.kind == Kind::packed && c.size_max > kPackedMessageMax) {
    throw UsageError{fmt::format(
        "--kind packed carries messages of at most {} bytes (one fixed-size element each): "
        "give --size with a max of {} or less",
        kPackedMessageMax, kPackedMessageMax)};
  }
}

// Sizes the ring (at most 1 GiB) and places its first position.
void resolve_ring(const CommandLine& cl, Config& c) {
  // Queue: a slot of 16 + size_max bytes, rounded to 64, per message. Pipe: a ring with room
  // for `capacity` messages of size_max (8-byte record headers), at least 256 bytes.
  const std::uint64_t stride = (16 + std::uint64_t{c.size_max} + 63) / 64 * 64;
  const std::uint64_t ring = c.kind == Kind::pipe
                                 ? std::bit_ceil(std::max<std::uint64_t>(
                                       256, c.capacity * (8 + std::uint64_t{c.size_max})))
                                 : std::bit_ceil(c.capacity) * stride;
  if (ring > (std::uint64_t{1} << 30)) {
    throw UsageError{fmt::format(
        "--capacity {} x --size max {} needs {} MiB of shared memory (limit 1024): lower one",
        c.capacity, c.size_max, ring >> 20)};
  }
  c.pipe_bytes = c.kind == Kind::pipe ? ring : 0;
  // `auto`: 16 laps below the 2^64 wrap, so every run crosses it early.
  const std::uint64_t lap = c.kind == Kind::pipe ? ring : std::bit_ceil(c.capacity);
  c.start_position = cl.start_text == "auto" ? std::uint64_t{0} - 16 * lap
                                             : parse_u64(cl.start_text, "--start-position");
  if (c.kind == Kind::pipe && c.start_position % 8 != 0) {
    throw UsageError{"--start-position of a pipe must be a multiple of 8"};
  }
}

// The checked Config; throws UsageError.
Config resolve(const CommandLine& cl) {
  Config c = cl.c;
  c.kind = kinds().at(CLI::detail::to_lower(cl.kind_text));
  c.chaos_side = sides().at(CLI::detail::to_lower(cl.side_text));
  parse_size(cl.size_text, c);
  c.seed = resolve_seed(cl.seed_text);
  resolve_workers(cl, c);
  if (!cl.seconds_given && c.messages != 0) c.seconds = 0;
  check_capacity(c);
  if (c.seconds <= 0 && c.messages == 0) {
    throw UsageError{"--seconds 0 needs --messages (the run would never end)"};
  }
  resolve_ring(cl, c);
  c.log_batch = cl.log_batch != 0 ? cl.log_batch : (c.chaos > 0 ? 1 : 64);
  c.stop_pause_max = std::chrono::milliseconds(cl.stop_pause_ms);
  if (cl.spin_given) c.spin = cl.spin;
  if (cl.inject_stall >= 0) c.inject_stall = cl.inject_stall;
  if (c.name.empty()) c.name = fmt::format("shmq-stress-{}-{:x}", ::getpid(), c.seed & 0xFFFFFF);
  return c;
}

// Parses and checks the command line into `c`; an exit code if the run must not start.
std::optional<int> parse_command_line(int argc, char** argv, Config& c) {
  CLI::App app{
      "shmq-stress: producers and consumers in separate processes, under chaos, checked by an "
      "oracle. Manual: docs/stress.md in shmq's sources.",
      "shmq-stress"};
  app.set_version_flag("--version", std::string("shmq-stress ") + SHMQ_STRESS_VERSION);
  CommandLine cl;
  add_workload_options(app, cl);
  add_chaos_options(app, cl);
  add_output_options(app, cl);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  cl.spin_given = cl.spin != 0 || app.count("--spin") != 0;
  cl.seconds_given = app.count("--seconds") != 0;
  try {
    c = resolve(cl);
  } catch (const UsageError& e) {
    fmt::print(stderr, "shmq-stress: {}\n", e.what);
    return kExitUsage;
  }
  return std::nullopt;
}

void print_banner(const Config& c) {
  // The seed comes first, so that even a run that hangs can be replayed.
  fmt::print("shmq-stress: seed {} (replay the chaos schedule with --seed {})\n", c.seed, c.seed);
  fmt::print(
      "shmq-stress: {} \"{}\", {} producer(s), {} consumer(s), {}, messages {}..{} B, "
      "chaos {}/s ({}), stop-chaos {}/s, watchdog {} s\n",
      to_string(c.kind), c.name, c.producers, c.consumers,
      c.seconds > 0 ? fmt::format("{} s", c.seconds) : fmt::format("{} messages", c.messages),
      c.size_min, c.size_max, c.chaos, to_string(c.chaos_side), c.stop_chaos, c.watchdog);
  std::fflush(stdout);
}

int exit_code_for(const RunOutcome& outcome, const Verdict& verdict) {
  switch (outcome.kind) {
    case RunOutcome::Kind::completed:
      return verdict.pass() ? kExitPass : kExitViolation;
    case RunOutcome::Kind::stuck:
    case RunOutcome::Kind::crashed:
      // A violation found on the way still says more than "stuck".
      return verdict.violations() != 0 ? kExitViolation : kExitStuck;
    case RunOutcome::Kind::interrupted:
      return kExitInterrupted;
  }
  return kExitPass;
}

// Writes the summary as JSON to --json; false if the file cannot be written.
bool write_json(const std::string& path, const Summary& summary) {
  const std::string doc = summary_json(summary).dump(2) + "\n";
  if (path == "-") {
    fmt::print("{}", doc);
    return true;
  }
  std::ofstream out(path);
  out << doc;
  if (!out) fmt::print(stderr, "shmq-stress: cannot write {}\n", path);
  return static_cast<bool>(out);
}

// Keeps or removes the logs, prints the summary; returns the exit code.
int report(const Config& c, const RunOutcome& outcome, const Verdict& verdict,
           const std::string& log_dir) {
  int exit_code = exit_code_for(outcome, verdict);
  // Logs are evidence: kept when the run found something (or could not finish), and on request.
  const bool keep = c.keep_logs || (exit_code != kExitPass && exit_code != kExitInterrupted);
  if (keep) {
    write_run_file(log_dir, c, outcome);
  } else {
    std::error_code ec;
    fs::remove_all(log_dir, ec);
  }
  const Summary summary{c, outcome, verdict, keep ? log_dir : std::string(), exit_code};
  fmt::print("{}", format_summary(summary));
  if (outcome.kind != RunOutcome::Kind::completed) {
    fmt::print(stderr, "shmq-stress: {}: {}\n", to_string(outcome.kind), outcome.reason);
  }
  if (!c.json_path.empty() && !write_json(c.json_path, summary) && exit_code == kExitPass) {
    exit_code = kExitSetup;
  }
  std::fflush(stdout);
  return exit_code;
}

int run(int argc, char** argv) {
  Config c;
  if (const std::optional<int> rc = parse_command_line(argc, argv, c)) return *rc;
  print_banner(c);
  std::string log_dir;
  RunOutcome outcome;
  try {
    log_dir = make_log_dir(c);
    outcome = supervise(c, log_dir);
  } catch (const std::exception& e) {
    fmt::print(stderr, "shmq-stress: setup failed: {}\n", e.what());
    if (!log_dir.empty()) {
      std::error_code ec;
      fs::remove_all(log_dir, ec);
    }
    return kExitSetup;
  }
  const Verdict verdict = reconcile(c, outcome);
  return report(c, outcome, verdict, log_dir);
}

}  // namespace

int main(int argc, char** argv) {
  // Errors of setup are handled in run(); anything else (reading the logs back, writing the
  // report) means the run could not finish, and says why rather than calling std::terminate.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "shmq-stress: {}\n", e.what());
    return kExitStuck;
  }
}
