#!/usr/bin/env bash
# Instructions per put+get pair, shmq beside boost::lockfree, counted by valgrind's callgrind
# (deterministic, unlike timings on a shared machine). docs/bench.md, "Instructions per call".
#
#   bench/instructions.sh [BUILD_DIR] [N]
#
# BUILD_DIR: a Release build with shmq-instr (default build/release; `cmake --preset release &&
# cmake --build --preset release --target shmq-instr`). Each row runs N and 2N rounds (default
# N = 100000); the difference divided by N is the cost of one round, start-up excluded.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
n=${2:-100000}
driver=$build/bench/shmq-instr
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
[[ -x $driver ]] || { echo "instructions.sh: no $driver (build the shmq-instr target)" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() {  # row, rounds -> instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$driver" "$1" "$2" 2>"$out/log" ||
    { cat "$out/log" >&2; exit 1; }
  local total
  total=$(awk '/^summary:/ { print $2 }' "$out/cg")
  [[ $total =~ ^[0-9]+$ && $total -gt 0 ]] ||
    { echo "instructions.sh: no instruction count for $1 $2" >&2; exit 1; }
  echo "$total"
}
per_round() {  # row -> instructions per round
  local one two
  one=$(count "$1" "$n")
  two=$(count "$1" $((2 * n)))
  awk -v a="$one" -v b="$two" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }'
}

printf 'instructions per put+get pair (callgrind, %s rounds, commit %s)\n' "$n" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
printf '%-22s %10s %10s\n' row instr "x lockfree"
lf=$(per_round lockfree)
lfb=$(per_round lockfree_batch32)
for row in $("$driver" --list); do
  case $row in
    lockfree) v=$lf ;;
    lockfree_batch32) v=$lfb ;;
    *) v=$(per_round "$row") ;;
  esac
  if [[ $row == *batch32 ]]; then
    base=$lfb
    v=$(awk -v v="$v" 'BEGIN { printf "%.2f", v / 32 }')  # per message
    base=$(awk -v v="$base" 'BEGIN { printf "%.2f", v / 32 }')
    label="$row (/msg)"
  else
    base=$lf
    label=$row
  fi
  printf '%-22s %10s %10s\n' "$label" "$v" "$(awk -v v="$v" -v b="$base" 'BEGIN { printf "%.1f", v / b }')"
done
