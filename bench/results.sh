#!/usr/bin/env bash
# Runs shmq-bench into bench/results/<date>-<commit>.json and plots it (bench/plot.py) next to it.
#
#   bench/results.sh [shmq-bench options...]          e.g. --quick --peers shmq,floor,pipe
#   SHMQ_BENCH=build/other/bench/shmq-bench bench/results.sh
#
# <date> is the run's UTC date, <commit> the short commit the binary was configured from (its
# JSON "meta"), with -2, -3, ... when that name is taken. The binary defaults to the release
# preset's (build/release/bench/shmq-bench); build it first. Exit status: shmq-bench's (a failed
# row still gets its file and plots, so that it can be looked at).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=${SHMQ_BENCH:-$root/build/release/bench/shmq-bench}
python=${PYTHON:-/usr/bin/python3}  # Debian's, which has python3-matplotlib
out=$root/bench/results

if [ ! -x "$bench" ]; then
  echo "results.sh: no $bench; build it (cmake --preset release && cmake --build build/release)" \
    "or set SHMQ_BENCH" >&2
  exit 2
fi
mkdir -p "$out"

tmp=$(mktemp "$out/.run-XXXXXX.json")
trap 'rm -f "$tmp"' EXIT
rc=0
"$bench" --json "$tmp" "$@" || rc=$?
if [ ! -s "$tmp" ]; then
  echo "results.sh: shmq-bench wrote no JSON (exit $rc)" >&2
  exit "$rc"
fi

# The name: UTC date and the binary's commit, both from the report.
read -r date commit < <("$python" -c '
import json, sys
meta = json.load(open(sys.argv[1])).get("meta", {})
print(meta.get("date_utc", "unknown")[:10], (meta.get("git_commit") or "unknown")[:7])
' "$tmp")
head=$(git -C "$root" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != "$head" ]; then
  echo "results.sh: note: the binary was configured at $commit, the checkout is at $head" >&2
fi
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no -- include runtime bench 2>/dev/null)" ]; then
  echo "results.sh: note: the checkout has uncommitted changes under include/ runtime/ bench/;" \
    "a binary built from them has them too, but its commit does not say so" >&2
fi

name=$date-$commit
n=1
while [ -e "$out/$name.json" ]; do
  n=$((n + 1))
  name=$date-$commit-$n
done
mv "$tmp" "$out/$name.json"
chmod 644 "$out/$name.json"  # mktemp made it private
trap - EXIT
echo "results.sh: wrote $out/$name.json"

"$python" "$root/bench/plot.py" "$out/$name.json"
exit "$rc"
