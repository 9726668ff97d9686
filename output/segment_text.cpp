#include "output/segment_text.hpp"

#include <string_view>

#include <fmt/format.h>

#include "output/human.hpp"
#include "output/table.hpp"

namespace shmq::output {

namespace {

// "key         value": the keys of inspect's header lines, in one column.
std::string field(std::string_view key, const std::string& value) {
  return fmt::format("{:<12}{}\n", key, value);
}

std::string pid_or_none(std::uint32_t pid) {
  return pid != 0 ? std::to_string(pid) : std::string("-");
}

std::string since(std::uint64_t unix_ns) {
  return fmt::format("{} ago", human_duration(seconds_since(unix_ns)));
}

std::string segment_lines(const SegmentReport& r) {
  std::string out = field("segment", r.name);
  out += field("kind", fmt::format("{} (layout version {})", r.kind, r.layout_version));
  out += field("size", fmt::format("{} ({} bytes)", human_bytes(static_cast<double>(r.size_bytes)),
                                   r.size_bytes));
  out += field("created", fmt::format("{} ({}) by pid {}", local_time(r.created_unix_ns),
                                      since(r.created_unix_ns), r.creator_pid));
  return out;
}

std::string queue_lines(const QueueState& q) {
  const std::string element =
      q.element_type.empty() ? q.element : fmt::format("{} ({})", q.element, q.element_type);
  std::string out = field(
      "queue",
      fmt::format("{}, {} elements, capacity {}, max message {} B, slot stride {} B{}", q.mode,
                  element, q.capacity, q.max_message, q.slot_stride, q.packed ? " (packed)" : ""));
  out += field("fences", q.asymmetric_fences ? "asymmetric (waiters pay membarrier)" : "full");
  out += field("state", q.closed ? "closed" : "open");
  out += field("positions", fmt::format("head {}  tail {}  depth {}", q.head, q.tail, q.depth));
  out += field("sleepers",
               fmt::format("getters {}  putters {}", q.sleepers_not_empty, q.sleepers_not_full));
  if (q.mode.starts_with("sp")) out += field("producer", pid_or_none(q.producer_pid));
  if (q.mode.ends_with("sc")) out += field("consumer", pid_or_none(q.consumer_pid));
  return out;
}

std::string server_line(const std::string& name, const ManagerState& m) {
  if (m.server_pid == 0) return field("server", "none has started yet");
  if (m.server_alive) {
    return field("server", fmt::format("pid {}, alive, epoch {}", m.server_pid, m.epoch));
  }
  return field("server", fmt::format("pid {}, dead, epoch {} (`shmq serve {}` adopts it)",
                                     m.server_pid, m.epoch, name));
}

std::string manager_lines(const std::string& name, const ManagerState& m) {
  std::string out = field(
      "manager", fmt::format("request queue {} messages, reply queues {} messages, max message "
                             "{} B",
                             m.request_capacity, m.reply_capacity, m.max_message));
  out += server_line(name, m);
  out += field("state", m.state);
  std::string clients;
  for (const ManagerClientState& c : m.clients) {
    if (!clients.empty()) clients += ", ";
    clients += c.alive ? fmt::format("{} (pid {})", c.id, c.pid) : fmt::format("{} (gone)", c.id);
  }
  out += field("clients", fmt::format("{} now{}{}; {} ever", m.clients.size(),
                                      clients.empty() ? "" : ": ", clients, m.clients_ever));
  out += field("requests", fmt::format("{} applied, {} malformed; {} dead clients cleaned up",
                                       m.requests, m.malformed, m.dead_clients));
  out += field("journal", m.journal_bytes
                              ? fmt::format("{} ({} bytes)",
                                            human_bytes(static_cast<double>(*m.journal_bytes)),
                                            *m.journal_bytes)
                              : std::string("none"));
  out += field("objects", "kept in the server's memory, not in shared memory");
  return out;
}

// One row per registry entry; a Manager's registry holds no queue counters, so no counter columns.
std::string process_table(const SegmentReport& r) {
  using A = Table::Align;
  std::vector<Table::Column> columns = {
      {"ENTRY", A::right}, {"PID", A::right}, {"ROLES"}, {"ALIVE"}, {"SINCE"}};
  const bool counters = !r.manager;
  if (counters) {
    columns.insert(
        columns.end(),
        {{"PUT", A::right}, {"GOT", A::right}, {"SLEEPS", A::right}, {"WAKES", A::right}});
  }
  Table t(std::move(columns));
  for (const AttachedProcess& p : r.processes) {
    std::vector<std::string> row = {std::to_string(p.index), std::to_string(p.pid), p.role_names(),
                                    p.alive ? "yes" : "no", since(p.attached_unix_ns)};
    if (counters) {
      row.insert(row.end(),
                 {std::to_string(p.counters.msgs_put), std::to_string(p.counters.msgs_got),
                  std::to_string(p.counters.sleeps), std::to_string(p.counters.wakes)});
    }
    t.add_row(std::move(row));
  }
  return t.render();
}

std::string counter_table(const CounterSnapshot& totals) {
  Table t({{"COUNTER"}, {"VALUE", Table::Align::right}});
  for (const CounterField& f : kCounterFields)
    t.add_row({f.name, std::to_string(totals.*f.member)});
  return t.render();
}

}  // namespace

std::pair<std::size_t, std::size_t> process_counts(const SegmentReport& report) {
  const std::size_t alive = report.live_processes();
  return {alive, report.processes.size() - alive};
}

Json counters_json(const CounterSnapshot& c) {
  Json out = Json::object();
  for (const CounterField& f : kCounterFields)
    out[f.name] = c.*f.member;
  return out;
}

std::string inspect_text(const SegmentReport& r) {
  std::string out = segment_lines(r);
  if (r.queue) out += queue_lines(*r.queue);
  if (r.manager) out += manager_lines(r.name, *r.manager);
  const auto [alive, dead] = process_counts(r);
  out += fmt::format("\nprocesses: {} alive, {} dead\n", alive, dead);
  if (!r.processes.empty()) out += process_table(r);
  if (r.manager) return out;  // a manager's registry holds no queue counters: they would all be 0
  out += "\ncounters (all processes, departed ones included)\n";
  out += counter_table(r.totals);
  return out;
}

}  // namespace shmq::output
