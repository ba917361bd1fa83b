# demo-provision.sh — sourced by scripts/demo.sh: a private PostgreSQL in
# build/run/pg and shiftkey-provision applying the demo app's commands to
# it (demo/console → role demo_console, demo/deploy → role demo_deploy), so
# `make run` shows the effect on a real system with psql. Skipped, with a
# line saying why, when PostgreSQL cannot be started here.
# Uses RUN, BIN, BOOT, say, free_port and pids of demo.sh.

PG_DIR="$RUN/pg"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_PORT=""
PG_AS=""

# prov_signer: the signer lines of the demo provisioner for signers.yaml
# (a front answering as itself; fronts must name whom else they vouch for)
prov_signer() {
    rm -f "$RUN/provision-demo.key"
    pub=$("$BIN/shiftkey" keygen demo-postgres --out "$RUN/provision-demo.key" 2>/dev/null)
    echo "  - id: demo-postgres"
    echo "    front: true"
    echo "    public_keys: [\"$pub\"]"
    echo "    vouches_for: [group:platform-team]"
}

pg_cmd() { if [ -n "$PG_AS" ]; then runuser -u "$PG_AS" -- "$@"; else "$@"; fi; }

prov_start() {
    if [ -z "$PG_BIN" ] || ! command -v psql >/dev/null 2>&1; then
        say "no PostgreSQL here (apt-get install postgresql): the provisioner part is skipped"
        return 0
    fi
    if [ "$(id -u)" = 0 ]; then # postgres refuses root
        PG_AS=postgres
        id postgres >/dev/null 2>&1 || PG_AS=nobody
    fi
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    [ -n "$PG_AS" ] && chown "$PG_AS" "$PG_DIR"
    PG_PORT=$(free_port)
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT (data in $PG_DIR) and shiftkey-provision for app 'demo'"
    if ! pg_cmd "$PG_BIN/initdb" -D "$PG_DIR/data" -U skadmin --auth-local=trust \
            --auth-host=scram-sha-256 --no-locale >"$RUN/pg-init.log" 2>&1 ||
        ! pg_cmd "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
            -o "-p $PG_PORT -k $PWD/$PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start \
            >/dev/null 2>&1; then
        say "PostgreSQL did not start here (see $RUN/pg-init.log): the provisioner part is skipped"
        PG_PORT=""
        return 0
    fi
    pg_sql "CREATE ROLE demo_console NOLOGIN; CREATE ROLE demo_deploy NOLOGIN;
            CREATE ROLE skprov LOGIN CREATEROLE PASSWORD 'demo-only';
            GRANT pg_signal_backend TO skprov;
            CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN;" >/dev/null
    (umask 077 && echo demo-only >"$RUN/pg.pass")
    cat >"$RUN/provision-demo.conf" <<CONF
# the demo's provisioner: app 'demo' of rules/examples onto PostgreSQL roles
provisioner = demo-postgres
type = postgres
state = $RUN/provision-demo.state
signing_key_file = $RUN/provision-demo.key
user_default = localpart
reconcile = report

[target]
conninfo = host=127.0.0.1 port=$PG_PORT dbname=postgres user=skprov
password_file = $RUN/pg.pass
terminate_sessions = yes

[entitlements]
demo/console = demo_console
demo/deploy = demo_deploy
CONF
    rm -f "$RUN/provision-demo.state"
    "$BIN/shiftkey-provision" --config "$RUN/provision-demo.conf" --bootstrap-file "$BOOT" \
        >"$RUN/provision.log" 2>&1 &
    pids="$! $pids" # stopped newest first; the log follower ends with it
    tail --pid=$! -n +1 -f "$RUN/provision.log" | grep --line-buffered -v '^%' |
        sed -u 's/^/    [provisioner] /' &
    sleep 1
}

pg_sql() { psql -h "$PWD/$PG_DIR" -p "$PG_PORT" -U skadmin -d postgres -v ON_ERROR_STOP=1 -c "$1"; }

# prov_show TEXT: the members of the demo roles, as psql prints them
prov_show() {
    [ -n "$PG_PORT" ] || return 0
    say "PostgreSQL $1 (psql: members of the demo roles)"
    pg_sql "SELECT r.rolname AS role, coalesce(string_agg(m.rolname, ', ' ORDER BY m.rolname), '')
            AS members FROM pg_roles r LEFT JOIN pg_auth_members a ON a.roleid = r.oid
            LEFT JOIN pg_roles m ON m.oid = a.member
            WHERE r.rolname IN ('demo_console', 'demo_deploy') GROUP BY 1 ORDER BY 1" |
        sed 's/^/    [psql] /'
}

prov_cleanup() {
    [ -n "$PG_PORT" ] && pg_cmd "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    PG_PORT=""
}
