# Sourced by .ci/run: a throw-away PostgreSQL cluster on 127.0.0.1 for the tuning tests, stopped when the shell exits.
# Exports LSTM_LAB_TEST_PG_URL (its password is random and lives only in this environment).

start_test_postgres() {
    local bin pgdir port password as_postgres
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -x "$bin/initdb" ]] || { echo ".ci/run: PostgreSQL's initdb not found" >&2; return 1; }
    if [[ "$(id -u)" -eq 0 ]]; then
        as_postgres=(runuser -u postgres --)
    else
        as_postgres=(sudo -n -u postgres)
    fi
    pgdir="$(mktemp -d /tmp/lstm-lab-pg.XXXXXX)"
    chmod 755 "$pgdir"
    chown postgres "$pgdir" 2>/dev/null || sudo -n chown postgres "$pgdir"
    password="$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
    port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    printf '%s\n' "$password" | "${as_postgres[@]}" tee "$pgdir/pwfile" >/dev/null
    "${as_postgres[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres --auth=scram-sha-256 --pwfile="$pgdir/pwfile" \
        --no-sync >/dev/null
    "${as_postgres[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
        -o "-h 127.0.0.1 -p $port -k $pgdir -c fsync=off -c max_connections=100" start >/dev/null
    # stop the server and remove its files however this script ends
    _PG_STOP=("${as_postgres[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m immediate stop)
    _PG_DIR="$pgdir"
    trap stop_test_postgres EXIT
    PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres lstm_lab_test
    export LSTM_LAB_TEST_PG_URL="postgresql+psycopg://postgres:$password@127.0.0.1:$port/lstm_lab_test"
}

stop_test_postgres() {
    "${_PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$_PG_DIR"
}
