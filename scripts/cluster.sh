#!/usr/bin/env bash
# Local PostgreSQL cluster for tests, the demo and the benchmark: one primary and N streaming
# replicas (pg_basebackup -R) on ports of their own.
#
#   scripts/cluster.sh start [N]       init (first time) and start primary + N replicas (default 2)
#   scripts/cluster.sh stop            stop every node (fast shutdown)
#   scripts/cluster.sh stop-node NAME  immediate stop of one node (primary, replica_0, replica_1, ...)
#   scripts/cluster.sh start-node NAME start one node again
#   scripts/cluster.sh pause-node NAME  SIGSTOP every process of a node (a hung server)
#   scripts/cluster.sh resume-node NAME SIGCONT them again
#   scripts/cluster.sh promote-node NAME  promote a replica to a primary (for role tests)
#   scripts/cluster.sh rebuild-node NAME  re-create a replica from the primary (pg_basebackup)
#   scripts/cluster.sh data-dir NAME   print a node's data directory
#   scripts/cluster.sh status          one line per node: name, port, running|stopped, role
#   scripts/cluster.sh env             the guide's DB_* variables for this cluster, as shell exports
#   scripts/cluster.sh destroy         stop everything and delete the data
#
# Environment: RRM_PORT (primary port, default 55432; replica i listens on RRM_PORT+1+i),
# RRM_CLUSTER_DIR (where the data lives). As root the servers run as the `postgres` user, and the
# data lives in a folder that user can enter (a mktemp -d folder recorded in .cluster/data-dir),
# because a checkout's parent folders may be closed to it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="$here/.cluster"
port_base="${RRM_PORT:-55432}"

die() { echo "cluster: $*" >&2; exit 1; }

# shellcheck source=scripts/pg-common.sh
source "$here/scripts/pg-common.sh"
BIN="$(bindir)" || die "PostgreSQL server binaries not found: install them or set PG_BINDIR"

data_root() {
  if [ -n "${RRM_CLUSTER_DIR:-}" ]; then echo "$RRM_CLUSTER_DIR"; return; fi
  mkdir -p "$state_dir"
  if [ -f "$state_dir/data-dir" ] && [ -d "$(cat "$state_dir/data-dir")" ]; then
    cat "$state_dir/data-dir"; return
  fi
  local d
  if is_root; then d="$(mktemp -d /tmp/rrm-cluster.XXXXXX)"; else d="$state_dir/data"; fi
  echo "$d" > "$state_dir/data-dir"
  echo "$d"
}
ROOT="$(data_root)"

