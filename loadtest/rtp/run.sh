#!/usr/bin/env bash
# Issue 3 benchmark: N concurrent calls into 12345 (music on hold, 50 packets/s to each
# caller) while each caller sends 50 packets/s of µ-law RTP to Lifeline.
#
#   loadtest/rtp/run.sh [calls...=500 1000 2000] [seconds=20]
#
# The last argument is the measured window in seconds when more than one is given.
# Environment: LIFELINE_BIN=path (skip the build), RAMP_CPS=200, GEN_THREADS=1, SETTLE_S=3,
# LOADTEST_KEEP=1 (keep the scratch dir), NO_RECORD=1 (a scratch copy of sip-config with
# `record = false` on queue "citizen", to see what recording to WAV costs),
# LOADTEST_QUIET_S=120 (before each row, wait up to this long for other processes to use
# < 25 % of one core for 6 s; 0: don't wait).
# One fresh server per row, each in its own session (setsid); an EXIT trap stops it.
# On stderr per row: how busy the machine was before it, and "other work" during it
# (machine busy time − server − generator; only an indicator, see README.md).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ARGS=("$@")
((${#ARGS[@]} == 0)) && ARGS=(500 1000 2000 20)
((${#ARGS[@]} == 1)) && ARGS+=(20)
SECS=${ARGS[-1]}
unset 'ARGS[-1]'
for v in "${ARGS[@]}" "$SECS"; do [[ $v =~ ^[0-9]+$ ]] || { echo "usage: $0 [calls...] [seconds]" >&2; exit 2; }; done
HZ=$(getconf CLK_TCK)

if [[ -n ${LIFELINE_BIN:-} ]]; then BIN=$LIFELINE_BIN; else
  echo "building: cargo build --release -p lifeline" >&2
  (cd "$ROOT" && cargo build --release -p lifeline >&2)
  BIN="$ROOT/target/release/lifeline"
fi
(cd "$HERE" && cargo build --release --quiet >&2)
GEN="$HERE/target/release/rtp-storm"

WORK=$(mktemp -d /tmp/lifeline-rtp.XXXXXX)
SERVER_PID="" GEN_PID=""
stop_group() {
  local pid=$1 grace=${2:-10} i
  [[ -n $pid ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop_group "$GEN_PID" 2; stop_group "$SERVER_PID" 15
  if [[ ${LOADTEST_KEEP:-0} == 1 ]]; then echo "scratch kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CONFIG="$ROOT/sip-config/lifeline.toml"
if [[ ${NO_RECORD:-0} == 1 ]]; then
  cp -r "$ROOT/sip-config" "$WORK/config"
  sed -i 's/^name = "citizen"$/&\nrecord = false/' "$WORK/config/numbers.toml"
  grep -q '^record = false' "$WORK/config/numbers.toml" || { echo "could not turn recording off" >&2; exit 1; }
  CONFIG="$WORK/config/lifeline.toml"
fi
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
ROWS=()
for N in "${ARGS[@]}"; do
  rm -rf "$WORK/data"; mkdir -p "$WORK/data"
  ((${LOADTEST_QUIET_S:-120} > 0)) && wait_quiet
  (cd "$ROOT" && exec setsid "$BIN" serve --config "$CONFIG" \
    --sip-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --rtp-ports 20000-29998 --rtp-timeout-secs 0 \
    >"$WORK/server.out" 2>"$WORK/server.err" </dev/null) &
  SERVER_PID=$!
  wait_ready "$SERVER_PID" "$WORK/server.out" "$WORK/server.err"
  [[ $(cat "/proc/$SERVER_PID/comm") == lifeline ]] || { echo "pid $SERVER_PID is not lifeline" >&2; exit 1; }
  sleep 1
  echo "== $N calls, ${SECS} s window: server pid $SERVER_PID sip_udp=$SIP_UDP" >&2
  (exec setsid timeout -s KILL $((N / ${RAMP_CPS:-200} + SECS + 90)) "$GEN" --sip "$SIP_UDP" \
    --pid "$SERVER_PID" --calls "$N" --seconds "$SECS" --rate "${RAMP_CPS:-200}" \
    --settle "${SETTLE_S:-3}" --hz "$HZ" --threads "${GEN_THREADS:-1}" >"$WORK/row" </dev/null) &
  GEN_PID=$!
  HOST0=$(busy_ticks) SRV0=$(proc_ticks "$SERVER_PID") T0=$(date +%s%3N)
  times >"$WORK/times0" # builtin: CPU of reaped children so far
  wait "$GEN_PID" || echo "generator exited with $?" >&2
  times >"$WORK/times1" # the difference is the generator's (the only child reaped between)
  HOST1=$(busy_ticks) SRV1=$(proc_ticks "$SERVER_PID") T1=$(date +%s%3N)
  GEN_PID=""
  awk -v h="$((HOST1 - HOST0))" -v s="$((SRV1 - SRV0))" -v hz="$HZ" -v ms="$((T1 - T0))" \
    -v g0="$(child_cpu "$WORK/times0")" -v g1="$(child_cpu "$WORK/times1")" 'BEGIN {
      w = ms / 1000; g = g1 - g0
      printf "other work during the row: %.0f%% of one core (machine %.0f%%, server %.0f%%, generator %.0f%%, %.0f s)\n",
        100 * (h / hz - s / hz - g) / w, 100 * h / hz / w, 100 * s / hz / w, 100 * g / w, w }' >&2
  ROWS+=("$(cat "$WORK/row")")
  echo "recordings: $(find "$WORK/data" -name '*.wav' | wc -l) WAV files, $(du -sh "$WORK/data" | cut -f1)" >&2
  stop_group "$SERVER_PID" 15; SERVER_PID=""
done

echo
echo "| calls | up / failed | rx pkt/call/s (50) | tx pkt/call/s | lost | late (>40 ms) | max gap | server CPU | server RSS | RSS/call | generator CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
