// eventfd: the "kernel path" baseline a hand-rolled system would use — a plain SPSC ring (no
// cached indexes) in a shared mapping (head and tail on their own cache lines, N-byte slots) whose
// waits go through two eventfds per ring: `data` (the producer wakes a sleeping consumer) and
// `space` (the consumer wakes a sleeping producer). A side writes to an eventfd only when the other
// side said it sleeps, so while both are busy no syscall is made. The mapping and the eventfds are
// made before the fork and inherited.
//
// Sleeping protocol (Dekker, as in Linux `circular-buffers.rst` plus a waiter flag): the waiter
// stores its flag, fences, re-checks the ring, then blocks in read(); the other side publishes its
// index, fences, then reads the flag — one of the two sees the other. A stale eventfd count only
// causes a spurious wake-up, after which the waiter re-checks.
//
// Rows: round trip spinning (busy-poll the ring, never sleep) and sleeping (sleep at once when
// empty); throughput always sleeps on the eventfd when the ring is empty or full (no spin).
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include "../workloads.hpp"
#include "cleanup.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

// The shared part of one ring; its slots follow it in the mapping.
// INV-E1: 0 <= tail - head <= capacity.
struct alignas(64) EfdRing {
  alignas(64) std::atomic<std::uint64_t> tail{0};  // written by the producer only
  alignas(64) std::atomic<std::uint64_t> head{0};  // written by the consumer only
  alignas(64) std::atomic<std::uint32_t> consumer_sleeps{0};
  alignas(64) std::atomic<std::uint32_t> producer_sleeps{0};
};

// The ends of one ring in one process.
struct RingEnds {
  EfdRing* ring;
  std::byte* slots;
  std::uint64_t capacity;
  int data_fd;   // producer -> consumer wake-ups
  int space_fd;  // consumer -> producer wake-ups
  bool sleep;    // false: busy-poll, never touch the eventfds
};

void wake(int fd) {
  const std::uint64_t one = 1;
  while (::write(fd, &one, sizeof one) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "eventfd write");
  }
}

void block(int fd) {
  std::uint64_t count = 0;
  while (::read(fd, &count, sizeof count) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "eventfd read");
  }
}

// Waits until ready() holds: spinning, or announcing itself in `flag` and sleeping on `fd`.
template <class Ready>
void wait_until(const RingEnds& e, std::atomic<std::uint32_t>& flag, int fd, Ready&& ready) {
  while (!ready()) {
    if (!e.sleep) {
      cpu_relax();
      continue;
    }
    flag.store(1, std::memory_order_relaxed);  // relaxed: ordered before the re-check by [F1]
    // [F1] flag before the re-check; pairs with [F2] in publish() (Dekker: one side sees the other)
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!ready()) block(fd);
    flag.store(0, std::memory_order_relaxed);  // relaxed: a stale 1 only costs one spare wake()
  }
}

// After storing its index: wake the other side if it said it sleeps.
void publish(const RingEnds& e, std::atomic<std::uint32_t>& flag, int fd) {
  if (!e.sleep) return;
  // [F2] the index store before the flag load; pairs with [F1] in wait_until()
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (flag.load(std::memory_order_relaxed) != 0) wake(fd);  // relaxed: ordered by [F2]
}

template <std::size_t N>
class EfdTx {
 public:
  explicit EfdTx(RingEnds e) : e_(e) {}
  void send(const Msg<N>& m) {
    EfdRing& r = *e_.ring;
    const std::uint64_t t = r.tail.load(std::memory_order_relaxed);  // relaxed: only we write it
    // [A2] the consumer is done with the slot; pairs with [R2] in EfdRx::recv()
    wait_until(e_, r.producer_sleeps, e_.space_fd, [&] {
      return t - r.head.load(std::memory_order_acquire) < e_.capacity;  // INV-E1
    });
    std::memcpy(e_.slots + (t % e_.capacity) * N, m.bytes, N);
    r.tail.store(t + 1, std::memory_order_release);  // [R1] publish the slot; pairs with [A1]
    publish(e_, r.consumer_sleeps, e_.data_fd);
  }

