#!/usr/bin/env bash
# Benchmarks over real HTTP on SQLite and Postgres (release build).
#   bench/run.sh            the section page and a save
#   bench/run.sh audit      the audit page and CSV with 1,000,000 events and 10,000 merchants
#   bench/run.sh deliveries notifications per second to a receiver on 127.0.0.1
#   bench/run.sh log        the notification log with 1,000,000 notifications and 1,000 merchants
set -euo pipefail
cd "$(dirname "$0")/.."
pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n 1)" main start
bench="${1:-settings}"
exec cargo run --release --example "${bench}_bench"
