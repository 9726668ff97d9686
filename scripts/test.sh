#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs
#   1. every test with gcc (Debug, warnings are errors),
#   2. every test under ASan + UBSan (multi-process tests included),
#   3. the thread-mode tests under TSan (TSan cannot see synchronisation between processes),
#   4. a warning-free clang build of everything,
#   5. clang-tidy (.clang-tidy) over the library, tools, stress and bench sources, warnings as
#      errors (scripts/tidy.sh; about 8 CPU-minutes: 4 on 2 free cores),
#   6. the fuzzers: corpus replay, then SHMQ_FUZZ_SECONDS (default 60) of fuzzing per target.
# Usage: scripts/test.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

jobs=$(nproc)
step() { printf '\n==== %s ====\n' "$*"; }

# Processes meet by events, never by sleeps (docs/style.md, "Testable by construction"): a sleep
# in tests/ must say why it is deliberate, with `deliberate-sleep:` on its line or the line before.
check_sleeps() {
  local bad
  bad=$(find tests -name '*.cpp' -o -name '*.hpp' | sort | xargs awk '
    FNR == 1 { prev = "" }
    /sleep_for|usleep|nanosleep/ && $0 !~ /deliberate-sleep:/ && prev !~ /deliberate-sleep:/ {
      print FILENAME ":" FNR ": " $0
    }
    { prev = $0 }')
  if [ -n "$bad" ]; then
    printf 'sleeps in tests/ not marked "deliberate-sleep: <why>" (use an event instead):\n%s\n' \
      "$bad" >&2
    return 1
  fi
}
step "check: no unmarked sleeps in tests/"
check_sleeps

run_preset() {
  local preset=$1
  step "configure + build: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
}

run_preset dev
step "tests: dev (gcc)"
ctest --preset dev

if [ "${1:-}" = "--quick" ]; then exit 0; fi

run_preset asan
step "tests: asan (ASan + UBSan)"
ctest --preset asan

run_preset tsan
step "tests: tsan (label threads)"
ctest --preset tsan

run_preset clang
step "build: clang (warnings are errors) done"

step "clang-tidy (warnings are errors)"
scripts/tidy.sh -j "$jobs"

run_preset fuzz
step "fuzz: corpus replay"
ctest --preset fuzz
step "fuzz: ${SHMQ_FUZZ_SECONDS:-60}s per target"
fuzz/run.sh "${SHMQ_FUZZ_SECONDS:-60}"

step "all test runs passed"
