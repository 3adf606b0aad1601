#!/usr/bin/env bash
# The whole test suite, on SQLite and on Postgres, and the browser journeys in headless
# Chromium. Installs and starts what the tests need (PostgreSQL, Redis, Chromium and its
# driver, axe-core for the journeys' accessibility checks) when it is missing or down, and
# fails loudly when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test] %s\n' "$*" >&2; }
die() { printf '[test] ERROR: %s\n' "$*" >&2; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
  log "installing $*"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  command -v pg_isready >/dev/null || apt_install postgresql postgresql-client
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    log "PostgreSQL is down: starting it"
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q || die "PostgreSQL does not answer on 127.0.0.1:5432"
  # Databases left behind by an interrupted run.
  psql -h 127.0.0.1 -U postgres -d postgres -Atqc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'payhook_test_%'" |
    while read -r db; do psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE \"$db\" WITH (FORCE)"; done
}

ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" != "PONG" ]; then
    log "Redis is down: starting it"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 20); do [ "$(redis-cli ping 2>/dev/null)" = "PONG" ] && break; sleep 0.5; done
  fi
  [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ] || die "Redis does not answer on 127.0.0.1:6379"
}

ensure_chromium() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
  chromium --headless=new --no-sandbox --disable-gpu --version >/dev/null 2>&1 ||
    die "Chromium is installed but does not start"
  chromedriver --version >/dev/null || die "chromedriver is installed but does not start"
}

# axe-core, the accessibility checker the journeys inject into their pages
# (Chrome::assert_accessible), fetched once from the npm registry into target/axe-core/.
AXE_VERSION=4.10.3
ensure_axe() {
  local dir="$PWD/target/axe-core"
  local js="$dir/package/axe.min.js"
  if [ ! -s "$js" ] || [ "$(cat "$dir/version" 2>/dev/null)" != "$AXE_VERSION" ]; then
    command -v npm >/dev/null || apt_install npm
    log "fetching axe-core@$AXE_VERSION from the npm registry"
    rm -rf "$dir"
    mkdir -p "$dir"
    local tarball
    tarball=$(cd "$dir" && npm pack --loglevel=error "axe-core@$AXE_VERSION" | tail -n 1) ||
      die "could not fetch axe-core@$AXE_VERSION from the npm registry"
    tar -xzf "$dir/$tarball" -C "$dir" package/axe.min.js ||
      die "the axe-core@$AXE_VERSION tarball has no package/axe.min.js"
    rm -f "$dir/$tarball"
    [ -s "$js" ] || die "axe-core@$AXE_VERSION: $js is missing or empty"
    echo "$AXE_VERSION" >"$dir/version"
  fi
  export PAYHOOK_AXE_JS="$js"
}

ensure_postgres
ensure_redis
ensure_chromium
ensure_axe
cargo test --all-targets "$@"
