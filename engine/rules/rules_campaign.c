/*
 * rules_campaign.c — access review campaigns (`campaigns:`, issue 17):
 * compiled after the directory, the policies and the request blocks, whose
 * people, groups, rotations and profiles they reference; and their lookups
 * and schedule arithmetic (rules.h). Every error names file:line:column like
 * the rest of the rules; a rule set with any error is refused whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/duration.h"
#include "rules/rules_access.h"

/* Parses "2026-12-01T09:00:00Z" (UTC, seconds optional) into ms. */
static int parse_utc(const char *s, sk_ms_t *out)
{
    struct tm tm;
    int n = 0, sec = 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &n) != 5)
        return -1;
    if (s[n] == ':') {
        int m = 0;
        if (sscanf(s + n, ":%2d%n", &sec, &m) != 1)
            return -1;
        n += m;
    }
    if (strcmp(s + n, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || sec > 59 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_sec = sec;
    *out = (sk_ms_t)timegm(&tm) * 1000;
    return 0;
}

/* "#name" (no spaces) or a Slack channel id (C or G, then capitals and
 * digits). */
static int channel_ok(const char *s)
{
    if (s[0] == '#')
        return s[1] && !strpbrk(s, " \t");
    return (s[0] == 'C' || s[0] == 'G') && strlen(s) >= 3 &&
           strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == strlen(s + 1);
}

/* Adds key to the scope list (no repeats). */
static void scope_add(const char **ents, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(ents[i], key) == 0)
            return;
    ents[(*n)++] = key;
}

/* A duration field: 0 and no error when absent and optional. */
static sk_ms_t ac_dur(ac_t *c, size_t fi, const char *path, const char *field, const char *text,
                      const char *id, int required)
{
    sk_ms_t ms = 0;
    if (!text) {
        if (required)
            sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.id", path),
                        "campaign '%s' needs '%s' (a duration such as 14d)", id, field);
        return 0;
    }
    if (sk_duration_parse(text, &ms) != 0 || (required && ms <= 0))
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.%s", path, field),
                    "bad %s '%s' in campaign '%s': a duration such as 90s, 15m, 12h or 14d", field,
                    text, id);
    return ms;
}

/* The scope: entitlements named, by app and by profile; the grant kinds. */
static void ac_scope(ac_t *c, size_t fi, const char *path, const sk_raw_campaign_t *rc,
                     sk_campaign_t *k)
{
    const sk_raw_campaign_scope_t *s = rc->scope;
    size_t cap = sk_rules_entitlement_count(c->rules), n = 0;
    const char **ents = sk_ac_calloc(c, cap, sizeof(*ents));
    char where[160];

    snprintf(where, sizeof(where), "in scope of campaign '%s'", k->id);
    k->grants = SK_CAMPAIGN_GRANTS_REQUESTS;
    if (!s) {
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.id", path),
                    "campaign '%s' needs a scope (apps, entitlements or profiles)", k->id);
        return;
    }
    for (unsigned i = 0; ents && i < s->entitlements_count; i++) {
        const sk_entitlement_t *e = sk_rules_entitlement(c->rules, s->entitlements[i]);
        if (e)
            scope_add(ents, &n, e->key);
        else if (c->check_refs)
            sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.scope.entitlements[%u]", path, i),
                        "unknown entitlement '%s' %s", s->entitlements[i], where);
    }
    for (unsigned i = 0; ents && i < s->apps_count; i++) {
        size_t before = n;
        for (size_t j = 0; j < cap; j++) {
            const sk_entitlement_t *e = sk_rules_entitlement_at(c->rules, j);
            if (e && strcmp(e->app, s->apps[i]) == 0)
                scope_add(ents, &n, e->key);
        }
        if (n == before && !sk_strmap_get(&c->a->apps, s->apps[i]) && c->check_refs)
            sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "%s.scope.apps[%u]", path, i), "app", s->apps[i],
                          where, &c->a->apps);
    }
    for (unsigned i = 0; ents && i < s->profiles_count; i++) {
        const sk_profile_t *p = sk_strmap_get(&c->a->profiles, s->profiles[i]);
        if (!p) {
            if (c->check_refs)
                sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "%s.scope.profiles[%u]", path, i), "profile",
                              s->profiles[i], where, &c->a->profiles);
            continue;
        }
        for (size_t j = 0; j < p->n_entitlements; j++)
            scope_add(ents, &n, p->entitlements[j]->key);
    }
    if (s->grants_count)
        k->grants = 0;
    for (unsigned i = 0; i < s->grants_count; i++) {
        const char *g = s->grants[i];
        if (strcmp(g, "requests") == 0)
            k->grants |= SK_CAMPAIGN_GRANTS_REQUESTS;
        else if (strcmp(g, "emergency") == 0)
            k->grants |= SK_CAMPAIGN_GRANTS_EMERGENCY;
        else if (strcmp(g, "manual") == 0)
            k->grants |= SK_CAMPAIGN_GRANTS_MANUAL;
        else if (strcmp(g, "found") == 0)
            k->grants |= SK_CAMPAIGN_GRANTS_FOUND;
        else
            sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.scope.grants[%u]", path, i),
                        "unknown grant kind '%s' %s (expected requests, emergency, manual or "
                        "found)",
                        g, where);
    }
    if (s->older_than)
        k->older_than_ms = ac_dur(c, fi, path, "scope.older_than", s->older_than, k->id, 0);
    if (n == 0 && ents && !c->oom)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.scope", path),
                    "campaign '%s' has no entitlement in scope", k->id);
    k->ents = ents;
    k->n_ents = n;
}

