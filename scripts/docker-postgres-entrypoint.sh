#!/bin/sh
# Entry point of the image scripts/docker-postgres-image makes: on the first start, initialise $PGDATA with
# the superuser $POSTGRES_USER (password $POSTGRES_PASSWORD) and the database $POSTGRES_DB; then run the
# command (postgres, listening on every interface) as the postgres user.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD is not set: refusing to create a database anyone can log in to" >&2
    exit 1
  fi
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    pg_ctl --wait --options="-c listen_addresses=''" start
    # from stdin, where psql quotes the name (:"db"); --command would send the text as it is
    echo 'CREATE DATABASE :"db"' |
      psql --username="$POSTGRES_USER" --dbname=postgres --set=ON_ERROR_STOP=1 --set=db="$POSTGRES_DB"
    pg_ctl --wait stop
  fi
fi

if [ "$1" = postgres ]; then
  shift
  exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
