/*
 * apply.c — what the provisioner does with a command, with a grant whose
 * expiry passed, and with a membership nobody granted (see prov.h).
 *
 * Order of one command: the target's change, then the state file, then the
 * result (acknowledged by Kafka), then the offset commit (runtime.c). A
 * crash between any two repeats the later steps: the change again (every
 * target is idempotent by effect), or the stored answer again (command id
 * found in the state: not applied twice).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "base/log.h"
#include "runtime.h"

#define EXPIRY_RETRY_MS 10000 /* a failed local expiry is tried again after this */

/* The principal of user on the target, into buf; NULL when it has none. */
static const char *principal(const sk_prov_rt_t *rt, const char *user, char *buf, size_t len)
{
    const char *p = sk_prov_conf_get(&rt->conf, SK_PROV_SEC_USERS, user, NULL);
    if (p)
        return p;
    if (strcmp(rt->user_default, "none") == 0)
        return NULL;
    snprintf(buf, len, "%s", user);
    if (strcmp(rt->user_default, "localpart") == 0)
        buf[strcspn(buf, "@")] = '\0';
    return buf;
}

static sk_provisioning_result_t result_of(const sk_prov_rt_t *rt, const char *command_id,
                                          const char *user, sk_provisioning_status_t s,
                                          bool retryable, const char *msg)
{
    sk_provisioning_result_t r = {.result = s,
                                  .retryable = s == SK_PROV_FAILED && retryable,
                                  .provisioner = rt->provisioner,
                                  .user = user,
                                  .message = msg ? msg : "",
                                  .at_ms = sk_now_ms()};
    snprintf(r.command_id, sizeof(r.command_id), "%s", command_id);
    return r;
}

/* The status a target's return code stands for. */
static sk_provisioning_status_t status_of(int rc, bool grant, bool *retryable)
{
    *retryable = rc == SK_EAGAIN;
    if (rc == 0)
        return grant ? SK_PROV_PROVISIONED : SK_PROV_DEPROVISIONED;
    if (rc == SK_PROV_WONT)
        return SK_PROV_WONT_PROVISION;
    return SK_PROV_FAILED;
}

static void log_applied(const sk_prov_rt_t *rt, const sk_command_t *cmd, const char *object,
                        const sk_provisioning_result_t *r, sk_ms_t took)
{
    char t[40];
    sk_log_level_t lvl = r->result == SK_PROV_FAILED ? SK_LOG_WARN : SK_LOG_INFO;
    sk_log(lvl, "%s: %s %s/%s %s %s (%s) until %s: %s%s%s%s (command %s, %lld ms)", rt->provisioner,
           sk_command_action_name(cmd->action), cmd->app, cmd->entitlement,
           cmd->action == SK_CMD_REVOKE ? "from" : "to", cmd->user, object ? object : "-",
           sk_ms_format(cmd->expires_at_ms, t, sizeof(t)), sk_provisioning_status_name(r->result),
           r->retryable ? " (retryable)" : "", *r->message ? ": " : "", r->message, cmd->command_id,
           (long long)took);
}

/* Records a final answer and saves; on a save failure the answer becomes
 * FAILED (retryable), and a grant just made is undone (fail closed: what
 * is not in the state file would never expire locally). */
static int remember(sk_prov_rt_t *rt, const sk_command_t *cmd, const sk_prov_op_t *op,
                    sk_provisioning_status_t *s, bool *retryable, char *msg, size_t len)
{
    sk_ms_t now = sk_now_ms();
    if (sk_prov_state_add_done(&rt->state, cmd->command_id, *s, now) == 0 &&
        sk_prov_state_save(&rt->state, now) == 0)
        return 0;
    if (rt->state.n_done &&
        strcmp(rt->state.done[rt->state.n_done - 1].command_id, cmd->command_id) == 0)
        rt->state.n_done--;
    if (*s == SK_PROV_PROVISIONED) {
        char ignored[256];
        rt->target->revoke(rt->tctx, op, ignored, sizeof(ignored));
        sk_prov_state_drop_grant(&rt->state, cmd->user, op->ent);
    }
    *s = SK_PROV_FAILED;
    *retryable = true;
    snprintf(msg, len, "the provisioner's state file cannot be written; not applied");
    return -1;
}

