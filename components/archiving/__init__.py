"""Continuous WAL archiving and base backups with pgBackRest (issue 13).

What runs where, and why:

- **PostgreSQL container** (image derived from `postgresImage`, postgres_image.py):
  `archive_command` = asynchronous `pgbackrest archive-push`, so it runs there; PostgreSQL
  itself pushes every WAL segment to the bucket, switching segments at least every
  `pitrArchiveTimeoutSeconds` (the RPO's main term). The local queue is bounded by
  `archive-push-queue-max`: past it pgBackRest drops WAL instead of filling the disk, and
  PostgreSQL keeps running (the agent sees the gap and turns unhealthy).
- **Backup server sidecar** (backup_server.py): `pgbackrest server` in a second container
  of the same image, the data volume mounted read-only and the server's socket directory
  shared. It runs as the image's `postgres` user, so it can read the data whatever that
  user's uid is in the chosen base image, and the agent reaches it over TLS with a client
  certificate (pgBackRest's own protocol): base backups need no Docker socket, no
  second process inside the database container and no database port anywhere else.
- **Backup agent** (ops image, same pgBackRest version): the repository host — base
  backups, retention, verify, the lag watch and the healthcheck (lifecycle.archiving).
- **TLS**: pgBackRest 2.55 speaks S3 only over HTTPS (plain HTTP arrived in 2.58). AWS
  has real certificates; the dev store is plain HTTP, so a small Caddy front terminates
  TLS for it (store_tls.py) with a certificate from the stack's own CA (pki.py), which
  pgBackRest verifies (verification stays on). The same CA signs the sidecar's server
  certificate and the agent's client certificate.
"""

PGBACKREST_VERSION = "2.55.1-1"
"""Debian trixie's pgbackrest package, pinned identically in the PostgreSQL and ops images:
pgBackRest requires the same version on every host that shares a repository."""
STANZA = "escalafin"
REPO_PATH = "/pgbackrest"
"""Key prefix of pgBackRest's repository in the backup bucket (logical dumps stay at the
root as escalafin-*.dump)."""
