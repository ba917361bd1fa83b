/*
 * cli_rulestest.c — `shiftkey rules test DIR [TESTS...]`: policy as code.
 *
 * A test file (YAML) holds test cases; each states shifts, requests,
 * reviewers' actions and provisioning results at given times, and what must
 * follow: granted until, refused with a reason, pending at step N with
 * assignees, revoked at. The inputs go through the real deciders in memory
 * (cli_sim.h), timers included; no Kafka, no Redis. A failed expectation
 * prints `file:line: expected ..., got ...`. The format is in
 * rules/README.md ("Testing rules").
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/duration.h"
#include "cli/cli_rules.h"
#include "cli/cli_rulestest.h"
#include "cli/cli_shift.h"
#include "cli/cli_sim.h"
#include "cli/cli_yaml.h"

#define OBS_MAX 512

/* What happened during one step (timers since the last step, then the
 * step's input), copied out of the decisions. */
typedef struct obs_cmd {
    sk_command_action_t action;
    const char *user, *ent;
    sk_ms_t expires, issued;
} obs_cmd_t;

typedef struct obs_req {
    const char *request, *decision, *reason;
    bool refused;
} obs_req_t;

typedef struct rt {
    const char *file;
    sk_yaml_t y;
    const sk_rules_t *rules;
    sk_sim_t *sim;
    sk_arena_t arena; /* the whole test case */
    sk_ms_t start, at;
    obs_cmd_t cmds[OBS_MAX];
    size_t n_cmds;
    obs_req_t reqs[OBS_MAX];
    size_t n_reqs;
    const char *dls[OBS_MAX];
    size_t n_dls;
    char last_cmd[33]; /* the id of the last command emitted */
    int errors;        /* failed expectations and malformed steps of this case */
    int seq;           /* event ids */
} rt_t;

static void rt_fail(rt_t *t, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rt_fail(rt_t *t, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "%s:%d: ", t->file, sk_yaml_line(n));
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    t->errors++;
}

static const char *cp(rt_t *t, const char *s)
{
    return sk_arena_strdup(&t->arena, s ? s : "");
}

static void rt_sink(void *ctx, const sk_sim_out_t *o)
{
    rt_t *t = ctx;
    const sk_decision_t *d = o->d;
    for (size_t i = 0; i < d->n_commands && t->n_cmds < OBS_MAX; i++) {
        const sk_command_t *c = &d->commands[i];
        t->cmds[t->n_cmds++] = (obs_cmd_t){
            c->action, cp(t, c->user), sk_arena_sprintf(&t->arena, "%s/%s", c->app, c->entitlement),
            c->expires_at_ms, c->issued_at_ms};
        memcpy(t->last_cmd, c->command_id, sizeof(t->last_cmd));
    }
    if (d->rejected && t->n_dls < OBS_MAX)
        t->dls[t->n_dls++] = cp(t, d->reject_reason);
    if (o->request && t->n_reqs < OBS_MAX)
        t->reqs[t->n_reqs++] =
            (obs_req_t){cp(t, o->request->request_id), cp(t, d->audit.decision),
                        cp(t, o->refused ? o->refuse_reason : d->audit.reason), o->refused};
}

/* ---- reading a step ---- */

static const char *field(rt_t *t, yaml_node_t *m, const char *key, bool required)
{
    const char *s = sk_yaml_str(sk_yaml_get(&t->y, m, key));
    if (!s && required)
        rt_fail(t, m, "missing '%s'", key);
    return s;
}

/* A time: relative to the case's start (+8h, -15m), ISO-8601 UTC, epoch ms. */
static bool time_of(rt_t *t, yaml_node_t *n, const char *text, sk_ms_t *out)
{
    long long v;
    if (sk_cli_parse_time(text, t->start, &v) != 0) {
        rt_fail(t, n, "bad time '%s' (use +8h, -15m, 2026-03-02T09:00:00Z or epoch ms)", text);
        return false;
    }
    *out = v;
    return true;
}

static bool duration_of(rt_t *t, yaml_node_t *n, const char *text, sk_ms_t *out)
{
    if (sk_duration_parse(text, out) != 0) {
        rt_fail(t, n, "bad duration '%s' (use 90s, 15m, 2h, 1h30m)", text);
        return false;
    }
    return true;
}

