#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over shmq's own sources: the library, the output module, the tools,
# the stress harness and the benchmark's driver (not tests, fuzzers, examples, bench/micro or bench/peers,
# which wrap other libraries). Headers under include/shmq and beside the sources are checked
# through the files that include them. Warnings are errors. Needs build/dev's
# compile_commands.json (scripts/test.sh configures dev first).
# Usage: scripts/tidy.sh [-j N]   (default: every CPU)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
if [ "${1:-}" = "-j" ]; then jobs=$2; fi
db=build/dev
[ -f "$db/compile_commands.json" ] || { echo "tidy: run cmake --preset dev first" >&2; exit 1; }

tidy=$(command -v clang-tidy-14 || command -v clang-tidy)
files=$(git ls-files 'runtime/*.cpp' 'output/*.cpp' 'tools/*.cpp' 'stress/*.cpp' 'bench/*.cpp' \
  ':(exclude)bench/peers' ':(exclude)bench/micro')
# One process per file, `jobs` at a time; every finding is printed, the run fails on any.
printf '%s\n' $files | xargs -P "$jobs" -n 1 "$tidy" -p "$db" --quiet 2>/dev/null
