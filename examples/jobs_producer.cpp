// The quick start's producer (README, docs/getting-started.md): puts jobs 1..N into the queue
// "jobs" and exits. Start it before or after jobs_consumer, as often as you like.
//
//   ./jobs_producer [NAME] [N]        (defaults: jobs, 100)
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "shmq/shmq.hpp"

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "jobs";
  const std::uint64_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100;
  try {
    // The first of producer and consumer to start creates the queue; the other opens it.
    auto jobs = shmq::Queue<std::uint64_t>::open_or_create(name, {.capacity = 64});
    jobs.claim_producer();  // counted as a producer from now on, before the first put
    for (std::uint64_t job = 1; job <= count; ++job) {
      if (jobs.put(job) != shmq::Status::ok) return 1;
    }
  } catch (const shmq::Error& e) {
    std::cerr << "jobs_producer: " << e.what() << '\n';
    return 2;
  }
  return 0;  // the handle goes: a consumer that asked for it sees its producers gone
}
