// How many dict set / get round trips per second one client gets from a Manager's server.
// Usage: example_manager_dict_rate [seconds per figure, default 1] [spin iterations, default 1000]
// Compare with Python's multiprocessing.Manager().dict() (docs/manager.md has the script).
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "shmq/shmq.hpp"

namespace {

// The segment's name: $SHMQ_EXAMPLE_NAME if set, else BASE-PID, so that two runs on one host (the
// tests and a demo, say) never remove or open each other's segments.
std::string example_name(const char* base) {
  if (const char* env = std::getenv("SHMQ_EXAMPLE_NAME"); env != nullptr && *env != '\0')
    return env;
  return std::string(base) + "-" + std::to_string(::getpid());
}

template <class Op>
double rate(double seconds, Op op) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  std::uint64_t n = 0;
  while (Clock::now() < stop) {
    for (int i = 0; i < 100; ++i)
      op(n++);
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = example_name("shmq-example-manager-rate");
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  shmq::Manager::remove(name);
  shmq::ManagerOptions options;
  if (argc > 2) options.wait.spin_iterations = static_cast<std::uint32_t>(std::atoi(argv[2]));
  auto manager = shmq::Manager::create(name, options);
  const auto d = manager.dict<std::int64_t, std::int64_t>("d");
  constexpr std::int64_t kKeys = 1000;
  const double sets = rate(seconds, [&](std::uint64_t i) {
    d.set(static_cast<std::int64_t>(i) % kKeys, static_cast<std::int64_t>(i));
  });
  std::int64_t sum = 0;
  const double gets = rate(seconds, [&](std::uint64_t i) {
    sum += d.get(static_cast<std::int64_t>(i) % kKeys).value_or(0);
  });
  std::printf("shmq Manager dict: set %.0f/s  get %.0f/s  (%.1f us / %.1f us per call)\n", sets,
              gets, 1e6 / sets, 1e6 / gets);
  manager.shutdown();
  return sum == 0 ? 1 : 0;
}
