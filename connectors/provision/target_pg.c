/*
 * target_pg.c — PostgreSQL roles (libpq). GRANT → `GRANT "role" TO
 * "user"`, REVOKE / expiry → `REVOKE "role" FROM "user"` and, with
 * terminate_sessions, the end of that user's sessions (a session that did
 * SET ROLE keeps the role until it ends). Creates nothing: the roles of
 * [entitlements] and the users' login roles must exist.
 *
 * [target] keys:
 *   conninfo            libpq connection string, without a password (required)
 *   password_file       file holding the password (mode 0600), or
 *   password_env        the environment variable holding it
 *   terminate_sessions  yes/no [no]
 *
 * The connecting role needs CREATEROLE (or ADMIN OPTION on each managed
 * role), and pg_signal_backend for terminate_sessions.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

typedef struct pg_ctx {
    const char *conninfo; /* borrowed from the conf, which outlives the target */
    char password[512];
    bool terminate;
    PGconn *conn;
} pg_ctx_t;

static void pg_destroy(void *ctx)
{
    pg_ctx_t *p = ctx;
    if (!p)
        return;
    if (p->conn)
        PQfinish(p->conn);
    memset(p->password, 0, sizeof(p->password));
    free(p);
}

static int pg_init(const sk_prov_conf_t *c, void **out)
{
    pg_ctx_t *p = calloc(1, sizeof(*p));
    char *err = NULL;
    PQconninfoOption *opts = NULL;
    int rc = -1;
    if (!p)
        return -1;
    p->conninfo = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "conninfo", NULL);
    if (!p->conninfo) {
        sk_prov_conf_error(c, 0,
                           "[target]: conninfo is required (e.g. host=db port=5432 "
                           "dbname=postgres user=shiftkey)");
        goto out;
    }
    int line = sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "conninfo");
    if (!(opts = PQconninfoParse(p->conninfo, &err))) {
        sk_prov_conf_error(c, line, "conninfo: %s", err ? err : "out of memory");
        goto out;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val) {
            sk_prov_conf_error(c, line,
                               "conninfo holds a password: use password_file (0600) "
                               "or password_env");
            goto out;
        }
    if (sk_prov_secret(c, SK_PROV_SEC_TARGET, "password", p->password, sizeof(p->password)) < 0 ||
        sk_prov_conf_bool(c, SK_PROV_SEC_TARGET, "terminate_sessions", false, &p->terminate) != 0)
        goto out;
    rc = 0;
out:
    if (opts)
        PQconninfoFree(opts);
    PQfreemem(err);
    if (rc != 0)
        pg_destroy(p);
    else
        *out = p;
    return rc;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A live connection, or SK_EAGAIN with the reason. */
static int pg_connect(pg_ctx_t *p, char *msg, size_t len)
{
    static const char *const keys[] = {"connect_timeout", "application_name", "dbname", "password",
                                       NULL};
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    if (p->conn)
        PQfinish(p->conn);
    const char *vals[] = {"5", "shiftkey-provision", p->conninfo,
                          p->password[0] ? p->password : NULL, NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(p->conn, quiet, NULL); /* "already a member": not news */
        return 0;
    }
    snprintf(msg, len, "cannot connect to PostgreSQL: %s",
             p->conn ? PQerrorMessage(p->conn) : "out of memory");
    msg[strcspn(msg, "\n")] = '\0';
    return SK_EAGAIN;
}

/* SQLSTATE classes worth trying again: connection, resources, operator
 * intervention, system errors, rollbacks, locks. */
static int transient(const char *state)
{
    static const char *const classes[] = {"08", "53", "57", "58", "40", "55"};
    for (size_t i = 0; state && i < SK_ARRAY_LEN(classes); i++)
        if (strncmp(state, classes[i], 2) == 0)
            return 1;
    return 0;
}

/*
 * Runs sql with up to two text parameters; a broken connection is opened
 * again and the statement tried once more. Returns the result (caller
 * PQclear) with *rc 0; or NULL with *rc SK_EAGAIN / SK_EINVAL and msg set
 * (*sqlstate the error's SQLSTATE, "" when none).
 */
static PGresult *pg_run(pg_ctx_t *p, const char *sql, const char *a1, int *rc, char *sqlstate,
                        char *msg, size_t len)
{
    const char *params[] = {a1};
    *sqlstate = '\0';
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((*rc = pg_connect(p, msg, len)) != 0)
            return NULL;
        PGresult *res = PQexecParams(p->conn, sql, a1 ? 1 : 0, NULL, params, NULL, NULL, 0);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            *rc = 0;
            return res;
        }
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        snprintf(sqlstate, 6, "%s", state ? state : "");
        snprintf(msg, len, "PostgreSQL: %s", PQerrorMessage(p->conn));
        msg[strcspn(msg, "\n")] = '\0';
        PQclear(res);
        if (PQstatus(p->conn) == CONNECTION_OK) {
            *rc = transient(sqlstate) ? SK_EAGAIN : SK_EINVAL;
            return NULL;
        }
        *rc = SK_EAGAIN; /* the server went away: once more on a new connection */
    }
    return NULL;
}

