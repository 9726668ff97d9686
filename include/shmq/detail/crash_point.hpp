// Named crash points (docs/design.md §6): the places in put, get, recovery, attach and cleanup
// where a process killed at the wrong instruction leaves shared state half-changed, and in the
// Manager journal's compaction, where it leaves two files. Test builds (SHMQ_CRASH_POINTS, on in
// Debug builds) compile them in, and a test arms one to SIGKILL the process exactly there
// (tests/crash_point_test.cpp enumerates them all). Elsewhere SHMQ_CRASH_POINT(name) compiles to
// nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// X(name, what the half-done state is)
#define SHMQ_CRASH_POINT_LIST(X)                                                             \
  X(claim_before_cas, "multi producer: intent written, tail CAS not made")                   \
  X(claim_before_stamp, "multi producer: tail CAS done, slot not stamped (only the intent)") \
  X(publish_before_seq, "producer: payload and size written, seq not stored (claim held)")   \
  X(publish_before_tail, "single producer: seq published, tail not stored (tail lags one)")  \
  X(take_before_cas, "multi consumer: intent written, head CAS not made")                    \
  X(take_before_stamp, "multi consumer: head CAS done, slot not stamped (only the intent)")  \
  X(release_before_seq, "consumer: message copied out, slot not released (take held)")       \
  X(release_before_head, "single consumer: slot released, head not stored (head lags one)")  \
  X(recover_lock_held, "recovery: recovery lock taken, nothing done yet")                    \
  X(recover_skip_marked, "recovery: dead claim marked, skip not published (seq == pos - 1)") \
  X(sleep_registered, "waiter: registered on the eventcount, asleep")                        \
  X(sleep_woken, "waiter: woken (or its slice ended), still registered")                     \
  X(reap_judged, "reaper: a sleeper's entry judged dead, its lock not yet taken")            \
  X(attach_entry_locked, "attach: registry entry locked, identity not published")            \
  X(create_before_lock, "create: name made (O_EXCL), init lock not taken, nothing written")  \
  X(compact_before_rename, "manager journal compaction: snapshot in .tmp, not renamed")      \
  X(compact_after_rename, "manager journal compaction: snapshot renamed, old file open")     \
  X(role_release_before_handover, "cleanup: single-side role still named, handle going away")

namespace shmq::detail {

enum class CrashPoint : std::uint8_t {
#define SHMQ_CRASH_POINT_ENUM(name, what) name,
  SHMQ_CRASH_POINT_LIST(SHMQ_CRASH_POINT_ENUM)
#undef SHMQ_CRASH_POINT_ENUM
};

struct CrashPointInfo {
  std::string_view name;
  std::string_view what;
};

inline constexpr std::array kCrashPoints = {
#define SHMQ_CRASH_POINT_INFO(name, what) CrashPointInfo{#name, what},
    SHMQ_CRASH_POINT_LIST(SHMQ_CRASH_POINT_INFO)
#undef SHMQ_CRASH_POINT_INFO
};

// Whether this build has crash points compiled in.
#ifdef SHMQ_CRASH_POINTS
inline constexpr bool kCrashPointsEnabled = true;
#else
inline constexpr bool kCrashPointsEnabled = false;
#endif

// What an armed point does when its count is reached: die (SIGKILL), or stop (SIGSTOP: the
// process stays there, as if descheduled at that instruction, until a SIGCONT; the point is
// disarmed then), so that a test can interleave processes at exact instructions.
enum class CrashAction : std::uint8_t { kill, stop };

// Arms `point` in this process: its `nth` hit (1-based) from now does `action`. One point is
// armed at a time; arming again replaces it. A no-op where crash points are compiled out.
void crash_point_arm(CrashPoint point, std::uint64_t nth,
                     CrashAction action = CrashAction::kill) noexcept;
void crash_point_disarm() noexcept;
// How often `point` was passed in this process since start (0 where compiled out).
std::uint64_t crash_point_hits(CrashPoint point) noexcept;
// Called by SHMQ_CRASH_POINT; kills the process if `point` is armed and its count is reached.
void crash_point_hit(CrashPoint point) noexcept;

// ---- Crash sites: every store and read-modify-write to shared memory (shm_access.hpp) ----
//
// Each call site of shm_store/shm_exchange/shm_fetch_*/shm_cas_* is a site, named by its file's
// base name and line ("slot_ring.hpp:312"). A sweep records which sites a workload passes and how
// often, then kills a process before the n-th pass of each (tests/crash_sweep_test.cpp).
struct CrashSite {
  std::string file;  // base name
  std::uint32_t line = 0;
  std::uint64_t hits = 0;
};
// Starts (or stops) recording the sites this process passes; starting forgets earlier counts.
void crash_sites_record(bool on) noexcept;
// The sites passed while recording, with how often, in file/line order.
std::vector<CrashSite> crash_sites_recorded();
// Arms a site: the `nth` pass (1-based) from now does `action`. Replaces an armed site; a
// no-op where crash points are compiled out.
void crash_site_arm(std::string_view file, std::uint32_t line, std::uint64_t nth,
                    CrashAction action = CrashAction::kill) noexcept;
void crash_site_disarm() noexcept;

}  // namespace shmq::detail

#ifdef SHMQ_CRASH_POINTS
#define SHMQ_CRASH_POINT(name) ::shmq::detail::crash_point_hit(::shmq::detail::CrashPoint::name)
#else
#define SHMQ_CRASH_POINT(name) ((void)0)
#endif
