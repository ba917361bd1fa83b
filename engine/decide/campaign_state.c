/* campaign_state.c — review items and runs in a user's state (see
 * campaign_state.h). */
#include "decide/campaign_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const STATUS[] = {"OPEN", "CERTIFIED", "REVOKED", "LEFT", "ENDED"};

const char *sk_review_status_name(sk_review_status_t s)
{
    return (unsigned)s < SK_REVIEW_STATUS_COUNT ? STATUS[s] : "UNKNOWN";
}

/* Splits s (modified) at spaces into at most max words; their count. */
static int words(char *s, char **w, int max)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(s, " ", &save); t && n < max;
         t = strtok_r(NULL, " ", &save))
        w[n++] = t;
    return n;
}

static int parse_ms(const char *s, sk_ms_t *out)
{
    char *end;
    if (strcmp(s, "-") == 0) {
        *out = SK_MS_NONE;
        return 0;
    }
    long long v = strtoll(s, &end, 10);
    if (*end || end == s)
        return -1;
    *out = v;
    return 0;
}

#define MAX_WORDS 256

static int parse_item(sk_arena_t *a, const sk_state_field_t *f, sk_review_item_t *it)
{
    char *name = sk_arena_strdup(a, f->name + 2), *value = sk_arena_strdup(a, f->value);
    char *nw[4], *vw[MAX_WORDS];
    int nv, st;
    if (!name || !value)
        return SK_ENOMEM;
    memset(it, 0, sizeof(*it));
    nv = words(value, vw, MAX_WORDS);
    if (words(name, nw, 4) != 3 || parse_ms(nw[1], &it->run_ms) || nv < 7)
        return -1;
    for (st = 0; st < SK_REVIEW_STATUS_COUNT && strcmp(STATUS[st], vw[0]) != 0; st++)
        ;
    if (st == SK_REVIEW_STATUS_COUNT || parse_ms(vw[1], &it->due_ms) ||
        parse_ms(vw[2], &it->end_ms) || parse_ms(vw[4], &it->decided_ms))
        return -1;
    it->campaign = nw[0];
    it->ent_key = nw[2];
    it->status = (sk_review_status_t)st;
    it->sent = atoi(vw[3]);
    it->decider = strcmp(vw[5], "-") == 0 ? "" : vw[5];
    long n = strtol(vw[6], NULL, 10);
    if (n < 0 || n != nv - 7)
        return -1;
    it->n_assignees = (size_t)n;
    if (!(it->assignees = sk_arena_calloc(a, (size_t)n + 1, sizeof(char *))))
        return SK_ENOMEM;
    for (long i = 0; i < n; i++)
        it->assignees[i] = vw[7 + i];
    return 0;
}

int sk_reviews_parse(sk_arena_t *arena, const sk_user_state_t *st, size_t extra, sk_reviews_t *out,
                     size_t *n_bad)
{
    size_t bad = 0;
    memset(out, 0, sizeof(*out));
    out->cap_items = out->cap_runs = st->n_campaign + extra;
    out->items = sk_arena_calloc(arena, out->cap_items + 1, sizeof(*out->items));
    out->runs = sk_arena_calloc(arena, out->cap_runs + 1, sizeof(*out->runs));
    if (!out->items || !out->runs)
        return SK_ENOMEM;
    for (size_t i = 0; i < st->n_campaign; i++) {
        const sk_state_field_t *f = &st->campaign[i];
        int rc = -1;
        if (f->name[0] == 'c') {
            rc = parse_item(arena, f, &out->items[out->n_items]);
            if (rc == 0)
                out->n_items++;
        } else if (f->name[0] == 'C') {
            sk_review_run_t *r = &out->runs[out->n_runs];
            r->campaign = sk_arena_strdup(arena, f->name + 2);
            if (!r->campaign)
                return SK_ENOMEM;
            char *v = sk_arena_strdup(arena, f->value), *w[3];
            if (!v)
                return SK_ENOMEM;
            int nw = words(v, w, 3);
            r->pending = nw == 2 && strcmp(w[1], "pending") == 0;
            r->closed = nw == 2 && strcmp(w[1], "closed") == 0;
            rc = r->campaign[0] && !strchr(r->campaign, ' ') && (nw == 1 || r->pending || r->closed)
                     ? parse_ms(w[0], &r->run_ms)
                     : -1;
            if (rc == 0)
                out->n_runs++;
        }
        if (rc == SK_ENOMEM)
            return rc;
        if (rc)
            bad++;
    }
    if (n_bad)
        *n_bad = bad;
    return 0;
}

