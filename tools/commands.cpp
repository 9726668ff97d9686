// shmq ls / inspect / dump / rm / gc.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "cli.hpp"
#include "render.hpp"
#include "shmq/error.hpp"
#include "shmq/inspect.hpp"

namespace shmq::cli {

namespace {

void print_json(const Json& doc) {
  // replace: a name or reason is printed even if it is not UTF-8 (names are validated ASCII,
  // but a foreign file in the shared-memory directory can be called anything).
  fmt::print("{}\n", doc.dump(2, ' ', false, Json::error_handler_t::replace));
}

Json null_or(bool present, const Json& value) {
  return present ? value : Json(nullptr);
}

Json queue_json(const QueueState& q) {
  Json out = Json::object();
  out["mode"] = q.mode;
  out["element"] = q.element;
  out["element_type"] = null_or(!q.element_type.empty(), q.element_type);
  out["capacity"] = q.capacity;
  out["slot_stride"] = q.slot_stride;
  out["packed"] = q.packed;
  out["asymmetric_fences"] = q.asymmetric_fences;
  out["max_message"] = q.max_message;
  out["head"] = q.head;
  out["tail"] = q.tail;
  out["depth"] = q.depth;
  out["closed"] = q.closed;
  out["sleepers"] = {{"not_empty", q.sleepers_not_empty}, {"not_full", q.sleepers_not_full}};
  out["producer_pid"] = null_or(q.producer_pid != 0, q.producer_pid);
  out["consumer_pid"] = null_or(q.consumer_pid != 0, q.consumer_pid);
  return out;
}

Json listed_json(const ListedSegment& item) {
  const SegmentReport* r = item.report ? &*item.report : nullptr;
  const QueueState* q = r && r->queue ? &*r->queue : nullptr;
  Json out = Json::object();
  out["name"] = item.name;
  out["kind"] = listed_kind(item);
  const bool journal = !item.journal_of.empty();
  out["error"] = null_or(r == nullptr && !journal, listed_error(item));
  out["mode"] = null_or(q != nullptr, q ? q->mode : "");
  out["capacity"] = null_or(q != nullptr, q ? q->capacity : 0);
  out["depth"] = null_or(q != nullptr, q ? q->depth : 0);
  out["closed"] = null_or(q != nullptr, q ? q->closed : false);
  const auto [alive, dead] = r ? process_counts(*r) : std::pair<std::size_t, std::size_t>{};
  out["processes_alive"] = null_or(r != nullptr, alive);
  out["processes_dead"] = null_or(r != nullptr, dead);
  out["size_bytes"] = null_or(r != nullptr, r ? r->size_bytes : 0);
  out["created_unix_ns"] = null_or(r != nullptr, r ? r->created_unix_ns : 0);
  out["age_s"] = null_or(r != nullptr, r ? seconds_since(r->created_unix_ns) : 0.0);
  if (journal) out["size_bytes"] = item.size_bytes;
  out["journal_of"] = null_or(journal, item.journal_of);
  return out;
}

Json manager_json(const ManagerState& m) {
  Json out = Json::object();
  out["state"] = m.state;
  out["epoch"] = m.epoch;
  out["server_pid"] = null_or(m.server_pid != 0, m.server_pid);
  out["server_alive"] = m.server_alive;
  out["request_capacity"] = m.request_capacity;
  out["reply_capacity"] = m.reply_capacity;
  out["max_message"] = m.max_message;
  out["clients_ever"] = m.clients_ever;
  Json clients = Json::array();
  for (const ManagerClientState& c : m.clients)
    clients.push_back(Json{{"id", c.id}, {"pid", null_or(c.alive, c.pid)}, {"alive", c.alive}});
  out["clients"] = std::move(clients);
  out["requests"] = m.requests;
  out["malformed"] = m.malformed;
  out["dead_clients"] = m.dead_clients;
  out["journal_bytes"] = null_or(m.journal_bytes.has_value(), m.journal_bytes.value_or(0));
  return out;
}

Json report_json(const SegmentReport& r) {
  Json out = Json::object();
  out["version"] = kJsonVersion;
  out["name"] = r.name;
  out["kind"] = r.kind;
  out["layout_version"] = r.layout_version;
  out["size_bytes"] = r.size_bytes;
  out["created_unix_ns"] = r.created_unix_ns;
  out["age_s"] = seconds_since(r.created_unix_ns);
  out["creator_pid"] = r.creator_pid;
  out["queue"] = r.queue ? queue_json(*r.queue) : Json(nullptr);
  out["manager"] = r.manager ? manager_json(*r.manager) : Json(nullptr);
  const auto [alive, dead] = process_counts(r);
  out["processes_alive"] = alive;
  out["processes_dead"] = dead;
  Json processes = Json::array();
  for (const AttachedProcess& p : r.processes) {
    Json entry = Json::object();
    entry["index"] = p.index;
    entry["pid"] = p.pid;
    entry["roles"] = role_list(p);
    entry["alive"] = p.alive;
    entry["attached_unix_ns"] = p.attached_unix_ns;
    entry["attached_for_s"] = seconds_since(p.attached_unix_ns);
    entry["counters"] = counters_json(p.counters);
    processes.push_back(std::move(entry));
  }
  out["processes"] = std::move(processes);
  out["counters"] = counters_json(r.totals);
  return out;
}

void print_hexdump(std::span<const std::byte> bytes) {
  for (std::size_t offset = 0; offset < bytes.size(); offset += 16) {
    const std::span<const std::byte> row =
        bytes.subspan(offset, std::min<std::size_t>(16, bytes.size() - offset));
    std::string hex;
    std::string ascii;
    for (std::size_t i = 0; i < 16; ++i) {
      if (i == 8) hex += ' ';
      if (i < row.size()) {
        const auto c = std::to_integer<unsigned char>(row[i]);
        hex += fmt::format("{:02x} ", c);
        ascii += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '.';
      } else {
        hex += "   ";
      }
    }
    fmt::print("  {:08x}  {} |{}|\n", offset, hex, ascii);
  }
}

}  // namespace

int run_ls(const LsOptions& options) {
  std::vector<ListedSegment> listed = list_segments();
  // A file that vanished between the directory scan and its inspection is no longer there.
  std::erase_if(listed, [](const ListedSegment& item) {
    return !item.report && item.code == make_error_code(Errc::not_found);
  });
  if (options.json) {
    Json segments = Json::array();
    for (const ListedSegment& item : listed)
      segments.push_back(listed_json(item));
    print_json(Json{{"version", kJsonVersion}, {"segments", std::move(segments)}});
    return kExitOk;
  }
  using A = Table::Align;
  Table t({{"NAME"},
           {"KIND"},
           {"MODE"},
           {"CAPACITY", A::right},
           {"DEPTH", A::right},
           {"ALIVE", A::right},
           {"DEAD", A::right},
           {"SIZE", A::right},
           {"AGE", A::right},
           {"NOTE"}});
  for (const ListedSegment& item : listed) {
    if (!item.journal_of.empty()) {
      t.add_row({item.name, listed_kind(item), "-", "-", "-", "-", "-",
                 human_bytes(static_cast<double>(item.size_bytes)), "-",
                 fmt::format("journal of manager {}", item.journal_of)});
      continue;
    }
    if (!item.report) {
      t.add_row(
          {item.name, listed_kind(item), "-", "-", "-", "-", "-", "-", "-", listed_error(item)});
      continue;
    }
    const SegmentReport& r = *item.report;
    const auto [alive, dead] = process_counts(r);
    const QueueState* q = r.queue ? &*r.queue : nullptr;
    t.add_row({r.name, r.kind, q ? q->mode : "-", q ? std::to_string(q->capacity) : "-",
               q ? std::to_string(q->depth) : "-", std::to_string(alive), std::to_string(dead),
               human_bytes(static_cast<double>(r.size_bytes)),
               human_duration(seconds_since(r.created_unix_ns)), q && q->closed ? "closed" : ""});
  }
  fmt::print("{}", t.render());
  return kExitOk;
}

int run_inspect(const InspectOptions& options) {
  const SegmentReport report = [&] {
    try {
      return inspect(options.name);
    } catch (const Error& e) {
      if (e.code() != make_error_code(Errc::not_a_segment)) throw;
      const std::optional<std::string> manager = journal_owner(options.name);
      if (!manager) throw;
      throw Error(Errc::not_a_segment, options.name,
                  fmt::format("the journal of manager {}, a plain file (`shmq inspect {}` shows "
                              "the manager)",
                              *manager, *manager));
    }
  }();
  if (options.json) {
    print_json(report_json(report));
  } else {
    fmt::print("{}", inspect_text(report));
  }
  return kExitOk;
}

int run_dump(const DumpOptions& options) {
  const std::size_t max = options.max == 0 ? std::numeric_limits<std::size_t>::max() : options.max;
  const std::vector<std::vector<std::byte>> messages = peek_messages(options.name, max);
  switch (options.format) {
    case DumpFormat::json: {
      Json list = Json::array();
      for (std::size_t i = 0; i < messages.size(); ++i) {
        const std::span<const std::byte> m = messages[i];
        Json entry = Json::object();
        entry["index"] = i;
        entry["size"] = m.size();
        entry["text"] = is_utf8(m)
                            ? Json(std::string(reinterpret_cast<const char*>(m.data()), m.size()))
                            : Json(nullptr);
        entry["hex"] = hex_string(m);
        list.push_back(std::move(entry));
      }
      print_json(Json{{"version", kJsonVersion},
                      {"name", options.name},
                      {"count", messages.size()},
                      {"messages", std::move(list)}});
      break;
    }
    case DumpFormat::text:
      for (const auto& m : messages)
        fmt::print("{}\n", escaped_text(m));
      break;
    case DumpFormat::hex:
      for (std::size_t i = 0; i < messages.size(); ++i) {
        fmt::print("#{}  {} byte{}\n", i, messages[i].size(), messages[i].size() == 1 ? "" : "s");
        print_hexdump(messages[i]);
      }
      break;
  }
  return kExitOk;
}

int run_rm(const RmOptions& options) {
  int rc = kExitOk;
  for (const std::string& name : options.names) {
    try {
      if (remove_segment(name, options.force)) {
        fmt::print("removed {}\n", name);
      } else {
        throw Error(Errc::not_found, name, "no such segment");
      }
    } catch (const Error& e) {
      std::fflush(stdout);
      fmt::print(stderr, "shmq: {}\n", e.what());
      rc = kExitRuntime;
    }
  }
  return rc;
}

namespace {

// What a segment holds: "3 messages", "120 unread bytes", "4096 bytes of journal".
std::string backlog_text(const Backlog& b) {
  if (b.unread_bytes != 0) return fmt::format("{} unread bytes", b.unread_bytes);
  if (b.journal_bytes != 0) return fmt::format("{} bytes of journal", b.journal_bytes);
  return fmt::format("{} message{}", b.messages, b.messages == 1 ? "" : "s");
}

}  // namespace

int run_gc(const GcOptions& options) {
  const std::vector<GcEntry> entries =
      collect_garbage(options.dry_run, options.prefix,
                      options.include_backlog ? BacklogPolicy::remove : BacklogPolicy::keep);
  if (options.json) {
    Json list = Json::array();
    for (const GcEntry& e : entries) {
      list.push_back(Json{{"name", e.name},
                          {"reason", e.reason},
                          {"backlog",
                           {{"messages", e.backlog.messages},
                            {"unread_bytes", e.backlog.unread_bytes},
                            {"journal_bytes", e.backlog.journal_bytes}}},
                          {"kept", e.kept},
                          {"removed", e.removed}});
    }
    print_json(Json{
        {"version", kJsonVersion}, {"dry_run", options.dry_run}, {"segments", std::move(list)}});
    return kExitOk;
  }
  if (std::none_of(entries.begin(), entries.end(), [](const GcEntry& e) { return !e.kept; })) {
    fmt::print("nothing to remove\n");
  }
  for (const GcEntry& e : entries) {
    if (e.kept) {
      fmt::print("kept {}: {}, but it holds {} (--include-backlog removes it)\n", e.name, e.reason,
                 backlog_text(e.backlog));
    } else if (options.dry_run) {
      fmt::print("would remove {}: {}; would lose {}\n", e.name, e.reason, backlog_text(e.backlog));
    } else if (!e.removed) {
      fmt::print("kept (changed meanwhile) {}: {}\n", e.name, e.reason);
    } else if (e.backlog.empty()) {
      fmt::print("removed {}: {}\n", e.name, e.reason);
    } else {
      fmt::print("removed {}: {}; lost {}\n", e.name, e.reason, backlog_text(e.backlog));
    }
  }
  return kExitOk;
}

}  // namespace shmq::cli
