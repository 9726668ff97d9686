#include "report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <utility>

// The commit this binary was configured from (bench/CMakeLists.txt); "unknown" outside git.
#ifndef SHMQ_BENCH_GIT_COMMIT
#define SHMQ_BENCH_GIT_COMMIT "unknown"
#endif

namespace shmq_bench {
namespace {

using nlohmann::json;

bool same_scenario(const Scenario& a, const Scenario& b) {
  return a.figure == b.figure && a.wait == b.wait && a.bytes == b.bytes &&
         a.producers == b.producers && a.consumers == b.consumers;
}

// shmq's reference row of m's scenario: the one of the same variant name if there is one (the
// manager figure: set against set, get against get), else the first.
const Measurement* reference_for(const std::vector<Measurement>& rows, const Measurement& m) {
  const Measurement* first = nullptr;
  for (const Measurement& r : rows) {
    if (!r.ok || r.peer != "shmq" || !r.variant.reference || !same_scenario(r.scenario, m.scenario))
      continue;
    if (r.variant.name == m.variant.name) return &r;
    if (first == nullptr) first = &r;
  }
  return first;
}

// Roundtrip: p50 ÷ shmq's p50 (above 1: slower than shmq). Throughput, mpmc, manager: msgs/s (calls
// per second) ÷ shmq's (below 1: slower than shmq). Absent without a shmq row.
std::optional<double> vs_shmq(const std::vector<Measurement>& rows, const Measurement& m) {
  const Measurement* ref = reference_for(rows, m);
  if (!m.ok || ref == nullptr) return std::nullopt;
  if (m.scenario.figure == Figure::roundtrip) return m.p50_us / ref->p50_us;
  return m.msgs_per_s / ref->msgs_per_s;
}

std::string size_label(std::size_t bytes) {
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} B", bytes);
}

std::string fmt_us(double v) {
  if (v < 10) return fmt::format("{:.3f}", v);
  if (v < 1000) return fmt::format("{:.1f}", v);
  return fmt::format("{:.0f}", v);
}
std::string fmt_rate(double v) {
  if (v >= 1e9) return fmt::format("{:.2f} G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f} M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f} k", v / 1e3);
  return fmt::format("{:.0f}  ", v);
}
std::string fmt_num(double v) {
  if (v < 0.1) return fmt::format("{:.4f}", v);
  if (v < 10) return fmt::format("{:.3f}", v);
  if (v < 1000) return fmt::format("{:.1f}", v);
  return fmt::format("{:.0f}", v);
}
std::string fmt_ratio(std::optional<double> r) {
  if (!r) return "-";
  return *r < 10 ? fmt::format("{:.2f}x", *r) : fmt::format("{:.1f}x", *r);
}

// The note of a row that was not measured.
std::string failure(const Measurement& m) {
  return (m.skipped ? "skipped: " : "ERROR: ") + m.error;
}

// Display width of UTF-8 text: code points (the tables use no wide characters).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

// A table whose columns are as wide as their widest cell; `right` says which are numbers.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> right)
      : header_(std::move(header)), right_(std::move(right)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::FILE* out) const {
    std::vector<std::size_t> w(header_.size(), 0);
    auto measure = [&](const std::vector<std::string>& r) {
      for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) {
        // The last column (notes, errors) is not padded.
        if (i + 1 < w.size()) w[i] = std::max(w[i], width(r[i]));
      }
    };
    measure(header_);
    for (const auto& r : rows_)
      measure(r);
    auto line = [&](const std::vector<std::string>& r) {
      std::string s = " ";
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string pad(i + 1 < w.size() ? w[i] - width(r[i]) : 0, ' ');
        s += right_[i] ? pad + r[i] : r[i] + pad;
        if (i + 1 < r.size()) s += "  ";
      }
      while (!s.empty() && s.back() == ' ')
        s.pop_back();
      fmt::print(out, "{}\n", s);
    };
    line(header_);
    for (const auto& r : rows_)
      line(r);
  }

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

