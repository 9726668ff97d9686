#!/usr/bin/env bash
# Fuzzes every target (or the ones named) for SECONDS (default 60) each, one core, starting from
# its checked-in corpus, then replays the corpus. New inputs go to a scratch copy; `--merge` folds
# them back into fuzz/corpus/; `--remerge` rebuilds fuzz/corpus/<target>/ as the smallest set of
# old and new inputs with the same coverage (after a layout change, when old inputs no longer
# reach what they did; hand-made seed-* inputs are always kept; over 500 inputs, the same edges
# without their hit counts).
# Usage: fuzz/run.sh [SECONDS] [--merge|--remerge] [TARGET...]
#   (build first: cmake --preset fuzz && cmake --build --preset fuzz; another build directory's
#   fuzzers: SHMQ_FUZZ_BIN=build/other/fuzz fuzz/run.sh ...)
# Findings (crash-*, timeout-*, leak-*) go to SHMQ_FUZZ_FINDINGS (default /tmp/shmq-fuzz-findings)
# as <target>-crash-<hash>; a target with a finding makes the script exit 1 after the others ran.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
merge=
targets=()
for arg in "$@"; do
  case "$arg" in
    --merge) merge=--merge ;;
    --remerge) merge=--remerge ;;
    [0-9]*) seconds=$arg ;;
    *) targets+=("$arg") ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=(segment_open_fuzz queue_hostile_fuzz queue_model_fuzz shm_hook_fuzz pipe_model_fuzz
    manager_request_fuzz manager_journal_fuzz)
fi
bin=$(realpath "${SHMQ_FUZZ_BIN:-build/fuzz/fuzz}")
findings=${SHMQ_FUZZ_FINDINGS:-/tmp/shmq-fuzz-findings}
mkdir -p "$findings"
work=$(mktemp -d /tmp/shmq-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  cp fuzz/corpus/$target/* "$work/$target/" 2>/dev/null || true
  seed=$(( $(date +%s) % 1000000 ))
  echo "==== $target: ${seconds}s, -seed=$seed"
  (cd "$work" && "$bin/$target" -seed=$seed -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/$target-" "$target" 2>&1 |
      grep -E "^stat::|DONE|Done|ERROR|SUMMARY|Test unit written" ) || failed+=("$target")
  if [ "$merge" = "--merge" ]; then
    "$bin/$target" -merge=1 "fuzz/corpus/$target" "$work/$target" >/dev/null 2>&1
  elif [ "$merge" = "--remerge" ]; then
    mkdir -p "$work/$target.min"
    cp fuzz/corpus/$target/seed-* "$work/$target.min/" 2>/dev/null || true
    ok=1
    "$bin/$target" -merge=1 "$work/$target.min" "fuzz/corpus/$target" "$work/$target" \
      >/dev/null 2>&1 || ok=
    if [ -n "$ok" ] && [ "$(ls "$work/$target.min" | wc -l)" -gt 500 ]; then
      # Too many to check in: the smallest set with the same edges (hit counts not kept).
      rm -rf "$work/$target.min" && mkdir -p "$work/$target.min"
      cp fuzz/corpus/$target/seed-* "$work/$target.min/" 2>/dev/null || true
      "$bin/$target" -merge=1 -use_counters=0 "$work/$target.min" "fuzz/corpus/$target" \
        "$work/$target" >/dev/null 2>&1 || ok=
    fi
    if [ -n "$ok" ] && [ -n "$(ls "$work/$target.min")" ]; then
      rm -rf "fuzz/corpus/$target"
      cp -r "$work/$target.min" "fuzz/corpus/$target"
      echo "corpus: $(ls "fuzz/corpus/$target" | wc -l) inputs"
    else
      echo "corpus: re-merge FAILED, left as it was"
      failed+=("$target")
    fi
  fi
  if "$bin/$target" -runs=0 "fuzz/corpus/$target" >/dev/null 2>&1; then
    echo "corpus replay: ok"
  else
    echo "corpus replay: FAILED"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "findings in: ${failed[*]} (see $findings)"
  exit 1
fi