static const char *next_id(rt_t *t, const char *kind, yaml_node_t *n)
{
    return sk_arena_sprintf(&t->arena, "test-%s-%d-%d", kind, sk_yaml_line(n), ++t->seq);
}

static int run_shift(rt_t *t, yaml_node_t *n)
{
    static const char *const names[] = {"scheduled", "started", "updated", "ended", "cancelled"};
    const char *event = field(t, n, "event", true), *user = field(t, n, "user", true),
               *rot = field(t, n, "rotation", true), *id = field(t, n, "id", true),
               *start = field(t, n, "start", false), *end = field(t, n, "end", false),
               *level = field(t, n, "level", false);
    sk_schedule_event_t ev = {.source = "test",
                              .escalation_level = level ? atoi(level) : 1,
                              .occurred_at_ms = t->at,
                              .start_ms = t->at,
                              .end_ms = SK_MS_NONE};
    if (!event || !user || !rot || !id)
        return 0;
    ev.type = SK_SHIFT_EVENT_TYPE_COUNT;
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++)
        if (strcmp(event, names[i]) == 0)
            ev.type = (sk_shift_event_type_t)i;
    if (ev.type == SK_SHIFT_EVENT_TYPE_COUNT) {
        rt_fail(t, n, "unknown shift event '%s' (scheduled, started, updated, ended, cancelled)",
                event);
        return 0;
    }
    if ((start && !time_of(t, n, start, &ev.start_ms)) || (end && !time_of(t, n, end, &ev.end_ms)))
        return 0;
    ev.event_id = next_id(t, "shift", n);
    ev.user = user;
    ev.rotation = rot;
    ev.shift_id = id;
    return sk_sim_schedule(t->sim, &ev, t->at);
}

/* The request event types by the CLI's action names (cli_task.c). */
static const struct {
    const char *name;
    sk_request_event_type_t type;
} actions[] = {
    {"approve", SK_REQ_APPROVED},
    {"deny", SK_REQ_DENIED},
    {"duration", SK_REQ_DURATION_CHANGED},
    {"escalate", SK_REQ_ESCALATED},
    {"reassign", SK_REQ_REASSIGNED},
    {"comment", SK_REQ_COMMENTED},
    {"cancel", SK_REQ_CANCELLED},
    {"delete", SK_REQ_DELETED},
    {"restart", SK_REQ_RESTARTED},
    {"hard-reset", SK_REQ_HARD_RESET},
    {"change-policy", SK_REQ_POLICY_CHANGED},
    {"skip-step", SK_REQ_STEP_SKIPPED},
    {"process-now", SK_REQ_PROCESS_NOW},
    {"remind", SK_REQ_REMINDER_SENT},
    {"confirm", SK_REQ_REVOCATION_CONFIRMED},
    {"reject", SK_REQ_REVOCATION_DENIED},
};

/* request: {id, user, access, duration, emergency, justification, as}
 * revoke:  {id, user, access, as}
 * action:  {request, type, as, user, duration, to, policy, comment} */
static int run_request(rt_t *t, yaml_node_t *n, const char *what)
{
    bool create = strcmp(what, "request") == 0, revoke = strcmp(what, "revoke") == 0;
    const char *id = field(t, n, create || revoke ? "id" : "request", true),
               *user = field(t, n, "user", true),
               *as = field(t, n, "as", create || revoke ? false : true),
               *access = field(t, n, "access", create || revoke),
               *dur = field(t, n, "duration", false),
               *type = field(t, n, "type", !create && !revoke),
               *emerg = field(t, n, "emergency", false);
    sk_request_event_t ev = {.duration_ms = SK_MS_NONE,
                             .source = "test",
                             .occurred_at_ms = t->at,
                             .justification = "",
                             .comment = ""};
    if (!id || !user || (!create && !revoke && (!as || !type)) || ((create || revoke) && !access))
        return 0;
    ev.type = create   ? SK_REQ_CREATED
              : revoke ? SK_REQ_REVOCATION_PROPOSED
                       : SK_REQ_EVENT_TYPE_COUNT;
    for (size_t i = 0; !create && !revoke && i < SK_ARRAY_LEN(actions); i++)
        if (strcmp(type, actions[i].name) == 0)
            ev.type = actions[i].type;
    if (ev.type == SK_REQ_EVENT_TYPE_COUNT) {
        rt_fail(t, n, "unknown action '%s'", type);
        return 0;
    }
    if (dur && !duration_of(t, n, dur, &ev.duration_ms))
        return 0;
    ev.event_id = next_id(t, what, n);
    ev.request_id = id;
    ev.subject = user;
    ev.actor = as ? as : user;
    ev.target = access ? access : "";
    ev.target_kind = access && !strchr(access, '/') ? SK_TARGET_PROFILE : SK_TARGET_ENTITLEMENT;
    ev.emergency = emerg && strcmp(emerg, "true") == 0;
    ev.justification = cp(t, field(t, n, "justification", false));
    ev.comment = cp(t, field(t, n, "comment", false));
    ev.assignee = field(t, n, "to", false);
    ev.policy = field(t, n, "policy", false);
    return sk_sim_request(t->sim, &ev, t->at);
}

