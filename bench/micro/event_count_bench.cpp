// The eventcount (detail/wait/event_count.hpp): what a put or get pays to wake sleepers.
#include "micro.hpp"

namespace shmq_micro {
namespace {

using shmq::detail::EventCountData;

struct alignas(shmq::detail::kCacheLine) AlignedEventCount {
  EventCountData ec{};
};

// Nobody registered: the fence [F1] and one load, no syscall — every message pays this.
void BM_EventCount_NotifyNoSleeper(benchmark::State& state) {
  AlignedEventCount a;
  for (auto _ : state) {
    benchmark::DoNotOptimize(shmq::detail::notify_all(a.ec));
  }
}
BENCHMARK(BM_EventCount_NotifyNoSleeper);

// A waiter registered but not asleep (it is between registering and futex_wait, or spinning):
// the epoch bump and a FUTEX_WAKE syscall that finds nobody.
void BM_EventCount_NotifyRegisteredNotAsleep(benchmark::State& state) {
  AlignedEventCount a;
  a.ec.waiters.store(1, std::memory_order_relaxed);  // relaxed: this thread only
  for (auto _ : state) {
    benchmark::DoNotOptimize(shmq::detail::notify_all(a.ec));
  }
}
BENCHMARK(BM_EventCount_NotifyRegisteredNotAsleep);

}  // namespace
}  // namespace shmq_micro