/* GRANT/REVOKE "object" TO/FROM "who". 0, SK_EAGAIN, SK_EINVAL. */
static int pg_membership(pg_ctx_t *p, bool grant, const char *object, const char *who,
                         char *sqlstate, char *msg, size_t len)
{
    char *o = NULL, *w = NULL, *sql = NULL;
    int rc;
    if ((rc = pg_connect(p, msg, len)) != 0)
        return rc;
    o = PQescapeIdentifier(p->conn, object, strlen(object));
    w = PQescapeIdentifier(p->conn, who, strlen(who));
    size_t n = (o ? strlen(o) : 0) + (w ? strlen(w) : 0) + 32;
    if (!o || !w || !(sql = malloc(n))) {
        snprintf(msg, len, "out of memory");
        rc = SK_EAGAIN;
        goto out;
    }
    snprintf(sql, n, grant ? "GRANT %s TO %s" : "REVOKE %s FROM %s", o, w);
    PQclear(pg_run(p, sql, NULL, &rc, sqlstate, msg, len));
out:
    PQfreemem(o);
    PQfreemem(w);
    free(sql);
    return rc;
}

static int pg_grant(void *ctx, const sk_prov_op_t *op, char *member, size_t member_len, char *msg,
                    size_t msg_len)
{
    char state[6];
    int rc = pg_membership(ctx, true, op->object, op->principal, state, msg, msg_len);
    if (rc == 0)
        snprintf(member, member_len, "%s", op->principal);
    else if (strcmp(state, "42704") == 0)
        rc = SK_EINVAL; /* the user's role does not exist: we create nothing */
    return rc;
}

static int pg_revoke(void *ctx, const sk_prov_op_t *op, char *msg, size_t msg_len)
{
    pg_ctx_t *p = ctx;
    char state[6];
    const char *who = op->member ? op->member : op->principal;
    int rc = pg_membership(p, false, op->object, who, state, msg, msg_len);
    if (rc != 0 && strcmp(state, "42704") == 0) {
        rc = 0; /* a role that does not exist holds nothing */
        snprintf(msg, msg_len, "role '%s' does not exist: nothing to remove", who);
    }
    if (rc == 0 && p->terminate) {
        PGresult *res = pg_run(p,
                               "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE usename = $1 AND pid <> pg_backend_pid()",
                               who, &rc, state, msg, msg_len);
        if (res)
            snprintf(msg, msg_len, "%s session(s) of '%s' terminated", PQgetvalue(res, 0, 0), who);
        else
            rc = SK_EAGAIN; /* the membership is gone, its sessions not: not done yet */
        PQclear(res);
    }
    return rc;
}

static int pg_list(void *ctx, const char *object, sk_prov_names_t *out, char *msg, size_t len)
{
    char state[6];
    int rc;
    PGresult *res = pg_run(ctx,
                           "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = "
                           "a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = $1 "
                           "ORDER BY 1",
                           object, &rc, state, msg, len);
    for (int i = 0; res && i < PQntuples(res); i++)
        if (sk_prov_names_add(out, PQgetvalue(res, i, 0)) != 0)
            rc = SK_EAGAIN;
    PQclear(res);
    return rc;
}

static int pg_check(void *ctx, const sk_prov_conf_t *c, const char *const *objects,
                    const int *lines, size_t n)
{
    pg_ctx_t *p = ctx;
    char msg[1024], state[6];
    int bad = 0, rc;
    if (pg_connect(p, msg, sizeof(msg)) != 0) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "conninfo"), "%s", msg);
        return -1;
    }
    if (p->terminate) {
        PGresult *res = pg_run(p,
                               "SELECT rolsuper OR pg_has_role(current_user, 'pg_signal_backend', "
                               "'MEMBER') FROM pg_roles WHERE rolname = current_user",
                               NULL, &rc, state, msg, sizeof(msg));
        if (!res || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
            sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "terminate_sessions"),
                               "terminate_sessions: the provisioner's login role cannot end "
                               "sessions (GRANT pg_signal_backend TO it)%s%s",
                               res ? "" : ": ", res ? "" : msg);
            bad++;
        }
        PQclear(res);
    }
    for (size_t i = 0; i < n; i++) {
        PGresult *res = pg_run(p,
                               "SELECT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE "
                               "rolname = current_user) OR EXISTS (SELECT 1 FROM pg_auth_members "
                               "a JOIN pg_roles u ON u.oid = a.member WHERE a.roleid = r.oid AND "
                               "u.rolname = current_user AND a.admin_option) FROM pg_roles r "
                               "WHERE r.rolname = $1",
                               objects[i], &rc, state, msg, sizeof(msg));
        if (!res) {
            sk_prov_conf_error(c, lines[i], "%s", msg);
            bad++;
        } else if (PQntuples(res) == 0) {
            sk_prov_conf_error(c, lines[i],
                               "role '%s' does not exist on the server (the "
                               "provisioner creates nothing)",
                               objects[i]);
            bad++;
        } else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
            sk_prov_conf_error(c, lines[i],
                               "role '%s': the provisioner's login role may not "
                               "grant it (needs CREATEROLE or ADMIN OPTION)",
                               objects[i]);
            bad++;
        }
        PQclear(res);
    }
    return bad ? -1 : 0;
}

const sk_prov_target_t sk_prov_target_pg = {.type = "postgres",
                                            .init = pg_init,
                                            .check = pg_check,
                                            .grant = pg_grant,
                                            .revoke = pg_revoke,
                                            .list = pg_list,
                                            .destroy = pg_destroy};
