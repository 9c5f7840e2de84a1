#!/usr/bin/env bash
# Seeds the corpora and runs every fuzz target for a bounded time each.
#
#   fuzz/run.sh [seconds-per-target] [target...]     (default: 60 s, all targets)
#
# Uses AddressSanitizer via RUSTC_BOOTSTRAP=1 on the stable toolchain and falls back to
# no sanitizer (`-s none`) if that build fails; SANITIZER=none forces the fallback.
# Logs go to fuzz/artifacts/logs/<target>.log, crashes to fuzz/artifacts/<target>/.
# Exits non-zero if any target found a crash. CARGO_BUILD_JOBS defaults to 1.
set -euo pipefail
cd "$(dirname "$0")"
fuzz_dir=$(pwd)
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(sip_message sip_stream_framing sdp digest_header uri)
fi
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
}
./seed.sh

san=(--sanitizer address)
if [ "${SANITIZER:-address}" = none ] || ! RUSTC_BOOTSTRAP=1 cargo fuzz build "${san[@]}"; then
    echo "run.sh: building without a sanitizer" >&2
    san=(--sanitizer none)
    cargo fuzz build "${san[@]}"
fi

mkdir -p artifacts/logs
status=0
printf '%-20s %6s %12s %8s %6s %6s  %s\n' target secs execs exec/s cov ft result
for t in "${targets[@]}"; do
    log=artifacts/logs/$t.log
    rc=0
    RUSTC_BOOTSTRAP=1 cargo fuzz run "${san[@]}" "$t" -- \
        -max_total_time="$secs" -dict="$fuzz_dir/sip.dict" -print_final_stats=1 \
        >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="CRASH (exit $rc): see $log"
        status=1
    fi
    printf '%-20s %6s %12s %8s %6s %6s  %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$result"
done
exit "$status"
