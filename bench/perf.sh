#!/usr/bin/env bash
# Throughput against the bare-framework ceiling, latency at 32 connections and peak memory, on
# SQLite and Postgres; the output is kept in bench/RESULTS.md with the date and the machine.
#
#   bench/perf.sh                 both databases
#   bench/perf.sh sqlite          one
#
# 1. ../shared/perf/compare.sh both DB: payhook beside the "limit" app in alternating rounds;
#    the median per-round ratio is the figure (goals: page >= 0.70, save >= 0.50). The peak
#    resident memory of `payhook serve` is sampled while it runs.
# 2. wrk --latency at 32 connections against a payhook of its own: p50 and p99 of the VA SNAP
#    section page and of a CONFIGURE save.
# Needs wrk, curl, python3 and (for postgres) a local server accepting postgres@127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
COMPARE=${COMPARE:-$ROOT/../shared/perf/compare.sh}
LUA_SAVE=$(dirname "$COMPARE")/payhook-save.lua
[ -x "$COMPARE" ] || { echo "compare.sh not found at $COMPARE" >&2; exit 2; }
command -v wrk >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; }
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/payhook
out=$(mktemp); trap 'rm -f "$out" "$out.compare"' EXIT

# Peak RSS (KiB) of `payhook serve` while the command given runs: the kernel's high-water mark
# (VmHWM), read until the process ends, so a peak between two samples is not missed.
with_peak_rss() {
  local peak_file; peak_file=$(mktemp)
  echo 0 >"$peak_file"
  ( while :; do
      # Only `payhook serve`: the set-up commands (user add hashes a password) are not it.
      for pid in $(ps -C payhook -o pid=,args= 2>/dev/null | awk '/ serve/ {print $1}'); do
        kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$kb" ] && [ "$kb" -gt "$(cat "$peak_file")" ] && echo "$kb" >"$peak_file"
      done
      sleep 0.1
    done ) & local sampler=$!
  "$@"
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  PEAK_KB=$(cat "$peak_file"); rm -f "$peak_file"
}

# p50 and p99 of the page and the save at 32 connections, on a payhook of its own.
latency() {
  local db=$1 work pid pgdb="" env_db=() port B jar t code cookie csrf channels
  work=$(mktemp -d)
  if [ "$db" = postgres ]; then
    pgdb=perf_latency_$RANDOM; psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $pgdb" >/dev/null
    env_db=(DATABASE_URL=postgres://postgres@127.0.0.1:5432/$pgdb
      PAYHOOK_SESSION_KEY=$(openssl rand -hex 64) PAYHOOK_SECRET_KEY=$(openssl rand -hex 32))
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$work" && env PAYHOOK_DNS_CHECK=off "${env_db[@]}" "$BIN" merchant add --code perf --name Perf >/dev/null
   echo "latency-perf-password-1" | env "${env_db[@]}" "$BIN" user add --email perf@perf.co.id --role owner --merchant perf --password-stdin >/dev/null)
  (cd "$work" && exec env PAYHOOK_DNS_CHECK=off PAYHOOK_BIND=127.0.0.1:$port RUST_LOG=warn "${env_db[@]}" "$BIN" serve >/dev/null 2>&1) & pid=$!
  B=http://127.0.0.1:$port; jar=$work/jar
  for _ in $(seq 100); do curl -fsS "$B/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  token() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }
  t=$(curl -s -c "$jar" -b "$jar" "$B/login" | token)
  code=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" -H "Origin: $B" \
    --data-urlencode "csrf_token=$t" --data-urlencode "email=perf@perf.co.id" \
    --data-urlencode "password=latency-perf-password-1" "$B/login")
  [ "$code" = 303 ] || { echo "sign-in answered $code" >&2; kill $pid; return 1; }
  cookie=$(awk '!/^#/ || /^#HttpOnly_/ {sub(/^#HttpOnly_/, ""); if (NF >= 7) printf "%s%s=%s", (n++ ? "; " : ""), $6, $7}' "$jar")
  csrf=$(curl -s -b "$jar" "$B/settings/payment/va_snap/bca" | token)
  channels=$(for ch in bca mandiri bri bni bsi permata cimb danamon bnc btn bss maybank bjb bpd_bali doku; do printf 'va_snap/%s ' "$ch"; done)
  for c in $channels; do
    curl -s -o /dev/null -b "$jar" -H "Origin: $B" --data-urlencode "csrf_token=$csrf" --data-urlencode version=0 \
      --data-urlencode "sandbox_url=https://hooks.perf.co.id/s/${c#*/}" "$B/settings/payment/$c"
  done
  local page save
  page=$(wrk -t1 -c32 -d5s --latency -H "Cookie: $cookie" "$B/settings/payment/va_snap" 2>/dev/null |
    awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Requests\/sec/ {r=$2} END {printf "p50 %s, p99 %s (%s rps)", p50, p99, r}')
  save=$(COOKIE=$cookie CSRF=$csrf CHANNELS=$channels V0=1 ORIGIN=$B wrk -t1 -c32 -d5s --latency -s "$LUA_SAVE" "$B" 2>/dev/null |
    awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /^SAVED/ {s=$2/$8} END {printf "p50 %s, p99 %s (%.0f saves/s)", p50, p99, s}')
  kill $pid; wait $pid 2>/dev/null || true
  [ -n "$pgdb" ] && psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null
  rm -rf "$work"
  echo "latency at 32 connections ($db): section page $page; save $save"
}

{
  echo "# Performance, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(rustc --version)."
  echo "Command: \`bench/perf.sh ${backends[*]}\` (release build; rounds of 5 s at 32 connections)."
  for db in "${backends[@]}"; do
    echo; echo "## $db"; echo; echo '```text'
    with_peak_rss "$COMPARE" both "$db" >"$out.compare" 2>&1 || true
    grep -v '^== building' "$out.compare"
    echo "peak resident memory of payhook serve (VmHWM): $PEAK_KB KiB = $(awk -v k="$PEAK_KB" 'BEGIN {printf "%.1f MiB, %.1f MB", k/1024, k*1.024/1000}')"
    latency "$db"
    echo '```'
  done
} | tee "$out"
cp "$out" bench/RESULTS.md
