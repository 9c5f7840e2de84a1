#!/usr/bin/env bash
# Issue 5 benchmark: N concurrent WebRTC↔RTP bridged calls. N agents log in to the console
# and answer in str0m clients (standing in for browsers: ICE, DTLS-SRTP, PCMU); N SIP
# callers dial the bench queue; audio flows both ways at 50 packets/s.
#
#   loadtest/webrtc/run.sh [calls...=250 500 1000] [seconds=20]
#
# The last argument is the measured window in seconds when more than one is given.
# Environment: LIFELINE_BIN=path (skip the build), RAMP_CPS=100, GEN_THREADS=1, SETTLE_S=3,
# LOGINS=4 (logins at once; each costs argon2 on the server), NO_RECORD=1 (queue bench
# with `record = false`), LOADTEST_KEEP=1 (keep the scratch dir),
# LOADTEST_QUIET_S=120 (before each row, wait up to this long for other processes to use
# < 25 % of one core for 6 s; 0: don't wait), WEBRTC_PORTS=20000-29998 (server RTP range),
# WEBRTC_RCVBUF=bytes (diagnostic, root: net.core.rmem_default is set to this while the
# server starts and restored once it is ready, so the server's shared WebRTC socket, which
# takes the system default, gets a bigger receive buffer; see README.md).
# One fresh server per row, each in its own session (setsid); an EXIT trap stops it.
# On stderr per row: how busy the machine was before it, the generator's diagnostics and
# "other work" during it (machine busy time − server − generator; only an indicator).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ARGS=("$@")
((${#ARGS[@]} == 0)) && ARGS=(250 500 1000 20)
((${#ARGS[@]} == 1)) && ARGS+=(20)
SECS=${ARGS[-1]}
unset 'ARGS[-1]'
for v in "${ARGS[@]}" "$SECS"; do [[ $v =~ ^[0-9]+$ ]] || { echo "usage: $0 [calls...] [seconds]" >&2; exit 2; }; done
HZ=$(getconf CLK_TCK)
RAMP_CPS=${RAMP_CPS:-100}
FIRST_AGENT=7001
NUMBER=19999

if [[ -n ${LIFELINE_BIN:-} ]]; then BIN=$LIFELINE_BIN; else
  echo "building: cargo build --release -p lifeline" >&2
  (cd "$ROOT" && cargo build --release -p lifeline >&2)
  BIN="$ROOT/target/release/lifeline"
fi
(cd "$HERE" && cargo build --release --quiet >&2)
GEN="$HERE/target/release/webrtc-storm"

WORK=$(mktemp -d /tmp/lifeline-webrtc.XXXXXX)
SERVER_PID="" GEN_PID="" OLD_RMEM=""
restore_rmem() {
  [[ -n $OLD_RMEM ]] || return 0
  sysctl -qw net.core.rmem_default="$OLD_RMEM" || echo "could not restore net.core.rmem_default=$OLD_RMEM" >&2
  OLD_RMEM=""
}
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
  restore_rmem
  stop_group "$GEN_PID" 2; stop_group "$SERVER_PID" 15
  if [[ ${LOADTEST_KEEP:-0} == 1 ]]; then echo "scratch kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A scratch copy of the demo config with N agents 7001…, queue "bench" and number 19999.
make_config() {
  local n=$1 i id members=""
  rm -rf "$WORK/config"; cp -r "$ROOT/sip-config" "$WORK/config"
  {
    echo
    echo "# --- loadtest/webrtc: $n bench agents, queue bench, number $NUMBER"
    for ((i = 0; i < n; i++)); do
      id=$((FIRST_AGENT + i))
      printf '[[users]]\nid = "%s"\npassword = "pw%s"\nrole = "agent"\n\n' "$id" "$id"
      members+="\"$id\", "
    done
    printf '[[queues]]\nname = "bench"\nstrategy = "leastrecent"\nmembers = [%s]\n' "${members%, }"
    [[ ${NO_RECORD:-0} == 1 ]] && echo 'record = false'
    printf '\n[[numbers]]\nnumber = "%s"\nname = "WebRTC bench"\nkind = "queue"\nqueue = "bench"\n' "$NUMBER"
  } >>"$WORK/config/flows.toml"
  "$BIN" check-config "$WORK/config/lifeline.toml" >/dev/null
}

# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
ROWS=()
for N in "${ARGS[@]}"; do
  make_config "$N"
  rm -rf "$WORK/data"; mkdir -p "$WORK/data"
  ((${LOADTEST_QUIET_S:-120} > 0)) && wait_quiet
  if [[ -n ${WEBRTC_RCVBUF:-} ]]; then
    OLD_RMEM=$(sysctl -n net.core.rmem_default)
    sysctl -qw net.core.rmem_default="$WEBRTC_RCVBUF"
  fi
  (cd "$ROOT" && exec setsid "$BIN" serve --config "$WORK/config/lifeline.toml" \
    --sip-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --webrtc-listen 127.0.0.1:0 \
    --data-dir "$WORK/data" --rtp-ports "${WEBRTC_PORTS:-20000-29998}" --rtp-timeout-secs 0 \
    >"$WORK/server.out" 2>"$WORK/server.err" </dev/null) &
  SERVER_PID=$!
  wait_ready "$SERVER_PID" "$WORK/server.out" "$WORK/server.err"
  restore_rmem
  HTTP=$(sed -n 's/.* http=\([^ ]*\).*/\1/p' <<<"$READY")
  WEBRTC=$(sed -n 's/.* webrtc=\([^ ]*\).*/\1/p' <<<"$READY")
  [[ $(cat "/proc/$SERVER_PID/comm") == lifeline ]] || { echo "pid $SERVER_PID is not lifeline" >&2; exit 1; }
  sleep 1
  echo "== $N calls, ${SECS} s window: server pid $SERVER_PID sip_udp=$SIP_UDP http=$HTTP webrtc=$WEBRTC" >&2
  echo "server WebRTC socket: $(ss -uamnH "sport = :${WEBRTC##*:}" 2>/dev/null | grep -o 'rb[0-9]*' | head -1) (receive buffer, bytes)" >&2
  (exec setsid timeout -s KILL $((N / 2 + N / RAMP_CPS + SECS + 180)) "$GEN" --sip "$SIP_UDP" \
    --http "$HTTP" --webrtc "$WEBRTC" --pid "$SERVER_PID" --calls "$N" --seconds "$SECS" \
    --rate "$RAMP_CPS" --settle "${SETTLE_S:-3}" --hz "$HZ" --threads "${GEN_THREADS:-1}" \
    --logins "${LOGINS:-4}" --first-agent "$FIRST_AGENT" --number "$NUMBER" \
    >"$WORK/row" </dev/null) &
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
      printf "other work during the row: %.0f%% of one core (machine %.0f%%, server %.0f%%, generator %.0f%%, %.0f s incl. logins)\n",
        100 * (h / hz - s / hz - g) / w, 100 * h / hz / w, 100 * s / hz / w, 100 * g / w, w }' >&2
  ROWS+=("$(cat "$WORK/row")")
  sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.err" >"$WORK/server.log" # tracing writes ANSI colours
  echo "server log: $(grep -c ' WARN ' "$WORK/server.log" || true) warnings, $(grep -c ' ERROR ' "$WORK/server.log" || true) errors" >&2
  grep -E ' (WARN|ERROR) ' "$WORK/server.log" | cut -d' ' -f2- | sed 's/ call=[0-9]*//' | sort | uniq -c | sort -rn | head -5 >&2 || true
  echo "recordings: $(find "$WORK/data" -name '*.wav' | wc -l) WAV files, $(du -sh "$WORK/data" | cut -f1)" >&2
  stop_group "$SERVER_PID" 15; SERVER_PID=""
done

echo
echo "| calls | SIP up / WebRTC connected / failed | accept→connected p50 / p95 | caller→browser pkt/call/s (50) | loss | late | browser→caller pkt/call/s (50) | loss | late | max gap | server CPU | CPU per call (µs/s) | calls per core | server RSS | RSS/call | generator CPU | WebRTC port drops |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
