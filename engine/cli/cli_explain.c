/*
 * cli_explain.c — `shiftkey explain USER [APP/ENT] [--at TIME]`: why a
 * user has (or has not) an access, from the live state in Redis and the
 * rules: every source that holds it (a shift and the enrollment, profile,
 * lead and grace that make it grant; a request and its policy), until
 * when; the user's open requests (step, policy, who may act); and, for an
 * APP/ENT, what a request made now would do. The user's state and the
 * on-call index are loaded into the in-memory engine (cli_sim.h); --at
 * fires the user's timer at that time first, so the answer is what the
 * engine will have decided by then.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "cli/cli_explain.h"
#include "cli/cli_shift.h"
#include "cli/cli_sim.h"
#include "pipeline/store.h"

typedef struct ex {
    const sk_rules_t *rules;
    sk_sim_t *sim;
    const char *user;
    sk_ms_t at;
    /* the what-if request's decision */
    bool seen, refused;
    char outcome[1024];
} ex_t;

static void ex_usage(FILE *out)
{
    fprintf(
        out,
        "usage: shiftkey explain USER [APP/ENT|PROFILE] [--at TIME] [--duration D]\n"
        "                        [--rules DIR] [--redis HOST:PORT|unix:PATH|redis-cluster://...]\n"
        "                        [--redis-prefix P] [--redis-user U] [--redis-password-file F]\n"
        "\n"
        "Why USER has (or has not) an access: which sources hold it and until when,\n"
        "which enrollment, profile or request policy makes each; the user's open\n"
        "requests; with APP/ENT, what a request for it (--duration, default 1h) made\n"
        "at TIME would do. State from the engine's Redis, rules from --rules (default\n"
        "$SHIFTKEY_RULES or /etc/shiftkey/rules). TIME: now (default), +2h, ISO time.\n"
        "exit status: 0 explained, 1 Redis or the rules unreadable, 2 usage error\n");
}

static const char *when(sk_ms_t t, sk_ms_t at, char *buf, size_t len)
{
    char iso[40];
    long long d = (t - at) / 1000;
    if (t == SK_MS_NONE)
        return "open-ended";
    snprintf(buf, len, "%s (%s%lldh%02lldm)", sk_ms_format(t, iso, sizeof(iso)),
             d < 0 ? "-" : "in ", llabs(d) / 3600, llabs(d) / 60 % 60);
    return buf;
}

/* The enrollment edges of a shift's rotation that give ent. */
static void explain_shift(const ex_t *x, const sk_user_state_t *st, const sk_grant_source_t *g)
{
    const sk_shift_t *sh = sk_state_shift(st, g->id);
    const sk_rotation_t *rot = sk_rules_rotation(x->rules, g->rotation);
    char b1[64], b2[64];
    if (sh)
        printf("      shift %s in %s, level %d, %s .. %s\n", sh->id, sh->rotation, sh->level,
               when(sh->start_ms, x->at, b1, sizeof(b1)), when(sh->end_ms, x->at, b2, sizeof(b2)));
    for (size_t k = 0; rot && k < rot->n_edges; k++) {
        const sk_enrollment_edge_t *e = &rot->edges[k];
        if (strcmp(e->ent->key, g->ent_key) != 0)
            continue;
        printf("      rule: enrollment %s gives profile %s (lead %llds, grace %llds, levels %s%d),"
               " capped at max_duration %llds\n",
               e->enrollment, e->profile, (long long)e->grant_before_ms / 1000,
               (long long)e->revoke_after_ms / 1000, e->max_escalation_level ? "<= " : "all",
               e->max_escalation_level, (long long)e->ent->max_duration_ms / 1000);
    }
    if (!rot)
        printf("      rule: rotation %s is not in these rules any more: the next decision on "
               "this user revokes it\n",
               g->rotation);
}

static void explain_request(const ex_t *x, const sk_request_state_t *r)
{
    char b[64];
    printf("      request %s (%s%s) %s, policy %s, step %d, rules %s, created %s\n", r->id,
           r->kind == SK_REQUEST_KIND_REVOCATION ? "revocation of " : "", r->target,
           sk_request_status_name(r->status), r->policy, r->step + 1, r->rules_version,
           when(r->created_ms, x->at, b, sizeof(b)));
    if (r->n_assignees) {
        printf("        waiting for:");
        for (size_t i = 0; i < r->n_assignees; i++)
            printf(" %s", r->assignees[i]);
        printf(" (%zu approval%s so far)\n", r->n_approvers, r->n_approvers == 1 ? "" : "s");
    }
}

