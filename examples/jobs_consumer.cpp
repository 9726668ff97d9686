// The quick start's consumer (README, docs/getting-started.md): takes jobs from the queue "jobs"
// until every producer has gone, prints how many and their sum, and removes the queue so that the
// next run starts afresh. Ctrl-C stops it cleanly.
//
//   ./jobs_consumer [NAME]            (default: jobs)
#include <atomic>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <string>

#include "shmq/shmq.hpp"

namespace {
std::atomic<bool> g_stop{false};  // lock-free: set from the signal handler
}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "jobs";
  // Ctrl-C: a blocked get returns `interrupted`; a busy loop sees the flag.
  std::signal(SIGINT, [](int) {
    g_stop.store(true);
    shmq::interrupt();
  });
  try {
    auto jobs = shmq::Queue<std::uint64_t>::open_or_create(name, {.capacity = 64});
    jobs.end_when_producers_gone();  // get returns `closed` once they have come and gone
    std::uint64_t job = 0;
    std::uint64_t taken = 0;
    std::uint64_t sum = 0;
    shmq::Status s = shmq::Status::interrupted;  // if stopped before the first get
    while (!g_stop.load() && (s = jobs.get(job)) == shmq::Status::ok) {
      ++taken;
      sum += job;
    }
    std::cout << taken << " jobs, sum " << sum << " (" << s << ")\n";
    shmq::Queue<std::uint64_t>::remove(name);  // clean up: the next run creates it anew
    return s == shmq::Status::closed ? 0 : 1;
  } catch (const shmq::Error& e) {
    std::cerr << "jobs_consumer: " << e.what() << '\n';
    return 2;
  }
}
