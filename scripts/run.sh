#!/usr/bin/env bash
# Runs Lifeline with the demo configuration in sip-config/ (SIP on 0.0.0.0:5060 UDP and
# TCP, HTTP API on 127.0.0.1:8080, SQLite under data/). Needs nothing but Rust: no
# database or other service to set up. Extra arguments go to `lifeline serve`, e.g.
#   ./scripts/run.sh --sip-listen 127.0.0.1:5070
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p lifeline
exec target/release/lifeline serve --config sip-config/lifeline.toml "$@"