node_port() {
  case "$1" in
    primary) echo "$port_base" ;;
    replica_*) echo $((port_base + 1 + ${1#replica_})) ;;
    *) die "unknown node '$1' (primary, replica_0, replica_1, ...)" ;;
  esac
}
node_dir() { echo "$ROOT/$1"; }
nodes() {
  local n
  [ -d "$ROOT/primary" ] && echo primary
  for n in $(ls -d "$ROOT"/replica_* 2>/dev/null | sort -V); do basename "$n"; done
}
is_running() { as_pg "$BIN/pg_ctl" -D "$(node_dir "$1")" status >/dev/null 2>&1; }

pg_start() {
  local name="$1"
  is_running "$name" && return 0
  as_pg "$BIN/pg_ctl" -D "$(node_dir "$name")" -l "$(node_dir "$name")/server.log" -w -t 60 start >/dev/null \
    || { tail -20 "$(node_dir "$name")/server.log" >&2; die "$name failed to start"; }
}

psql_primary() {
  as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$ROOT" -p "$port_base" -U postgres -d "${2:-postgres}" -c "$1"
}

init_primary() {
  local dir; dir="$(node_dir primary)"
  as_pg "$BIN/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$dir/postgresql.conf" <<CONF
port = $port_base
listen_addresses = '127.0.0.1'
unix_socket_directories = '$ROOT'
wal_level = replica
max_wal_senders = 10
hot_standby = on
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
  pg_start primary
  psql_primary "CREATE ROLE $db_user LOGIN SUPERUSER PASSWORD '$db_password'"
  psql_primary "CREATE DATABASE $db_name OWNER $db_user"
}

init_replica() {
  local name="$1" dir; dir="$(node_dir "$1")"
  as_pg "$BIN/pg_basebackup" -D "$dir" -R -X stream -c fast -h "$ROOT" -p "$port_base" -U postgres >/dev/null
  echo "port = $(node_port "$name")" >> "$dir/postgresql.auto.conf"
}

cmd_start() {
  local count="${1:-2}" i
  [[ "$count" =~ ^[0-9]+$ ]] || die "replica count must be a number, got '$count'"
  # RRM_CLUSTER_DIR may name a folder that does not exist yet.
  mkdir -p "$ROOT"
  if is_root; then chown postgres: "$ROOT"; chmod 700 "$ROOT"; fi
  [ -d "$(node_dir primary)" ] || init_primary
  pg_start primary
  for ((i = 0; i < count; i++)); do
    [ -d "$(node_dir "replica_$i")" ] || init_replica "replica_$i"
    pg_start "replica_$i"
  done
  cmd_status
}

cmd_stop() {
  local n
  for n in $(nodes); do
    is_running "$n" && as_pg "$BIN/pg_ctl" -D "$(node_dir "$n")" -m fast -w stop >/dev/null
  done
  return 0
}

cmd_status() {
  local n role
  for n in $(nodes); do
    if is_running "$n"; then
      role=$(as_pg "$BIN/psql" -X -At -h "$ROOT" -p "$(node_port "$n")" -U postgres -d postgres \
        -c "SELECT CASE WHEN pg_is_in_recovery() THEN 'replica' ELSE 'primary' END" 2>/dev/null || echo unknown)
      echo "$n port=$(node_port "$n") running role=$role"
    else
      echo "$n port=$(node_port "$n") stopped"
    fi
  done
}

cmd_env() {
  local n replicas="" sep=""
  for n in $(nodes); do
    [ "$n" = primary ] && continue
    replicas+="$sep{\"host\":\"127.0.0.1\",\"port\":$(node_port "$n"),\"database\":\"$db_name\",\"user\":\"$db_user\",\"password\":\"$db_password\"}"
    sep=","
  done
  cat <<ENV
export DB_HOST=127.0.0.1
export DB_PORT=$port_base
export DB_NAME=$db_name
export DB_USER=$db_user
export DB_PASSWORD=$db_password
export DB_REPLICAS='[$replicas]'
ENV
}

case "${1:-}" in
  start) cmd_start "${2:-2}" ;;
  stop) cmd_stop ;;
  stop-node)
    [ -n "${2:-}" ] || die "stop-node needs a node name"
    node_port "$2" >/dev/null
    is_running "$2" && as_pg "$BIN/pg_ctl" -D "$(node_dir "$2")" -m immediate -w stop >/dev/null
    true ;;
  start-node)
    [ -n "${2:-}" ] || die "start-node needs a node name"
    [ -d "$(node_dir "$2")" ] || die "no node '$2' in $ROOT"
    pg_start "$2" ;;
  status) cmd_status ;;
  data-dir)
    [ -n "${2:-}" ] || die "data-dir needs a node name"
    node_port "$2" >/dev/null
    node_dir "$2" ;;
  env) cmd_env ;;
  destroy)
    cmd_stop
    rm -rf "$ROOT"; rm -f "$state_dir/data-dir" ;;
  pause-node | resume-node)
    [ -n "${2:-}" ] || die "$1 needs a node name"
    node_port "$2" >/dev/null
    pid=$(head -1 "$(node_dir "$2")/postmaster.pid" 2>/dev/null) || die "$2 is not running"
    sig=STOP; [ "$1" = resume-node ] && sig=CONT
    # The postmaster and every backend and auxiliary process under it.
    kill -s "$sig" "$pid" $(pgrep -P "$pid") ;;
  promote-node)
    [ -n "${2:-}" ] || die "promote-node needs a node name"
    as_pg "$BIN/pg_ctl" -D "$(node_dir "$2")" -w promote >/dev/null ;;
  rebuild-node)
    [ -n "${2:-}" ] || die "rebuild-node needs a node name"
    case "$2" in replica_*) ;; *) die "only a replica can be rebuilt" ;; esac
    is_running "$2" && as_pg "$BIN/pg_ctl" -D "$(node_dir "$2")" -m immediate -w stop >/dev/null
    rm -rf "$(node_dir "$2")"
    init_replica "$2"
    pg_start "$2" ;;
  *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