int sk_prov_apply_command(sk_prov_rt_t *rt, const sk_command_t *cmd)
{
    char ent[2 * SK_ID_MAX + 2], pbuf[SK_ID_MAX + 1], member[1024] = "", msg[1024] = "";
    sk_ms_t t0 = sk_now_ms();
    bool retryable = false, grant = cmd->action != SK_CMD_REVOKE;
    sk_provisioning_status_t s;
    sk_provisioning_result_t r;
    if (!sk_prov_serves(rt, cmd->app)) {
        rt->m.skipped++;
        return 0;
    }
    snprintf(ent, sizeof(ent), "%s/%s", cmd->app, cmd->entitlement);
    const char *object = sk_prov_object(rt, ent);
    const sk_prov_done_t *done = sk_prov_state_done(&rt->state, cmd->command_id);
    if (done) {
        char t[40];
        snprintf(msg, sizeof(msg), "command already answered %s at %s; not applied again",
                 sk_provisioning_status_name(done->result),
                 sk_ms_format(done->at_ms, t, sizeof(t)));
        r = result_of(rt, cmd->command_id, cmd->user, done->result, false, msg);
        rt->m.duplicates++;
        log_applied(rt, cmd, object, &r, sk_now_ms() - t0);
        return sk_prov_result_publish(rt, &r) == SK_EAGAIN ? SK_EAGAIN : 0;
    }
    const char *who = principal(rt, cmd->user, pbuf, sizeof(pbuf));
    sk_prov_grant_t *g = sk_prov_state_grant(&rt->state, cmd->user, ent);
    sk_prov_op_t op = {.action = sk_command_action_name(cmd->action),
                       .command_id = cmd->command_id,
                       .user = cmd->user,
                       .principal = who,
                       .member = g && *g->member ? g->member : NULL,
                       .ent = ent,
                       .object = object,
                       .expires_at_ms = cmd->expires_at_ms,
                       .cmd = cmd};
    int rc;
    if (!object) {
        rc = SK_PROV_WONT;
        snprintf(msg, sizeof(msg), "entitlement '%s' is not configured in provisioner '%s'", ent,
                 rt->provisioner);
    } else if (!who) {
        rc = SK_PROV_WONT;
        snprintf(msg, sizeof(msg), "user '%s' has no principal on this target ([users])",
                 cmd->user);
    } else if (grant && cmd->expires_at_ms <= t0) {
        /* expired before it arrived: it must not be held */
        grant = false;
        op.action = "EXPIRE";
        rc = rt->target->revoke(rt->tctx, &op, msg, sizeof(msg));
        if (rc == 0)
            snprintf(msg, sizeof(msg), "expired before it was applied; not granted");
    } else if (grant) {
        rc = rt->target->grant(rt->tctx, &op, member, sizeof(member), msg, sizeof(msg));
        if (rc == 0 && strpbrk(member, "\t\n")) {
            rc = SK_EINVAL;
            snprintf(msg, sizeof(msg), "the target named the member with a tab or newline");
        }
        if (rc == 0 && sk_prov_state_set_grant(&rt->state, cmd->user, ent, member, cmd->command_id,
                                               cmd->expires_at_ms) != 0) {
            rc = SK_EAGAIN;
            snprintf(msg, sizeof(msg), "out of memory");
        }
    } else {
        rc = rt->target->revoke(rt->tctx, &op, msg, sizeof(msg));
    }
    if (rc == 0 && !grant)
        sk_prov_state_drop_grant(&rt->state, cmd->user, ent);
    s = status_of(rc, grant, &retryable);
    if (!retryable)
        remember(rt, cmd, &op, &s, &retryable, msg, sizeof(msg));
    r = result_of(rt, cmd->command_id, cmd->user, s, retryable, msg);
    rt->m.commands[s]++;
    log_applied(rt, cmd, object, &r, sk_now_ms() - t0);
    return sk_prov_result_publish(rt, &r) == SK_EAGAIN ? SK_EAGAIN : 0;
}

