#!/bin/sh
# Make archive_timeout hold from the first second after every start of the server.
#
# PostgreSQL 15+ starts the checkpointer before the startup process has finished
# (postgres commit 7ff23c6d, "Run checkpointer and bgwriter in crash recovery"). Its first
# sleep is computed while RecoveryInProgress() is still true, which leaves
# archive_timeout out of it (checkpointer.c, CheckpointerMain): it sleeps
# checkpoint_timeout (5 min by default), and no WAL segment is switched for archiving
# until then. Every start — a replaced or restarted container — would stretch the RPO
# to minutes. A configuration reload wakes it (SIGHUP sets its latch), and from then on
# its sleeps honour archive_timeout.
#
# So: in the background, wait until the server accepts TCP connections (the
# entrypoint's temporary initdb server listens on the socket only, so this is the real
# one), reload once, exit. The double fork hands the waiter to tini (PID 1), which reaps
# it; the postmaster never sees a child it did not start. Then run the command.
set -eu
(
  (
    tries=0
    until pg_isready -q -h 127.0.0.1 -p 5432; do
      tries=$((tries + 1))
      [ "$tries" -lt 3600 ] || exit 0
      sleep 1
    done
    user="${POSTGRES_USER:-postgres}"
    psql -X -q -w -h /var/run/postgresql -U "$user" -d "${POSTGRES_DB:-$user}" \
      -c 'SELECT pg_reload_conf()' >/dev/null 2>&1 || true
  ) &
)
exec "$@"
