// shmq watch: rates from two successive snapshots of a segment's counters, refreshed in place
// on a terminal and one line per refresh otherwise, until Ctrl-C or --count refreshes.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "cli.hpp"
#include "render.hpp"
#include "shmq/error.hpp"
#include "shmq/inspect.hpp"

namespace shmq::cli {

namespace {

// Set by SIGINT/SIGTERM. Lock-free atomics are async-signal-safe; relaxed: a flag polled by the
// one thread of this process, which publishes nothing through it.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int /*signo*/) {
  g_stop.store(true, std::memory_order_relaxed);
}

// Catches SIGINT and SIGTERM while alive, so that watch ends its line and exits 0.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

bool stop_requested() {
  return g_stop.load(std::memory_order_relaxed);  // relaxed: see g_stop
}

// Sleeps until `deadline` in short slices; false if a stop was requested meanwhile.
bool sleep_until(std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono_literals;
  while (!stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, 20ms));
  }
  return false;
}

double rate(std::uint64_t before, std::uint64_t after, double seconds) {
  // A counter dips for a moment while a departed process's figures move to the retired sum.
  return after > before && seconds > 0.0 ? static_cast<double>(after - before) / seconds : 0.0;
}

// TIME, PUT/S, GOT/S, BYTES/S (put), SLEEPS/S, WAKES/S, DEPTH, ALIVE, DEAD.
constexpr const char* kRowFormat = "{:>8}  {:>8}  {:>8}  {:>10}  {:>8}  {:>8}  {:>9}  {:>5}  {:>4}";

}  // namespace

int run_watch(const WatchOptions& options) {
  const StopSignals signals;
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  SegmentReport before = inspect(options.name);
  if (before.queue) {
    fmt::print("{}: {} {}, capacity {}, every {} ms{}\n", before.name, before.kind,
               before.queue->mode, before.queue->capacity, options.interval_ms,
               tty ? " (Ctrl-C to stop)" : "");
  } else {
    fmt::print("{}: {}, every {} ms{}\n", before.name, before.kind, options.interval_ms,
               tty ? " (Ctrl-C to stop)" : "");
  }
  fmt::print(kRowFormat, "TIME", "PUT/S", "GOT/S", "BYTES/S", "SLEEPS/S", "WAKES/S", "DEPTH",
             "ALIVE", "DEAD");
  fmt::print("\n");
  std::fflush(stdout);

  bool line_open = false;  // on a TTY, the row being rewritten has no newline yet
  const auto end_line = [&] {
    if (line_open) fmt::print("\n");
    std::fflush(stdout);
  };
  const auto interval = std::chrono::milliseconds(options.interval_ms);
  auto taken = std::chrono::steady_clock::now();
  try {
    for (std::uint64_t refresh = 0; options.count == 0 || refresh < options.count; ++refresh) {
      if (!sleep_until(taken + interval)) break;
      SegmentReport after = inspect(options.name);
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - taken).count();
      taken = now;
      const CounterSnapshot& a = before.totals;
      const CounterSnapshot& b = after.totals;
      const auto [alive, dead] = process_counts(after);
      const std::string row = fmt::format(
          kRowFormat, local_time(now_unix_ns()).substr(11),
          human_count(rate(a.msgs_put, b.msgs_put, seconds)),
          human_count(rate(a.msgs_got, b.msgs_got, seconds)),
          human_bytes(rate(a.bytes_put, b.bytes_put, seconds)),
          human_count(rate(a.sleeps, b.sleeps, seconds)),
          human_count(rate(a.wakes, b.wakes, seconds)),
          after.queue ? std::to_string(after.queue->depth) : std::string("-"), alive, dead);
      if (tty) {
        fmt::print("\r\x1b[2K{}", row);  // back to column 0, clear the line, rewrite it
        line_open = true;
      } else {
        fmt::print("{}\n", row);
      }
      std::fflush(stdout);
      before = std::move(after);
    }
  } catch (const Error&) {
    end_line();
    throw;
  }
  end_line();
  return kExitOk;
}

}  // namespace shmq::cli