/* The command id a rules test gives a FOUND result that names none: 32 hex
 * digits from its user, entitlement and provisioner (FNV-1a, two seeds), the
 * same for the same finding, as a provisioner's stable id is. */
static void found_id(const char *user, const char *access, const char *as, char out[33])
{
    uint64_t h[2] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
    const char *parts[] = {user, "\n", access, "\n", as};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < SK_ARRAY_LEN(parts); i++)
            for (const char *c = parts[i]; *c; c++)
                h[k] = (h[k] ^ (unsigned char)*c) * 0x100000001b3ULL;
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h[0], (unsigned long long)h[1]);
}

/* result: {user, access | task, status, as, retryable, message}: answers the
 * last command of user/access issued so far (or the named task id); status
 * found (a provisioner's reconciliation found `access` held outside
 * shiftkey) needs `access` and answers no command. */
static int run_result(rt_t *t, yaml_node_t *n, const char *last_cmd)
{
    static const char *const names[] = {"provisioned", "wont-provision", "failed", "deprovisioned",
                                        "found"};
    const char *user = field(t, n, "user", true), *status = field(t, n, "status", true),
               *as = field(t, n, "as", true), *task = field(t, n, "task", false),
               *retry = field(t, n, "retryable", false), *access = field(t, n, "access", false);
    sk_provisioning_result_t r = {.at_ms = t->at, .message = "", .entitlement = ""};
    char fid[33];
    if (!user || !status || !as)
        return 0;
    r.result = SK_PROV_STATUS_COUNT;
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++)
        if (strcmp(status, names[i]) == 0)
            r.result = (sk_provisioning_status_t)i;
    if (r.result == SK_PROV_STATUS_COUNT) {
        rt_fail(t, n,
                "unknown status '%s' (provisioned, wont-provision, failed, deprovisioned, found)",
                status);
        return 0;
    }
    if (r.result == SK_PROV_DEPROVISIONED && access && !task && !last_cmd) {
        r.entitlement = access; /* a stray removed by reconciliation: no command */
        found_id(user, access, as, fid);
        task = fid;
    }
    if (r.result == SK_PROV_FOUND) {
        if (!access || !strchr(access, '/')) {
            rt_fail(t, n, "a found result names what was found: 'access: app/entitlement'");
            return 0;
        }
        r.entitlement = access;
        if (!task) {
            found_id(user, access, as, fid);
            task = fid;
        }
    }
    const char *cmd = task ? task : last_cmd;
    if (!cmd || strlen(cmd) != 32) {
        rt_fail(t, n, "no command to answer: give 'task: <32 hex id>' or answer after a command");
        return 0;
    }
    memcpy(r.command_id, cmd, 33);
    r.provisioner = as;
    r.user = user;
    r.retryable = retry && strcmp(retry, "true") == 0;
    return sk_sim_result(t->sim, &r, t->at);
}

/* ---- checking ---- */

