// Segment: one named shared-memory object, created or opened and validated, with this process's
// entry in its registry of attached processes (docs/design.md §4, §6, §7).
//
// - create(): O_EXCL, the given mode (0600 by default), the creator holds the init lock while it
//   fills the header and the body, then stores `ready` last, with release ([R0]).
// - open(): checks the file (regular, ours, big enough), waits (bounded) for `ready` ([A0]),
//   reports a creator that died before `ready`, copies the header once, validates every field
//   and uses only that private copy afterwards.
// - Attaching takes the first free registry entry: entry i belongs to whoever holds the OFD write
//   lock on byte kRegistryLockBase + i, so the kernel arbitrates and drops the claim when the
//   owner dies. Liveness of a token is one F_OFD_GETLK.
//
// fork(): a child would share its parent's locks (one open file description), so a dead parent
// would look alive while the child lives. A pthread_atfork handler therefore gives every Segment
// in the child its own open file description and its own registry entry, and drops the roles it
// held (held_roles() becomes 0): handles inherited across fork() keep working as the child's own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shmq/detail/layout.hpp"
#include "shmq/detail/wait/deadline.hpp"
#include "shmq/error.hpp"

namespace shmq::detail {

class SleepGate;  // event_count.hpp

inline constexpr std::size_t kMaxNameLength = 200;

// The private copy of a segment's header, taken once at open/create and validated.
struct SegmentInfo {
  std::uint64_t magic = 0;
  std::uint32_t layout_version = 0;
  std::uint32_t kind = 0;
  std::uint64_t total_bytes = 0;
  std::uint64_t created_unix_ns = 0;
  std::uint32_t creator_pid = 0;
  std::uint32_t registry_capacity = 0;
  std::uint64_t registry_offset = 0;
  std::uint64_t body_offset = 0;
  std::uint64_t body_bytes = 0;
};

// Throws Error(Errc::invalid_name) unless `name` is 1..kMaxNameLength characters of
// [A-Za-z0-9._-] and does not start with '.'. One leading '/' (the POSIX shm_open habit) is
// allowed and means the same name: see bare_name().
void validate_name(std::string_view name);
// `name` without its leading '/', if any: "/jobs" and "jobs" are one segment.
std::string_view bare_name(std::string_view name) noexcept;

// Waits until a file named `name` exists or `timeout` passes (polls, at most every 50 ms).
// Returns whether it exists.
bool wait_for_name(std::string_view name, std::chrono::milliseconds timeout);
[[noreturn]] void throw_not_appeared(std::string_view name, std::chrono::milliseconds timeout);

// Runs `open()` (which throws Error(not_found) while `name` does not exist) until it succeeds,
// waiting up to `timeout` for the name to appear. A name that appears and is removed again is
// waited for again. After the timeout, Error(not_found) says how long it waited.
template <class Open>
auto open_when_created(std::string_view name, std::chrono::milliseconds timeout, Open&& open)
    -> decltype(open()) {
  validate_name(name);  // a name that cannot exist is refused now, not after the wait
  const auto deadline = deadline_after(timeout);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() > 0) wait_for_name(name, left);
    try {
      return open();
    } catch (const Error& e) {
      if (e.code() != make_error_code(Errc::not_found)) throw;
      if (std::chrono::steady_clock::now() >= deadline) throw_not_appeared(name, timeout);
    }
  }
}

// OFD byte-range locks on one byte of `fd` (F_WRLCK / F_RDLCK / F_UNLCK); false if not granted.
// A description that holds a read lock upgrades it to a write lock atomically.
bool ofd_try_lock(int fd, std::uint64_t byte, short type) noexcept;
// Whether another open file description holds a lock on `byte` (true when it cannot tell).
bool ofd_is_locked(int fd, std::uint64_t byte) noexcept;
// The type of lock another description holds on `byte`: F_UNLCK, F_RDLCK or F_WRLCK (F_WRLCK
// when it cannot tell: the conservative answer for liveness).
short ofd_lock_type(int fd, std::uint64_t byte) noexcept;

// "queue", "pipe", "manager", or "unknown".
const char* kind_name(std::uint32_t kind) noexcept;

// Where the object lives in the file system (/dev/shm/NAME on Linux).
std::string segment_path(std::string_view name);

