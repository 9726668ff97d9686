// python: Python's multiprocessing — Queue, Pipe and Manager().dict() — measured by
// bench/python/mp_bench.py, which the bench runs once per row as `python3 mp_bench.py ...`. The
// script forks its own processes (start method "fork"), pins them to the CPUs it is given, and
// times them with the same loops, window, oracles and percentiles as bench/workloads.hpp, written
// in Python; it prints one JSON object that this file turns into the row.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "../runner.hpp"
#include "peers.hpp"
#include "subprocess.hpp"

#ifndef SHMQ_BENCH_PYTHON_DIR
#define SHMQ_BENCH_PYTHON_DIR "bench/python"
#endif

namespace shmq_bench {
namespace {

// The script: $SHMQ_BENCH_PYTHON_DIR/mp_bench.py, else the source tree's bench/python/.
std::string script_path() {
  const char* dir = std::getenv("SHMQ_BENCH_PYTHON_DIR");
  return std::string(dir != nullptr && dir[0] != '\0' ? dir : SHMQ_BENCH_PYTHON_DIR) +
         "/mp_bench.py";
}

// The end of what a script printed, on one line.
std::string tail_of(const std::string& text, std::size_t max_chars) {
  std::size_t end = text.find_last_not_of("\n ");
  end = end == std::string::npos ? 0 : end + 1;
  const std::size_t begin = end > max_chars ? end - max_chars : 0;
  std::string t = text.substr(begin, end - begin);
  for (char& c : t) {
    if (c == '\n') c = ' ';
  }
  return t;
}

class PythonPeer final : public Peer {
 public:
  std::string_view name() const override { return "python"; }
  std::string_view description() const override {
    return "Python multiprocessing: Queue, Pipe, Manager().dict() (bench/python/mp_bench.py)";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) {
          return {{"Queue", "2 mp.Queue, put / get_nowait() retried"},
                  {"Pipe", "mp.Pipe(), send_bytes / poll() retried, recv_bytes"}};
        }
        return {{"Queue", "2 mp.Queue, blocking put/get"},
                {"Pipe", "mp.Pipe(), blocking send_bytes/recv_bytes"}};
      case Figure::throughput:
        return {{"Queue", fmt::format("mp.Queue(maxsize={}), blocking put/get (no cheap try_ path)",
                                      capacity_for(s.bytes))},
                {"Pipe", "mp.Pipe(duplex=False), blocking send_bytes/recv_bytes"}};
      case Figure::mpmc:
        return {{"Queue",
                 fmt::format("one mp.Queue(maxsize={}), blocking put/get", capacity_for(s.bytes))}};
      case Figure::manager:
        return {{std::string(kDictSet), "Manager().dict(), d[k] = v"},
                {std::string(kDictGet), "Manager().dict(), d.get(k)"}};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario&, const Variant&, const std::string&) override {
    throw std::logic_error("python: measured by its script (measure_itself)");
  }
  bool measures_itself() const override { return true; }
  // The interpreter, fork of the processes, a Manager's server: about 0.2 s a row.
  double run_overhead_s() const override { return 0.25; }

  void measure_itself(const Scenario& s, const Variant& v, const RunOptions& t, const std::string&,
                      Measurement& m) override {
    const std::string script = script_path();
    if (!std::filesystem::exists(script)) throw Unavailable("no " + script);
    const std::vector<int> cpus = cpu_order(t.cpus);
    std::string kind = v.name == "Pipe" ? "pipe" : "queue";
    if (s.figure == Figure::manager) kind = v.name == kDictSet ? "set" : "get";
    const std::vector<std::string> argv = {"python3",
                                           "-B",
                                           script,
                                           "--figure",
                                           std::string(to_string(s.figure)),
                                           "--kind",
                                           kind,
                                           "--wait",
                                           std::string(to_string(s.wait)),
                                           "--bytes",
                                           std::to_string(s.bytes),
                                           "--producers",
                                           std::to_string(s.producers),
                                           "--consumers",
                                           std::to_string(s.consumers),
                                           "--capacity",
                                           std::to_string(capacity_for(s.bytes)),
                                           "--keys",
                                           std::to_string(kDictKeys),
                                           "--seconds",
                                           fmt::format("{}", t.seconds),
                                           "--warmup",
                                           fmt::format("{}", t.warmup),
                                           "--cpus",
                                           fmt::format("{}", fmt::join(cpus, ","))};
    // The same watchdog as a forked row, plus the interpreter's start.
    const ProcessOutput out = run_captured(argv, t.warmup + t.seconds + 15.0 + 2.0 * t.seconds);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(out.out);
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("mp_bench.py printed no JSON (status {}): {}",
                                           out.status, tail_of(out.err + out.out, 300)));
    }
    if (!j.value("ok", false)) {
      throw std::runtime_error("mp_bench.py: " + j.value("error", std::string("failed")));
    }
    fill(j, m);
    m.cpus = j.value("cpus", std::vector<int>{});
    m.ok = true;
  }

 private:
  static void fill(const nlohmann::json& j, Measurement& m) {
    const auto num = [&](const char* k) { return j.value(k, 0.0); };
    m.p50_us = num("p50_us");
    m.p99_us = num("p99_us");
    m.p999_us = num("p999_us");
    m.max_us = num("max_us");
    m.mean_us = num("mean_us");
    m.samples = j.value("samples", std::uint64_t{0});
    m.msgs_per_s = num("msgs_per_s");
    m.mb_per_s = num("mb_per_s");
    m.window_s = num("window_s");
    m.messages = j.value("messages", std::uint64_t{0});
    m.cpu_s_per_million = num("cpu_s_per_million");
    m.cpu_total_s = num("cpu_total_s");
  }
};

}  // namespace

std::unique_ptr<Peer> make_python_peer() {
  return std::make_unique<PythonPeer>();
}

}  // namespace shmq_bench
