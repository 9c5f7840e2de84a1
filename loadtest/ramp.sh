#!/usr/bin/env bash
# Runs call_storm.sh at several rates (each REPEAT times) and prints one table row per run.
#
#   loadtest/ramp.sh [duration_s=15] [hold_ms=0] [repeat=1] rate...
#   e.g. loadtest/ramp.sh 15 0 1 500 1000 2000 3000 4000
#
# Builds once, then runs every rate on a copy of the binary (so a rebuild by someone else
# in the middle of a ramp cannot change what is measured). Pass LIFELINE_BIN to skip the
# build.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=${1:-15}
HOLD=${2:-0}
REPEAT=${3:-1}
shift 3 || true
(($# > 0)) || set -- 500 1000 2000 3000 4000

if [[ -z ${LIFELINE_BIN:-} ]]; then
  (cd "$HERE/.." && cargo build --release -p lifeline >&2)
  BIN_DIR=$(mktemp -d /tmp/lifeline-ramp-bin.XXXXXX)
  trap 'rm -rf "$BIN_DIR"' EXIT
  cp "$HERE/../target/release/lifeline" "$BIN_DIR/lifeline"
  export LIFELINE_BIN="$BIN_DIR/lifeline"
fi

files=()
for rate in "$@"; do
  for ((i = 1; i <= REPEAT; i++)); do
    log=$(LOADTEST_LABEL="ramp $rate cps run $i/$REPEAT" timeout $((DURATION + HOLD / 1000 + 600)) \
      "$HERE/call_storm.sh" "$rate" "$DURATION" "$HOLD" 2>/dev/null) || true
    f=$(sed -n 's/^json *//p' <<<"$log")
    [[ -n $f && -f $f ]] && files+=("$f") || echo "rate $rate run $i: no result" >&2
  done
done

printf '%-6s %7s %6s %8s %8s %5s %5s %5s %6s %6s %6s %8s %8s %13s\n' \
  offer ok failed cps retr% p50 p95 p99 srvCPU sipp other peakRSS B/call records
for f in "${files[@]}"; do
  jq -r '[.offered.rate_cps, .calls.successful, .calls.failed, .achieved_cps,
      .retransmissions.pct_of_invite_bye, .invite_200_ms.p50, .invite_200_ms.p95,
      .invite_200_ms.p99, .cpu_pct.server_run, .cpu_pct.sipp_run,
      .cpu_pct.other_processes_run, .memory.peak_rss_kb_run,
      (.memory.bytes_per_concurrent_call // "-"),
      "\(.records.written)/\(.records.attempted)"] | @tsv' "$f" |
    awk -F'\t' '{printf "%-6s %7s %6s %8s %8s %5s %5s %5s %6s %6s %6s %8s %8s %13s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14}'
done