/* t as "+8h30m" from the case's start (or "-15m"), for messages. */
static const char *rel(rt_t *t, sk_ms_t ms)
{
    char buf[64];
    size_t used = 0;
    sk_ms_t d = ms - t->start;
    static const struct {
        const char *u;
        sk_ms_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    if (ms == SK_MS_NONE)
        return "never";
    buf[used++] = d < 0 ? '-' : '+';
    if (d < 0)
        d = -d;
    if (d == 0)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "0");
    for (size_t i = 0; i < SK_ARRAY_LEN(units) && d; i++) {
        if (d / units[i].ms)
            used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%lld%s",
                                     (long long)(d / units[i].ms), units[i].u);
        d %= units[i].ms;
    }
    buf[used] = '\0';
    return sk_arena_strdup(&t->arena, buf);
}

/* Every command of the step, for "got". */
static const char *got_cmds(rt_t *t)
{
    const char *s = t->n_cmds ? "" : "no command";
    for (size_t i = 0; i < t->n_cmds; i++) {
        const obs_cmd_t *c = &t->cmds[i];
        s = sk_arena_sprintf(&t->arena, "%s%s%s %s to %s %s %s", s, i ? "; " : "",
                             sk_command_action_name(c->action), c->ent, c->user,
                             c->action == SK_CMD_REVOKE ? "at" : "until",
                             rel(t, c->action == SK_CMD_REVOKE ? c->issued : c->expires));
    }
    return s;
}

/* granted / extended / revoked: a command of the step. */
static void check_cmd(rt_t *t, yaml_node_t *n, const char *kind)
{
    const char *user = field(t, n, "user", true), *access = field(t, n, "access", true),
               *when = field(t, n, strcmp(kind, "revoked") == 0 ? "at" : "until", false);
    bool revoke = strcmp(kind, "revoked") == 0, extend = strcmp(kind, "extended") == 0;
    sk_ms_t at = SK_MS_NONE;
    if (!user || !access || (when && !time_of(t, n, when, &at)))
        return;
    for (size_t i = 0; i < t->n_cmds; i++) {
        const obs_cmd_t *c = &t->cmds[i];
        bool kind_ok = revoke   ? c->action == SK_CMD_REVOKE
                       : extend ? c->action == SK_CMD_EXTEND
                                : c->action != SK_CMD_REVOKE;
        if (kind_ok && strcmp(c->user, user) == 0 && strcmp(c->ent, access) == 0 &&
            (!when || (revoke ? c->issued : c->expires) == at))
            return;
    }
    rt_fail(t, n, "expected %s %s to %s%s%s, got %s", kind, access, user,
            when ? (revoke ? " at " : " until ") : "", when ? rel(t, at) : "", got_cmds(t));
}

/* no_commands: nothing granted, extended or revoked in the step. */
static void check_quiet(rt_t *t, yaml_node_t *n)
{
    if (t->n_cmds)
        rt_fail(t, n, "expected no command, got %s", got_cmds(t));
}

/* holds / lacks: the user's state now (sources whose expiry is still ahead). */
static void check_holds(rt_t *t, yaml_node_t *n, bool holds)
{
    const char *user = field(t, n, "user", true), *access = field(t, n, "access", true),
               *until = field(t, n, "until", false);
    sk_user_state_t st;
    sk_ms_t at = SK_MS_NONE, max = SK_MS_NONE;
    const char *srcs = "";
    if (!user || !access || (until && !time_of(t, n, until, &at)) ||
        sk_sim_state(t->sim, user, &t->arena, &st) != 0)
        return;
    for (size_t i = 0; i < st.n_sources; i++) {
        const sk_grant_source_t *g = &st.sources[i];
        if (strcmp(g->ent_key, access) != 0 || g->expires_ms <= t->at)
            continue;
        if (max == SK_MS_NONE || g->expires_ms > max)
            max = g->expires_ms;
        srcs = sk_arena_sprintf(&t->arena, "%s%s%s %s until %s", srcs, *srcs ? ", " : "",
                                sk_source_kind_name(g->kind), g->id, rel(t, g->expires_ms));
    }
    if (holds && max == SK_MS_NONE)
        rt_fail(t, n, "expected %s to hold %s, got no source", user, access);
    else if (holds && until && max != at)
        rt_fail(t, n, "expected %s to hold %s until %s, got until %s (%s)", user, access,
                rel(t, at), rel(t, max), srcs);
    else if (!holds && max != SK_MS_NONE)
        rt_fail(t, n, "expected %s not to hold %s, got %s", user, access, srcs);
}

