// Inspection of live segments: what the `shmq` CLI shows, through the same open-and-validate path
// as any user. Inspecting opens a segment read-only and does not join its registry: it is never
// seen as a producer or consumer and never blocks one. Every figure is a racy snapshot.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "shmq/detail/layout.hpp"

namespace shmq {

// Statistics summed over a segment's processes (see detail::Counters): one field per
// SHMQ_COUNTERS entry, in that order.
struct CounterSnapshot {
#define SHMQ_COUNTER_SNAPSHOT_MEMBER(name) std::uint64_t name = 0;
  SHMQ_COUNTERS(SHMQ_COUNTER_SNAPSHOT_MEMBER)
#undef SHMQ_COUNTER_SNAPSHOT_MEMBER

  CounterSnapshot& operator+=(const CounterSnapshot& o) noexcept;
};

// The counters by name, in SHMQ_COUNTERS order: what `shmq inspect` and its JSON list.
struct CounterField {
  const char* name;
  std::uint64_t CounterSnapshot::*member;
};
inline constexpr std::array kCounterFields{
#define SHMQ_COUNTER_FIELD(name) CounterField{#name, &CounterSnapshot::name},
    SHMQ_COUNTERS(SHMQ_COUNTER_FIELD)
#undef SHMQ_COUNTER_FIELD
};
static_assert(kCounterFields.size() == detail::kCounterCount);

// One registry entry that has ever been used.
struct AttachedProcess {
  std::uint32_t index = 0;  // registry entry
  std::uint32_t pid = 0;
  std::uint32_t roles = 0;  // detail::kRole* bits
  bool alive = false;       // the kernel still holds the entry's lock
  std::uint64_t attached_unix_ns = 0;
  CounterSnapshot counters;

  std::string role_names() const;  // "producer,consumer", "-" for none
};

struct QueueState {
  std::string mode;     // "spsc", "mpsc", "spmc", "mpmc"
  std::string element;  // "bytes" or "fixed:<size>"
  // Fixed-size elements: the C++ type the creator recorded, as C++ reads it ("double"); empty
  // when none was recorded (or the stored name is not a plain typeid name).
  std::string element_type;
  std::uint64_t capacity = 0;
  std::uint64_t slot_stride = 0;
  std::uint64_t max_message = 0;
  bool packed = false;  // elements back to back, no slot headers (SPSC, fixed-size elements)
  // Notifiers use a compiler barrier, waiters membarrier() (QueueOptions::asymmetric_fences).
  bool asymmetric_fences = false;
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  std::uint64_t depth = 0;
  bool closed = false;
  std::uint32_t sleepers_not_empty = 0;  // registered futex waiters (getters)
  std::uint32_t sleepers_not_full = 0;   // registered futex waiters (putters)
  std::uint32_t producer_pid = 0;        // single-producer queues: the holder, 0 for none
  std::uint32_t consumer_pid = 0;
};

// One client of a Manager: its reply queue N.c<id> exists (docs/manager.md).
struct ManagerClientState {
  std::uint64_t id = 0;
  std::uint32_t pid = 0;  // the live holder of the reply queue's consumer role; 0 when none
  bool alive = false;     // pid != 0: the client still reads its replies
};

// What a Manager's segment holds (detail::ManagerControl), with its clients and journal.
// The objects themselves live in the server's memory, not in shared memory.
struct ManagerState {
  std::uint32_t request_capacity = 0;  // messages in N.req
  std::uint32_t reply_capacity = 0;    // messages in each N.c<id>
  std::uint32_t max_message = 0;       // bytes per request or reply message
  std::string state;                   // "serving" or "shut down"
  std::uint32_t epoch = 0;             // bumped by each server that starts serving; 0: none yet
  std::uint32_t server_pid = 0;        // the last server that published itself; 0: none yet
  bool server_alive = false;           // that server's attachment is alive
  std::uint64_t clients_ever = 0;      // client ids handed out (ids are never reused)
  std::vector<ManagerClientState> clients;     // one per reply queue present, by id
  std::uint64_t requests = 0;                  // requests applied
  std::uint64_t malformed = 0;                 // requests rejected as malformed
  std::uint64_t dead_clients = 0;              // clients found dead and cleaned up
  std::optional<std::uint64_t> journal_bytes;  // N.journal's size; none when it is absent
};

struct SegmentReport {
  std::string name;
  std::string kind;  // "queue", "pipe", "manager"
  std::uint32_t layout_version = 0;
  std::uint64_t size_bytes = 0;
  std::uint64_t created_unix_ns = 0;
  std::uint32_t creator_pid = 0;
  std::vector<AttachedProcess> processes;
  CounterSnapshot totals;  // every process's counters plus those of departed processes
  std::optional<QueueState> queue;
  std::optional<ManagerState> manager;

