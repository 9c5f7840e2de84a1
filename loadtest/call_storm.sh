#!/usr/bin/env bash
# Call storm: sipp (UDP, same machine) calls hotline 12345 on a release build of Lifeline
# at a fixed rate and reports what the server did with it.
#
#   loadtest/call_storm.sh [rate_cps=1000] [duration_s=10] [hold_ms=0]
#
# Prints a summary and writes it as JSON to loadtest/results/<timestamp>-….json.
# Environment:
#   LIFELINE_BIN=path   use this binary instead of building target/release/lifeline
#   LOADTEST_CONFIG=path  config entry file (default sip-config/lifeline.toml of this
#                       checkout; pass the one matching LIFELINE_BIN if they differ)
#   LOADTEST_KEEP=1     keep the scratch directory (sipp traces, server log, samples)
#   LOADTEST_LABEL=txt  free text stored in the JSON (e.g. "ramp 1/3")
#   LOADTEST_QUIET_S=120  first wait up to this long for the machine to be quiet (other
#                       processes using < 25 % of one core over 2 s); 0: don't wait
#   LOADTEST_RTP_PORTS=LO-HI  server RTP range (default 20000-29999; pick another one if
#                       another Lifeline on this machine uses that range at the same time)
#   RUST_LOG            passed to the server (default: its own, "info")
#
# Everything runs on 127.0.0.1. The server and sipp each run in a session of their own
# (setsid); every wait has a deadline, and an EXIT trap stops whatever is still running.
set -euo pipefail

