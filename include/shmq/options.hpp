// Options of shmq's queues.
#pragma once

#include <chrono>
#include <cstdint>

namespace shmq {

// How many processes may put (get) at once. `one` is faster (no CAS) and is enforced: a second
// producer (consumer) attachment is refused with Errc::role_taken / Status::role_taken.
enum class Producers : std::uint8_t { one, many };
enum class Consumers : std::uint8_t { one, many };

// How a blocking call waits: spin at most `spin_iterations` times (with the CPU's pause) and at
// most `spin_limit` long, then sleep on a futex in slices of at most `sleep_slice`, so that a
// sleeper also notices a closed queue or a dead peer within one slice. A spin never yields the CPU
// (docs/queue.md, "Waiting"). Process-local: each handle has its own.
struct WaitPolicy {
  std::uint32_t spin_iterations = 4000;
  std::chrono::milliseconds sleep_slice{100};
  // Adapt the spin to what pays (a handle spins less after waits that had to sleep; docs/queue.md,
  // "Waiting"). false: always spin spin_iterations — for request/reply partners, where one side
  // falling asleep makes the other's next wait long too and adaptation would settle both asleep.
  bool adaptive = true;
  // Longer than a cross-CPU answer (~0.2–2 µs), shorter than a futex wake-up (10–50 µs): a peer
  // that has not answered by then is not running, and sleeping lets it run. (Last, so that
  // positional initialisers written before it keep their meaning.)
  std::chrono::nanoseconds spin_limit = std::chrono::microseconds(20);
};

struct QueueOptions {
  std::uint64_t capacity = 1024;  // messages; rounded up to a power of two, at least 2
  Producers producers = Producers::many;
  Consumers consumers = Consumers::many;
  // Largest message in bytes for std::string / std::vector<std::byte> queues (0: 4096).
  // Ignored for trivially copyable T (always sizeof(T)).
  std::uint32_t max_message = 0;
  // SPSC queues of trivially copyable T store elements back to back, several per cache line, with
  // no per-message header (faster for small T). false keeps one slot (with its header) per
  // message. Ignored on other queues. A packed queue allows one open zero-copy claim per side per
  // handle (a second is Status::busy).
  bool packed = true;
  // The busy path pays no fence instruction: a put or get orders its publish before its "anyone
  // asleep?" check with a compiler barrier, and a waiter pays one membarrier() system call (~1
  // µs) on its way to sleep instead (docs/queue.md, "Waiting"). Used where the kernel offers
  // MEMBARRIER_CMD_GLOBAL_EXPEDITED (Linux 4.16+); false: a full fence on every put and get.
  // A property of the segment, chosen here: open() and open_or_create() take it as it is.
  bool asymmetric_fences = true;
  std::uint32_t mode = 0600;  // permissions of the segment file
  WaitPolicy wait{};
};

}  // namespace shmq
