#!/usr/bin/env bash
# Local high-availability PostgreSQL cluster for tests and benchmarks: one etcd (v3 API) and three
# Patroni members (pg0, pg1, pg2), each with a PostgreSQL data directory of its own, all on
# loopback ports of their own (apart from scripts/cluster.sh's 55432-55434). The default ports lie
# below Linux's ephemeral range (32768-60999): a port in it can be taken as the local end of an
# outgoing connection (even Patroni's own to etcd) just before a server binds it.
#
#   scripts/ha-cluster.sh start            install what is missing, start etcd + the 3 members, wait
#                                          for a leader and 2 streaming replicas, create db/user rrm
#   scripts/ha-cluster.sh stop             stop the members (PostgreSQL with them) and etcd
#   scripts/ha-cluster.sh status           one line per member: name, port, Patroni's role and state,
#                                          timeline, lag (bytes), pg= what PostgreSQL says it is
#   scripts/ha-cluster.sh leader           the current leader's name and port ("pg1 25433")
#   scripts/ha-cluster.sh switchover [TO]  planned switchover (to TO, or any candidate); waits until
#                                          the new leader runs and the old one (and every other
#                                          running member) streams from it
#   scripts/ha-cluster.sh kill-leader      SIGKILL the leader's Patroni and postmaster (a crash);
#                                          prints the killed member; does not wait
#   scripts/ha-cluster.sh stop-member NAME stop one member's Patroni and PostgreSQL (a clean stop;
#                                          when NAME is the leader, another member takes over)
#   scripts/ha-cluster.sh rejoin NAME      start a stopped/killed member again; waits until it (and
#                                          every other running member) streams as a replica from
#                                          the leader (pg_rewind when it has to)
#   scripts/ha-cluster.sh promote-split NAME  split brain: pause Patroni (maintenance mode) and
#                                          promote replica NAME while the leader runs on
#   scripts/ha-cluster.sh resume           leave maintenance mode; a split member is demoted and
#                                          rewound; waits until every member streams again
#   scripts/ha-cluster.sh wait [SECONDS]   wait for a leader and 2 streaming replicas (default 90)
#   scripts/ha-cluster.sh wait-leader [SECONDS]  wait for a live leader (after kill-leader: the new
#                                          one); prints its name and port
#   scripts/ha-cluster.sh env              the guide's DB_* variables (DB_HOST/DB_PORT = leader,
#                                          DB_REPLICAS = the other members), as shell exports
#   scripts/ha-cluster.sh members          JSON array of {name, host, port} for all three members
#   scripts/ha-cluster.sh logs             where the logs are (one file per process)
#   scripts/ha-cluster.sh destroy          stop everything and delete the data
#
# Environment: RRM_HA_PORT (PostgreSQL port of pg0, default 25432; pgN listens on RRM_HA_PORT+N),
# RRM_HA_API_PORT (Patroni REST port of pg0, default 28008), RRM_HA_ETCD_PORT (etcd client port,
# default 23790; its peer port is RRM_HA_ETCD_PORT+10), RRM_HA_DIR (where the data lives),
# RRM_HA_TIMEOUT (seconds the waiting verbs wait, default 90), PG_BINDIR. As root the servers run
# as the `postgres` user, and the data lives in a folder that user can enter (a mktemp -d folder
# recorded in .cluster/ha-data-dir), because a checkout's parent folders may be closed to it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="$here/.cluster"
pg_base="${RRM_HA_PORT:-25432}"
api_base="${RRM_HA_API_PORT:-28008}"
etcd_port="${RRM_HA_ETCD_PORT:-23790}"
etcd_peer_port=$((etcd_port + 10))
timeout="${RRM_HA_TIMEOUT:-90}"
scope="rrm-ha"
members=(pg0 pg1 pg2)
su_password="rrm_ha_superuser_password"
repl_user="replicator"
repl_password="rrm_ha_replicator_password"

die() { echo "ha-cluster: $*" >&2; exit 1; }
say() { echo "ha-cluster: $*" >&2; }