static void ac_owners(ac_t *c, size_t fi, const char *path, const sk_raw_campaign_t *rc,
                      sk_campaign_t *k)
{
    const sk_person_t **owners = sk_ac_calloc(c, rc->owners_count, sizeof(*owners));
    char where[160];
    snprintf(where, sizeof(where), "in owners of campaign '%s'", k->id);
    if (rc->owners_count == 0)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.id", path), "campaign '%s' needs owners", k->id);
    for (unsigned i = 0; owners && i < rc->owners_count; i++) {
        const sk_person_t *p = sk_strmap_get(&c->a->people, rc->owners[i]);
        if (p)
            owners[k->n_owners++] = p;
        else if (c->check_refs)
            sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "%s.owners[%u]", path, i), "person",
                          rc->owners[i], where, &c->a->people);
    }
    k->owners = owners;
}

static void ac_schedule(ac_t *c, size_t fi, const char *path, const sk_raw_campaign_t *rc,
                        sk_campaign_t *k)
{
    if (!rc->start)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.id", path),
                    "campaign '%s' needs 'start' (UTC time such as 2026-12-01T09:00:00Z)", k->id);
    else if (parse_utc(rc->start, &k->start_ms) != 0)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.start", path),
                    "bad start '%s' in campaign '%s': UTC time such as 2026-12-01T09:00:00Z",
                    rc->start, k->id);
    k->due_after_ms = ac_dur(c, fi, path, "due_after", rc->due_after, k->id, 1);
    k->grace_ms = ac_dur(c, fi, path, "grace", rc->grace, k->id, 0);
    k->every_ms = ac_dur(c, fi, path, "every", rc->every, k->id, 0);
    if (k->every_ms && k->every_ms < k->due_after_ms + k->grace_ms)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.every", path),
                    "campaign '%s' recurs every %s, before a run ends (due_after + grace)", k->id,
                    rc->every);
    k->end_action = SK_CAMPAIGN_END_LEAVE;
    if (!rc->end_action)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.id", path),
                    "campaign '%s' needs 'end_action' (leave or revoke)", k->id);
    else if (strcmp(rc->end_action, "revoke") == 0)
        k->end_action = SK_CAMPAIGN_END_REVOKE;
    else if (strcmp(rc->end_action, "leave") != 0)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.end_action", path),
                    "bad end_action '%s' in campaign '%s' (expected leave or revoke)",
                    rc->end_action, k->id);
    k->slack_channel = sk_ac_str(c, rc->slack_channel);
    if (rc->slack_channel && !channel_ok(rc->slack_channel))
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.slack_channel", path),
                    "bad slack_channel '%s' in campaign '%s' (a channel id such as C0123ABCD, "
                    "or a name such as #access-review)",
                    rc->slack_channel, k->id);
}