void print_roundtrip(std::FILE* out, const std::vector<Measurement>& rows, Wait wait) {
  Table t({"peer", "variant", "p50", "p99", "p99.9", "max", "p50/shmq", "cpu s/M", "note"},
          {false, false, true, true, true, true, true, true, false});
  bool any = false;
  for (const Measurement& m : rows) {
    if (m.scenario.figure != Figure::roundtrip || m.scenario.wait != wait) continue;
    any = true;
    if (!m.ok) {
      t.add({m.peer, m.variant.name, "-", "-", "-", "-", "-", "-", failure(m)});
      continue;
    }
    t.add({m.peer, m.variant.name, fmt_us(m.p50_us), fmt_us(m.p99_us), fmt_us(m.p999_us),
           fmt_us(m.max_us), fmt_ratio(vs_shmq(rows, m)), fmt_num(m.cpu_s_per_million),
           m.variant.note});
  }
  if (!any) return;
  fmt::print(out, "\n(1) Round trip, 8 B each way, µs — {}\n",
             wait == Wait::spin ? "spinning (busy-poll)"
                                : "sleeping (blocked in the kernel between messages)");
  t.print(out);
}

std::size_t distinct(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  return static_cast<std::size_t>(std::unique(cpus.begin(), cpus.end()) - cpus.begin());
}

// One table per figure; for MPMC one per producers × consumers shape (`producers` 0: any).
void print_throughput(std::FILE* out, const std::vector<Measurement>& rows, Figure figure,
                      int producers = 0) {
  std::vector<std::string> header = {"size", "peer",      "variant", "msgs/s",
                                     "MB/s", "rate/shmq", "cpu s/M", "note"};
  std::vector<bool> right = {true, false, false, true, true, true, true, false};
  Table t(header, right);
  bool any = false;
  std::size_t last_bytes = 0;
  const Measurement* first = nullptr;
  for (const Measurement& m : rows) {
    if (m.scenario.figure != figure) continue;
    if (producers != 0 && m.scenario.producers != producers) continue;
    if (!first) first = &m;
    const std::string size =
        any && m.scenario.bytes == last_bytes ? std::string() : size_label(m.scenario.bytes);
    any = true;
    last_bytes = m.scenario.bytes;
    if (!m.ok) {
      t.add({size, m.peer, m.variant.name, "-", "-", "-", "-", failure(m)});
      continue;
    }
    t.add({size, m.peer, m.variant.name, fmt_rate(m.msgs_per_s), fmt_num(m.mb_per_s),
           fmt_ratio(vs_shmq(rows, m)), fmt_num(m.cpu_s_per_million), m.variant.note});
  }
  if (!any) return;
  if (figure == Figure::throughput) {
    fmt::print(out, "\n(2) One-way throughput, 1 producer → 1 consumer, spinning\n");
  } else {
    fmt::print(out,
               "\n(3) MPMC: {} producers × {} consumers on one queue, each peer's default "
               "blocking calls ({} processes on {} CPUs)\n",
               first->scenario.producers, first->scenario.consumers,
               first->scenario.producers + first->scenario.consumers, distinct(first->cpus));
  }
  t.print(out);
}

void print_manager(std::FILE* out, const std::vector<Measurement>& rows) {
  Table t({"peer", "variant", "calls/s", "µs/call", "rate/shmq", "cpu s/M", "note"},
          {false, false, true, true, true, true, false});
  bool any = false;
  for (const Measurement& m : rows) {
    if (m.scenario.figure != Figure::manager) continue;
    any = true;
    if (!m.ok) {
      t.add({m.peer, m.variant.name, "-", "-", "-", "-", failure(m)});
      continue;
    }
    t.add({m.peer, m.variant.name, fmt_rate(m.msgs_per_s), fmt_us(1e6 / m.msgs_per_s),
           fmt_ratio(vs_shmq(rows, m)), fmt_num(m.cpu_s_per_million), m.variant.note});
  }
  if (!any) return;
  fmt::print(out,
             "\n(5) Manager dict: one client's calls per second to a server process (a call is "
             "a request and its reply; cpu counts client + server)\n");
  t.print(out);
}

// The CPU table's column head for a scenario.
std::string cpu_column(const Scenario& s) {
  switch (s.figure) {
    case Figure::roundtrip:
      return fmt::format("rt {}", s.wait == Wait::spin ? "spin" : "sleep");
    case Figure::throughput:
      return size_label(s.bytes);
    case Figure::mpmc:
      return fmt::format("mpmc {}×{}", s.producers, s.consumers);
    case Figure::manager:
      break;
  }
  return "dict";
}