/* refused: the step's decision on the request was a refusal (reason: a
 * substring of the refusal's reason). */
static void check_refused(rt_t *t, yaml_node_t *n)
{
    const char *id = field(t, n, "request", true), *reason = field(t, n, "reason", false);
    const obs_req_t *last = NULL;
    if (!id)
        return;
    for (size_t i = 0; i < t->n_reqs; i++)
        if (strcmp(t->reqs[i].request, id) == 0)
            last = &t->reqs[i];
    if (!last)
        rt_fail(t, n, "expected request %s refused, got no decision on it in this step", id);
    else if (!last->refused)
        rt_fail(t, n, "expected request %s refused, got %s: %s", id, last->decision, last->reason);
    else if (reason && !strstr(last->reason, reason))
        rt_fail(t, n, "expected request %s refused with '%s', got refused: %s", id, reason,
                last->reason);
}

static const char *list_of(rt_t *t, const char *const *v, size_t n)
{
    const char *s = "[";
    for (size_t i = 0; i < n; i++)
        s = sk_arena_sprintf(&t->arena, "%s%s%s", s, i ? ", " : "", v[i]);
    return sk_arena_sprintf(&t->arena, "%s]", s);
}

/* pending / approved / denied / cancelled / provisioning: the request's
 * stored status; pending also its step (1-based) and assignees (a set). */
static void check_status(rt_t *t, yaml_node_t *n, const char *kind)
{
    const char *id = field(t, n, "request", true), *user = field(t, n, "user", true),
               *step = field(t, n, "step", false);
    yaml_node_t *as = sk_yaml_get(&t->y, n, "assignees");
    sk_request_status_t want = strcmp(kind, "pending") == 0     ? SK_REQUEST_OPEN
                               : strcmp(kind, "approved") == 0  ? SK_REQUEST_APPROVED
                               : strcmp(kind, "denied") == 0    ? SK_REQUEST_DENIED
                               : strcmp(kind, "cancelled") == 0 ? SK_REQUEST_CANCELLED
                                                                : SK_REQUEST_PROVISIONING;
    sk_user_state_t st;
    if (!id || !user || sk_sim_state(t->sim, user, &t->arena, &st) != 0)
        return;
    const sk_request_state_t *r = sk_state_request(&st, id);
    if (!r) {
        rt_fail(t, n, "expected request %s of %s %s, got no such request", id, user, kind);
        return;
    }
    const char *got =
        sk_arena_sprintf(&t->arena, "%s at step %d assignees %s", sk_request_status_name(r->status),
                         r->step + 1, list_of(t, r->assignees, r->n_assignees));
    if (r->status != want) {
        rt_fail(t, n, "expected request %s %s, got %s", id, kind, got);
        return;
    }
    if (step && atoi(step) != r->step + 1)
        rt_fail(t, n, "expected request %s pending at step %s, got %s", id, step, got);
    if (!as)
        return;
    size_t na = sk_yaml_len(as);
    bool same = na == r->n_assignees;
    for (size_t i = 0; same && i < na; i++) {
        const char *a = sk_yaml_str(sk_yaml_at(&t->y, as, i));
        bool found = false;
        for (size_t k = 0; a && k < r->n_assignees; k++)
            found |= strcmp(r->assignees[k], a) == 0;
        same = found;
    }
    if (!same) {
        const char **want_as = sk_arena_calloc(&t->arena, na + 1, sizeof(*want_as));
        for (size_t i = 0; want_as && i < na; i++)
            want_as[i] = sk_yaml_str(sk_yaml_at(&t->y, as, i));
        rt_fail(t, n, "expected request %s assignees %s, got %s", id,
                want_as ? list_of(t, want_as, na) : "?", got);
    }
}

/* rejected: a dead letter in the step (reason: a substring). */
static void check_rejected(rt_t *t, yaml_node_t *n)
{
    const char *reason = sk_yaml_str(sk_yaml_get(&t->y, n, "reason"));
    for (size_t i = 0; i < t->n_dls; i++)
        if (!reason || strstr(t->dls[i], reason))
            return;
    rt_fail(t, n, "expected a dead letter%s%s, got %s", reason ? " with " : "",
            reason ? reason : "", t->n_dls ? t->dls[0] : "none");
}

