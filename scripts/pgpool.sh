#!/usr/bin/env bash
# pgpool-II in front of the local cluster (scripts/cluster.sh), for the benchmark's pgpool row:
# streaming-replication mode, statement-level load balancing, weight 0 on the primary so reads go
# to the replicas, every replica the cluster has as a backend.
#
#   scripts/pgpool.sh start    install Debian's pgpool2 when missing, write the config, start
#                              pgpool as an ordinary process and wait until SHOW pool_nodes shows
#                              the primary and every standby up
#   scripts/pgpool.sh stop     fast shutdown; no process is left
#   scripts/pgpool.sh status   its pid and SHOW pool_nodes; exit 1 when it is not running
#
# Environment: RRM_PGPOOL_PORT (default 29432; pcp listens on its Unix socket, port + 1). Config,
# pid file, sockets and pgpool.log live in pgpool/ under the cluster's data root (a short path:
# Unix socket paths are limited to 107 bytes). Exit code 3: pgpool2 is missing and could not be
# installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${RRM_PGPOOL_PORT:-29432}"

die() { echo "pgpool: $1" >&2; exit "${2:-1}"; }

# shellcheck source=scripts/pg-common.sh
source "$here/scripts/pg-common.sh"
BIN="$(bindir)" || die "PostgreSQL client binaries not found: install them or set PG_BINDIR"

cluster() { bash "$here/scripts/cluster.sh" "$@"; }
DIR="$(dirname "$(cluster data-dir primary)")/pgpool"
CONF="$DIR/pgpool.conf"

pgpool_bin() { command -v pgpool 2>/dev/null || { [ -x /usr/sbin/pgpool ] && echo /usr/sbin/pgpool; }; }

as_root() { if is_root; then "$@"; else sudo -n "$@"; fi; }

# Debian's pgpool2, without letting its postinst start the packaged service (port 5433, its own
# config): a policy-rc.d that refuses service starts, for the install only, unless one is there.
install_pgpool() {
  local policy=/usr/sbin/policy-rc.d added=0
  command -v apt-get >/dev/null || return 1
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" || return 1
    added=1
  fi
  local ok=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgpool2 >&2 \
    || { as_root apt-get update -q >&2 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgpool2 >&2; } \
    || ok=1
  [ "$added" = 1 ] && as_root rm -f "$policy"
  return "$ok"
}

PGPOOL="$(pgpool_bin)" || true

pid() { [ -f "$DIR/pgpool.pid" ] && tr -dc '0-9' < "$DIR/pgpool.pid"; }  # NUL-terminated
# Process $1 is a pgpool (not whatever took over the pid of a pgpool that is gone).
is_pgpool() { [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = pgpool ]; }
running() { is_pgpool "$(pid 2>/dev/null)"; }

# SHOW pool_nodes through pgpool's TCP port (SCRAM, as the bench connects); extra args: psql's.
pool_nodes() {
  PGPASSWORD="$db_password" PGCONNECT_TIMEOUT=5 "$BIN/psql" -X -h 127.0.0.1 -p "$port" \
    -U "$db_user" -d "$db_name" -c 'SHOW pool_nodes' "$@"
}

