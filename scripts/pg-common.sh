# shellcheck shell=bash
# Shared by scripts/cluster.sh and scripts/ha-cluster.sh (sourced, not run): where PostgreSQL's
# server binaries are, and running them as the postgres user.

# The database and owner both local clusters create (test clusters: the password is no secret).
# cluster.sh's `env` prints them for the tests; scripts/ha-cluster.js repeats them as `credentials`.
# shellcheck disable=SC2034  # used by the scripts that source this file
db_name="rrm"
# shellcheck disable=SC2034
db_user="rrm"
# shellcheck disable=SC2034
db_password="rrm_local_password"

is_root() { [ "$(id -u)" = 0 ]; }

# Run a command as the postgres user when we are root (PostgreSQL refuses root).
# From /, since the caller's folder may be closed to the postgres user (every path is absolute).
as_pg() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# PostgreSQL's bin folder: PG_BINDIR, pg_config's, or a Debian / source install's; fails when none.
bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/pg_ctl" ]; then
    pg_config --bindir; return
  fi
  local d
  for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  return 1
}
