#include "shmq/detail/crash_point.hpp"
#include "shmq/detail/shm_access.hpp"

#include <signal.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

namespace shmq::detail {

namespace {

constexpr std::size_t kCount = kCrashPoints.size();
constexpr std::uint8_t kNone = 0xFF;

// Process-local (not shared memory): each process arms its own points. relaxed throughout: a
// test arms a point before the code that passes it runs in the same thread, or does not care
// which of two racing threads dies first.
std::atomic<std::uint8_t> armed_point{kNone};
std::atomic<std::uint64_t> armed_countdown{0};
std::atomic<CrashAction> armed_action{CrashAction::kill};
std::array<std::atomic<std::uint64_t>, kCount> hits{};

// What an armed point or site does when its count is reached: dies here, or stops here until a
// SIGCONT (and then goes on).
void carry_out(CrashAction action) noexcept {
  ::raise(action == CrashAction::stop ? SIGSTOP : SIGKILL);
}

}  // namespace

void crash_point_arm(CrashPoint point, std::uint64_t nth, CrashAction action) noexcept {
  if constexpr (!kCrashPointsEnabled) return;
  armed_point.store(kNone, std::memory_order_relaxed);
  armed_countdown.store(nth == 0 ? 1 : nth, std::memory_order_relaxed);
  armed_action.store(action, std::memory_order_relaxed);
  armed_point.store(static_cast<std::uint8_t>(point), std::memory_order_relaxed);
}

void crash_point_disarm() noexcept {
  armed_point.store(kNone, std::memory_order_relaxed);
}

std::uint64_t crash_point_hits(CrashPoint point) noexcept {
  return hits[static_cast<std::size_t>(point)].load(std::memory_order_relaxed);
}

void crash_point_hit(CrashPoint point) noexcept {
  const auto index = static_cast<std::uint8_t>(point);
  hits[index].fetch_add(1, std::memory_order_relaxed);
  if (armed_point.load(std::memory_order_relaxed) != index) return;
  if (armed_countdown.fetch_sub(1, std::memory_order_relaxed) != 1) return;
  const CrashAction action = armed_action.load(std::memory_order_relaxed);
  if (action == CrashAction::stop) armed_point.store(kNone, std::memory_order_relaxed);
  carry_out(action);
}

namespace {

// Sites: process-local; the mutex is taken only while recording or armed.
std::atomic<bool> sites_active{false};  // relaxed: set before the code that passes sites runs
std::mutex sites_mutex;
bool sites_recording = false;
std::map<std::pair<std::string, std::uint32_t>, std::uint64_t> site_hits;
std::string armed_site_file;
std::uint32_t armed_site_line = 0;
std::uint64_t armed_site_countdown = 0;
CrashAction armed_site_action = CrashAction::kill;

void update_active() noexcept {
  sites_active.store(sites_recording || armed_site_countdown != 0, std::memory_order_relaxed);
}

}  // namespace

#ifdef SHMQ_CRASH_POINTS
namespace {
const char* base_name(const char* file) noexcept {
  const char* slash = std::strrchr(file, '/');
  return slash != nullptr ? slash + 1 : file;
}
}  // namespace

void crash_site_hit(const char* file, std::uint32_t line) noexcept {
  if (!sites_active.load(std::memory_order_relaxed)) return;
  const char* base = base_name(file);
  CrashAction action = CrashAction::kill;
  {
    std::lock_guard lock(sites_mutex);
    if (sites_recording) ++site_hits[{std::string(base), line}];
    if (armed_site_countdown == 0 || line != armed_site_line || armed_site_file != base) return;
    if (--armed_site_countdown != 0) return;
    action = armed_site_action;
    update_active();
  }
  carry_out(action);
}
#endif

void crash_sites_record(bool on) noexcept {
  if constexpr (!kCrashPointsEnabled) return;
  std::lock_guard lock(sites_mutex);
  if (on) site_hits.clear();
  sites_recording = on;
  update_active();
}

std::vector<CrashSite> crash_sites_recorded() {
  std::lock_guard lock(sites_mutex);
  std::vector<CrashSite> out;
  for (const auto& [site, passes] : site_hits)
    out.push_back({site.first, site.second, passes});
  return out;
}

void crash_site_arm(std::string_view file, std::uint32_t line, std::uint64_t nth,
                    CrashAction action) noexcept {
  if constexpr (!kCrashPointsEnabled) return;
  std::lock_guard lock(sites_mutex);
  armed_site_file = std::string(file);
  armed_site_line = line;
  armed_site_countdown = nth == 0 ? 1 : nth;
  armed_site_action = action;
  update_active();
}

void crash_site_disarm() noexcept {
  std::lock_guard lock(sites_mutex);
  armed_site_countdown = 0;
  update_active();
}

}  // namespace shmq::detail
