// shmq-micro: Google Benchmark micro-benchmarks of shmq's rings and their public wrappers
// (docs/bench.md, "Micro-benchmarks"). The commit goes into the output's context, so a
// --benchmark_out=FILE.json says what it measured.
#include "micro.hpp"

#ifndef SHMQ_BENCH_GIT_COMMIT
#define SHMQ_BENCH_GIT_COMMIT "unknown"
#endif

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("git_commit", SHMQ_BENCH_GIT_COMMIT);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // relaxed: every benchmark thread has been joined.
  return shmq_micro::any_failed.load(std::memory_order_relaxed) ? 1 : 0;
}