write_config() {
  local name nport state weight i=0 backends=""
  # Backends in cluster.sh's order (primary first), as its `status` lists them.
  while read -r name nport state _; do
    [ "$state" = running ] || die "$name is not running: start the cluster first (scripts/cluster.sh start)"
    weight=1
    [ "$name" = primary ] && weight=0
    backends+="backend_hostname$i = '127.0.0.1'
backend_port$i = ${nport#port=}
backend_weight$i = $weight
backend_flag$i = 'DISALLOW_TO_FAILOVER'
"
    i=$((i + 1))
  done < <(cluster status)
  [ "$i" -ge 2 ] || die "the cluster has no replica: start it with scripts/cluster.sh start"
  NODES=$i
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  # One pgpool child serves one client connection and blocks (does not refuse) clients beyond
  # num_init_children: room for the benchmark's pg.Pool (16 per replica) and a few psql.
  cat > "$CONF" <<CONF
backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = $port
socket_dir = '$DIR'
pcp_listen_addresses = ''
pcp_port = $((port + 1))
pcp_socket_dir = '$DIR'
wd_ipc_socket_dir = '$DIR'
use_watchdog = off
pid_file_name = '$DIR/pgpool.pid'
logdir = '$DIR'
log_destination = 'stderr'
logging_collector = off
log_min_messages = warning
log_connections = off
log_statement = off
log_per_node_statement = off

$backends
enable_pool_hba = on
pool_passwd = 'pool_passwd'
allow_clear_text_frontend_auth = off

num_init_children = $((16 * (NODES - 1) + 8))
max_pool = 1
reserved_connections = 0
connection_cache = on

load_balance_mode = on
statement_level_load_balance = on
disable_load_balance_on_write = 'transaction'

sr_check_period = 10
sr_check_user = '$db_user'
sr_check_password = '$db_password'
sr_check_database = '$db_name'
delay_threshold = 0

health_check_period = 10
health_check_timeout = 20
health_check_user = '$db_user'
health_check_password = '$db_password'
health_check_database = '$db_name'
health_check_max_retries = 0
failover_command = ''
failover_on_backend_error = off
search_primary_node_timeout = 30
memory_cache_enabled = off
CONF
  # The servers ask for SCRAM over TCP (cluster.sh); pgpool can answer it to the client and to
  # the backends only with the password in clear (TEXT) or AES form, not an md5 hash.
  cat > "$DIR/pool_hba.conf" <<HBA
local   all   all                  trust
host    all   all   127.0.0.1/32   scram-sha-256
HBA
  (umask 077 && echo "$db_user:TEXT$db_password" > "$DIR/pool_passwd")
  (umask 077 && echo "$db_user:$("$(dirname "$PGPOOL")/pg_md5" "$db_password")" > "$DIR/pcp.conf")
}

cmd_start() {
  if [ -z "$PGPOOL" ]; then
    install_pgpool || die "pgpool2 is not installed and could not be installed (apt-get install -y pgpool2)" 3
    PGPOOL="$(pgpool_bin)" || die "pgpool2 installed, but no pgpool binary found" 3
  fi
  running && cmd_stop
  [ "${#DIR}" -le 90 ] || die "$DIR is too long for pgpool's Unix sockets: set RRM_CLUSTER_DIR to a short path"
  write_config
  # Its own session and a log file: never a pipe to the caller (the bench blocks in execFileSync
  # while it measures, and a full pipe would stall pgpool). -D drops a stale pgpool_status, where
  # a node once marked down would stay down.
  (
    cd /
    setsid "$PGPOOL" -n -D -f "$CONF" -F "$DIR/pcp.conf" -a "$DIR/pool_hba.conf" >"$DIR/pgpool.log" 2>&1 </dev/null &
  )
  local t nodes
  for ((t = 0; t < 300; t++)); do
    # Ready when node 0 is the primary, the others standbys, all up.
    if nodes="$(pool_nodes -At -F ' ' 2>/dev/null)" && [ "$(echo "$nodes" | wc -l)" = "$NODES" ] \
      && echo "$nodes" | awk '$4 != "up" || $7 != ($1 == 0 ? "primary" : "standby") { bad = 1 } END { exit bad }'; then
      echo "pgpool: 127.0.0.1:$port, pid $(pid), $((NODES - 1)) standbys"
      return 0
    fi
    sleep 0.1
  done
  tail -30 "$DIR/pgpool.log" >&2 || true
  [ -n "${nodes:-}" ] && echo "$nodes" >&2
  cmd_stop
  die "pgpool did not become ready in 30 s (log: $DIR/pgpool.log)"
}

cmd_stop() {
  local p t
  p="$(pid 2>/dev/null)" || return 0
  if is_pgpool "$p"; then
    # -m fast stop signals the pid file's process (SIGINT) and waits for it.
    "${PGPOOL:-false}" -f "$CONF" -m fast stop >/dev/null 2>&1 || kill -INT "$p" 2>/dev/null || true
    for ((t = 0; t < 100; t++)); do is_pgpool "$p" || break; sleep 0.1; done
    # Still there: its whole process group (setsid made pgpool the leader).
    is_pgpool "$p" && kill -KILL -- "-$p" 2>/dev/null
  fi
  rm -f "$DIR/pgpool.pid"
  return 0
}

cmd_status() {
  running || { echo "pgpool: not running"; return 1; }
  echo "pgpool: 127.0.0.1:$port, pid $(pid)"
  pool_nodes -P pager=off
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
