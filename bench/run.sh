#!/usr/bin/env bash
# Benchmarks the section page and a save on SQLite and Postgres (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n 1)" main start
exec cargo run --release --example settings_bench "$@"
