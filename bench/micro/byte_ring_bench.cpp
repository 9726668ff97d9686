// ByteRing (detail/ring/byte_ring.hpp, the Pipe's SPSC byte stream) on plain memory, and the Pipe
// through the public API on a real segment.
#include <memory>
#include <string>
#include <vector>

#include "micro.hpp"
#include "shmq/detail/ring/byte_ring.hpp"
#include "shmq/pipe.hpp"

namespace shmq_micro {
namespace {

using shmq::Status;
using shmq::detail::ByteRing;
using shmq::detail::ByteRingData;

constexpr std::uint64_t kRingBytes = 64 * 1024;  // the Pipe's default per direction

// ByteRingData followed by its data area on plain memory.
class HeapByteRing {
 public:
  HeapByteRing() : block_(sizeof(ByteRingData) + kRingBytes) {
    data_ = new (block_.data()) ByteRingData{};
    ByteRing::initialize(*data_, kRingBytes, sizeof(ByteRingData), 0);
  }
  ByteRing handle() const {
    return ByteRing(data_, block_.data() + sizeof(ByteRingData), kRingBytes);
  }

 private:
  AlignedBlock block_;
  ByteRingData* data_ = nullptr;
};

// Writes one whole message of `in` as one record (it fits in a chunk here).
Status write_one(ByteRing& ring, const std::vector<std::byte>& in) {
  return ring.try_write(in.size(), true, in);
}
// Reads one single-record message into `out`.
Status read_one(ByteRing& ring, std::vector<std::byte>& out) {
  ByteRing::Record r;
  const Status s = ring.try_peek(r);
  if (s != Status::ok) return s;
  ring.copy_out(r, 0, out.data(), r.length);
  ring.consume(r);
  return Status::ok;
}

// One thread: write a 1 KiB record, read it back.
void BM_ByteRing_SendRecv_1KiB(benchmark::State& state) {
  HeapByteRing heap;
  ByteRing writer = heap.handle();
  ByteRing reader = heap.handle();
  std::vector<std::byte> in(1024, std::byte{0x5a});
  std::vector<std::byte> out(1024);
  for (auto _ : state) {
    if (failed(state, write_one(writer, in), "try_write")) break;
    if (failed(state, read_one(reader, out), "try_peek")) break;
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_ByteRing_SendRecv_1KiB);

// Threads(2): writer (thread 0) and reader (thread 1) streaming 1 KiB records.
std::unique_ptr<HeapByteRing> shared_ring;
void make_shared_ring(const benchmark::State&) {
  begin_run();
  shared_ring = std::make_unique<HeapByteRing>();
}
void drop_shared_ring(const benchmark::State&) {
  shared_ring.reset();
}

void BM_ByteRing_WriterReader_1KiB(benchmark::State& state) {
  ByteRing ring = shared_ring->handle();
  const bool writer = state.thread_index() == 0;
  std::vector<std::byte> buf(1024, std::byte{0x5a});
  for (auto _ : state) {
    Status s;
    if (writer) {
      while ((s = write_one(ring, buf)) == Status::full && partner_alive())
        shmq::detail::cpu_relax();
      if (failed(state, s, "try_write")) break;
    } else {
      while ((s = read_one(ring, buf)) == Status::empty && partner_alive())
        shmq::detail::cpu_relax();
      if (failed(state, s, "try_peek")) break;
    }
  }
  if (writer) count_messages(state, 1024);
}
BENCHMARK(BM_ByteRing_WriterReader_1KiB)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(make_shared_ring)
    ->Teardown(drop_shared_ring);

// The public Pipe, both ends in this thread: send_bytes of 1 KiB, recv_bytes_into.
void BM_Pipe_SendRecv_1KiB(benchmark::State& state) {
  const std::string name = segment_name("pipe1k");
  shmq::Pipe::remove(name);
  auto [a, b] = shmq::Pipe::create(name);
  std::vector<std::byte> in(1024, std::byte{0x5a});
  std::vector<std::byte> out(1024);
  for (auto _ : state) {
    std::size_t got = 0;
    if (failed(state, a.send_bytes(in), "send_bytes")) break;
    if (failed(state, b.recv_bytes_into(out, got), "recv_bytes_into")) break;
    benchmark::DoNotOptimize(out.data());
  }
  shmq::Pipe::remove(name);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_Pipe_SendRecv_1KiB);

}  // namespace
}  // namespace shmq_micro
