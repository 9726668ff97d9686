#include "report.hpp"

#include <utility>

#include <fmt/format.h>

namespace shmq::stress {

namespace {

using output::counters_json;
using output::human_count;
using output::Json;
using output::Table;

std::string result_word(const Summary& s) {
  switch (s.run.kind) {
    case RunOutcome::Kind::completed:
      return s.verdict.pass() ? "PASS" : "FAIL";
    case RunOutcome::Kind::stuck:
      return "STUCK";
    case RunOutcome::Kind::crashed:
      return "CRASHED";
    case RunOutcome::Kind::interrupted:
      return "INTERRUPTED";
  }
  return "?";
}

// The verdict as a table: outcome, counts, oracle findings, the library's counters.
Table summary_table(const Summary& s) {
  const Config& c = s.config;
  const Verdict& v = s.verdict;
  const RunOutcome& r = s.run;
  const std::uint64_t kills = r.kills_producers + r.kills_consumers;
  const double rate = r.total_seconds > 0 ? static_cast<double>(v.received) / r.total_seconds : 0;
  const auto count = [](std::uint64_t n) { return std::to_string(n); };
  const auto mark = [](std::uint64_t n) {
    return n == 0 ? std::string() : std::string("<-- FAIL");
  };

  Table t({{""}, {"", Table::Align::right}, {""}});
  t.add_row(
      {"outcome", to_string(r.kind),
       r.kind == RunOutcome::Kind::completed
           ? fmt::format("{:.1f} s under load, {:.1f} s in all", r.loaded_seconds, r.total_seconds)
           : r.reason});
  t.add_row({"committed", count(v.committed), "puts that returned ok and were logged"});
  t.add_row({"received", count(v.received),
             fmt::format("{} distinct, {}/s", v.distinct, human_count(rate))});
  t.add_row({"kills", count(kills),
             fmt::format("producers {}, consumers {} (--chaos {}, side {})", r.kills_producers,
                         r.kills_consumers, c.chaos, to_string(c.chaos_side))});
  t.add_row({"stops", count(r.stops), fmt::format("--stop-chaos {}", c.stop_chaos)});
  if (v.drained) {
    t.add_row({"lost", count(v.lost), mark(v.lost)});
  } else {
    t.add_row({"lost", "n/a",
               fmt::format("run did not drain; {} committed messages undelivered", v.undelivered)});
  }
  t.add_row({"duplicated", count(v.duplicated), mark(v.duplicated)});
  t.add_row({"corrupt", count(v.corrupt),
             v.phantom != 0 ? fmt::format("{} never put  <-- FAIL", v.phantom) : mark(v.corrupt)});
  t.add_row({"reordered", count(v.reordered), mark(v.reordered)});
  t.add_row({"in-doubt", count(v.in_doubt_put + v.in_doubt_get),
             fmt::format("put {}, get {}; bound {} = log batch {} x {} killed processes",
                         v.in_doubt_put, v.in_doubt_get, v.in_doubt_bound, c.log_batch,
                         v.killed_producers + v.killed_consumers)});
  if (v.have_library) {
    t.add_row({"library", v.library_consistent ? "consistent" : "MISMATCH",
               fmt::format("put {}, got {}, recovered_slots {}, in_doubt {}", v.library.msgs_put,
                           v.library.msgs_got, v.library.recovered_slots, v.library.in_doubt)});
  } else if (c.kind == Kind::manager) {
    t.add_row({"library", "n/a", "a Manager's counters count requests, not messages"});
  } else {
    t.add_row({"library", "MISMATCH", "no final counters"});
  }
  t.add_row({"result", result_word(s), ""});
  return t;
}

std::string summary_headline(const Config& c) {
  return fmt::format(
      "\nshmq-stress: {}, {} producer(s), {} consumer(s), messages {}..{} B, {}, seed {}\n",
      c.kind == Kind::pipe      ? std::string("one-way pipe")
      : c.kind == Kind::manager ? std::string("manager list")
                                : fmt::format("{} queue", to_string(c.kind)),
      c.producers, c.consumers, c.size_min, c.size_max,
      c.kind == Kind::pipe ? fmt::format("ring {} B", c.pipe_bytes)
                           : fmt::format("capacity {}", c.capacity),
      c.seed);
}

}  // namespace

std::string format_summary(const Summary& s) {
  const Verdict& v = s.verdict;
  std::string out = summary_headline(s.config);
  out += output::indented(summary_table(s).render(), "  ");
  for (const std::string& note : v.library_notes)
    out += "  library: " + note + "\n";
  for (const std::string& e : v.examples)
    out += "  " + e + "\n";
  for (const std::string& e : v.harness_errors)
    out += "  shmq-stress bug: " + e + "\n";
  if (v.attribution_limit_hit != 0) {
    out += "  (too many undelivered messages to attribute one by one: only the bound applied)\n";
  }
  if (!s.log_dir.empty()) out += fmt::format("  logs kept in {}\n", s.log_dir);
  if (s.run.segment_kept) {
    out += fmt::format("  segment kept: shmq inspect {0}; remove it with shmq rm {0}\n",
                       s.config.name);
  }
  return out;
}

Json summary_json(const Summary& s) {
  const Config& c = s.config;
  const Verdict& v = s.verdict;
  const RunOutcome& r = s.run;
  Json out = Json::object();
  out["tool"] = "shmq-stress";
  out["version"] = SHMQ_STRESS_VERSION;
  out["seed"] = c.seed;
  out["result"] = result_word(s);
  out["pass"] = s.exit_code == 0;
  out["exit_code"] = s.exit_code;
  out["config"] = {{"kind", to_string(c.kind)},  {"producers", c.producers},
                   {"consumers", c.consumers},   {"seconds", c.seconds},
                   {"messages", c.messages},     {"size_min", c.size_min},
                   {"size_max", c.size_max},     {"capacity", c.capacity},
                   {"pipe_bytes", c.pipe_bytes}, {"start_position", c.start_position},
                   {"chaos", c.chaos},           {"chaos_side", to_string(c.chaos_side)},
                   {"stop_chaos", c.stop_chaos}, {"stop_pause_max_ms", c.stop_pause_max.count()},
                   {"watchdog_s", c.watchdog},   {"log_batch", c.log_batch},
                   {"segment", c.name}};
  out["outcome"] = {{"kind", to_string(r.kind)},
                    {"reason", r.reason},
                    {"loaded_s", r.loaded_seconds},
                    {"total_s", r.total_seconds}};
  out["messages"] = {{"committed", v.committed},
                     {"received", v.received},
                     {"distinct", v.distinct},
                     {"undelivered", v.undelivered}};
  out["chaos"] = {{"kills", r.kills_producers + r.kills_consumers},
                  {"kills_producers", r.kills_producers},
                  {"kills_consumers", r.kills_consumers},
                  {"stops", r.stops},
                  {"incarnations", r.incarnations.size()}};
  out["violations"] = {{"lost", v.drained ? Json(v.lost) : Json(nullptr)},
                       {"duplicated", v.duplicated},
                       {"corrupt", v.corrupt},
                       {"phantom", v.phantom},
                       {"reordered", v.reordered}};
  out["in_doubt"] = {{"total", v.in_doubt_put + v.in_doubt_get},
                     {"put", v.in_doubt_put},
                     {"get", v.in_doubt_get},
                     {"bound", v.in_doubt_bound},
                     {"killed_producers", v.killed_producers},
                     {"killed_consumers", v.killed_consumers}};
  Json lib = Json::object();
  lib["consistent"] = v.library_consistent;
  lib["logged_puts"] = v.logged_puts;
  lib["logged_gets"] = v.logged_gets;
  lib["counters"] = v.have_library ? counters_json(v.library) : Json(nullptr);
  lib["notes"] = v.library_notes;
  out["library"] = std::move(lib);
  out["examples"] = v.examples;
  out["harness_errors"] = v.harness_errors;
  out["dump"] = r.dump.empty() ? Json(nullptr) : Json(r.dump);
  out["logs"] = s.log_dir.empty() ? Json(nullptr) : Json(s.log_dir);
  out["segment_kept"] = r.segment_kept;
  return out;
}

}  // namespace shmq::stress