for v in "$pg_base" "$api_base" "$etcd_port" "$timeout"; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "ports and timeouts must be numbers, got '$v'"
done

# shellcheck source=scripts/pg-common.sh
source "$here/scripts/pg-common.sh"

BIN="$(bindir || true)"  # PostgreSQL's binaries (empty until installed)

# apt-get only when a binary is missing (a fresh CI machine); never on a machine that has them.
ensure_packages() {
  local missing=()
  command -v patroni >/dev/null 2>&1 || missing+=(patroni)
  command -v patronictl >/dev/null 2>&1 || missing+=(patronictl)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  bindir >/dev/null || missing+=(postgres)
  [ ${#missing[@]} = 0 ] && return 0
  is_root || die "missing ${missing[*]}: install patroni, etcd-server and postgresql (needs root)"
  say "installing patroni etcd-server postgresql (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq patroni etcd-server postgresql >/dev/null
  if ! command -v patroni >/dev/null 2>&1 || ! command -v etcd >/dev/null 2>&1 || ! bindir >/dev/null; then
    die "patroni, etcd or PostgreSQL still missing after apt-get install"
  fi
  BIN="$(bindir)"
}

# The data folder: RRM_HA_DIR, or the one recorded in .cluster/ha-data-dir; empty when none yet.
data_root() {
  if [ -n "${RRM_HA_DIR:-}" ]; then echo "$RRM_HA_DIR"; return; fi
  if [ -f "$state_dir/ha-data-dir" ] && [ -d "$(cat "$state_dir/ha-data-dir")" ]; then
    cat "$state_dir/ha-data-dir"
  fi
}
# A new data folder (start, the first time): as root one the postgres user can enter.
new_root() {
  mkdir -p "$state_dir"
  local d
  if is_root; then d="$(mktemp -d /tmp/rrm-ha.XXXXXX)"; else d="$state_dir/ha-data"; fi
  echo "$d" > "$state_dir/ha-data-dir"
  echo "$d"
}
set_root() {
  ROOT="$1"
  RUN="$ROOT/run"    # pid files, unix sockets, pgpass files
  LOGS="$ROOT/logs"  # etcd.log, pgN.patroni.log, pgN.postgres.log
}
set_root "$(data_root)"
has_cluster() { [ -n "$ROOT" ] && [ -f "$ROOT/patronictl.yml" ]; }

member_index() {
  case "$1" in
    pg0) echo 0 ;; pg1) echo 1 ;; pg2) echo 2 ;;
    *) die "unknown member '$1' (pg0, pg1, pg2)" ;;
  esac
}
member_port() { echo $((pg_base + $(member_index "$1"))); }
api_port() { echo $((api_base + $(member_index "$1"))); }

# A pid from a pid file, printed only when that process is alive and its command line names $2
# (so a recycled pid is never taken for ours).
live_pid() {
  local pid
  pid="$(head -1 "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  echo "$pid"
}
patroni_pid() { live_pid "$RUN/$1.pid" "$ROOT/$1.yml"; }
etcd_pid() { live_pid "$RUN/etcd.pid" "$ROOT/etcd"; }
postmaster_pid() { live_pid "$ROOT/$1/postmaster.pid" "$ROOT/$1"; }

# Start a daemon in a session of its own (it outlives this script), as the postgres user when
# root; it writes its own pid to $1 before it becomes the daemon (exec keeps the pid). With a clean
# environment: the caller's PGPASSWORD/PGUSER/... would override Patroni's credentials in
# pg_basebackup, pg_rewind and the WAL receiver, and ETCD_*/PATRONI_* would change the servers'
# settings.
spawn() {
  local pidfile="$1" log="$2"; shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$ and $@ are for the inner shell
  as_pg setsid -f env -i PATH="$PATH" HOME="$ROOT" LANG=C.UTF-8 \
    sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$log" 2>&1
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$pidfile" ] && return 0; sleep 0.1; done
  die "could not start $*: see $log"
}

