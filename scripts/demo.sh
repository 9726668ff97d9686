#!/usr/bin/env bash
# The main job: installs what is missing, builds (optimised), runs the four examples
# (docs/python.md) and a short side-by-side benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

bin=build/release
for example in process_globals queue pipe manager_dict; do
  exe="$bin/examples/example_$example"
  if [ -x "$exe" ]; then
    printf '\n$ examples/%s\n' "$example"
    "$exe"
  fi
done

printf '\n$ shmq-bench --quick\n'
"$bin/bench/shmq-bench" --quick "$@"
