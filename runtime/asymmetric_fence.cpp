#include "shmq/detail/wait/asymmetric_fence.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "fork_list.hpp"

namespace shmq::detail {

namespace {

long membarrier(int cmd) noexcept {
  return ::syscall(SYS_membarrier, cmd, 0U, 0);
}

}  // namespace

bool asymmetric_fences_supported() noexcept {
  static const bool supported = [] {
    const long cmds = membarrier(MEMBARRIER_CMD_QUERY);
    constexpr long kNeeded =
        MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
    return cmds >= 0 && (cmds & kNeeded) == kNeeded;
  }();
  return supported;
}

bool register_light_fences() noexcept {
  // The fork generation that registered (fork_list.hpp): registration belongs to the address
  // space, so a forked child registers itself again. Keyed on forks, not on the pid: a
  // descendant can get the pid of the ancestor that registered. Racing threads both register;
  // the call is idempotent.
  static std::atomic<std::uint64_t> registered{UINT64_MAX};
  const std::uint64_t generation = fork_generation();
  // relaxed: a cache of an idempotent syscall's success.
  if (registered.load(std::memory_order_relaxed) == generation) return true;
  if (!asymmetric_fences_supported() || membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0)
    return false;
  registered.store(generation, std::memory_order_relaxed);
  return true;
}

bool heavy_fence() noexcept {
  return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0;
}

}  // namespace shmq::detail
