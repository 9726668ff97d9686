// Inspection of live segments: what the `shmq` CLI shows, through the same open-and-validate path
// as any user. Inspecting opens a segment read-only and does not join its registry: it is never
// seen as a producer or consumer and never blocks one. Every figure is a racy snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace shmq {

// Statistics summed over a segment's processes (see detail::Counters).
struct CounterSnapshot {
  std::uint64_t msgs_put = 0;
  std::uint64_t bytes_put = 0;
  std::uint64_t msgs_got = 0;
  std::uint64_t bytes_got = 0;
  std::uint64_t full_events = 0;
  std::uint64_t empty_events = 0;
  std::uint64_t sleeps = 0;
  std::uint64_t wakes = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t closes = 0;
  std::uint64_t recovered_slots = 0;
  std::uint64_t in_doubt = 0;

  CounterSnapshot& operator+=(const CounterSnapshot& o) noexcept;
};

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
  std::uint64_t capacity = 0;
  std::uint64_t slot_stride = 0;
  std::uint64_t max_message = 0;
  bool packed = false;  // elements back to back, no slot headers (SPSC, fixed-size elements)
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  std::uint64_t depth = 0;
  bool closed = false;
  std::uint32_t sleepers_not_empty = 0;  // registered futex waiters (getters)
  std::uint32_t sleepers_not_full = 0;   // registered futex waiters (putters)
  std::uint32_t producer_pid = 0;        // single-producer queues: the holder, 0 for none
  std::uint32_t consumer_pid = 0;
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

  std::size_t live_processes() const noexcept;
};

// Opens `name` read-only, validates it as any opener would, and reports. Throws shmq::Error.
SegmentReport inspect(std::string_view name);

// Every file in the shared-memory directory owned by this user: shmq segments with their report,
// anything else (foreign or corrupt) with `error` saying what it is.
struct ListedSegment {
  std::string name;
  std::optional<SegmentReport> report;
  std::string error;
  // Why it could not be inspected (an Errc, or a system error); empty when `report` is set.
  // Errc::not_a_segment: a foreign file; Errc::not_found: it vanished while being listed.
  std::error_code code;
};
std::vector<ListedSegment> list_segments();

// Copies up to `max` messages now in queue `name`, oldest first, without consuming them. Safe while
// producers and consumers run: a message taken during the copy is not returned.
std::vector<std::vector<std::byte>> peek_messages(std::string_view name, std::size_t max);

// Unlinks `name`. Unless `force`, refuses with Error(Errc::role_taken) while a live process is
// attached. Returns whether it existed.
bool remove_segment(std::string_view name, bool force);

// Unlinks every shmq segment that no live process is attached to (and abandoned half-created
// ones). Idempotent. Checks the inode before unlinking, so a name made again meanwhile survives.
// Only names that start with `prefix` are considered (all of them when it is empty).
struct GcEntry {
  std::string name;
  std::string reason;  // why it is garbage
  bool removed = false;
};
std::vector<GcEntry> collect_garbage(bool dry_run, std::string_view prefix = {});

}  // namespace shmq
