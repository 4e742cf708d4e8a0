#!/bin/sh
# Run once by the postgres image when it creates the database (docker-entrypoint-initdb.d).
#
# The api and the worker connect as `payouts_app`: it may read and write rows, nothing more. It owns no table, so
# it cannot switch off the ledger's append-only triggers, and it has no TRUNCATE (which skips DELETE triggers) and
# no UPDATE on sequences (setval could hand out a posting order again).
# Migrations run as the owner ($POSTGRES_USER), and every table or sequence they create is granted here ahead.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$APP_DB_PASSWORD" -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE payouts_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'app_password';
GRANT CONNECT ON DATABASE :"db" TO payouts_app;
GRANT USAGE ON SCHEMA public TO payouts_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO payouts_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO payouts_app;
SQL
