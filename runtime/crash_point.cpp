#include "shmq/detail/crash_point.hpp"

#include <signal.h>

#include <atomic>

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
  if (armed_action.load(std::memory_order_relaxed) == CrashAction::stop) {
    armed_point.store(kNone, std::memory_order_relaxed);
    ::raise(SIGSTOP);
    return;
  }
  ::raise(SIGKILL);
}

}  // namespace shmq::detail
