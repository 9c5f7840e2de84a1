#!/usr/bin/env bash
# The dependency rule (docs/ARCHITECTURE.md): the sans-IO cores never depend on an async
# runtime, a web framework, a database or Redis client, and never read the clock.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for crate in sip media acd dispatch config; do
    [ -f "crates/$crate/Cargo.toml" ] || continue
    pkg="lifeline-$crate"
    bad=$(cargo tree --locked -q -p "$pkg" -e normal --prefix none \
        | grep -oE '^(tokio|axum|hyper|sqlx|redis|reqwest|mio|async-std) ' | sort -u | tr '\n' ' ' || true)
    if [ -n "$bad" ]; then
        echo "check-deps: $pkg depends on $bad(it must stay sans-IO)" >&2
        status=1
    fi
    # Test modules (tests.rs, *_tests.rs, *_tests/) may take a base Instant for virtual
    # time.
    clock=$(grep -rnE --exclude='tests.rs' --exclude='*_tests.rs' --exclude-dir='*_tests' \
        '(Instant|SystemTime)::now\(|UdpSocket|TcpStream|TcpListener' "crates/$crate/src" || true)
    if [ -n "$clock" ]; then
        echo "check-deps: $pkg reads the clock or opens sockets:" >&2
        echo "$clock" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "check-deps: sans-IO cores clean"
exit "$status"
