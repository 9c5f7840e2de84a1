#!/usr/bin/env bash
# ACD decision benchmark: 10,000 waiting callers, 1,000 agents, 50 queues.
#
#   loadtest/acd/run.sh [runs=3]
#
# Runs `cargo bench` (criterion, release build) `runs` times, each in its own process
# session (setsid), and prints each run's median time per operation and the median of
# the runs. Criterion's full output goes to target/bench-run-N.log.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${1:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [runs]" >&2; exit 2; }
cd "$HERE"
cargo bench --no-run --quiet >&2
mkdir -p target
declare -A ALL
for run in $(seq "$RUNS"); do
  log="target/bench-run-$run.log"
  setsid cargo bench --quiet --bench decisions >"$log" 2>&1
  # "acd/route   time:   [1.35 µs 1.44 µs 1.53 µs]": keep the middle estimate, in µs.
  while read -r name value unit; do
    case $unit in ns) value=$(awk "BEGIN{print $value/1000}") ;; ms) value=$(awk "BEGIN{print $value*1000}") ;; esac
    printf 'run %d  %-12s %10.3f µs  %12.0f ops/s\n' "$run" "$name" "$value" "$(awk "BEGIN{print 1e6/$value}")"
    ALL[$name]+="$value "
  done < <(sed -n 's/^\(acd\/[a-z]*\) *time: *\[[^ ]* [^ ]* \([^ ]*\) \([^ ]*\) .*/\1 \2 \3/p' "$log")
  grep -h "^waiting at the end" "$log" || true
done
echo "median of $RUNS runs:"
for name in acd/route acd/cycle acd/enqueue acd/snapshot; do
  [[ -n ${ALL[$name]:-} ]] || continue
  median=$(tr ' ' '\n' <<<"${ALL[$name]}" | grep . | sort -g | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  printf '  %-12s %10.3f µs  %12.0f ops/s\n' "$name" "$median" "$(awk "BEGIN{print 1e6/$median}")"
done