// Peer p's first row (its first variant) in scenario s, if it ran.
const Measurement* first_ok_row(const std::vector<Measurement>& rows, const std::string& p,
                                const Scenario& s) {
  const auto it = std::find_if(rows.begin(), rows.end(), [&](const Measurement& m) {
    return m.peer == p && same_scenario(m.scenario, s);
  });
  return it == rows.end() || !it->ok ? nullptr : &*it;
}

void print_cpu(std::FILE* out, const std::vector<Measurement>& rows) {
  // Columns: the scenarios present, in run order; rows: the peers; cell: the peer's first variant.
  std::vector<Scenario> cols;
  std::vector<std::string> peers;
  for (const Measurement& m : rows) {
    if (std::none_of(cols.begin(), cols.end(),
                     [&](const Scenario& s) { return same_scenario(s, m.scenario); })) {
      cols.push_back(m.scenario);
    }
    if (std::find(peers.begin(), peers.end(), m.peer) == peers.end()) peers.push_back(m.peer);
  }
  if (cols.empty()) return;
  std::vector<std::string> header = {"peer"};
  std::vector<bool> right = {false};
  for (const Scenario& s : cols) {
    header.push_back(cpu_column(s));
    right.push_back(true);
  }
  header.emplace_back("");
  right.push_back(false);
  Table t(header, right);
  for (const std::string& p : peers) {
    std::vector<std::string> row = {p};
    for (const Scenario& s : cols) {
      const Measurement* m = first_ok_row(rows, p, s);
      row.push_back(m == nullptr ? "-" : fmt_num(m->cpu_s_per_million));
    }
    row.emplace_back("");
    t.add(row);
  }
  // Peers that count their own syscalls (shmq: futex waits and wakes) get a second row.
  for (const std::string& p : peers) {
    std::vector<std::string> row = {p + " futex/msg"};
    bool counted = false;
    for (const Scenario& s : cols) {
      const Measurement* m = first_ok_row(rows, p, s);
      const bool has = m != nullptr && m->syscalls_per_message >= 0;
      counted = counted || has;
      row.push_back(has ? fmt_num(m->syscalls_per_message) : "-");
    }
    row.emplace_back("");
    if (counted) t.add(row);
  }
  fmt::print(out,
             "\n(4) CPU seconds (user + system, all processes) per million messages; a round trip "
             "is 2 messages; each peer's first variant. \"futex/msg\": futex calls (waits + "
             "wakes) per message, counted by the peer itself\n");
  t.print(out);
}

json result_json(const std::vector<Measurement>& rows, const Measurement& m) {
  json r = {
      {"figure", to_string(m.scenario.figure)},
      {"wait", to_string(m.scenario.wait)},
      {"message_bytes", m.scenario.bytes},
      {"producers", m.scenario.producers},
      {"consumers", m.scenario.consumers},
      {"peer", m.peer},
      {"variant", m.variant.name},
      {"note", m.variant.note},
      {"reference", m.variant.reference},
      {"status", m.ok ? "ok" : (m.skipped ? "skipped" : "error")},
      {"error", m.ok ? json(nullptr) : json(m.error)},
  };
  if (!m.ok) return r;
  if (m.scenario.figure == Figure::roundtrip) {
    r["latency_us"] = {{"p50", m.p50_us}, {"p99", m.p99_us},   {"p999", m.p999_us},
                       {"max", m.max_us}, {"mean", m.mean_us}, {"samples", m.samples}};
  } else {
    r["throughput"] = {{"msgs_per_s", m.msgs_per_s},
                       {"mb_per_s", m.mb_per_s},
                       {"messages", m.messages},
                       {"window_s", m.window_s}};
  }
  r["cpus"] = m.cpus;
  r["cpu_s_per_million_msgs"] = m.cpu_s_per_million;
  if (m.syscalls_per_message >= 0) r["futex_calls_per_msg"] = m.syscalls_per_message;
  r["cpu_total_s"] = m.cpu_total_s;
  const auto v = vs_shmq(rows, m);
  r["vs_shmq"] = v ? json(*v) : json(nullptr);
  return r;
}

}  // namespace