class Segment {
 public:
  struct CreateSpec {
    SegmentKind kind = SegmentKind::queue;
    std::uint64_t body_bytes = 0;   // kind-specific control block, at kBodyOffset
    std::uint64_t total_bytes = 0;  // whole file
    std::uint32_t mode = 0600;
  };
  // Fills the body (and anything after it); runs before `ready` is stored. May throw: the half
  // made segment is then unlinked.
  using InitBody = std::function<void(std::byte* base)>;

  static Segment create(std::string_view name, const CreateSpec& spec, const InitBody& init);
  static Segment open(std::string_view name, SegmentKind kind,
                      std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(2000));
  // Opens read-only without joining the registry (for inspection: it never disturbs the
  // segment and is never seen as a producer or consumer); any kind. self() must not be used.
  static Segment observe(std::string_view name,
                         std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(500));
  // Unlinks the name; returns whether it existed. Attached processes keep their mappings.
  static bool remove(std::string_view name);

  struct Impl;  // opaque; defined in runtime/segment.cpp
  // Who this handle is in the registry. Kept in the handle itself, read inline on the hot path
  // (held_roles(): one memory operand, no pointer to follow); the Impl points at it (moves
  // re-point it) so that the fork handler rewrites it in a child.
  struct Identity {
    std::uint32_t self_index = kRegistryCapacity;  // none yet
    std::uint32_t held_roles = 0;                  // kRole* bits this handle holds
    std::uint64_t self_token = 0;
  };

  Segment() noexcept;
  Segment(Segment&&) noexcept;
  Segment& operator=(Segment&&) noexcept;
  ~Segment();

  bool valid() const noexcept { return base_ != nullptr; }
  const std::string& name() const noexcept;
  std::byte* base() const noexcept { return base_; }
  std::uint64_t size() const noexcept { return info_.total_bytes; }
  // The private, validated copy of the header.
  const SegmentInfo& info() const noexcept { return info_; }
  SegmentHeader& shared_header() const noexcept { return *reinterpret_cast<SegmentHeader*>(base_); }

  // This process's registry entry and token (they change in a forked child).
  RegistryEntry& self() const noexcept { return entry(self_index()); }
  std::uint64_t self_token() const noexcept { return id_.self_token; }
  std::uint32_t self_index() const noexcept { return id_.self_index; }
  // Roles (kRole* bits) this handle holds; process-local, reset to 0 in a forked child.
  std::uint32_t held_roles() const noexcept { return id_.held_roles; }
  void set_held_roles(std::uint32_t roles) noexcept { id_.held_roles = roles; }
  RegistryEntry& entry(std::uint32_t index) const noexcept {
    return reinterpret_cast<RegistryEntry*>(base_ + kRegistryOffset)[index];
  }

  // Whether the attachment named by `token` is alive (kernel-backed; a stopped process is alive).
  bool is_alive(std::uint64_t token) const noexcept;
  // Whether the attachment stamped as `tag` (the token's low 32 bits, as slots record claimers)
  // is provably dead: its entry's lock is free, or the entry has been reused since. Never on doubt.
  bool tag_dead(std::uint32_t tag) const noexcept;

  // Registry intents (RegistryEntry::pending): who, alive or dead, has `value` pending.
  struct PendingScan {
    bool live = false;  // a live process has it pending
    bool dead = false;  // a dead process has it pending
  };
  PendingScan scan_pending(std::uint64_t value) const noexcept;
  // Clears `value` from the entries of dead processes (their intent has been dealt with).
  void clear_dead_pending(std::uint64_t value) const noexcept;
  // Clears the waiters bits of dead processes in this segment's eventcounts (layout.hpp,
  // INV-E1), so notifiers stop paying a futex wake for them. Returns how many were taken back.
  std::uint32_t reap_dead_sleepers() const noexcept;
  // This handle's waiters bit (1 << its registry index) and sleepers (event_count.hpp).
  std::uint64_t self_bit() const noexcept { return 1ULL << (id_.self_index % 64); }
  SleepGate& sleep_gate() const noexcept;
  // Whether registry entry `index` is held by a live process.
  bool entry_alive(std::uint32_t index) const noexcept;

 private:
  Segment(std::unique_ptr<Impl> impl, std::byte* base, const SegmentInfo& info);
  static Segment open_impl(std::string_view name, std::optional<SegmentKind> kind,
                           std::chrono::milliseconds ready_timeout, bool observe);

  std::unique_ptr<Impl> impl_;  // stable address: the fork handler finds handles through it
  Identity id_{};               // impl_->id points here
  std::byte* base_ = nullptr;
  SegmentInfo info_{};
};

}  // namespace shmq::detail