int sk_prov_expire(sk_prov_rt_t *rt, sk_ms_t now)
{
    for (size_t i = 0; i < rt->state.n_grants;) {
        sk_prov_grant_t *g = &rt->state.grants[i];
        char msg[1024] = "", pbuf[SK_ID_MAX + 1], t[40];
        if (g->expires_at_ms + rt->expiry_grace_ms > now || g->retry_at_ms > now) {
            i++;
            continue;
        }
        const char *object = sk_prov_object(rt, g->ent);
        sk_prov_op_t op = {.action = "EXPIRE",
                           .command_id = g->command_id,
                           .user = g->user,
                           .principal = principal(rt, g->user, pbuf, sizeof(pbuf)),
                           .member = *g->member ? g->member : NULL,
                           .ent = g->ent,
                           .object = object,
                           .expires_at_ms = g->expires_at_ms};
        int rc = object && op.principal ? rt->target->revoke(rt->tctx, &op, msg, sizeof(msg)) : 0;
        if (rc != 0) {
            SK_WARN("%s: expiry of %s for %s (%s): cannot remove yet: %s; trying again in %d s",
                    rt->provisioner, g->ent, g->user, object, msg, EXPIRY_RETRY_MS / 1000);
            g->retry_at_ms = now + EXPIRY_RETRY_MS;
            i++;
            continue;
        }
        char user[SK_ID_MAX + 1], ent[2 * SK_ID_MAX + 2];
        snprintf(user, sizeof(user), "%s", g->user);
        snprintf(ent, sizeof(ent), "%s", g->ent);
        snprintf(msg, sizeof(msg), "expired at %s: removed by the provisioner (no REVOKE came)",
                 sk_ms_format(g->expires_at_ms, t, sizeof(t)));
        sk_provisioning_result_t r =
            result_of(rt, g->command_id, user, SK_PROV_DEPROVISIONED, false, msg);
        SK_INFO("%s: EXPIRE %s from %s (%s): DEPROVISIONED: %s (command %s)", rt->provisioner,
                g->ent, g->user, object ? object : "-", msg, g->command_id);
        /* the report first, then the state: a crash between them reports twice, never not */
        if (sk_prov_result_publish(rt, &r) == SK_EAGAIN)
            return SK_EAGAIN;
        rt->m.expired++;
        sk_prov_state_drop_grant(&rt->state, user, ent);
        sk_prov_state_save(&rt->state, now);
    }
    return 0;
}

/* 1 when some grant of the state has member m of object. */
static int granted(const sk_prov_rt_t *rt, const char *object, const char *m)
{
    for (size_t i = 0; i < rt->state.n_grants; i++) {
        const sk_prov_grant_t *g = &rt->state.grants[i];
        const char *o = sk_prov_object(rt, g->ent);
        if (o && strcmp(o, object) == 0 && strcmp(g->member, m) == 0)
            return 1;
    }
    return 0;
}

static int ignored(const sk_prov_rt_t *rt, const char *m)
{
    for (size_t i = 0; i < rt->ignore.n; i++)
        if (strcasecmp(rt->ignore.v[i], m) == 0) /* DNs compare without case */
            return 1;
    return 0;
}

/* The shiftkey user whose principal on the target is m, into buf: the
 * [users] entry naming m, else m itself when principals are user ids
 * (user_default = id); NULL when m cannot be told (localpart, none). */
static const char *user_of(const sk_prov_rt_t *rt, const char *m, char *buf, size_t len)
{
    for (size_t i = 0; i < rt->conf.n_kv; i++) {
        const sk_prov_kv_t *kv = &rt->conf.kv[i];
        if (kv->section == SK_PROV_SEC_USERS && strcmp(kv->value, m) == 0)
            return kv->key;
    }
    if (strcmp(rt->user_default, "id") != 0 || !sk_id_valid(m, strlen(m)))
        return NULL;
    snprintf(buf, len, "%s", m);
    return buf;
}

/* Tells the engine about stray m of object (entitlement ent), issue 17:
 * FOUND when it is reported (the engine brings it into access reviews),
 * DEPROVISIONED with the entitlement when it was removed (the engine drops
 * what it recorded). The command_id is this provisioner's id of the
 * finding: the same stray gives the same id at every run (the engine
 * records it once). */