HostInfo host_info(const RunOptions& options) {
  HostInfo h;
  h.cpus = allowed_cpu_count();
  h.cpu_order = cpu_order(options.cpus);
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos)
        h.cpu_model = line.substr(line.find_first_not_of(' ', colon + 1));
      break;
    }
  }
  utsname u{};
  if (uname(&u) == 0) h.kernel = fmt::format("{} {}", u.sysname, u.release);
  return h;
}

void print_report(std::FILE* out, const HostInfo& host, const ReportConfig& config,
                  const std::vector<Measurement>& rows) {
  const std::string pinning = host.cpu_order.empty() ? std::string("not pinned (one CPU)")
                                                     : fmt::format("pinned round robin to CPUs {}",
                                                                   fmt::join(host.cpu_order, ","));
  fmt::print(out,
             "\nshmq-bench: {} CPU{} ({}), {}; processes {}; {:.2g} s per row after {:.2g} s of "
             "warm-up; {} runs in {:.1f} s\n",
             host.cpus, host.cpus == 1 ? "" : "s", host.cpu_model, host.kernel, pinning,
             config.timing.seconds, config.timing.warmup, rows.size(), config.elapsed_s);
  if (config.hogs > 0) {
    fmt::print(out,
               "LOADED: {} busy process{} (one per CPU, unpinned) ran beside every row: the "
               "figures are for an oversubscribed machine\n",
               config.hogs, config.hogs == 1 ? "" : "es");
  }
  print_roundtrip(out, rows, Wait::spin);
  print_roundtrip(out, rows, Wait::sleep);
  print_throughput(out, rows, Figure::throughput);
  std::vector<int> shapes;  // MPMC producer counts, in the order measured
  for (const Measurement& m : rows) {
    if (m.scenario.figure == Figure::mpmc &&
        std::find(shapes.begin(), shapes.end(), m.scenario.producers) == shapes.end()) {
      shapes.push_back(m.scenario.producers);
    }
  }
  for (const int p : shapes)
    print_throughput(out, rows, Figure::mpmc, p);
  print_cpu(out, rows);
  print_manager(out, rows);
  fmt::print(out,
             "\np50/shmq: the row's p50 ÷ shmq's (above 1: slower than shmq). rate/shmq: the row's "
             "msgs/s ÷ shmq's (below 1: slower than shmq).\nMB = 10^6 bytes. Every figure was "
             "measured in this run; see docs/bench.md.\n");
}

json to_json(const HostInfo& host, const ReportConfig& config,
             const std::vector<std::pair<std::string, std::string>>& peers,
             const std::vector<Measurement>& rows) {
  json j;
  j["schema"] = kJsonSchema;
  j["host"] = {{"cpus", host.cpus},
               {"cpu_model", host.cpu_model},
               {"kernel", host.kernel},
               {"pinned", !host.cpu_order.empty()},
               {"cpu_order", host.cpu_order}};
  j["config"] = {{"quick", config.quick},
                 {"loaded_hogs", config.hogs},
                 {"seconds", config.timing.seconds},
                 {"warmup_seconds", config.timing.warmup},
                 {"peers", config.peers},
                 {"figures", config.figures},
                 {"elapsed_s", config.elapsed_s}};
  // Who, where and when, for plots and for comparing files (bench/plot.py prints it on every
  // PNG). The commit is the source tree's HEAD when CMake last configured (bench/CMakeLists.txt
  // reconfigures when HEAD moves); uncommitted edits are not in it.
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[32] = "";
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &utc);
  j["meta"] = {{"cpu_model", host.cpu_model},
               {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
               {"cpus_allowed", host.cpus},
               {"kernel", host.kernel},
               {"date_utc", date},
               {"git_commit", SHMQ_BENCH_GIT_COMMIT}};
  j["peers"] = json::array();
  for (const auto& [name, description] : peers) {
    j["peers"].push_back({{"name", name}, {"description", description}});
  }
  j["results"] = json::array();
  bool ok = true;
  for (const Measurement& m : rows) {
    j["results"].push_back(result_json(rows, m));
    ok = ok && (m.ok || m.skipped);
  }
  j["ok"] = ok;
  return j;
}

namespace {

// Collects what is wrong with a --json document, each finding with its JSON path.
class JsonChecker {
 public:
  using T = json::value_t;