write_configs() {
  local bin="$BIN"
  cat > "$ROOT/patronictl.yml" <<YML
scope: $scope
namespace: /rrm/
etcd3:
  hosts: 127.0.0.1:$etcd_port
YML
  local m
  for m in "${members[@]}"; do
    cat > "$ROOT/$m.yml" <<YML
# Generated by scripts/ha-cluster.sh: rewritten at every start.
scope: $scope
namespace: /rrm/
name: $m
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$(api_port "$m")
  connect_address: 127.0.0.1:$(api_port "$m")
etcd3:
  hosts: 127.0.0.1:$etcd_port
bootstrap:
  # The cluster-wide (DCS) settings, written to etcd when the cluster is first initialised.
  # Failover within seconds: the leader key lives ttl seconds without a refresh; Patroni's rule
  # of thumb is ttl >= loop_wait + 2 * retry_timeout.
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 16777216
    postgresql:
      use_pg_rewind: true
      use_slots: true
      remove_data_directory_on_rewind_failure: true
      remove_data_directory_on_diverged_timelines: true
      parameters:
        max_connections: 300
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        hot_standby: "on"
        wal_log_hints: "on"
        full_page_writes: "on"
        fsync: "off"
        synchronous_commit: "off"
        wal_retrieve_retry_interval: 500ms
        shared_buffers: 128MB
        password_encryption: scram-sha-256
  initdb:
  - encoding: UTF8
  - locale: C.UTF-8
postgresql:
  listen: 127.0.0.1:$(member_port "$m")
  connect_address: 127.0.0.1:$(member_port "$m")
  data_dir: $ROOT/$m
  bin_dir: $bin
  pgpass: $RUN/$m.pgpass
  use_unix_socket: true
  authentication:
    superuser:
      username: postgres
      password: $su_password
    replication:
      username: $repl_user
      password: $repl_password
  pg_hba:
  - local all all trust
  - host replication $repl_user 127.0.0.1/32 scram-sha-256
  - host all all 127.0.0.1/32 scram-sha-256
  parameters:
    unix_socket_directories: $RUN
    logging_collector: "on"
    log_directory: $LOGS
    log_filename: $m.postgres.log
    log_rotation_age: 0
    log_rotation_size: 0
    log_min_messages: warning
    log_line_prefix: "%m [%p] "
YML
  done
}

prepare_root() {
  mkdir -p "$ROOT" "$RUN" "$LOGS"
  touch "$LOGS/etcd.log"
  local m; for m in "${members[@]}"; do touch "$LOGS/$m.patroni.log"; done
  write_configs
  if is_root; then chown -R postgres: "$ROOT"; chmod 700 "$ROOT"; fi
}

