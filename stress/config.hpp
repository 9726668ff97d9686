// What one shmq-stress run is asked to do: the parsed command line (docs/stress.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shmq::stress {

// Which transport is stressed: a Queue of each kind, a one-way Pipe (one producer, one
// consumer), or a list in a Manager server used as a FIFO (append / pop(0), any number of each).
// `packed`: an SPSC Queue<PackedRecord> (message.hpp), a packed ring (docs/queue.md).
enum class Kind : std::uint8_t { spsc, mpsc, spmc, mpmc, packed, pipe, manager };

constexpr std::string_view to_string(Kind k) noexcept {
  switch (k) {
    case Kind::spsc:
      return "spsc";
    case Kind::mpsc:
      return "mpsc";
    case Kind::spmc:
      return "spmc";
    case Kind::mpmc:
      return "mpmc";
    case Kind::packed:
      return "packed";
    case Kind::pipe:
      return "pipe";
    case Kind::manager:
      return "manager";
  }
  return "?";
}
constexpr bool multi_producer(Kind k) noexcept {
  return k == Kind::mpsc || k == Kind::mpmc || k == Kind::manager;
}
constexpr bool multi_consumer(Kind k) noexcept {
  return k == Kind::spmc || k == Kind::mpmc || k == Kind::manager;
}
constexpr bool is_queue(Kind k) noexcept {
  return k != Kind::pipe && k != Kind::manager;
}

// Which processes --chaos may kill (--stop-chaos always picks from both sides).
enum class ChaosSide : std::uint8_t { producers, consumers, both };

constexpr std::string_view to_string(ChaosSide s) noexcept {
  switch (s) {
    case ChaosSide::producers:
      return "producers";
    case ChaosSide::consumers:
      return "consumers";
    case ChaosSide::both:
      return "both";
  }
  return "?";
}

enum class Role : std::uint8_t { producer, consumer };

constexpr std::string_view to_string(Role r) noexcept {
  return r == Role::producer ? "producer" : "consumer";
}

// Every message starts with a 32-byte header (message.hpp), so that is the smallest size.
inline constexpr std::uint32_t kMinMessageSize = 32;

struct Config {
  Kind kind = Kind::mpmc;
  unsigned producers = 1;
  unsigned consumers = 1;
  // Length of the loaded phase; 0 = no time limit (only with `messages`).
  double seconds = 10.0;
  // Puts attempted in total, over every producer incarnation; 0 = unbounded.
  std::uint64_t messages = 0;
  std::uint32_t size_min = kMinMessageSize;
  std::uint32_t size_max = 256;
  std::uint64_t capacity = 1024;  // queue: messages; pipe: see pipe_bytes
  std::uint64_t pipe_bytes = 0;   // pipe: ring bytes, room for `capacity` messages of size_max
  std::uint64_t start_position = 0;
  double chaos = 0.0;       // SIGKILLs per second
  double stop_chaos = 0.0;  // SIGSTOPs per second
  ChaosSide chaos_side = ChaosSide::both;
  std::chrono::milliseconds stop_pause_max{250};
  std::uint64_t seed = 0;
  std::string json_path;
  double watchdog = 10.0;  // seconds without progress before the run is declared stuck
  // Log records a process may hold before one write(): what a SIGKILL can take with it.
  unsigned log_batch = 1;
  std::string log_dir;  // parent of the run's temporary log directory
  bool keep_logs = false;
  bool keep_segment = false;          // leave the segment of a stuck or crashed run in place
  std::optional<std::uint32_t> spin;  // WaitPolicy::spin_iterations; library default if unset
  bool quiet = false;
  std::string name;  // segment name
  // Self-test of the watchdog: SIGSTOP every consumer for good after this many seconds.
  std::optional<double> inject_stall;
};

}  // namespace shmq::stress
