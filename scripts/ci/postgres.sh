#!/usr/bin/env bash
# A throwaway PostgreSQL server for the indexer tests, on 127.0.0.1:${MEDLEDGER_PG_PORT:-55432},
# role medledger_test (CREATEDB, trust authentication on loopback only), data in /tmp.
#
#   bash scripts/ci/postgres.sh         # install (Debian's postgresql) if needed, init, start
#   bash scripts/ci/postgres.sh stop    # stop it and delete its data
#
# The tests find it through MEDLEDGER_TEST_PG_URL (default
# postgres://medledger_test@127.0.0.1:55432/postgres) and create and drop their own databases.
set -euo pipefail

PORT="${MEDLEDGER_PG_PORT:-55432}"
DATA="${MEDLEDGER_PG_DATA:-/tmp/medledger-pg-$PORT}"
ROLE=medledger_test

bin_dir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

as_owner() {
  # initdb and postgres refuse to run as root: use the `postgres` account the package creates
  # (runuser lives in /usr/sbin or /sbin, which a root PATH may lack).
  if [ "$(id -u)" = 0 ]; then
    local runuser
    runuser="$(PATH="$PATH:/usr/sbin:/sbin" command -v runuser || true)"
    if [ -n "$runuser" ]; then "$runuser" -u postgres -- "$@"; else su postgres -s /bin/sh -c '"$0" "$@"' -- "$@"; fi
  else
    "$@"
  fi
}

if [ "${1:-start}" = stop ]; then
  if BIN="$(bin_dir)" && [ -f "$DATA/PG_VERSION" ]; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast stop || true; fi
  rm -rf "$DATA"
  exit 0
fi

if ! BIN="$(bin_dir)"; then
  echo "--- postgres.sh: installing PostgreSQL (Debian package postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  BIN="$(bin_dir)"
fi

if as_owner "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  echo "--- postgres.sh: already running on 127.0.0.1:$PORT"
  exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"
  mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
fi
# Loopback only; settings for a throwaway test server (no durability needed).
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -o \
  "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
  start >/dev/null
as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qtAc \
  "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN CREATEDB; END IF; END \$\$;"
echo "--- postgres.sh: PostgreSQL on 127.0.0.1:$PORT (MEDLEDGER_TEST_PG_URL=postgres://$ROLE@127.0.0.1:$PORT/postgres)"
