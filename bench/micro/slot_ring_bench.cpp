// SlotRing (detail/ring/slot_ring.hpp) on plain memory: the raw cost of the ring's operations,
// without a segment, the Queue's checks, counters or eventcount notifications.
#include <memory>

#include "micro.hpp"

namespace shmq_micro {
namespace {

using shmq::Status;
using shmq::detail::SlotRing;

constexpr std::uint64_t kCapacity = 1024;
constexpr std::uint32_t kMessage = 8;

// One thread: claim, write 8 B, publish, acquire, read, release — an op pair per iteration.
void claim_publish_acquire_release(benchmark::State& state, bool multi) {
  HeapSlotRing heap(kCapacity, kMessage);
  SlotRing ring = heap.handle(multi, multi);
  PendingWord pending;
  ring.set_owner(1U, &pending.word);
  std::uint64_t value = 0;
  for (auto _ : state) {
    SlotRing::Claim c;
    if (failed(state, ring.try_claim(c), "try_claim")) break;
    std::memcpy(c.payload, &value, sizeof(value));
    ring.publish(c, sizeof(value));
    SlotRing::Claim g;
    if (failed(state, ring.try_acquire(g), "try_acquire")) break;
    std::memcpy(&value, g.payload, sizeof(value));
    ring.release(g);
    ++value;
  }
  benchmark::DoNotOptimize(value);
  state.SetItemsProcessed(state.iterations());
}

void BM_SlotRing_ClaimPublishAcquireRelease_SPSC(benchmark::State& state) {
  claim_publish_acquire_release(state, false);
}
void BM_SlotRing_ClaimPublishAcquireRelease_MPMC(benchmark::State& state) {
  claim_publish_acquire_release(state, true);
}
BENCHMARK(BM_SlotRing_ClaimPublishAcquireRelease_SPSC);
BENCHMARK(BM_SlotRing_ClaimPublishAcquireRelease_MPMC);

// Threads(2): thread 0 produces, thread 1 consumes, on one ring; both spin on full/empty.
std::unique_ptr<HeapSlotRing> shared_ring;
void make_shared_ring(const benchmark::State&) {
  begin_run();
  shared_ring = std::make_unique<HeapSlotRing>(kCapacity, kMessage);
}
void drop_shared_ring(const benchmark::State&) {
  shared_ring.reset();
}

// Puts `value`, spinning while the ring is full (and the partner thread is alive).
Status put_spinning(SlotRing& ring, std::uint64_t value) {
  SlotRing::Claim c;
  Status s = Status::full;
  while ((s = ring.try_claim(c)) == Status::full && partner_alive())
    shmq::detail::cpu_relax();
  if (s != Status::ok) return s;
  std::memcpy(c.payload, &value, sizeof(value));
  ring.publish(c, sizeof(value));
  return Status::ok;
}
// Takes a message into `value`, spinning while the ring is empty (and the partner is alive).
Status get_spinning(SlotRing& ring, std::uint64_t& value) {
  SlotRing::Claim c;
  Status s = Status::empty;
  while ((s = ring.try_acquire(c)) == Status::empty && partner_alive())
    shmq::detail::cpu_relax();
  if (s != Status::ok) return s;
  std::memcpy(&value, c.payload, sizeof(value));
  ring.release(c);
  return Status::ok;
}

void producer_consumer(benchmark::State& state, bool multi) {
  SlotRing ring = shared_ring->handle(multi, multi);
  PendingWord pending;
  ring.set_owner(static_cast<unsigned>(state.thread_index()) + 1U, &pending.word);
  const bool producer = state.thread_index() == 0;
  std::uint64_t value = 0;
  for (auto _ : state) {
    if (producer) {
      if (failed(state, put_spinning(ring, value), "try_claim")) break;
    } else {
      std::uint64_t got = 0;
      if (failed(state, get_spinning(ring, got), "try_acquire")) break;
      if (got != value) {
        fail(state, "out of order");
        break;
      }
    }
    ++value;
  }
  if (producer) count_messages(state);
}

void BM_SlotRing_ProducerConsumer_SPSC(benchmark::State& state) {
  producer_consumer(state, false);
}
void BM_SlotRing_ProducerConsumer_MPMC(benchmark::State& state) {
  producer_consumer(state, true);
}
BENCHMARK(BM_SlotRing_ProducerConsumer_SPSC)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(make_shared_ring)
    ->Teardown(drop_shared_ring);
BENCHMARK(BM_SlotRing_ProducerConsumer_MPMC)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(make_shared_ring)
    ->Teardown(drop_shared_ring);

// Threads(2) on an MPMC ring where both threads put then get: the cost of the CAS on tail and on
// head when two parties contend for them. Time = wall time ÷ the op pairs of both threads.
void BM_SlotRing_ClaimPublishAcquireRelease_MPMC_Contended(benchmark::State& state) {
  SlotRing ring = shared_ring->handle(true, true);
  PendingWord pending;
  ring.set_owner(static_cast<unsigned>(state.thread_index()) + 1U, &pending.word);
  std::uint64_t value = 0;
  for (auto _ : state) {
    if (failed(state, put_spinning(ring, value), "try_claim")) break;
    // The other thread may take ours first; one of the messages is there or about to be.
    if (failed(state, get_spinning(ring, value), "try_acquire")) break;
    ++value;
  }
  benchmark::DoNotOptimize(value);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SlotRing_ClaimPublishAcquireRelease_MPMC_Contended)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(make_shared_ring)
    ->Teardown(drop_shared_ring);

}  // namespace
}  // namespace shmq_micro
