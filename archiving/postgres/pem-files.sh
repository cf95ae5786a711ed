#!/bin/sh
# Write TLS material passed as environment variables to the files pgBackRest reads, then
# run the command. pgBackRest takes certificates and keys only as files and refuses a key
# readable by others, while the stack hands them over as (secret) environment variables.
#   ESCALAFIN_PEM_CA   -> /etc/pgbackrest/tls/ca.crt    (the stack's CA, public)
#   ESCALAFIN_PEM_CERT -> /etc/pgbackrest/tls/tls.crt   (this container's certificate)
#   ESCALAFIN_PEM_KEY  -> /etc/pgbackrest/tls/tls.key   (its key, mode 0600)
# Started as root (the server container), the files go to the postgres user, who runs
# archive_command; started as postgres (the backup server sidecar), they are its own.
set -eu
dir=/etc/pgbackrest/tls
umask 077
write() {
  [ -n "$2" ] || return 0
  printf '%s\n' "$2" >"$dir/$1"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir/$1"; fi
}
write ca.crt "${ESCALAFIN_PEM_CA:-}"
write tls.crt "${ESCALAFIN_PEM_CERT:-}"
write tls.key "${ESCALAFIN_PEM_KEY:-}"
unset ESCALAFIN_PEM_KEY
exec "$@"
