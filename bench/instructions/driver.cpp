// shmq-instr: the driver that bench/instructions.sh runs under valgrind's callgrind to count the
// instructions one put+get pair costs (docs/bench.md, "Instructions per call"). Instruction
// counts are deterministic where timings on a shared machine are not.
//
//   shmq-instr ROW ITERATIONS
//
// Every row does ITERATIONS rounds of one put and one get (or one batch of kBatch puts and one of
// kBatch gets) on one handle in one thread, so that the ring never fills and never waits: what is
// counted is the call itself. The script runs each row twice (N and 2N rounds) and divides the
// difference by N, so set-up, segment creation and process start-up cancel out.
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/lockfree/spsc_queue.hpp>

#include "shmq/queue.hpp"

namespace {

constexpr std::size_t kBatch = 32;
constexpr std::uint64_t kCapacity = 1024;

// The optimiser must not drop the work: every value got is folded into this.
volatile std::uint64_t g_sink = 0;

[[noreturn]] void fail(const char* row, const char* what) {
  std::fprintf(stderr, "shmq-instr %s: %s failed\n", row, what);
  std::exit(1);
}

std::string segment_name(std::string_view row) {
  return "shmq-instr-" + std::to_string(::getpid()) + "-" + std::string(row);
}

template <class T>
class Scoped {
 public:
  Scoped(std::string_view row, shmq::QueueOptions options) : name_(segment_name(row)) {
    options.capacity = kCapacity;
    queue = shmq::Queue<T>::create(name_, options);
  }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;
  ~Scoped() { shmq::Queue<T>::remove(name_); }
  shmq::Queue<T> queue;

 private:
  std::string name_;
};

shmq::QueueOptions spsc(bool packed) {
  shmq::QueueOptions o;
  o.producers = shmq::Producers::one;
  o.consumers = shmq::Consumers::one;
  o.packed = packed;
  return o;
}

// put + get (blocking forms; they never block here).
template <class T>
void put_get(const char* row, shmq::Queue<T>& q, std::uint64_t n, const T& in) {
  T out{};
  for (std::uint64_t i = 0; i < n; ++i) {
    if (q.put(in) != shmq::Status::ok) fail(row, "put");
    if (q.get(out) != shmq::Status::ok) fail(row, "get");
    if constexpr (std::is_same_v<T, std::string>) {
      g_sink = g_sink + out.size();
    } else {
      g_sink = g_sink + out;
    }
  }
}

void try_put_get(const char* row, shmq::Queue<std::uint64_t>& q, std::uint64_t n) {
  std::uint64_t out = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (q.try_put(i) != shmq::Status::ok) fail(row, "try_put");
    if (q.try_get(out) != shmq::Status::ok) fail(row, "try_get");
    g_sink = g_sink + out;
  }
}

void batches(const char* row, shmq::Queue<std::uint64_t>& q, std::uint64_t n) {
  std::array<std::uint64_t, kBatch> in{};
  std::array<std::uint64_t, kBatch> out{};
  for (std::uint64_t i = 0; i < n; ++i) {
    std::size_t put = 0;
    std::size_t got = 0;
    if (q.try_put_many(in, put) != shmq::Status::ok || put != kBatch) fail(row, "try_put_many");
    if (q.try_get_many(out, got) != shmq::Status::ok || got != kBatch) fail(row, "try_get_many");
    g_sink = g_sink + out[kBatch - 1];
  }
}

using Lockfree = boost::lockfree::spsc_queue<std::uint64_t, boost::lockfree::capacity<kCapacity>>;

void lockfree(const char* row, std::uint64_t n) {
  static Lockfree q;
  std::uint64_t out = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!q.push(i)) fail(row, "push");
    if (!q.pop(out)) fail(row, "pop");
    g_sink = g_sink + out;
  }
}

void lockfree_batches(const char* row, std::uint64_t n) {
  static Lockfree q;
  std::array<std::uint64_t, kBatch> in{};
  std::array<std::uint64_t, kBatch> out{};
  for (std::uint64_t i = 0; i < n; ++i) {
    if (q.push(in.data(), kBatch) != kBatch) fail(row, "push");
    if (q.pop(out.data(), kBatch) != kBatch) fail(row, "pop");
    g_sink = g_sink + out[kBatch - 1];
  }
}

constexpr std::array<std::string_view, 8> kRows = {
    "spsc_packed", "spsc_packed_try",     "spsc_slots", "mpmc",
    "string8",     "spsc_packed_batch32", "lockfree",   "lockfree_batch32"};

int run(std::string_view row, std::uint64_t n) {
  const std::string r(row);
  const char* name = r.c_str();
  if (row == "spsc_packed") {
    Scoped<std::uint64_t> s(row, spsc(true));
    put_get<std::uint64_t>(name, s.queue, n, 7);
  } else if (row == "spsc_packed_try") {
    Scoped<std::uint64_t> s(row, spsc(true));
    try_put_get(name, s.queue, n);
  } else if (row == "spsc_slots") {
    Scoped<std::uint64_t> s(row, spsc(false));
    put_get<std::uint64_t>(name, s.queue, n, 7);
  } else if (row == "mpmc") {
    Scoped<std::uint64_t> s(row, shmq::QueueOptions{});
    put_get<std::uint64_t>(name, s.queue, n, 7);
  } else if (row == "string8") {
    Scoped<std::string> s(row, shmq::QueueOptions{});
    put_get<std::string>(name, s.queue, n, std::string("12345678"));
  } else if (row == "spsc_packed_batch32") {
    Scoped<std::uint64_t> s(row, spsc(true));
    batches(name, s.queue, n);
  } else if (row == "lockfree") {
    lockfree(name, n);
  } else if (row == "lockfree_batch32") {
    lockfree_batches(name, n);
  } else {
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--list") {
    for (const std::string_view row : kRows)
      std::printf("%.*s\n", static_cast<int>(row.size()), row.data());
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: shmq-instr ROW ITERATIONS | --list\n");
    return 2;
  }
  const std::uint64_t n = std::strtoull(argv[2], nullptr, 10);
  const int rc = run(argv[1], n);
  if (rc == 2) std::fprintf(stderr, "shmq-instr: unknown row %s (--list)\n", argv[1]);
  return rc;
}
