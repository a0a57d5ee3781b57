#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on 127.0.0.1, for the registry's tests.
#
#   scripts/postgres.sh start [DIR]   initdb + start in DIR (default: a new temp dir);
#                                     prints the URL, e.g. postgresql://postgres@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop DIR      stop the cluster and remove DIR
#
# Installs Debian's postgresql-15 with apt-get when the server binaries are missing (as
# root). initdb and pg_ctl refuse to run as root, so as root they run as the `postgres`
# system user. Everything but the URL goes to stderr.
set -euo pipefail

VERSION=15
BIN=/usr/lib/postgresql/$VERSION/bin

say() { echo "postgres.sh: $*" >&2; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

ensure_binaries() {
    if [ -x "$BIN/initdb" ] && [ -x "$BIN/pg_ctl" ]; then
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        say "no PostgreSQL $VERSION in $BIN; install the Debian package postgresql-$VERSION"
        exit 1
    fi
    say "installing postgresql-$VERSION"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$VERSION" >&2
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    ensure_binaries
    local dir=${1:-}
    if [ -z "$dir" ]; then
        dir=$(mktemp -d -t notrain-pg.XXXXXX)
    fi
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
    fi
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        say "initdb failed"
        exit 1
    }
    local port attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        # fsync off: the cluster is thrown away after the tests.
        if as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=200" start >&2; then
            echo "$port" >"$dir/port"
            echo "postgresql://postgres@127.0.0.1:$port/postgres"
            return
        fi
        say "start on port $port failed (attempt $attempt)"
    done
    tail -n 20 "$dir/server.log" >&2 || true
    exit 1
}

stop() {
    local dir=${1:?usage: scripts/postgres.sh stop DIR}
    if [ -d "$dir/data" ]; then
        as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop "${2:-}" ;;
    *)
        echo "usage: scripts/postgres.sh start [DIR] | stop DIR" >&2
        exit 2
        ;;
esac