/* Prints one entitlement: held or not, by which sources, until when. */
static void explain_ent(const ex_t *x, const sk_user_state_t *st, const char *ent)
{
    sk_ms_t until = SK_MS_NONE;
    bool held = false;
    char b[64];
    for (size_t i = 0; i < st->n_sources; i++)
        if (!strcmp(st->sources[i].ent_key, ent) && st->sources[i].expires_ms > x->at &&
            (!held || st->sources[i].expires_ms > until)) {
            until = st->sources[i].expires_ms;
            held = true;
        }
    if (!held)
        printf("%s: not held\n", ent);
    else
        printf("%s: HELD until %s\n", ent, when(until, x->at, b, sizeof(b)));
    for (size_t i = 0; i < st->n_sources; i++) {
        const sk_grant_source_t *g = &st->sources[i];
        if (strcmp(g->ent_key, ent) != 0 || g->expires_ms <= x->at)
            continue;
        printf("    source %s %s until %s\n", sk_source_kind_name(g->kind), g->id,
               when(g->expires_ms, x->at, b, sizeof(b)));
        if (g->kind == SK_SOURCE_SHIFT)
            explain_shift(x, st, g);
        if (g->kind == SK_SOURCE_FOUND)
            printf("      found outside shiftkey by provisioner '%s' (reconciliation); an "
                   "access review or a revoke takes it away\n",
                   g->id);
        const sk_request_state_t *r = g->kind == SK_SOURCE_REQUEST || g->kind == SK_SOURCE_EMERGENCY
                                          ? sk_state_request(st, g->id)
                                          : NULL;
        if (r)
            explain_request(x, r);
    }
    for (size_t i = 0; i < st->n_requests; i++) {
        const sk_request_state_t *r = &st->requests[i];
        bool open = r->status == SK_REQUEST_OPEN || r->status == SK_REQUEST_PROVISIONING;
        if (open && (!strcmp(r->target, ent) || r->target_kind == SK_TARGET_PROFILE))
            explain_request(x, r);
    }
}

static void ex_sink(void *ctx, const sk_sim_out_t *o)
{
    ex_t *x = ctx;
    char b[64];
    if (!o->request)
        return;
    x->seen = true;
    x->refused = o->refused || o->d->rejected;
    if (o->refused || o->d->rejected) {
        snprintf(x->outcome, sizeof(x->outcome), "refused: %s",
                 o->refused ? o->refuse_reason : o->d->reject_reason);
        return;
    }
    size_t n = (size_t)snprintf(x->outcome, sizeof(x->outcome), "%s: %s", o->d->audit.decision,
                                o->d->audit.reason);
    for (size_t i = 0; i < o->d->n_commands && n < sizeof(x->outcome); i++)
        n += (size_t)snprintf(x->outcome + n, sizeof(x->outcome) - n, "\n    %s %s/%s until %s",
                              sk_command_action_name(o->d->commands[i].action),
                              o->d->commands[i].app, o->d->commands[i].entitlement,
                              when(o->d->commands[i].expires_at_ms, x->at, b, sizeof(b)));
}

/* Decides a CREATED request for target on the loaded state: its outcome. */
static int what_if(ex_t *x, const char *target, sk_ms_t duration)
{
    sk_request_event_t ev = {.event_id = "explain-what-if",
                             .type = SK_REQ_CREATED,
                             .request_id = "explain-what-if",
                             .actor = x->user,
                             .subject = x->user,
                             .target = target,
                             .target_kind =
                                 strchr(target, '/') ? SK_TARGET_ENTITLEMENT : SK_TARGET_PROFILE,
                             .duration_ms = duration,
                             .justification = "",
                             .comment = "",
                             .source = "explain",
                             .occurred_at_ms = x->at};
    int rc = sk_sim_request(x->sim, &ev, x->at);
    if (rc)
        return rc;
    printf("a request now for %s (%llds) would be: %s\n", target, (long long)duration / 1000,
           x->seen ? x->outcome : "(no decision)");
    sk_arena_t a;
    sk_user_state_t st;
    sk_arena_init(&a, 4096);
    if (!x->refused && sk_sim_state(x->sim, x->user, &a, &st) == 0) {
        const sk_request_state_t *r = sk_state_request(&st, "explain-what-if");
        if (r && r->status == SK_REQUEST_OPEN)
            explain_request(x, r);
    }
    sk_arena_fini(&a);
    return 0;
}

