#!/usr/bin/env bash
# Runs N instances of `payhook serve` (release build) on one Postgres database and one Redis,
# on consecutive ports, as one site behind a load balancer (see README "Several instances").
#   scripts/cluster.sh [N]        (default 2)
# Environment (all optional):
#   DATABASE_URL            postgres://... (default: database payhook_cluster on the local
#                           server, created when missing)
#   REDIS_URL               default redis://127.0.0.1:6379
#   PAYHOOK_CLUSTER_PORT    the first instance's port (default 8081)
#   PAYHOOK_CLUSTER_DIR     keys and logs (default target/cluster)
#   PAYHOOK_SESSION_KEY, PAYHOOK_SECRET_KEY
#                           shared by every instance; when unset, generated once and kept in
#                           PAYHOOK_CLUSTER_DIR (keep the secret key: the database is sealed
#                           with it)
# Any other PAYHOOK_* variable is passed to every instance. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-2}"
[[ "$count" =~ ^[1-9][0-9]?$ ]] || { echo "usage: $0 [N]   (1 to 99 instances)" >&2; exit 2; }
first_port="${PAYHOOK_CLUSTER_PORT:-8081}"
dir="${PAYHOOK_CLUSTER_DIR:-target/cluster}"
mkdir -p "$dir"
chmod 700 "$dir"

if [ -z "${DATABASE_URL:-}" ]; then
  server="postgres://postgres@127.0.0.1:5432"
  exists=$(psql "$server/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'payhook_cluster'")
  [ "$exists" = 1 ] || psql "$server/postgres" -qc "CREATE DATABASE payhook_cluster"
  DATABASE_URL="$server/payhook_cluster"
fi
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "DATABASE_URL must be a Postgres URL: instances cannot share a SQLite file" >&2; exit 2 ;;
esac
export DATABASE_URL
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

# A key generated once and kept in $dir/$1, unless the environment gives one.
key() {
  local file="$dir/$1" bytes="$2"
  [ -s "$file" ] || (umask 077 && od -An -tx1 -N"$bytes" /dev/urandom | tr -d ' \n' >"$file")
  cat "$file"
}
export PAYHOOK_SESSION_KEY="${PAYHOOK_SESSION_KEY:-$(key session-key 64)}"
export PAYHOOK_SECRET_KEY="${PAYHOOK_SECRET_KEY:-$(key secret-key 32)}"

nice -n 15 cargo build --release --bin payhook >&2
bin=target/release/payhook
"$bin" migrate >&2

pids=()
stop() {
  trap - INT TERM EXIT
  if [ "${#pids[@]}" -gt 0 ]; then
    echo "stopping ${#pids[@]} instance(s)" >&2
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

addresses=()
for i in $(seq 1 "$count"); do
  port=$((first_port + i - 1))
  PAYHOOK_BIND="127.0.0.1:$port" "$bin" serve >"$dir/instance-$i.log" 2>&1 &
  pids+=("$!")
  addresses+=("http://127.0.0.1:$port")
done
for i in "${!addresses[@]}"; do
  address="${addresses[$i]}"
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$address/healthz" 2>/dev/null && break
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$dir/instance-$((i + 1)).log" >&2; exit 1; }
    sleep 0.2
  done
  curl -fsS -o /dev/null "$address/healthz" || { echo "$address did not start" >&2; exit 1; }
done

echo "payhook: $count instance(s) on $(printf '%s' "$DATABASE_URL" | sed -E 's#//([^:@/]*):[^@]*@#//\1:***@#') and $REDIS_URL"
printf '%s\n' "${addresses[@]}"
echo "logs in $dir/instance-N.log; Ctrl-C stops them all"
wait -n "${pids[@]}" || true
echo "an instance stopped; stopping the others" >&2
