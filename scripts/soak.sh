#!/usr/bin/env bash
# The long runs behind the CI's short ones (CI runs the same tests with fewer seeds): the crash
# sweep and the named crash points with many seeds, and long shmq-stress chaos runs of every kind.
# Usage: scripts/soak.sh [SEEDS] [STRESS_SECONDS]   (defaults 20 and 120; needs the dev build)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-20}
seconds=${2:-120}
scripts/setup.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
step() { printf '\n==== %s ====\n' "$*"; }

step "crash sweep: every shared store × $seeds seeded passes"
SHMQ_SWEEP_SEEDS=$seeds build/dev/tests/crash_sweep_test
step "named crash points × $seeds seeds"
SHMQ_CRASH_SEEDS=$seeds build/dev/tests/crash_point_test
for kind in mpmc mpsc spmc spsc packed pipe manager; do
  size=()
  [ "$kind" = packed ] && size=(--size 32:124)
  step "shmq-stress --kind $kind, $seconds s of SIGKILL/SIGSTOP chaos"
  build/dev/stress/shmq-stress --kind "$kind" "${size[@]}" --seconds "$seconds" --chaos 20 \
    --stop-chaos 5
done
step "soak passed"