static void check_one(rt_t *t, yaml_node_t *e)
{
    yaml_node_t *v;
    const char *k = sk_yaml_key_at(&t->y, e, 0, &v);
    if (sk_yaml_pairs(e) != 1 || !k) {
        rt_fail(t, e,
                "an expectation is one key (granted, extended, revoked, holds, lacks, "
                "refused, pending, approved, denied, cancelled, provisioning, rejected, "
                "no_commands)");
        return;
    }
    if (!strcmp(k, "granted") || !strcmp(k, "extended") || !strcmp(k, "revoked"))
        check_cmd(t, v, k);
    else if (!strcmp(k, "holds") || !strcmp(k, "lacks"))
        check_holds(t, v, !strcmp(k, "holds"));
    else if (!strcmp(k, "refused"))
        check_refused(t, v);
    else if (!strcmp(k, "pending") || !strcmp(k, "approved") || !strcmp(k, "denied") ||
             !strcmp(k, "cancelled") || !strcmp(k, "provisioning"))
        check_status(t, v, k);
    else if (!strcmp(k, "rejected"))
        check_rejected(t, v);
    else if (!strcmp(k, "no_commands"))
        check_quiet(t, e);
    else
        rt_fail(t, e, "unknown expectation '%s'", k);
}

/* ---- running ---- */

static int run_step(rt_t *t, yaml_node_t *s)
{
    static const char *const inputs[] = {"shift", "request", "revoke", "action", "result"};
    const char *at = field(t, s, "at", false);
    int rc = 0, n_inputs = 0;
    t->n_cmds = t->n_reqs = t->n_dls = 0;
    if (at && !time_of(t, s, at, &t->at))
        return 0;
    if (t->at < sk_sim_now(t->sim)) {
        rt_fail(t, s, "steps go forward in time: %s is before the previous step", at);
        return 0;
    }
    if ((rc = sk_sim_advance(t->sim, t->at)) != 0)
        return rc;
    for (size_t i = 0; i < SK_ARRAY_LEN(inputs) && rc == 0; i++) {
        yaml_node_t *in = sk_yaml_get(&t->y, s, inputs[i]);
        if (!in)
            continue;
        n_inputs++;
        if (in->type != YAML_MAPPING_NODE)
            rt_fail(t, in, "'%s' is a mapping", inputs[i]);
        else if (i == 0)
            rc = run_shift(t, in);
        else if (i == 4)
            rc = run_result(t, in, t->last_cmd[0] ? t->last_cmd : NULL);
        else
            rc = run_request(t, in, inputs[i]);
    }
    if (n_inputs > 1)
        rt_fail(t, s, "one input per step (shift, request, revoke, action or result)");
    yaml_node_t *ex = sk_yaml_get(&t->y, s, "expect");
    for (size_t i = 0; rc == 0 && i < sk_yaml_len(ex); i++)
        check_one(t, sk_yaml_at(&t->y, ex, i));
    return rc;
}

/* Runs one case; 1 passed, 0 failed, <0 an internal error. */
static int run_case(rt_t *t, yaml_node_t *c, bool verbose)
{
    const char *name = field(t, c, "name", false);
    const char *start = field(t, c, "start", false);
    yaml_node_t *steps = sk_yaml_get(&t->y, c, "steps");
    long long st;
    int rc = 0;
    t->errors = 0;
    t->seq = 0;
    t->last_cmd[0] = '\0';
    sk_arena_init(&t->arena, 16 * 1024);
    t->start = 1772442000000LL; /* 2026-03-02T09:00:00Z: a Monday */
    if (start && sk_cli_parse_time(start, t->start, &st) == 0)
        t->start = st;
    else if (start)
        rt_fail(t, c, "bad start '%s'", start);
    t->at = t->start;
    if (!(t->sim = sk_sim_new(t->rules, rt_sink, t))) {
        rc = SK_ENOMEM;
        goto out;
    }
    if (!sk_yaml_len(steps))
        rt_fail(t, c, "a test case needs 'steps' (a list)");
    for (size_t i = 0; rc == 0 && i < sk_yaml_len(steps); i++)
        rc = run_step(t, sk_yaml_at(&t->y, steps, i));
    if (rc == 0 && verbose)
        printf("%s %s:%d %s\n", t->errors ? "FAIL" : "ok  ", t->file, sk_yaml_line(c),
               name ? name : "");
out:
    sk_sim_destroy(t->sim);
    t->sim = NULL;
    sk_arena_fini(&t->arena);
    return rc ? rc : t->errors == 0;
}