static char *fmt_item(sk_arena_t *a, const sk_review_item_t *it)
{
    size_t len = 0;
    for (size_t i = 0; i < it->n_assignees; i++)
        len += strlen(it->assignees[i]) + 1;
    char *ids = sk_arena_calloc(a, len + 1, 1), *p = ids;
    char decided[24] = "-";
    if (!ids)
        return NULL;
    for (size_t i = 0; i < it->n_assignees; i++)
        p += sprintf(p, " %s", it->assignees[i]);
    if (it->decided_ms != SK_MS_NONE)
        snprintf(decided, sizeof(decided), "%" PRId64, it->decided_ms);
    return sk_arena_sprintf(a, "%s %" PRId64 " %" PRId64 " %d %s %s %zu%s",
                            sk_review_status_name(it->status), it->due_ms, it->end_ms, it->sent,
                            decided, it->decider && it->decider[0] ? it->decider : "-",
                            it->n_assignees, ids);
}

int sk_reviews_store(sk_arena_t *arena, const sk_reviews_t *r, sk_user_state_t *st)
{
    size_t n = r->n_items + r->n_runs, k = 0;
    sk_state_field_t *f = sk_arena_calloc(arena, n + 1, sizeof(*f));
    if (!f)
        return SK_ENOMEM;
    for (size_t i = 0; i < r->n_items; i++, k++) {
        const sk_review_item_t *it = &r->items[i];
        f[k].name =
            sk_arena_sprintf(arena, "c:%s %" PRId64 " %s", it->campaign, it->run_ms, it->ent_key);
        f[k].value = fmt_item(arena, it);
    }
    for (size_t i = 0; i < r->n_runs; i++, k++) {
        f[k].name = sk_arena_sprintf(arena, "C:%s", r->runs[i].campaign);
        f[k].value = sk_arena_sprintf(arena, "%" PRId64 "%s", r->runs[i].run_ms,
                                      r->runs[i].pending  ? " pending"
                                      : r->runs[i].closed ? " closed"
                                                          : "");
    }
    for (size_t i = 0; i < n; i++) {
        if (!f[i].name || !f[i].value)
            return SK_ENOMEM;
        f[i].name_len = strlen(f[i].name);
        f[i].value_len = strlen(f[i].value);
    }
    st->campaign = f;
    st->n_campaign = n;
    return 0;
}

sk_ms_t sk_reviews_run(const sk_reviews_t *r, const char *campaign)
{
    for (size_t i = 0; i < r->n_runs; i++)
        if (strcmp(r->runs[i].campaign, campaign) == 0)
            return r->runs[i].run_ms;
    return SK_MS_NONE;
}

const char *sk_review_task_id(sk_arena_t *arena, const char *user, const sk_review_item_t *it)
{
    XXH3_state_t *st = XXH3_createState();
    char run[24];
    if (!st)
        return NULL;
    snprintf(run, sizeof(run), "%" PRId64, it->run_ms);
    XXH3_128bits_reset(st);
    XXH3_128bits_update(st, it->campaign, strlen(it->campaign) + 1);
    XXH3_128bits_update(st, run, strlen(run) + 1);
    XXH3_128bits_update(st, user, strlen(user) + 1);
    XXH3_128bits_update(st, it->ent_key, strlen(it->ent_key) + 1);
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    return sk_arena_sprintf(arena, "rv-%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64,
                            (uint64_t)h.low64);
}

const char *sk_review_run_id(sk_arena_t *arena, const char *campaign, sk_ms_t run_ms)
{
    return sk_arena_sprintf(arena, "%s@%" PRId64, campaign, run_ms);
}

bool sk_review_final(const sk_review_item_t *it, sk_ms_t now)
{
    return it->status == SK_REVIEW_REVOKED || it->status == SK_REVIEW_LEFT ||
           it->status == SK_REVIEW_ENDED || now >= it->end_ms;
}