static void report_stray(sk_prov_rt_t *rt, sk_provisioning_status_t s, const char *ent,
                         const char *object, const char *m)
{
    char ubuf[SK_ID_MAX + 1], id[33], msg[1024];
    const char *user = user_of(rt, m, ubuf, sizeof(ubuf));
    if (!user) {
        SK_WARN("%s: reconcile: '%s' of %s is no shiftkey user ([users], user_default = id); "
                "not reported to the engine",
                rt->provisioner, m, object);
        return;
    }
    char key[4 * SK_ID_MAX + 24]; /* ids hold no newline */
    int klen = snprintf(key, sizeof(key), "%s\n%s\n%s\n%s", sk_provisioning_status_name(s),
                        rt->provisioner, user, ent);
    XXH128_hash_t h = XXH3_128bits(key, klen > 0 && (size_t)klen < sizeof(key) ? (size_t)klen : 0);
    sk_fmt_hex64(id, (uint64_t)h.high64);
    sk_fmt_hex64(id + 16, (uint64_t)h.low64);
    id[32] = '\0';
    snprintf(msg, sizeof(msg), "reconcile: '%s' was a member of %s but no command granted it%s", m,
             object, s == SK_PROV_FOUND ? "" : "; removed");
    sk_provisioning_result_t r = result_of(rt, id, user, s, false, msg);
    r.entitlement = ent;
    if (sk_prov_result_publish(rt, &r) != 0)
        return;
    rt->m.commands[s]++;
    SK_INFO("%s: reconcile: reported to the engine: %s %s for %s (command %s)", rt->provisioner,
            sk_provisioning_status_name(s), ent, user, id);
}

/* Reconciles one object (of entitlement ent): strays reported or removed. */
static void reconcile_object(sk_prov_rt_t *rt, const char *ent, const char *object)
{
    sk_prov_names_t have = {0};
    char msg[1024] = "";
    if (rt->target->list(rt->tctx, object, &have, msg, sizeof(msg)) != 0) {
        SK_WARN("%s: reconcile: cannot list the members of %s: %s", rt->provisioner, object, msg);
        goto out;
    }
    for (size_t i = 0; i < have.n; i++) {
        const char *m = have.v[i];
        if (ignored(rt, m) || granted(rt, object, m))
            continue;
        rt->m.strays++;
        if (rt->reconcile == SK_PROV_RECONCILE_REPORT) {
            SK_WARN("%s: reconcile: '%s' is a member of %s but no command granted it (reported; "
                    "reconcile = remove would take it away)",
                    rt->provisioner, m, object);
            report_stray(rt, SK_PROV_FOUND, ent, object, m);
            continue;
        }
        sk_prov_op_t op = {.action = "RECONCILE",
                           .command_id = "",
                           .user = "",
                           .principal = m,
                           .member = m,
                           .ent = "",
                           .object = object};
        if (rt->target->revoke(rt->tctx, &op, msg, sizeof(msg)) == 0) {
            rt->m.strays_removed++;
            SK_WARN("%s: reconcile: removed '%s' from %s: no command granted it", rt->provisioner,
                    m, object);
            report_stray(rt, SK_PROV_DEPROVISIONED, ent, object, m);
        } else {
            SK_WARN("%s: reconcile: cannot remove '%s' from %s: %s", rt->provisioner, m, object,
                    msg);
        }
    }
    /* the other way: held in the state, gone from the target (removed by hand) */
    for (size_t i = 0; i < rt->state.n_grants; i++) {
        sk_prov_grant_t *g = &rt->state.grants[i];
        const char *o = sk_prov_object(rt, g->ent);
        int found = 0;
        if (!o || strcmp(o, object) != 0)
            continue;
        for (size_t k = 0; k < have.n && !found; k++)
            found = strcmp(have.v[k], g->member) == 0;
        if (found || g->missing_logged) {
            g->missing_logged = !found;
            continue;
        }
        g->missing_logged = true; /* said once, not at every run */
        SK_INFO("%s: reconcile: %s of %s (%s) is no longer on the target (removed by "
                "hand?); not given again",
                rt->provisioner, g->ent, g->user, g->member);
    }
out:
    sk_prov_names_fini(&have);
}

void sk_prov_reconcile_run(sk_prov_rt_t *rt)
{
    if (!rt->target->list)
        return;
    rt->m.reconcile_runs++;
    for (size_t i = 0; i < rt->conf.n_kv; i++) {
        const sk_prov_kv_t *kv = &rt->conf.kv[i];
        int seen = 0;
        if (kv->section != SK_PROV_SEC_ENTITLEMENTS)
            continue;
        for (size_t k = 0; k < i && !seen; k++)
            seen = rt->conf.kv[k].section == SK_PROV_SEC_ENTITLEMENTS &&
                   strcmp(rt->conf.kv[k].value, kv->value) == 0;
        if (!seen) /* an object of several entitlements is reported as the first */
            reconcile_object(rt, kv->key, kv->value);
    }
}