void sk_ac_campaigns(ac_t *c)
{
    sk_rules_access_t *a = c->a;
    size_t total = 0;
    for (size_t fi = 0; fi < c->n_files; fi++)
        total += c->files[fi].doc ? c->files[fi].doc->campaigns_count : 0;
    if (!total || !(a->campaign = sk_ac_calloc(c, total, sizeof(*a->campaign))))
        return;
    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->campaigns_count; i++) {
            const sk_raw_campaign_t *rc = &d->campaigns[i];
            char path[32];
            snprintf(path, sizeof(path), "campaigns[%u]", i);
            if (!sk_ac_define(c, fi, "campaign", rc->id, path))
                continue;
            sk_campaign_t *k = &a->campaign[a->n_campaign++];
            const char *owner = sk_arena_sprintf(&c->tmp, "campaign '%s'", rc->id);
            k->id = sk_ac_str(c, rc->id);
            k->name = sk_ac_str(c, rc->name);
            sk_ac_put(c, &a->campaigns, k->id, k);
            ac_owners(c, fi, path, rc, k);
            ac_scope(c, fi, path, rc, k);
            if (!rc->reviewers)
                sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.id", path),
                            "campaign '%s' needs reviewers (users, group, manager, app_owner or "
                            "on_call)",
                            k->id);
            else if (!owner)
                c->oom = 1;
            else
                sk_ac_reviewers(c, fi, path, owner, rc->reviewers, &k->reviewers);
            if (rc->reviewers && rc->reviewers->on_call)
                sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.reviewers.on_call", path),
                            "campaign '%s': on_call reviewers are not supported in campaigns (a "
                            "review outlives a shift): use users, group, manager or app_owner",
                            k->id);
            if (rc->reviewers && rc->reviewers->allow_self_approval &&
                *rc->reviewers->allow_self_approval)
                sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.reviewers.allow_self_approval", path),
                            "campaign '%s': nobody reviews their own access (remove "
                            "allow_self_approval)",
                            k->id);
            ac_schedule(c, fi, path, rc, k);
        }
    }
}

static void hash_str(XXH3_state_t *st, const char *s)
{
    XXH3_128bits_update(st, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void hash_num(XXH3_state_t *st, long long v)
{
    XXH3_128bits_update(st, &v, sizeof(v));
}

void sk_ac_campaigns_hash(const sk_rules_access_t *a, void *xxh3_state)
{
    XXH3_state_t *st = xxh3_state;
    if (!a->n_campaign)
        return; /* rule sets without campaigns keep their version */
    hash_str(st, "campaigns-v1");
    for (size_t i = 0; i < a->n_campaign; i++) {
        const sk_campaign_t *k = &a->campaign[i];
        const sk_reviewers_t *r = &k->reviewers;
        hash_str(st, k->id);
        for (size_t j = 0; j < k->n_owners; j++)
            hash_str(st, k->owners[j]->id);
        for (size_t j = 0; j < k->n_ents; j++)
            hash_str(st, k->ents[j]);
        hash_num(st, k->grants);
        hash_num(st, k->older_than_ms);
        for (size_t u = 0; u < r->n_users; u++)
            hash_str(st, r->users[u]->id);
        hash_str(st, r->group ? r->group->id : "");
        hash_str(st, r->on_call ? r->on_call->id : "");
        hash_num(st, r->manager * 8 + r->app_owner * 4);
        hash_num(st, k->start_ms);
        hash_num(st, k->due_after_ms);
        hash_num(st, k->grace_ms);
        hash_num(st, k->every_ms);
        hash_num(st, k->end_action);
        hash_str(st, k->slack_channel);
    }
}

/* ---- lookups (rules.h) ---- */

size_t sk_rules_campaign_count(const sk_rules_t *rules)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a ? a->n_campaign : 0;
}

const sk_campaign_t *sk_rules_campaign_at(const sk_rules_t *rules, size_t i)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && i < a->n_campaign ? &a->campaign[i] : NULL;
}

const sk_campaign_t *sk_rules_campaign(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->campaigns, id) : NULL;
}

int sk_campaign_covers(const sk_campaign_t *c, const char *ent_key)
{
    for (size_t i = 0; i < c->n_ents; i++)
        if (strcmp(c->ents[i], ent_key) == 0)
            return 1;
    return 0;
}

int sk_campaign_is_owner(const sk_campaign_t *c, const char *who)
{
    for (size_t i = 0; i < c->n_owners; i++)
        if (strcmp(c->owners[i]->id, who) == 0)
            return 1;
    return 0;
}

sk_ms_t sk_campaign_run_at(const sk_campaign_t *c, sk_ms_t now)
{
    if (now < c->start_ms)
        return SK_MS_NONE;
    if (c->every_ms <= 0)
        return c->start_ms;
    return c->start_ms + (now - c->start_ms) / c->every_ms * c->every_ms;
}

sk_ms_t sk_campaign_next_run(const sk_campaign_t *c, sk_ms_t now)
{
    if (now < c->start_ms)
        return c->start_ms;
    if (c->every_ms <= 0)
        return SK_MS_NONE;
    sk_ms_t run = sk_campaign_run_at(c, now);
    return run > SK_MS_NONE - c->every_ms ? SK_MS_NONE : run + c->every_ms;
}