  // Whether obj[key] is there with the type asked (number_float: any number); says so if not.
  bool need(const json& obj, const char* key, T type, const std::string& where) {
    const bool number = type == T::number_float;
    if (!obj.is_object() || !obj.contains(key)) {
      bad.push_back(fmt::format("{}: no \"{}\"", where, key));
      return false;
    }
    const json& v = obj.at(key);
    if (number ? !v.is_number() : v.type() != type) {
      bad.push_back(fmt::format("{}.{}: {} is not a {}", where, key, v.dump(),
                                number ? "number" : json(type).type_name()));
      return false;
    }
    return true;
  }

  // Everything but the results: schema, host, config, peers, ok.
  void check_head(const json& j) {
    if (need(j, "schema", T::string, "$") && j["schema"] != kJsonSchema) {
      bad.push_back(fmt::format("$.schema: {}, expected \"{}\"", j["schema"].dump(), kJsonSchema));
    }
    struct Key {
      const char* name;
      T type;
    };
    const auto need_all = [&](const char* group, std::initializer_list<Key> keys) {
      if (!need(j, group, T::object, "$")) return;
      for (const Key& k : keys)
        need(j[group], k.name, k.type, fmt::format("$.{}", group));
    };
    need_all("host", {{"cpus", T::number_float},
                      {"cpu_model", T::string},
                      {"kernel", T::string},
                      {"pinned", T::boolean},
                      {"cpu_order", T::array}});
    need_all("config", {{"quick", T::boolean},
                        {"seconds", T::number_float},
                        {"warmup_seconds", T::number_float},
                        {"peers", T::array},
                        {"figures", T::array}});
    need(j, "peers", T::array, "$");
    need(j, "ok", T::boolean, "$");
  }

  // One row: its keys; if it ran, its figures too (each positive).
  void check_result(const json& r, const std::string& at) {
    for (const char* k : {"figure", "wait", "peer", "variant", "note", "status"})
      need(r, k, T::string, at);
    for (const char* k : {"message_bytes", "producers", "consumers"})
      need(r, k, T::number_float, at);
    need(r, "reference", T::boolean, at);
    if (!r.is_object() || !r.contains("status") || !r["status"].is_string()) return;
    if (r["status"] == "skipped") return;  // not measurable here: the reason is in "error"
    if (r["status"] != "ok") {
      bad.push_back(fmt::format("{}: {} {} failed: {}", at, r.value("peer", "?"),
                                r.value("figure", "?"), r.value("error", json()).dump()));
      return;
    }
    need(r, "cpu_s_per_million_msgs", T::number_float, at);
    need(r, "cpu_total_s", T::number_float, at);
    need(r, "cpus", T::array, at);
    if (!r.contains("vs_shmq") || !(r["vs_shmq"].is_number() || r["vs_shmq"].is_null())) {
      bad.push_back(fmt::format("{}: no \"vs_shmq\" (number or null)", at));
    }
    check_figures(r, at);
  }

  std::vector<std::string> bad;

 private:
  void check_figures(const json& r, const std::string& at) {
    const bool rt = r.contains("figure") && r["figure"] == "roundtrip";
    const char* group = rt ? "latency_us" : "throughput";
    if (!need(r, group, T::object, at)) return;
    const json& g = r[group];
    const std::vector<const char*> keys =
        rt ? std::vector<const char*>{"p50", "p99", "p999", "max", "mean", "samples"}
           : std::vector<const char*>{"msgs_per_s", "mb_per_s", "messages", "window_s"};
    for (const char* k : keys) {
      if (need(g, k, T::number_float, at + "." + group) && !(g[k].get<double>() > 0)) {
        bad.push_back(fmt::format("{}.{}.{}: {} is not positive", at, group, k, g[k].dump()));
      }
    }
  }
};

}  // namespace

std::vector<std::string> check_json(const json& j) {
  if (!j.is_object()) return {"not a JSON object"};
  JsonChecker checker;
  checker.check_head(j);
  if (checker.need(j, "results", json::value_t::array, "$")) {
    if (j["results"].empty()) checker.bad.emplace_back("$.results: empty");
    for (std::size_t i = 0; i < j["results"].size(); ++i)
      checker.check_result(j["results"][i], fmt::format("$.results[{}]", i));
  }
  return checker.bad;
}

}  // namespace shmq_bench