  std::size_t live_processes() const noexcept;
};

// Opens `name` read-only, validates it as any opener would, and reports. Throws shmq::Error.
SegmentReport inspect(std::string_view name);

// If `name` in the shared-memory directory is a Manager's journal (a plain file N.journal, or the
// N.journal.tmp a compaction writes, that starts with the journal's magic), the Manager's name N.
std::optional<std::string> journal_owner(std::string_view name);

// Every file in the shared-memory directory owned by this user: shmq segments with their report,
// a Manager's journal with `journal_of`, anything else (foreign or corrupt) with `error` saying
// what it is.
struct ListedSegment {
  std::string name;
  std::optional<SegmentReport> report;
  std::string error;
  // Why it could not be inspected (an Errc, or a system error); empty when `report` is set.
  // Errc::not_a_segment: a foreign file; Errc::not_found: it vanished while being listed.
  std::error_code code;
  // A Manager's journal: that Manager's name (no report, no error); empty for anything else.
  std::string journal_of;
  std::uint64_t size_bytes = 0;  // the file's size
};
std::vector<ListedSegment> list_segments();

// Copies up to `max` messages now in queue `name`, oldest first, without consuming them. Safe while
// producers and consumers run: a message taken during the copy is not returned.
std::vector<std::vector<std::byte>> peek_messages(std::string_view name, std::size_t max);

// Unlinks `name`. Unless `force`, refuses with Error(Errc::role_taken) while a live process is
// attached. Returns whether it existed.
bool remove_segment(std::string_view name, bool force);

// What an unattached segment still holds, and so what unlinking it loses: the messages waiting in
// a queue, the bytes not yet received from a pipe, a Manager's journal (every committed change,
// which the next server would adopt). "The producer finished, the consumer has not started yet"
// is not garbage.
struct Backlog {
  std::uint64_t messages = 0;       // a queue's messages
  std::uint64_t unread_bytes = 0;   // a pipe's bytes sent and not yet received
  std::uint64_t journal_bytes = 0;  // a Manager's journal records (its objects' committed state)
  bool empty() const noexcept { return messages == 0 && unread_bytes == 0 && journal_bytes == 0; }
};
enum class BacklogPolicy {
  keep,    // a segment that still holds something is kept (listed with `kept` set)
  remove,  // it is removed like any other, and what it held is lost
};

// Unlinks every shmq segment that no live process is attached to (and abandoned half-created
// ones), unless it holds a backlog and `backlog` is BacklogPolicy::keep. Idempotent. Checks the
// inode before unlinking, so a name made again meanwhile survives. Only names that start with
// `prefix` are considered (all of them when it is empty).
struct GcEntry {
  std::string name;
  std::string reason;  // why it is garbage
  Backlog backlog;     // what it holds (lost if removed)
  bool kept = false;   // garbage, but kept for its backlog
  bool removed = false;
};
std::vector<GcEntry> collect_garbage(bool dry_run, std::string_view prefix = {},
                                     BacklogPolicy backlog = BacklogPolicy::keep);

}  // namespace shmq