/* Loads USER's state and the on-call index of every rotation into the sim.
 * The partition count is read off the users in Redis (the highest
 * partition with state). 0, or 1 with the reason on stderr. */
static int ex_load(ex_t *x, sk_store_t *store, sk_arena_t *a)
{
    int32_t *parts = NULL, *all_parts = NULL, n_parts = 0;
    const char **users = NULL, **all = NULL;
    size_t n = 0, n_all = 0, n_idx = 0;
    sk_store_value_t v = {0};
    sk_packed_field_t *pf = NULL;
    size_t n_pf = 0;
    sk_ms_t keep = SK_MS_NONE;
    sk_store_oncall_field_t *idx = NULL;
    if (sk_store_scan_users(store, x->user, a, &parts, &users, &n) != 0 ||
        sk_store_scan_users(store, NULL, a, &all_parts, &all, &n_all) != 0 ||
        (n && sk_store_read_users(store, 1, parts, users, a, &v) != 0)) {
        fprintf(stderr, "shiftkey explain: %s\n", sk_store_last_error(store));
        return 1;
    }
    for (size_t i = 0; i < n_all; i++)
        if (all_parts[i] + 1 > n_parts)
            n_parts = all_parts[i] + 1;
    size_t n_rots = sk_rules_rotation_count(x->rules);
    const char **rots = sk_arena_calloc(a, n_rots + 1, sizeof(*rots));
    for (size_t i = 0; rots && i < n_rots; i++)
        rots[i] = sk_rules_rotation_at(x->rules, i)->id;
    if (!rots || (n_parts && n_rots &&
                  sk_store_oncall_read(store, n_parts, rots, n_rots, a, &idx, &n_idx) != 0)) {
        fprintf(stderr, "shiftkey explain: %s\n", sk_store_last_error(store));
        return 1;
    }
    for (size_t i = 0; i < n_idx; i++)
        if (sk_sim_load_oncall(x->sim, idx[i].rotation, idx[i].field, idx[i].value) != 0)
            return 1;
    if (v.len && sk_state_unpack(a, v.bytes, v.len, &pf, &n_pf, &keep) != 0) {
        fprintf(stderr, "shiftkey explain: the state of %s in Redis is damaged\n", x->user);
        return 1;
    }
    if (keep != SK_MS_NONE && keep <= sk_now_ms())
        n_pf = 0; /* past its keep-until: dropped, as the engine reads it */
    sk_state_field_t *f = sk_arena_calloc(a, n_pf + 1, sizeof(*f));
    if (!f)
        return 1;
    for (size_t i = 0; i < n_pf; i++)
        f[i] = (sk_state_field_t){pf[i].name, pf[i].name_len, pf[i].value, pf[i].value_len};
    /* the timer at --at: what the engine will have decided by then */
    return sk_sim_load_user(x->sim, x->user, f, n_pf, x->at) ? 1 : 0;
}

