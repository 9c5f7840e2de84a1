#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with Rust (run as root). Idempotent.
#
# Installs and starts what the tests need (scripts/services.sh: sipp, PostgreSQL,
# Redis, Chromium and the browser tests' Node packages), then checks formatting, the dependency rule and clippy, and runs every test:
# unit and property tests, the store against SQLite and PostgreSQL, and the end-to-end
# tests that drive the real binary with sipp.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(bash scripts/services.sh)"
export LIFELINE_REQUIRE_PG=1 LIFELINE_REQUIRE_BROWSER=1

echo "== format"
cargo fmt --all -- --check
echo "== dependency rule"
bash scripts/check-deps.sh
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked
