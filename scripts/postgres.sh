#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 (a free port) for the server's integration tests and
# prints shell exports for it on stdout (everything else goes to stderr):
#
#   eval "$(bash scripts/postgres.sh)"      # sets AIM_TEST_POSTGRES (Npgsql connection string) and AIM_TEST_POSTGRES_DIR
#   bash scripts/postgres.sh stop "$AIM_TEST_POSTGRES_DIR"
#
# Installs the `postgresql` apt package when no server binaries are found (through setup.sh, which waits for apt's
# lock). initdb's and pg_ctl's transcripts are kept in the cluster's directory and printed only when a step fails. As root, the cluster runs as the
# `postgres` user (PostgreSQL refuses to run as root). Authentication is `trust` on loopback only: the cluster is
# for tests and lives in a temporary directory.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

as_owner() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  fi
}

if [ "${1:-}" = "stop" ]; then
  dir="${2:?usage: postgres.sh stop <dir>}"
  bin=$(find_bin)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

bin=$(find_bin)
if [ -z "$bin" ]; then
  log "PostgreSQL server binaries not found; installing the postgresql package"
  # setup.sh waits (bounded) for apt's lock; its output goes to stderr, stdout carries only the exports.
  bash "$(dirname "$0")/setup.sh" postgresql >&2
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    log "installation did not provide initdb under /usr/lib/postgresql/*/bin"
    exit 1
  fi
fi

if [ "$(id -u)" = "0" ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres >&2
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for _ in $(seq 1 200); do
  candidate=$(( 20000 + RANDOM % 40000 ))
  if port_free "$candidate"; then port=$candidate; break; fi
done
if [ -z "$port" ]; then log "no free port found"; exit 1; fi

dir=$(mktemp -d /tmp/aim-pg.XXXXXX)
chmod 755 "$dir"
if [ "$(id -u)" = "0" ]; then chown postgres "$dir"; fi

# quietly <step> <command...>: the command's transcript (initdb prints ~30 lines) is shown only when it fails.
quietly() {
  local step="$1"; shift
  if ! "$@" >"$dir/$step.log" 2>&1; then
    log "$step failed:"; cat "$dir/$step.log" >&2
    [ -f "$dir/server.log" ] && cat "$dir/server.log" >&2
    exit 1
  fi
}
quietly initdb as_owner "$bin/initdb" -D "$dir/data" -A trust -U aim --no-sync -E UTF8
quietly start as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start
quietly createdb as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U aim aimtest
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"

echo "export AIM_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=aim;Database=aimtest;Pooling=true;Maximum Pool Size=50'"
echo "export AIM_TEST_POSTGRES_DIR='$dir'"