# A port a server can listen on (with SO_REUSEADDR, as PostgreSQL, Patroni and etcd do).
port_free() {
  python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# Before starting: every port that a server of ours still has to bind must be free.
check_ports() {
  local ports=() p m busy=()
  etcd_pid >/dev/null || ports+=("$etcd_port" "$etcd_peer_port")
  for m in "${members[@]}"; do
    patroni_pid "$m" >/dev/null && continue
    ports+=("$(api_port "$m")")
    postmaster_pid "$m" >/dev/null || ports+=("$(member_port "$m")")
  done
  for p in "${ports[@]}"; do port_free "$p" || busy+=("$p"); done
  [ ${#busy[@]} = 0 ] && return 0
  command -v ss >/dev/null 2>&1 && ss -tanp 2>/dev/null | grep -E ":($(IFS='|'; echo "${busy[*]}"))\b" >&2
  die "port(s) ${busy[*]} on 127.0.0.1 are in use: choose others with RRM_HA_PORT, RRM_HA_API_PORT, RRM_HA_ETCD_PORT"
}

http_get() {
  python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.stdout.write(r.read().decode())
except Exception:
    sys.exit(1)
PY
}

etcd_healthy() { http_get "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"'; }

start_etcd() {
  if etcd_pid >/dev/null; then return 0; fi
  spawn "$RUN/etcd.pid" "$LOGS/etcd.log" etcd --name rrm-ha-etcd --data-dir "$ROOT/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "rrm-ha-etcd=http://127.0.0.1:$etcd_peer_port" --initial-cluster-token rrm-ha \
    --initial-cluster-state new --logger zap --log-outputs stderr \
    --auto-compaction-mode periodic --auto-compaction-retention 10m
  local deadline=$((SECONDS + 30))
  until etcd_healthy; do
    if ! etcd_pid >/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -20 "$LOGS/etcd.log" >&2
      die "etcd did not start on 127.0.0.1:$etcd_port: see $LOGS/etcd.log"
    fi
    sleep 0.2
  done
}

start_member() {
  if patroni_pid "$1" >/dev/null; then return 0; fi
  spawn "$RUN/$1.pid" "$LOGS/$1.patroni.log" patroni "$ROOT/$1.yml"
}

# The cluster as Patroni's REST API tells it (from etcd): one line per member,
# "name role state timeline lag" (lag in bytes behind the leader, 0 for the leader).
# A line "paused" follows when the cluster is in maintenance mode. Fails when no member answers.
dcs_members() {
  python3 - "$api_base" "${#members[@]}" <<'PY'
import json, sys, urllib.request
base, count = int(sys.argv[1]), int(sys.argv[2])
for i in range(count):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/cluster" % (base + i), timeout=2) as r:
            data = json.load(r)
    except Exception:
        continue
    for m in data.get("members", []):
        lag = 0 if m.get("role") == "leader" else m.get("lag", "unknown")
        print(m["name"], m.get("role") or "-", m.get("state") or "-", m.get("timeline", "-"), lag)
    if data.get("pause"):
        print("paused")
    sys.exit(0)
sys.exit(1)
PY
}

psql_member() { # NAME SQL
  as_pg "${BIN:+$BIN/}psql" -X -At -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$(member_port "$1")" -U postgres -d postgres -c "$2"
}

# The leader: the member holding the leader key whose Patroni is alive and whose PostgreSQL runs.
current_leader() {
  local snap name role state _
  snap="$(dcs_members 2>/dev/null)" || return 1
  while read -r name role state _; do
    [ "$role" = leader ] && [ "$state" = running ] && patroni_pid "$name" >/dev/null && { echo "$name"; return 0; }
  done <<< "$snap"
  return 1
}

# Members that stream from the leader now (pg_stat_replication; Patroni names them application_name).
streaming_from() { psql_member "$1" "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null; }

# A member that runs as a replica (for Patroni too) and streams from the leader: replica_ok NAME LEADER.
replica_ok() {
  local snap name role state _
  [ "$1" != "$2" ] || return 1
  streaming_from "$2" | grep -qx "$1" || return 1
  snap="$(dcs_members 2>/dev/null)" || return 1
  while read -r name role state _; do
    [ "$name" = "$1" ] && [ "$role" != leader ] && [ "$state" = running ] && return 0
  done <<< "$snap"
  return 1
}

# Healthy: a leader, and every other member running as a replica and streaming from it.
# Prints the leader's name.
healthy() {
  local leader m
  leader="$(current_leader)" || return 1
  for m in "${members[@]}"; do
    [ "$m" = "$leader" ] || replica_ok "$m" "$leader" || return 1
  done
  echo "$leader"
}

# settled [NAME]: a leader (other than NAME), and every member whose Patroni runs streams from it;
# NAME's Patroni must run. Prints the leader's name.
settled() {
  local leader m
  leader="$(current_leader)" || return 1
  [ -z "${1:-}" ] || { [ "$1" != "$leader" ] && patroni_pid "$1" >/dev/null; } || return 1
  for m in "${members[@]}"; do
    [ "$m" = "$leader" ] || ! patroni_pid "$m" >/dev/null || replica_ok "$m" "$leader" || return 1
  done
  echo "$leader"
}

show_logs() {
  local f
  say "logs are in $LOGS:"
  for f in "$LOGS"/*.log; do
    [ -s "$f" ] || continue
    echo "==> $f (last 15 lines)" >&2
    tail -15 "$f" >&2
  done
}

# wait_for DESCRIPTION COMMAND...: poll COMMAND every 0.5 s for $timeout seconds; fail at once
# when the Patroni of a member named in must_live has exited.
must_live=()
wait_for() {
  local what="$1"; shift
  local deadline=$((SECONDS + timeout)) live
  until "$@" >/dev/null 2>&1; do
    for live in "${must_live[@]}"; do
      patroni_pid "$live" >/dev/null && continue
      cmd_status >&2 || true
      show_logs
      die "Patroni of $live exited while waiting for $what: see $LOGS/$live.patroni.log"
    done
    if [ $SECONDS -ge $deadline ]; then
      cmd_status >&2 || true
      show_logs
      die "timed out after ${timeout}s waiting for $what"
    fi
    sleep 0.5
  done
}

now_ms() { local t="${EPOCHREALTIME/./}"; echo $((t / 1000)); }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }

ensure_database() {
  local leader; leader="$(current_leader)" || die "no leader"
  if [ -z "$(psql_member "$leader" "SELECT 1 FROM pg_roles WHERE rolname = '$db_user'")" ]; then
    psql_member "$leader" "CREATE ROLE $db_user LOGIN SUPERUSER PASSWORD '$db_password'"
  fi
  if [ -z "$(psql_member "$leader" "SELECT 1 FROM pg_database WHERE datname = '$db_name'")" ]; then
    psql_member "$leader" "CREATE DATABASE $db_name OWNER $db_user"
  fi
}

cmd_start() {
  ensure_packages
  [ -n "$ROOT" ] || set_root "$(new_root)"
  prepare_root
  check_ports
  start_etcd
  local m t0; t0="$(now_ms)"
  for m in "${members[@]}"; do start_member "$m"; done
  must_live=("${members[@]}")
  # A cluster stopped while paused (promote-split) stays paused, and a paused Patroni does not
  # start PostgreSQL: leave maintenance mode.
  wait_for "Patroni's REST API" dcs_members
  if dcs_members | grep -qx paused; then say "the cluster was paused: resuming"; patronictl_ resume --wait >/dev/null; fi
  wait_for "a leader and $((${#members[@]} - 1)) streaming replicas" healthy
  ensure_database
  say "ready in $(elapsed "$t0") (data in $ROOT)"
  cmd_status
}

# Stop a member's Patroni (it stops its PostgreSQL), then make sure no postmaster is left.
stop_member() {
  local m="$1" pid i
  if pid="$(patroni_pid "$m")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do patroni_pid "$m" >/dev/null || break; sleep 0.1; done
    if patroni_pid "$m" >/dev/null; then say "$m: Patroni did not stop in 60 s, killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  if postmaster_pid "$m" >/dev/null && [ -n "$BIN" ]; then
    as_pg "$BIN/pg_ctl" -D "$ROOT/$m" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_pg "$BIN/pg_ctl" -D "$ROOT/$m" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if pid="$(postmaster_pid "$m")"; then kill -KILL "$pid" 2>/dev/null || true; fi
  return 0
}

cmd_stop() {
  local leader="" m pid i
  leader="$(current_leader 2>/dev/null)" || leader=""
  # Replicas first, the leader last: no member is left to fail over to while the cluster stops.
  for m in "${members[@]}"; do [ "$m" = "$leader" ] || stop_member "$m"; done
  [ -n "$leader" ] && stop_member "$leader"
  if pid="$(etcd_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do etcd_pid >/dev/null || break; sleep 0.1; done
    if pid="$(etcd_pid)"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  return 0
}

cmd_status() {
  local snap="" streams="" leader="" m name role state tl lag found pg
  snap="$(dcs_members 2>/dev/null)" || snap=""
  leader="$(current_leader 2>/dev/null)" || leader=""
  if [ -n "$leader" ]; then streams="$(streaming_from "$leader")" || streams=""; fi
  for m in "${members[@]}"; do
    # What PostgreSQL itself says (primary/standby/down): differs from Patroni's role in a split.
    pg="$(psql_member "$m" "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END" 2>/dev/null)" || pg=down
    found=""
    if patroni_pid "$m" >/dev/null; then
      while read -r name role state tl lag; do
        [ "$name" = "$m" ] || continue
        found=1
        [ "$role" != leader ] && [ "$state" = running ] && grep -qx "$m" <<< "$streams" && state=streaming
        echo "$m port=$(member_port "$m") role=$role state=$state tl=$tl lag=$lag pg=$pg"
      done <<< "$snap"
      [ -n "$found" ] || echo "$m port=$(member_port "$m") role=none state=starting tl=- lag=- pg=$pg"
    else
      echo "$m port=$(member_port "$m") role=none state=stopped tl=- lag=- pg=$pg"
    fi
  done
  grep -qx paused <<< "$snap" && say "the cluster is paused (maintenance mode): 'resume' ends it"
  return 0
}

cmd_leader() {
  local leader; leader="$(current_leader)" || die "no leader now"
  echo "$leader $(member_port "$leader")"
}

patronictl_() { patronictl -c "$ROOT/patronictl.yml" "$@"; }

cmd_switchover() {
  local candidate="${1:-}" old new t0 out
  [ -n "$candidate" ] && member_index "$candidate" >/dev/null
  old="$(current_leader)" || die "no leader now: see 'status'"
  [ "$candidate" = "$old" ] && die "$candidate is the leader already"
  [ -z "$candidate" ] || replica_ok "$candidate" "$old" || die "$candidate does not stream from $old: see 'status'"
  t0="$(now_ms)"
  must_live=("$old" ${candidate:+"$candidate"})
  out="$(patronictl_ switchover --leader "$old" ${candidate:+--candidate "$candidate"} --force 2>&1)" \
    || { echo "$out" >&2; die "patronictl switchover failed"; }
  grep -q "Switchover failed" <<< "$out" && { echo "$out" >&2; die "patronictl switchover failed"; }
  wait_for "a new leader with $old and the other running members streaming from it" settled "$old"
  new="$(current_leader)"
  say "switchover $old -> $new done in $(elapsed "$t0")"
  echo "$new $(member_port "$new")"
}

cmd_kill_leader() {
  local leader ppid pm
  leader="$(current_leader)" || die "no leader now"
  ppid="$(patroni_pid "$leader")" || die "$leader: its Patroni is not running"
  pm="$(postmaster_pid "$leader")" || pm=""
  # Patroni first, so that it cannot restart the postmaster, then the postmaster (its backends
  # see it die and exit).
  kill -KILL "$ppid"
  [ -n "$pm" ] && kill -KILL "$pm"
  echo "$leader $(member_port "$leader")"
}

cmd_rejoin() {
  local m="$1" t0 tl
  member_index "$m" >/dev/null
  [ -f "$ROOT/$m.yml" ] || die "no cluster in $ROOT: run start first"
  t0="$(now_ms)"
  check_ports
  start_etcd
  start_member "$m"
  must_live=("$m")
  wait_for "$m and the other running members to stream from the leader" settled "$m"
  tl="$(psql_member "$m" "SELECT received_tli FROM pg_stat_wal_receiver" 2>/dev/null || echo '?')"
  say "$m streams again (timeline $tl) after $(elapsed "$t0")"
  cmd_status
}

# Split brain on purpose: maintenance mode stops Patroni from acting on PostgreSQL, so the
# promoted replica stays a second primary (on a new timeline) until 'resume'.
cmd_promote_split() {
  local m="$1" leader
  member_index "$m" >/dev/null
  leader="$(current_leader)" || die "no leader now"
  [ "$m" = "$leader" ] && die "$m is the leader: name a replica"
  patronictl_ pause --wait >/dev/null
  as_pg "$BIN/pg_ctl" -D "$ROOT/$m" -w promote >/dev/null
  say "$m promoted while $leader runs on (cluster paused); 'resume' demotes $m again"
  echo "$m $(member_port "$m")"
}

cmd_resume() {
  local t0; t0="$(now_ms)"
  patronictl_ resume --wait >/dev/null
  must_live=("${members[@]}")
  wait_for "a leader and streaming replicas" healthy
  say "resumed; every member streams after $(elapsed "$t0")"
  cmd_status
}

cmd_env() {
  local leader m replicas="" sep=""
  leader="$(current_leader)" || die "no leader now"
  for m in "${members[@]}"; do
    [ "$m" = "$leader" ] && continue
    replicas+="$sep{\"host\":\"127.0.0.1\",\"port\":$(member_port "$m"),\"database\":\"$db_name\",\"user\":\"$db_user\",\"password\":\"$db_password\"}"
    sep=","
  done
  cat <<ENV
export DB_HOST=127.0.0.1
export DB_PORT=$(member_port "$leader")
export DB_NAME=$db_name
export DB_USER=$db_user
export DB_PASSWORD=$db_password
export DB_REPLICAS='[$replicas]'
ENV
}

cmd_members() {
  local m out="" sep=""
  for m in "${members[@]}"; do
    out+="$sep{\"name\":\"$m\",\"host\":\"127.0.0.1\",\"port\":$(member_port "$m")}"
    sep=","
  done
  echo "[$out]"
}

cmd_logs() {
  echo "$LOGS/etcd.log"
  local m; for m in "${members[@]}"; do echo "$LOGS/$m.patroni.log"; echo "$LOGS/$m.postgres.log"; done
}

set_timeout() {
  [ -n "${1:-}" ] || return 0
  [[ "$1" =~ ^[0-9]+$ ]] || die "seconds must be a number, got '$1'"
  timeout="$1"
}
need_name() { [ -n "${2:-}" ] || die "$1 needs a member name (pg0, pg1, pg2)"; }
need_cluster() { has_cluster || die "no cluster${ROOT:+ in $ROOT}: run start first"; }

case "${1:-}" in
  start) cmd_start ;;
  stop) if has_cluster; then cmd_stop; fi ;;
  status)
    if has_cluster; then cmd_status; else
      for m in "${members[@]}"; do echo "$m port=$(member_port "$m") role=none state=stopped tl=- lag=- pg=down"; done
    fi ;;
  leader) need_cluster; cmd_leader ;;
  wait) need_cluster; set_timeout "${2:-}"; healthy >/dev/null || wait_for "a leader and streaming replicas" healthy; cmd_status ;;
  wait-leader)
    need_cluster; set_timeout "${2:-}"; t0="$(now_ms)"
    current_leader >/dev/null 2>&1 || wait_for "a leader" current_leader
    say "leader after $(elapsed "$t0")"
    cmd_leader ;;
  switchover) need_cluster; cmd_switchover "${2:-}" ;;
  kill-leader) need_cluster; cmd_kill_leader ;;
  stop-member) need_name "$@"; need_cluster; member_index "$2" >/dev/null; stop_member "$2" ;;
  rejoin) need_name "$@"; need_cluster; cmd_rejoin "$2" ;;
  promote-split) need_name "$@"; need_cluster; cmd_promote_split "$2" ;;
  resume) need_cluster; cmd_resume ;;
  env) need_cluster; cmd_env ;;
  members) cmd_members ;;
  logs) need_cluster; cmd_logs ;;
  destroy)
    # Only a folder of ours (with our patronictl.yml) is deleted, never one RRM_HA_DIR names by mistake.
    if has_cluster; then cmd_stop; rm -rf "$ROOT"; fi
    [ -n "${RRM_HA_DIR:-}" ] || rm -f "$state_dir/ha-data-dir" ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
esac