/* Runs every case of one file; counts into *pass and *fail. */
static int run_file(const sk_rules_t *rules, const char *path, bool verbose, int *pass, int *fail)
{
    rt_t *t = calloc(1, sizeof(*t));
    char err[256];
    int rc = 0;
    if (!t)
        return SK_ENOMEM;
    t->file = path;
    t->rules = rules;
    if (sk_yaml_load(&t->y, path, err, sizeof(err)) != 0) {
        printf("%s:%s\n", path, err);
        (*fail)++;
        goto out;
    }
    yaml_node_t *cases = sk_yaml_get(&t->y, sk_yaml_root(&t->y), "tests");
    if (!sk_yaml_len(cases)) {
        printf("%s:1: expected a list 'tests:' of test cases\n", path);
        (*fail)++;
        goto out;
    }
    for (size_t i = 0; i < sk_yaml_len(cases); i++) {
        int r = run_case(t, sk_yaml_at(&t->y, cases, i), verbose);
        if (r < 0) {
            rc = r;
            goto out;
        }
        (*(r ? pass : fail))++;
    }
out:
    sk_yaml_fini(&t->y);
    free(t);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs a file, or every *.yaml / *.yml of a directory in name order. */
static int run_path(const sk_rules_t *rules, const char *path, bool verbose, int *pass, int *fail)
{
    struct stat sb;
    char *names[1024];
    size_t n = 0;
    int rc = 0;
    if (stat(path, &sb) != 0) {
        printf("%s: no such file or directory\n", path);
        (*fail)++;
        return 0;
    }
    if (!S_ISDIR(sb.st_mode))
        return run_file(rules, path, verbose, pass, fail);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < SK_ARRAY_LEN(names)) {
        size_t l = strlen(de->d_name);
        if ((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
            (l > 4 && !strcmp(de->d_name + l - 4, ".yml")))
            if (asprintf(&names[n], "%s/%s", path, de->d_name) > 0)
                n++;
    }
    if (d)
        closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = run_file(rules, names[i], verbose, pass, fail);
        free(names[i]);
    }
    return rc;
}

int sk_cli_rules_test(int argc, char **argv)
{
    sk_rules_errors_t errs;
    sk_rules_t *rules = NULL;
    int pass = 0, fail = 0, rc = 2, first = 0;
    bool verbose = false;
    char *deftests = NULL;
    const char *dir = NULL;

    sk_rules_errors_init(&errs);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            verbose = true;
        else if (!dir)
            dir = argv[i];
        else if (!first)
            first = i;
    }
    if (!dir) {
        fprintf(stderr, "usage: shiftkey rules test DIR [TESTS...] [-v]\n"
                        "  runs the test files TESTS (files or directories; default DIR/tests)\n"
                        "  against the rules in DIR; see rules/README.md, \"Testing rules\"\n");
        goto out;
    }
    if (!(rules = sk_rules_load(dir, &errs))) {
        sk_rules_errors_print(&errs, stderr);
        fprintf(stderr, "%zu error%s; rule set refused\n", errs.count, errs.count == 1 ? "" : "s");
        rc = 1;
        goto out;
    }
    if (!first) {
        if (asprintf(&deftests, "%s/tests", dir) < 0)
            goto out;
        rc = run_path(rules, deftests, verbose, &pass, &fail);
    } else {
        rc = 0;
        for (int i = first; i < argc && rc == 0; i++)
            if (strcmp(argv[i], "-v") && strcmp(argv[i], "--verbose"))
                rc = run_path(rules, argv[i], verbose, &pass, &fail);
    }
    if (rc < 0) {
        fprintf(stderr, "shiftkey rules test: %s\n", sk_strerror(rc));
        rc = 1;
        goto out;
    }
    printf("%d passed, %d failed\n", pass, fail);
    rc = fail ? 1 : 0;
out:
    free(deftests);
    sk_rules_destroy(rules);
    sk_rules_errors_fini(&errs);
    return rc;
}
