// floor: the lower bound of a round trip between two processes. No queue at all: each direction
// is one cache line in a shared mapping holding the last message's sequence word; the writer
// stores it, the reader polls the line until it changes. One line moves per message each way —
// what shmq's slots are designed to approach (docs/design.md §8: within 1.3×).
// Sleeping, the floor is a bare futex ping-pong on the same lines: FUTEX_WAKE after every store,
// FUTEX_WAIT while unchanged, no spinning at all.
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <new>
#include <system_error>

#include "../workloads.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

struct alignas(128) Line {  // 128: the adjacent-line prefetcher pairs 64-byte lines
  std::atomic<std::uint64_t> seq{~std::uint64_t{0} - 1};  // no message sent yet
  std::atomic<std::uint32_t> futex{0};                    // bumped after each store (sleep)
};
struct FloorShared {
  Line dir[2];
};

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  // Shared futex (no FUTEX_PRIVATE_FLAG): the waker is another process.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, nullptr,
          nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr,
          0);
}

class Tx {
 public:
  Tx(Line& line, bool sleep) : line_(line), sleep_(sleep) {}
  void send(const Msg<8>& m) {
    line_.seq.store(seq_of(m), std::memory_order_release);  // [R9] pairs with [A9] in recv()
    if (sleep_) {
      // seq_cst RMW: the bump follows the store above; pairs with the reader's futex load.
      line_.futex.fetch_add(1, std::memory_order_seq_cst);
      futex_wake(line_.futex);
    }
  }

 private:
  Line& line_;
  bool sleep_;
};

class Rx {
 public:
  Rx(Line& line, bool sleep) : line_(line), sleep_(sleep), last_(line.seq.load()) {}
  std::size_t recv(Msg<8>* out, std::size_t) {
    for (;;) {
      // seq_cst: read the futex word before re-checking seq, so a store after the check bumps it.
      const std::uint32_t f = sleep_ ? line_.futex.load(std::memory_order_seq_cst) : 0;
      const std::uint64_t s = line_.seq.load(std::memory_order_acquire);  // [A9]
      if (s != last_) {
        last_ = s;
        set_seq(*out, s);
        return 1;
      }
      if (sleep_) {
        futex_wait(line_.futex, f);
      } else {
        cpu_relax();
      }
    }
  }

 private:
  Line& line_;
  bool sleep_;
  std::uint64_t last_;
};

class FloorRun final : public Run {
 public:
  explicit FloorRun(bool sleep) : sleep_(sleep) {
    void* p = mmap(nullptr, sizeof(FloorShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    shared_ = new (p) FloorShared{};
  }
  ~FloorRun() override { munmap(shared_, sizeof(FloorShared)); }
  FloorRun(const FloorRun&) = delete;
  FloorRun& operator=(const FloorRun&) = delete;

  void child(ChildContext& ctx) override {
    run_role<8>(
        ctx, 1, 1, [&](int dir) { return Tx(shared_->dir[dir], sleep_); },
        [&](int dir) { return Rx(shared_->dir[dir], sleep_); });
  }

 private:
  bool sleep_;
  FloorShared* shared_ = nullptr;
};

class FloorPeer final : public Peer {
 public:
  std::string_view name() const override { return "floor"; }
  std::string_view description() const override {
    return "bare cache-line ping-pong through a shared mapping (the lower bound)";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    if (s.figure != Figure::roundtrip || s.bytes != 8) return {};
    if (s.wait == Wait::spin) return {{"line", "one 8-byte word per direction, busy-poll"}};
    return {{"futex", "bare futex ping-pong: FUTEX_WAKE every message"}};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant&, const std::string&) override {
    return std::make_unique<FloorRun>(s.wait != Wait::spin);
  }
};

}  // namespace

std::unique_ptr<Peer> make_floor_peer() {
  return std::make_unique<FloorPeer>();
}

}  // namespace shmq_bench