RATE=${1:-1000}
DURATION=${2:-10}
HOLD_MS=${3:-0}
for v in "$RATE" "$DURATION" "$HOLD_MS"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "usage: $0 [rate_cps] [duration_s] [hold_ms]" >&2; exit 2; }
done
((RATE > 0 && DURATION > 0)) || { echo "rate and duration must be > 0" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE="$ROOT/loadtest"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
SCENARIO="$HERE/sipp/storm.xml"
RESULTS="$HERE/results"
HZ=$(getconf CLK_TCK)
CALLS=$((RATE * DURATION))
# Concurrent-call cap for sipp: twice what the rate and hold need, so sipp never throttles
# the offered rate unless the server falls far behind.
LIMIT=$((RATE * (HOLD_MS + 1000) / 1000 * 2))
((LIMIT < 1000)) && LIMIT=1000

for tool in sipp curl jq python3 setsid; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done

# ---------------------------------------------------------------- build (once)
if [[ -n ${LIFELINE_BIN:-} ]]; then
  BIN=$LIFELINE_BIN
else
  echo "building: cargo build --release -p lifeline (a cold build takes ~5 min)" >&2
  (cd "$ROOT" && cargo build --release -p lifeline >&2)
  BIN="$ROOT/target/release/lifeline"
fi
[[ -x $BIN ]] || { echo "no binary at $BIN" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lifeline-storm.XXXXXX)
SERVER_PID="" SIPP_PID="" SAMPLER_PID=""

# Stops a process group we started (each runs in its own session, so pgid == pid):
# TERM, up to $2 seconds, then KILL.
stop_group() {
  local pid=$1 grace=${2:-10} i
  [[ -n $pid ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  [[ -n $SAMPLER_PID ]] && { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; } || true
  stop_group "$SIPP_PID" 3
  stop_group "$SERVER_PID" 15
  if [[ ${LOADTEST_KEEP:-0} == 1 ]]; then
    echo "scratch kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- wait for quiet
# Other work shares these 2 cores; a run beside a compiler measures the compiler too.
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
QUIET=false
quiet_deadline=$((SECONDS + ${LOADTEST_QUIET_S:-120}))
quiet_in_a_row=0
while :; do
  b0=$(busy_ticks); sleep 2; b1=$(busy_ticks)
  OTHER_BEFORE=$(((b1 - b0) * 100 / (2 * HZ)))
  if ((OTHER_BEFORE < 25)); then quiet_in_a_row=$((quiet_in_a_row + 1)); else quiet_in_a_row=0; fi
  ((quiet_in_a_row >= 3)) && { QUIET=true; break; } # 6 s quiet: not just a gap between runs
  ((SECONDS >= quiet_deadline)) && break
done
echo "machine busy before the run: ${OTHER_BEFORE}% of one core (quiet: $QUIET)" >&2

# ---------------------------------------------------------------- server
mkdir -p "$WORK/data"
CONFIG=${LOADTEST_CONFIG:-$ROOT/sip-config/lifeline.toml}
(cd "$ROOT" && exec setsid "$BIN" serve --config "$CONFIG" \
  --sip-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$WORK/data" \
  --rtp-ports "${LOADTEST_RTP_PORTS:-20000-29999}" --rtp-timeout-secs 0 \
  >"$WORK/server.out" 2>"$WORK/server.err" </dev/null) &
SERVER_PID=$!

wait_ready "$SERVER_PID" "$WORK/server.out" "$WORK/server.err"
HTTP=$(sed -n 's/.* http=\([^ ]*\).*/\1/p' <<<"$READY")
[[ $SIP_UDP == 127.0.0.1:* && $HTTP == 127.0.0.1:* ]] || { echo "unexpected ready line: $READY" >&2; exit 1; }
[[ $(cat "/proc/$SERVER_PID/comm" 2>/dev/null) == lifeline ]] || { echo "pid $SERVER_PID is not lifeline" >&2; exit 1; }
echo "server pid $SERVER_PID sip_udp=$SIP_UDP http=$HTTP" >&2

api() { curl -s -m 2 "http://$HTTP$1" 2>/dev/null || true; }

# ---------------------------------------------------------------- sampling
cpu_ticks() { # utime+stime of a pid ("" if gone); comm is "(lifeline)"/"(sipp)", no spaces
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo ""; return; }
  awk '{print $14 + $15}' <<<"$s"
}
minflt() { awk '{print $10}' "/proc/$1/stat" 2>/dev/null || true; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }
threads() { # per-thread "name ticks" of the server
  local f
  for f in /proc/"$SERVER_PID"/task/*/stat; do
    sed -E 's/^[0-9]+ \((.*)\) (.*)$/\1\t\2/' "$f" 2>/dev/null | awk -F'\t' '{split($2, a, " "); print $1 "\t" a[12] + a[13]}'
  done | awk -F'\t' '{t[$1] += $2} END {for (n in t) print n "\t" t[n]}' | sort
}

ctxt() { # context switches of all server threads: "voluntary nonvoluntary"
  cat /proc/"$SERVER_PID"/task/*/status 2>/dev/null |
    awk '$1 == "voluntary_ctxt_switches:" {v += $2} $1 == "nonvoluntary_ctxt_switches:" {n += $2} END {print v + 0, n + 0}'
}

sampler() { # one line a second: t_ms server_ticks sipp_ticks rss_kb hwm_kb stats_json newest_id minflt
  local end=$((SECONDS + DURATION + HOLD_MS / 1000 + 300)) stats newest sp
  while ((SECONDS < end)); do
    sp=$(cat "$WORK/sipp.pid" 2>/dev/null || true)
    stats=$(api /api/v1/stats | tr -d '\n')
    newest=$(api '/api/v1/calls?limit=1' | jq -r '.[0].id // 0' 2>/dev/null || echo 0)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date +%s%3N)" "$(cpu_ticks "$SERVER_PID")" \
      "${sp:+$(cpu_ticks "$sp")}" "$(status_kb "$SERVER_PID" VmRSS)" \
      "$(status_kb "$SERVER_PID" VmHWM)" "${stats:-"{}"}" "${newest:-0}" "$(minflt "$SERVER_PID")" >>"$WORK/samples.tsv"
    sleep 1
  done
}

sleep 1 # settle: idle figures are taken with the server up and quiet
IDLE_RSS=$(status_kb "$SERVER_PID" VmRSS)
threads >"$WORK/threads.start"
read -r CS_V0 CS_N0 < <(ctxt)
sampler &
SAMPLER_PID=$!

# ---------------------------------------------------------------- sipp
SIPP_TIMEOUT=$((DURATION + HOLD_MS / 1000 + 120))
SIPP_ARGS=(-sf "$SCENARIO" -s 12345 -i 127.0.0.1 -r "$RATE" -rp 1000 -l "$LIMIT" -m "$CALLS"
  -d "$HOLD_MS" -buff_size 4194304 -nostdin -timeout "${SIPP_TIMEOUT}s" -timeout_error
  -trace_stat -stf "$WORK/sipp_stat.csv" -fd 1 -trace_counts -trace_rtt -rtt_freq 1 -trace_screen
  -trace_err "$SIP_UDP")
echo "sipp ${SIPP_ARGS[*]}" >&2
SERVER_T0=$(cpu_ticks "$SERVER_PID")
HOST_T0=$(busy_ticks)
T0=$(date +%s%3N)
(cd "$WORK" && exec setsid sipp "${SIPP_ARGS[@]}" >"$WORK/sipp.out" 2>&1 </dev/null) &
SIPP_PID=$!
echo "$SIPP_PID" >"$WORK/sipp.pid"
times >"$WORK/times0" # builtin, run in this shell: children's CPU so far
SIPP_RC=0
wait "$SIPP_PID" || SIPP_RC=$?
times >"$WORK/times1" # the difference is sipp's own CPU (the only child reaped between)
child_cpu() { tr '\n' ' ' <"$1" | sed 's/[ms]/ /g' | awk '{print $5 * 60 + $6 + $7 * 60 + $8}'; }
SIPP_CPU_S=$(awk -v a="$(child_cpu "$WORK/times0")" -v b="$(child_cpu "$WORK/times1")" 'BEGIN {print b - a}')
SIPP_PID=""
T1=$(date +%s%3N)
SERVER_T1=$(cpu_ticks "$SERVER_PID")
HOST_T1=$(busy_ticks)
HWM_RUN=$(status_kb "$SERVER_PID" VmHWM)
threads >"$WORK/threads.run"
read -r CS_V1 CS_N1 < <(ctxt)
echo "sipp exited rc=$SIPP_RC after $(((T1 - T0) / 1000)) s" >&2

# ---------------------------------------------------------------- record backlog drain
ATTEMPTED=$(awk -F';' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "TotalCallCreated") c = i}
  END {print $c + 0}' "$WORK/sipp_stat.csv" 2>/dev/null || echo 0)
WRITTEN=0 ENDED=false
deadline=$((SECONDS + 180))
while ((SECONDS < deadline)); do
  newest=$(api '/api/v1/calls?limit=1')
  WRITTEN=$(jq -r '.[0].id // 0' <<<"${newest:-[]}" 2>/dev/null || echo 0)
  ENDED=$(jq -r '(.[0].ended_at // null) != null' <<<"${newest:-[]}" 2>/dev/null || echo false)
  ((WRITTEN >= ATTEMPTED)) && [[ $ENDED == true ]] && break
  sleep 0.5
done
T2=$(date +%s%3N)
SERVER_T2=$(cpu_ticks "$SERVER_PID")
FINAL_STATS=$(api /api/v1/stats)
HWM_END=$(status_kb "$SERVER_PID" VmHWM)
RSS_END=$(status_kb "$SERVER_PID" VmRSS)
threads >"$WORK/threads.end"
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

# ---------------------------------------------------------------- summary
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS/$STAMP-r$RATE-d$DURATION-h$HOLD_MS.json"
export WORK RATE DURATION HOLD_MS CALLS LIMIT HZ T0 T1 T2 SERVER_T0 SERVER_T1 SERVER_T2 \
  IDLE_RSS HWM_RUN HWM_END RSS_END ATTEMPTED WRITTEN ENDED SIPP_RC FINAL_STATS \
  SIPP_CPU_S HOST_T0 HOST_T1 QUIET OTHER_BEFORE CS_V0 CS_N0 CS_V1 CS_N1 OUT
BIN_SHA=$(sha256sum "$BIN" | cut -c1-12)
BIN_MTIME=$(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ)
GIT_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
export RTP_PORTS=${LOADTEST_RTP_PORTS:-20000-29999}
export LABEL=${LOADTEST_LABEL:-} BIN BIN_SHA BIN_MTIME GIT_REV
python3 - <<'PY'
import csv, glob, json, math, os, platform, statistics, subprocess, sys
E = os.environ
W = E["WORK"]
num = lambda k, d=0: float(E.get(k) or d)

def last_row(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    return dict(zip(rows[0], rows[-1])) if len(rows) > 1 else {}

stat = last_row(f"{W}/sipp_stat.csv") if os.path.exists(f"{W}/sipp_stat.csv") else {}
counts_f = glob.glob(f"{W}/storm_*_counts.csv")
counts = last_row(counts_f[0]) if counts_f else {}
ival = lambda d, k: int(float(d.get(k, 0) or 0))

ok, failed = ival(stat, "SuccessfulCall(C)"), ival(stat, "FailedCall(C)")
created = ival(stat, "TotalCallCreated")
retrans = ival(stat, "Retransmissions(C)")
sent = {k: ival(counts, k) for k in counts if k.endswith("_Sent")}
req_retrans = sum(ival(counts, k) for k in counts if k.endswith("_Retrans") and ("INVITE" in k or "BYE" in k))
resp_dups = sum(ival(counts, k) for k in counts if k.endswith("_Retrans") and "_200_" in k)
timeouts = sum(ival(counts, k) for k in counts if k.endswith("_Timeout"))
unexpected = sum(ival(counts, k) for k in counts if k.endswith("_Unexp"))
first_tx = sum(v for k, v in sent.items() if "INVITE" in k or "BYE" in k)

rtts = []
for p in glob.glob(f"{W}/storm_*_rtt.csv"):
    with open(p) as f:
        for line in f:
            parts = line.strip().split(";")
            if len(parts) == 3 and parts[2] == "1":
                try:
                    rtts.append(float(parts[1]))
                except ValueError:
                    pass
rtts.sort()
def pct(q):
    if not rtts:
        return None
    return rtts[min(len(rtts) - 1, max(0, math.ceil(q / 100 * len(rtts)) - 1))]  # nearest rank

samples = []
try:
    with open(f"{W}/samples.tsv") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) < 7:
                continue
            try:
                st = json.loads(c[5]) if c[5] else {}
            except ValueError:
                st = {}
            samples.append(dict(t=int(c[0]), srv=c[1], sipp=c[2], rss=c[3], hwm=c[4], stats=st, newest=int(c[6] or 0),
                                minflt=int(c[7]) if len(c) > 7 and c[7] else None))
except FileNotFoundError:
    pass

t0, t1, t2 = num("T0"), num("T1"), num("T2")
run_s, drain_s = (t1 - t0) / 1000, (t2 - t1) / 1000
hz = num("HZ")
srv_run = (num("SERVER_T1") - num("SERVER_T0")) / hz
srv_drain = (num("SERVER_T2") - num("SERVER_T1")) / hz
sipp_cpu = num("SIPP_CPU_S")
# Whole-machine busy time while sipp ran, minus server and sipp: other work sharing the
# CPU (an indicator of contention only; the figures above come from per-process counters).
other_cpu = (num("HOST_T1") - num("HOST_T0")) / hz - srv_run - sipp_cpu
peak_calls = max([s["stats"].get("calls", 0) for s in samples] or [0])
peak_tx = max([s["stats"].get("transactions", 0) for s in samples] or [0])
idle = num("IDLE_RSS")
hwm_run, hwm_end = num("HWM_RUN"), num("HWM_END")
# Only meaningful with a hold time: without one, "calls in progress" is a transient backlog.
mem_per_call = round((hwm_run - idle) * 1024 / peak_calls) if peak_calls >= 100 and num("HOLD_MS") > 0 else None

# Records inserted per second while sipp ran (from the newest record id each second).
in_run = [s for s in samples if t0 <= s["t"] <= t1 and s["newest"] > 0]
rec_rate = None
if len(in_run) >= 2:
    a, b = in_run[0], in_run[-1]
    if b["t"] > a["t"]:
        rec_rate = round((b["newest"] - a["newest"]) / ((b["t"] - a["t"]) / 1000))
# The writer's lag: calls sipp should have started by each sample (offered rate) minus
# records inserted by then; an estimate at one-second granularity.
lag = [min(created, num("RATE") * (s["t"] - t0) / 1000) - s["newest"] for s in in_run]
max_lag = round(max(lag)) if lag else None

try:
    final = json.loads(E.get("FINAL_STATS") or "{}")
except ValueError:
    final = {}

cpu_model = ""
try:
    cpu_model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except StopIteration:
    pass

def threads(name):
    out = {}
    try:
        for line in open(f"{W}/{name}"):
            n, t = line.rstrip("\n").split("\t")
            out[n] = out.get(n, 0) + int(t)
    except FileNotFoundError:
        pass
    return out
th0, th1 = threads("threads.start"), threads("threads.run")
thread_cpu = {n: round((th1.get(n, 0) - th0.get(n, 0)) / hz / run_s * 100, 1) for n in th1 if run_s > 0}
thread_cpu = {n: v for n, v in sorted(thread_cpu.items(), key=lambda x: -x[1]) if v > 0}
th2 = threads("threads.end")
drain_threads = {n: round((th2.get(n, 0) - th1.get(n, 0)) / hz / drain_s * 100, 1) for n in th2 if drain_s > 0.5}
drain_threads = {n: v for n, v in sorted(drain_threads.items(), key=lambda x: -x[1]) if v > 0}

summary = {
    "label": E.get("LABEL", ""),
    "date_utc": subprocess.run(["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"], capture_output=True, text=True).stdout.strip(),
    "machine": {"cpus": os.cpu_count(), "cpu": cpu_model, "kernel": platform.release()},
    "binary": {"path": E.get("BIN"), "sha256_12": E.get("BIN_SHA"), "built": E.get("BIN_MTIME"),
               "checkout": E.get("GIT_REV")},
    "rtp_ports": E.get("RTP_PORTS"), "offered": {"rate_cps": int(num("RATE")), "duration_s": int(num("DURATION")), "hold_ms": int(num("HOLD_MS")),
                "calls": int(num("CALLS")), "sipp_limit": int(num("LIMIT"))},
    "sipp_exit": int(num("SIPP_RC")),
    "calls": {"created": created, "successful": ok, "failed": failed,
              "failed_breakdown": {k[6:-3]: ival(stat, k) for k in stat if k.startswith("Failed") and k.endswith("(C)") and ival(stat, k) and k != "FailedCall(C)"}},
    "achieved_cps": round(ok / run_s, 1) if run_s else None,
    "run_s": round(run_s, 2),
    "retransmissions": {
        "sipp_total": retrans,
        "sipp_requests_retransmitted": req_retrans,
        "pct_of_invite_bye": round(100 * req_retrans / first_tx, 4) if first_tx else None,
        "duplicate_200s_received": resp_dups,
        "server_counter": final.get("retransmissions"),
        "timeouts": timeouts, "unexpected": unexpected,
    },
    "invite_200_ms": {"samples": len(rtts), "p50": pct(50), "p95": pct(95), "p99": pct(99),
                      "max": rtts[-1] if rtts else None,
                      "mean": round(statistics.fmean(rtts), 2) if rtts else None,
                      "resolution_ms": 1},
    "cpu_pct": {"server_run": round(100 * srv_run / run_s, 1) if run_s else None,
                "server_drain": round(100 * srv_drain / drain_s, 1) if drain_s > 0.5 else None,
                "sipp_run": round(100 * sipp_cpu / run_s, 1) if run_s else None,
                "other_processes_run": round(100 * other_cpu / run_s, 1) if run_s else None,
                "other_before_run": int(num("OTHER_BEFORE")), "quiet_before_run": E.get("QUIET") == "true",
                "server_threads_run": thread_cpu,
                "server_threads_drain": drain_threads,
                "server_context_switches_per_call": {
                    "voluntary": round((num("CS_V1") - num("CS_V0")) / created, 2) if created else None,
                    "involuntary": round((num("CS_N1") - num("CS_N0")) / created, 2) if created else None},
                "server_cpu_us_per_call": round(srv_run * 1e6 / ok) if ok else None},
    "memory": {"idle_rss_kb": int(idle), "peak_rss_kb_run": int(hwm_run), "peak_rss_kb_end": int(hwm_end),
               "rss_kb_end": int(num("RSS_END")),
               "peak_concurrent_calls": peak_calls, "peak_transactions": peak_tx,
               "bytes_per_concurrent_call": mem_per_call},
    "records": {"attempted": created, "written": int(num("WRITTEN")), "newest_ended": E.get("ENDED") == "true",
                "drain_s_after_sipp": round(drain_s, 2), "inserted_per_s_during_run": rec_rate,
                "max_lag_records_est": max_lag},
}
# Per-second timeline: server side from the sampler, client side from sipp's -fd 1 rows.
timeline = []
prev = None
for s in samples:
    row = {"t_s": round((s["t"] - t0) / 1000, 1), "rss_kb": int(s["rss"] or 0),
           "calls": s["stats"].get("calls"), "transactions": s["stats"].get("transactions"),
           "rtp_ports_free": s["stats"].get("rtp_ports_free"),
           "records": s["newest"]}
    if prev and s.get("minflt") is not None and prev.get("minflt") is not None:
        row["page_faults"] = s["minflt"] - prev["minflt"]
    if prev and s["srv"] and prev["srv"]:
        row["server_cpu_pct"] = round(100 * (int(s["srv"]) - int(prev["srv"])) / hz / ((s["t"] - prev["t"]) / 1000), 1)
    timeline.append(row)
    prev = s
sipp_rows = []
try:
    with open(f"{W}/sipp_stat.csv", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    for r in rows[1:]:
        d = dict(zip(rows[0], r))
        sipp_rows.append({"elapsed": d.get("ElapsedTime(C)"), "cps": d.get("CallRate(P)"),
                          "ok": ival(d, "SuccessfulCall(P)"), "retrans": ival(d, "Retransmissions(P)"),
                          "rt1_avg": d.get("ResponseTime1(P)"), "current": ival(d, "CurrentCall")})
except FileNotFoundError:
    pass
summary["timeline"] = {"server": timeline, "sipp": sipp_rows}
# The server's own warnings and errors (ANSI colour stripped), counted by message.
import re
warn = {}
try:
    for line in open(f"{W}/server.err", errors="replace"):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        m = re.search(r"\b(WARN|ERROR)\b\s+\S+:\s+(.*?)(\s+\w+=|$)", line)
        if m:
            k = f"{m.group(1)} {m.group(2)}"
            warn[k] = warn.get(k, 0) + 1
except FileNotFoundError:
    pass
summary["server_warnings"] = warn
errs = glob.glob(f"{W}/storm_*_errors.log")
if errs and os.path.getsize(errs[0]) > 0:
    with open(errs[0], errors="replace") as f:
        summary["sipp_errors_head"] = f.read(4000)

with open(E["OUT"], "w") as f:
    json.dump(summary, f, indent=2)

o, m, r, c = summary["offered"], summary["memory"], summary["retransmissions"], summary["cpu_pct"]
lat = summary["invite_200_ms"]
rec = summary["records"]
print(f"""
== call storm {summary['date_utc']}  {cpu_model} x{os.cpu_count()}  binary {E.get('BIN_SHA')} (built {E.get('BIN_MTIME')}; checkout {E.get('GIT_REV')})
offered        {o['rate_cps']} cps x {o['duration_s']} s, hold {o['hold_ms']} ms ({o['calls']} calls, sipp -l {o['sipp_limit']})
calls          created {created}  ok {ok}  failed {failed} {summary['calls']['failed_breakdown'] or ''}  (sipp exit {summary['sipp_exit']})
achieved       {summary['achieved_cps']} calls/s over {summary['run_s']} s
retrans        {r['sipp_requests_retransmitted']} INVITE/BYE resent = {r['pct_of_invite_bye']} %;  duplicate 200s {r['duplicate_200s_received']};  server counter {r['server_counter']}
INVITE->200    p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']} ms  ({lat['samples']} samples, 1 ms resolution)
CPU            server {c['server_run']} %  sipp {c['sipp_run']} %  other work {c['other_processes_run']} %  (100 % = one core; server while draining records: {c['server_drain']} %)
server threads {', '.join(f'{n} {v}%' for n, v in c['server_threads_run'].items())};  {c['server_cpu_us_per_call']} us CPU/call;  context switches/call {c['server_context_switches_per_call']}
memory         RSS idle {m['idle_rss_kb']} kB, peak {m['peak_rss_kb_run']} kB (end {m['peak_rss_kb_end']}); peak calls {m['peak_concurrent_calls']}, peak transactions {m['peak_transactions']}
               per concurrent call: {m['bytes_per_concurrent_call'] if m['bytes_per_concurrent_call'] is not None else 'n/a (needs a hold time and >= 100 concurrent calls)'} bytes
records        written {rec['written']} / attempted {rec['attempted']} (newest ended: {rec['newest_ended']}); {rec['inserted_per_s_during_run']} inserts/s during run, writer lag up to ~{rec['max_lag_records_est']} records, drained {rec['drain_s_after_sipp']} s later
warnings       {', '.join(f'{k} x{v}' for k, v in warn.items()) or 'none'}
json           {E['OUT']}""")
PY
