# Shell helpers the benchmark scripts share (sourced; needs HZ, the clock tick rate).
# Other work shares the machine's cores: a row run beside a compiler measures the
# compiler too, so rows wait for a quiet machine and report what else ran.

# Busy clock ticks of the whole machine (user, nice, system, irq, softirq, steal).
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# utime + stime ticks of process $1.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU seconds (user + sys) from a `time -p`-style file $1 written by bash's `time`.
child_cpu() { tr '\n' ' ' <"$1" | sed 's/[ms]/ /g' | awk '{print $5 * 60 + $6 + $7 * 60 + $8}'; }
# Waits until the machine has been under a quarter of a core busy for three 2-second
# samples in a row, or LOADTEST_QUIET_S (120) seconds; says which on stderr.
wait_quiet() {
  local deadline=$((SECONDS + ${LOADTEST_QUIET_S:-120})) in_a_row=0 b0 b1 busy quiet=false
  while :; do
    b0=$(busy_ticks); sleep 2; b1=$(busy_ticks)
    busy=$(((b1 - b0) * 100 / (2 * HZ)))
    if ((busy < 25)); then in_a_row=$((in_a_row + 1)); else in_a_row=0; fi
    ((in_a_row >= 3)) && { quiet=true; break; }
    ((SECONDS >= deadline)) && break
  done
  echo "machine busy before the row: ${busy}% of one core (quiet: $quiet)" >&2
}

# Waits up to 60 s for the server (pid $1) to print its ready line in file $2 and sets
# READY to it and SIP_UDP to its SIP address; if the server exits or stays silent, shows
# the end of its stderr (file $3) and exits.
wait_ready() {
  local pid=$1 out=$2 err=$3 deadline=$((SECONDS + 60))
  READY=""
  while ((SECONDS < deadline)); do
    READY=$(grep -m1 '^lifeline ready ' "$out" 2>/dev/null || true)
    [[ -n $READY ]] && break
    kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; tail -20 "$err" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $READY ]] || { echo "server not ready in 60 s" >&2; tail -20 "$err" >&2; exit 1; }
  SIP_UDP=$(sed -n 's/.* sip_udp=\([^ ]*\).*/\1/p' <<<"$READY")
}
