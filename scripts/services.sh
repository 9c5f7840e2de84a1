#!/usr/bin/env bash
# Prepares the external services Lifeline's tests use, on a fresh Debian 12 machine
# (run as root, no systemd needed). Idempotent: a second run changes nothing.
#
#   - installs sip-tester (sipp), redis-server, postgresql and chromium if missing, and
#     the browser tests' Node packages (tests/browser, playwright-core) if absent;
#   - starts the PostgreSQL cluster `main` if it is not running;
#   - creates role `lifeline` (password `lifeline`) and database `lifeline_test` if absent;
#   - prints, on stdout and nothing else, the shell line to export the test database URL:
#
#       eval "$(bash scripts/services.sh)"
#
# Redis is installed but never started here: tests start private redis-servers.
set -euo pipefail

# Everything but the final `export` line goes to stderr, so stdout can be eval'ed.
exec 3>&1 1>&2

log() { printf 'services.sh: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root"
    exit 1
fi

# --- packages -------------------------------------------------------------------------
is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in sip-tester redis-server postgresql chromium; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    # Keep package scripts from starting services (redis in particular) on install;
    # PostgreSQL is started explicitly below. An existing policy is left untouched.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
    log "packages present: sip-tester redis-server postgresql chromium"
fi

for cmd in sipp redis-server pg_ctlcluster pg_lsclusters psql chromium node npm; do
    command -v "$cmd" >/dev/null || { log "missing command after install: $cmd"; exit 1; }
done

# --- browser test packages ----------------------------------------------------------
# playwright-core only drives Debian's Chromium; it never downloads a browser.
browser_dir="$(dirname "$0")/../tests/browser"
if [ ! -d "$browser_dir/node_modules/playwright-core" ]; then
    log "installing the browser tests' Node packages"
    (cd "$browser_dir" && npm ci --no-audit --no-fund >&2)
fi

# --- PostgreSQL cluster ---------------------------------------------------------------
pg_version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$pg_version" ]; then
    log "no PostgreSQL version under /etc/postgresql"
    exit 1
fi
if [ ! -d "/etc/postgresql/$pg_version/main" ]; then
    log "creating cluster $pg_version/main"
    pg_createcluster "$pg_version" main
fi

if pg_ctlcluster "$pg_version" main status >/dev/null 2>&1; then
    log "PostgreSQL $pg_version/main already running"
else
    log "starting PostgreSQL $pg_version/main"
    # The server inherits the descriptors of whoever starts it: give it none of ours,
    # or a caller reading our stdout or stderr through a pipe would wait for it forever.
    start_log="$(mktemp)"
    if ! pg_ctlcluster "$pg_version" main start </dev/null >"$start_log" 2>&1 3>&-; then
        cat "$start_log" >&2
        rm -f "$start_log"
        log "PostgreSQL $pg_version/main failed to start"
        exit 1
    fi
    cat "$start_log" >&2
    rm -f "$start_log"
fi

pg_port="$(pg_lsclusters -h "$pg_version" main | awk '{print $3}')"
pg_isready -q -h 127.0.0.1 -p "$pg_port" -t 30 || {
    log "PostgreSQL not accepting connections on 127.0.0.1:$pg_port"
    exit 1
}

# --- role and database ----------------------------------------------------------------
psql_admin() {
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$pg_port" -tA "$@")
}

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'lifeline'")" != "1" ]; then
    log "creating role lifeline"
    psql_admin -c "CREATE ROLE lifeline LOGIN PASSWORD 'lifeline'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'lifeline_test'")" != "1" ]; then
    log "creating database lifeline_test"
    psql_admin -c "CREATE DATABASE lifeline_test OWNER lifeline"
fi

echo "export LIFELINE_TEST_PG_URL=postgres://lifeline:lifeline@127.0.0.1:${pg_port}/lifeline_test" >&3
