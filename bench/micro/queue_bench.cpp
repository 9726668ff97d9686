// Queue<T> (queue.hpp) through the public API on real shared-memory segments: what a user pays
// per message — the ring plus the role and closed checks, the counters and the eventcount's
// "anyone asleep?" fence on every put and get.
#include <array>
#include <optional>
#include <vector>

#include "micro.hpp"
#include "shmq/queue.hpp"

namespace shmq_micro {
namespace {

using shmq::Status;

template <std::size_t N>
struct Msg {
  std::array<std::byte, N> bytes{};
};

// Creates the queue `name` for one benchmark run and removes it afterwards, even on error.
template <class T>
class ScopedQueue {
 public:
  ScopedQueue(const std::string& name, shmq::Producers p, shmq::Consumers c,
              std::uint64_t capacity = 1024)
      : name_(name) {
    shmq::Queue<T>::remove(name_);
    shmq::QueueOptions options;
    options.capacity = capacity;
    options.producers = p;
    options.consumers = c;
    queue_ = shmq::Queue<T>::create(name_, options);
  }
  ScopedQueue(const ScopedQueue&) = delete;
  ScopedQueue& operator=(const ScopedQueue&) = delete;
  ~ScopedQueue() { shmq::Queue<T>::remove(name_); }
  shmq::Queue<T>& queue() noexcept { return queue_; }

 private:
  std::string name_;
  shmq::Queue<T> queue_;
};

// One handle, one thread: try_put then try_get per iteration.
template <class T>
void try_put_try_get(benchmark::State& state, const char* name, shmq::Producers p,
                     shmq::Consumers c) {
  ScopedQueue<T> sq(segment_name(name), p, c);
  shmq::Queue<T>& q = sq.queue();
  T in{};
  T out{};
  for (auto _ : state) {
    if (failed(state, q.try_put(in), "try_put")) break;
    if (failed(state, q.try_get(out), "try_get")) break;
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sizeof(T)));
}

void BM_Queue_TryPutTryGet_8B_SPSC(benchmark::State& state) {
  try_put_try_get<std::uint64_t>(state, "tpg8-spsc", shmq::Producers::one, shmq::Consumers::one);
}
void BM_Queue_TryPutTryGet_8B_MPMC(benchmark::State& state) {
  try_put_try_get<std::uint64_t>(state, "tpg8-mpmc", shmq::Producers::many, shmq::Consumers::many);
}
void BM_Queue_TryPutTryGet_1KiB_SPSC(benchmark::State& state) {
  try_put_try_get<Msg<1024>>(state, "tpg1k-spsc", shmq::Producers::one, shmq::Consumers::one);
}
BENCHMARK(BM_Queue_TryPutTryGet_8B_SPSC);
BENCHMARK(BM_Queue_TryPutTryGet_8B_MPMC);
BENCHMARK(BM_Queue_TryPutTryGet_1KiB_SPSC);

// try_put_many of 64 messages, then try_get_many of 64: one notification per batch.
void BM_Queue_PutBatch_64x8B(benchmark::State& state) {
  ScopedQueue<std::uint64_t> sq(segment_name("batch64"), shmq::Producers::one,
                                shmq::Consumers::one);
  shmq::Queue<std::uint64_t>& q = sq.queue();
  std::vector<std::uint64_t> in(64, 7);
  std::vector<std::uint64_t> out(64);
  for (auto _ : state) {
    std::size_t put = 0;
    std::size_t got = 0;
    if (q.try_put_many(in, put) != shmq::Status::ok || put != in.size() ||
        q.try_get_many(out, got) != shmq::Status::ok || got != out.size()) {
      fail(state, "short batch");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetBytesProcessed(state.iterations() * 64 * 8);
}
BENCHMARK(BM_Queue_PutBatch_64x8B);

// Zero-copy both ways: try_claim + write in place + commit, try_get(GetClaim&) + read in place +
// release.
template <std::size_t N>
void peek_zero_copy(benchmark::State& state, const char* name) {
  ScopedQueue<Msg<N>> sq(segment_name(name), shmq::Producers::one, shmq::Consumers::one);
  auto& q = sq.queue();
  std::uint64_t value = 0;
  for (auto _ : state) {
    typename shmq::Queue<Msg<N>>::PutClaim put;
    if (failed(state, q.try_claim(put), "try_claim")) break;
    std::memcpy(put.buffer().data(), &value, sizeof(value));  // the first word only
    if (failed(state, put.commit(N), "commit")) break;
    typename shmq::Queue<Msg<N>>::GetClaim get;
    if (failed(state, q.try_get(get), "try_get(GetClaim&)")) break;
    std::memcpy(&value, get.data().data(), sizeof(value));
    get.release();
    ++value;
  }
  benchmark::DoNotOptimize(value);
  state.SetItemsProcessed(state.iterations());
}
void BM_Queue_PeekZeroCopy_8B(benchmark::State& state) {
  peek_zero_copy<8>(state, "zc8");
}
void BM_Queue_PeekZeroCopy_1KiB(benchmark::State& state) {
  peek_zero_copy<1024>(state, "zc1k");
}
BENCHMARK(BM_Queue_PeekZeroCopy_8B);
BENCHMARK(BM_Queue_PeekZeroCopy_1KiB);

// Threads(2): a producer handle (thread 0) and a consumer handle (thread 1) on one SPSC queue,
// each its own Queue::open as two processes would have, spinning on try_put / try_get.
std::optional<ScopedQueue<std::uint64_t>> shared_queue;
const char* const kSharedQueue = "pc8-spsc";
void make_shared_queue(const benchmark::State&) {
  begin_run();
  shared_queue.emplace(segment_name(kSharedQueue), shmq::Producers::one, shmq::Consumers::one);
}
void drop_shared_queue(const benchmark::State&) {
  shared_queue.reset();
}

void BM_Queue_ProducerConsumer_8B_SPSC(benchmark::State& state) {
  auto q = shmq::Queue<std::uint64_t>::open(segment_name(kSharedQueue));
  const bool producer = state.thread_index() == 0;
  if (producer) {
    q.claim_producer();
  } else {
    q.claim_consumer();
  }
  std::uint64_t value = 0;
  for (auto _ : state) {
    Status s;
    if (producer) {
      while ((s = q.try_put(value)) == Status::full && partner_alive())
        shmq::detail::cpu_relax();
      if (failed(state, s, "try_put")) break;
      ++value;
    } else {
      std::uint64_t got = 0;
      while ((s = q.try_get(got)) == Status::empty && partner_alive())
        shmq::detail::cpu_relax();
      if (failed(state, s, "try_get")) break;
      if (got != value++) {
        fail(state, "out of order");
        break;
      }
    }
  }
  if (producer) count_messages(state);
}
BENCHMARK(BM_Queue_ProducerConsumer_8B_SPSC)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(make_shared_queue)
    ->Teardown(drop_shared_queue);

}  // namespace
}  // namespace shmq_micro
