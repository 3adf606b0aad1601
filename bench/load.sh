#!/usr/bin/env bash
# A site under load (release build): N simulated merchants (default 50) sign in, read section
# pages, save, send test notifications, and create and pay sandbox payments for a fixed time
# (default 60 s), against one `payhook serve` on SQLite, then two on Postgres with Redis, with a
# notification receiver on 127.0.0.1. Prints p50/p99 per request kind and throughput, then
# checks that every acknowledged save is stored with exactly its audit events, that
# `payhook audit verify` passes and that every queued notification reached the receiver.
#   bench/load.sh [merchants] [seconds]
# Loopback only; bounded to 500 merchants and 600 s. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_isready -h 127.0.0.1 -p 5432 -q ||
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ] ||
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
nice -n 15 cargo build --release --bin payhook --example load_bench >&2
PAYHOOK_BIN=target/release/payhook exec target/release/examples/load_bench "$@"