 private:
  RingEnds e_;
};

template <std::size_t N>
class EfdRx {
 public:
  explicit EfdRx(RingEnds e) : e_(e) {}
  std::size_t recv(Msg<N>* out, std::size_t max) {
    EfdRing& r = *e_.ring;
    const std::uint64_t h = r.head.load(std::memory_order_relaxed);  // relaxed: only we write it
    std::uint64_t t = 0;
    // [A1] see the slots up to tail; pairs with [R1] in EfdTx::send()
    wait_until(e_, r.consumer_sleeps, e_.data_fd, [&] {
      t = r.tail.load(std::memory_order_acquire);
      return t != h;
    });
    const std::uint64_t n = std::min<std::uint64_t>(t - h, max);
    for (std::uint64_t i = 0; i < n; ++i)
      std::memcpy(out[i].bytes, e_.slots + ((h + i) % e_.capacity) * N, N);
    r.head.store(h + n, std::memory_order_release);  // [R2] hand the slots back; pairs with [A2]
    publish(e_, r.producer_sleeps, e_.space_fd);
    return static_cast<std::size_t>(n);
  }

 private:
  RingEnds e_;
};

class EventfdRun final : public Run {
 public:
  EventfdRun(const Scenario& s, const Variant& v) : s_(s), v_(v) {
    capacity_ = capacity_for(s.bytes);
    ring_bytes_ = sizeof(EfdRing) + capacity_ * s.bytes;
    const int rings = s.figure == Figure::roundtrip ? 2 : 1;
    map_bytes_ = static_cast<std::size_t>(rings) * ring_bytes_;
    void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    base_ = static_cast<std::byte*>(p);
    cleanup_.add([this] { munmap(base_, map_bytes_); });
    for (int d = 0; d < rings; ++d) {
      new (base_ + static_cast<std::size_t>(d) * ring_bytes_) EfdRing{};
      for (int& fd : fds_[d]) {
        fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
        cleanup_.add([fd] { close(fd); });
      }
    }
  }
  void child(ChildContext& ctx) override {
    const bool sleep = v_.name != "spin";
    const auto ends = [&](int d) {
      std::byte* at = base_ + static_cast<std::size_t>(d) * ring_bytes_;
      return RingEnds{reinterpret_cast<EfdRing*>(at),
                      at + sizeof(EfdRing),
                      capacity_,
                      fds_[d][0],
                      fds_[d][1],
                      sleep};
    };
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, v_.send_batch, v_.recv_batch, [&](int d) { return EfdTx<N>(ends(d)); },
          [&](int d) { return EfdRx<N>(ends(d)); });
    });
  }

 private:
  Scenario s_;
  Variant v_;
  std::uint64_t capacity_ = 0;
  std::size_t ring_bytes_ = 0;
  std::size_t map_bytes_ = 0;
  std::byte* base_ = nullptr;
  int fds_[2][2] = {{-1, -1}, {-1, -1}};  // per ring: data, space
  Cleanup cleanup_;
};

class EventfdPeer final : public Peer {
 public:
  std::string_view name() const override { return "eventfd"; }
  std::string_view description() const override {
    return "hand-rolled SPSC ring in a shared mapping, wake-ups through eventfd";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) return {{"spin", "2 rings, busy-poll (no eventfd)"}};
        return {{"eventfd", "2 rings, sleep in eventfd read when empty"}};
      case Figure::throughput: {
        const std::size_t rb = s.bytes <= 1024 ? kBatch : 1;
        return {
            {"eventfd",
             fmt::format("1 msg/send, ≤{} msgs/recv, eventfd sleep when empty/full (no spin)", rb),
             1, rb}};
      }
      case Figure::mpmc:  // single producer, single consumer only
      case Figure::manager:
        return {};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant& v, const std::string&) override {
    return std::make_unique<EventfdRun>(s, v);
  }
};

}  // namespace

std::unique_ptr<Peer> make_eventfd_peer() {
  return std::make_unique<EventfdPeer>();
}

}  // namespace shmq_bench