int sk_cli_explain(int argc, char **argv)
{
    static const struct option longopts[] = {{"redis", 1, 0, 'r'},
                                             {"redis-prefix", 1, 0, 'p'},
                                             {"redis-user", 1, 0, 'u'},
                                             {"redis-password-file", 1, 0, 'P'},
                                             {"rules", 1, 0, 'R'},
                                             {"at", 1, 0, 'a'},
                                             {"duration", 1, 0, 'd'},
                                             {"help", 0, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *redis = getenv("SHIFTKEY_REDIS"), *prefix = "sk", *ruser = NULL, *pwfile = NULL,
               *rdir = getenv("SHIFTKEY_RULES"), *at = NULL, *dur = NULL;
    int c, rc = 1;
    char host[256], b[64];
    sk_ms_t duration = 3600 * 1000;
    ex_t x = {0};
    sk_rules_errors_t errs;
    sk_rules_t *rules = NULL;
    sk_store_t *store = NULL;
    char *password = NULL;
    sk_arena_t a;
    long long at_ms = sk_now_ms();

    sk_arena_init(&a, 65536);
    sk_rules_errors_init(&errs);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': redis = optarg; break;
        case 'p': prefix = optarg; break;
        case 'u': ruser = optarg; break;
        case 'P': pwfile = optarg; break;
        case 'R': rdir = optarg; break;
        case 'a': at = optarg; break;
        case 'd': dur = optarg; break;
        case 'h':
            ex_usage(stdout);
            rc = 0;
            goto out;
        default:
            ex_usage(stderr);
            rc = 2;
            goto out;
        }
    }
    if (optind >= argc || argc - optind > 2 || (at && sk_cli_parse_time(at, at_ms, &at_ms)) ||
        (dur && sk_duration_parse(dur, &duration)) || duration <= 0) {
        ex_usage(stderr);
        rc = 2;
        goto out;
    }
    x.user = argv[optind];
    x.at = at_ms;
    const char *ent = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (!(rules = sk_rules_load(rdir && *rdir ? rdir : "/etc/shiftkey/rules", &errs))) {
        sk_rules_errors_print(&errs, stderr);
        fprintf(stderr, "shiftkey explain: the rules do not load (--rules)\n");
        goto out;
    }
    x.rules = rules;
    if (!(x.sim = sk_sim_new(rules, ex_sink, &x)))
        goto out;
    sk_store_config_t cfg = {.prefix = prefix, .user = ruser, .timeout_ms = 5000};
    redis = redis && *redis ? redis : "127.0.0.1:6379";
    if (sk_store_config_address(&cfg, redis, host, sizeof(host)) != 0) {
        fprintf(stderr,
                "shiftkey explain: --redis '%s': use HOST:PORT, unix:PATH or "
                "redis-cluster://HOST:PORT,...\n",
                redis);
        rc = 2;
        goto out;
    }
    if (!(password = sk_store_password(pwfile)) && pwfile) {
        fprintf(stderr, "shiftkey explain: cannot read the Redis password from %s\n", pwfile);
        goto out;
    }
    cfg.password = password;
    if (!(store = sk_store_new(&cfg)) || sk_store_connect(store) != 0) {
        fprintf(stderr, "shiftkey explain: %s (is the engine's Redis at %s?)\n",
                store ? sk_store_last_error(store) : "out of memory", redis);
        goto out;
    }
    if (ex_load(&x, store, &a) != 0 || sk_sim_advance(x.sim, x.at) != 0)
        goto out;
    sk_user_state_t st;
    if (sk_sim_state(x.sim, x.user, &a, &st) != 0)
        goto out;
    printf("%s at %s, rules %s\n", x.user, sk_ms_format(x.at, b, sizeof(b)),
           sk_rules_version(rules));
    if (ent) {
        explain_ent(&x, &st, ent);
    } else {
        const char **seen = sk_arena_calloc(&a, st.n_sources + 1, sizeof(*seen));
        size_t n_seen = 0;
        for (size_t i = 0; seen && i < st.n_sources; i++) {
            size_t k = 0;
            while (k < n_seen && strcmp(seen[k], st.sources[i].ent_key))
                k++;
            if (k == n_seen && st.sources[i].expires_ms > x.at)
                explain_ent(&x, &st, seen[n_seen++] = st.sources[i].ent_key);
        }
        if (!n_seen)
            printf("no access held\n");
        for (size_t i = 0; i < st.n_requests; i++)
            if (st.requests[i].status == SK_REQUEST_OPEN ||
                st.requests[i].status == SK_REQUEST_PROVISIONING)
                explain_request(&x, &st.requests[i]);
    }
    if (ent && what_if(&x, ent, duration) != 0)
        goto out;
    rc = 0;
out:
    sk_sim_destroy(x.sim);
    sk_store_destroy(store);
    sk_rules_destroy(rules);
    sk_rules_errors_fini(&errs);
    sk_arena_fini(&a);
    free(password);
    return rc;
}
