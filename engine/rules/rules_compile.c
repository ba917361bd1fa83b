/*
 * rules_compile.c — checks a loaded rule set as a whole and compiles it
 * (rules.h, rules_pos.h).
 *
 * Every semantic error is collected, across all files: missing or invalid
 * ids, duplicates (naming where the first one is), bad durations, empty
 * profiles and enrollments, unknown references with a did-you-mean. When a
 * file failed structurally, unknown-reference checks are skipped because
 * they would cascade from what could not be read.
 *
 * The compiled rule set owns one arena that holds every entitlement,
 * rotation, edge and string; two string maps index rotations by id and
 * entitlements by "app/entitlement" key. Profiles and enrollments exist only
 * while compiling: they are flattened into the rotations' edges.
 */
#include "rules/rules_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define RULES_LEVEL_MAX 100

/* Where something was first defined, for duplicate messages. */
typedef struct cc_origin {
    const char *file;
    sk_pos_t pos;
} cc_origin_t;

/* A profile while compiling: its entitlements resolved (NULL if unknown). */
typedef struct cc_profile {
    const char *id;
    const sk_entitlement_t **ents;
    size_t n_ents;
    cc_origin_t origin;
} cc_profile_t;

/* A checked enrollment, ready to flatten. */
typedef struct cc_enroll {
    const char *id;
    sk_rotation_t **rots;
    size_t n_rots;
    const cc_profile_t **profiles;
    size_t n_profiles;
    sk_ms_t before, after;
    int level;
} cc_enroll_t;

typedef struct cc {
    sk_rules_t *r;
    const sk_rules_file_t *files;
    size_t n_files;
    int check_refs; /* 0 after a structural failure */
    sk_rules_errors_t *errs;
    size_t errs_before;
    int oom;
    sk_arena_t tmp;         /* compile-time only */
    sk_strmap_t app_origin; /* app id -> cc_origin_t* */
    sk_strmap_t ent_origin; /* key -> cc_origin_t* */
    sk_strmap_t rot_origin; /* rotation id -> cc_origin_t* */
    sk_strmap_t profiles;   /* id -> cc_profile_t* */
    sk_strmap_t enr_origin; /* enrollment id -> cc_origin_t* */
    cc_enroll_t *enrolls;
    size_t n_enrolls;
} cc_t;

/* ---- helpers ----------------------------------------------------------- */

static sk_pos_t cc_pos(const cc_t *c, size_t fi, int want_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Position of a path in file fi (see sk_pos_index_at). */
static sk_pos_t cc_pos(const cc_t *c, size_t fi, int want_key, const char *fmt, ...)
{
    char path[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return sk_pos_index_at(&c->files[fi].pos, want_key, "%s", path);
}

static void cc_error(cc_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds an error at `at` in file fi. */
static void cc_error(cc_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (sk_rules_errors_vadd(c->errs, c->files[fi].path, at.line, at.col, fmt, ap) != 0)
        c->oom = 1;
    va_end(ap);
}

/*
 * Checks the id of entry `path` (e.g. "apps[3]") in file fi: present and
 * well-formed. `kind` names the entry in messages. Returns 1 when usable.
 */
static int cc_check_id(cc_t *c, size_t fi, const char *kind, const char *id, const char *path)
{
    if (!id || !*id) {
        cc_error(c, fi, cc_pos(c, fi, !id ? 0 : 1, "%s%s", path, !id ? "" : ".id"),
                 "missing required field 'id' in %s", kind);
        return 0;
    }
    if (!sk_rules_id_syntax_ok(id)) {
        cc_error(c, fi, cc_pos(c, fi, 0, "%s.id", path),
                 "invalid %s id '%s': use lowercase letters, digits, '_', "
                 "'.' and '-', starting with a letter or digit, at most %d "
                 "characters",
                 kind, id, SK_RULES_ID_MAX);
        return 0;
    }
    return 1;
}

/*
 * Registers `key` in the origin map `m`. Returns 1 when new; 0 after
 * reporting "duplicate <kind> 'key' (first defined at ...)".
 */
static int cc_unique(cc_t *c, sk_strmap_t *m, size_t fi, const char *kind, const char *key,
                     sk_pos_t at)
{
    cc_origin_t *o = sk_strmap_get(m, key);
    char *kcopy;

    if (o) {
        cc_error(c, fi, at, "duplicate %s '%s' (first defined at %s:%d:%d)", kind, key, o->file,
                 o->pos.line, o->pos.col);
        return 0;
    }
    o = sk_arena_calloc(&c->tmp, 1, sizeof(*o));
    kcopy = sk_arena_strdup(&c->tmp, key);
    if (!o || !kcopy || sk_strmap_put(m, kcopy, o) != 0) {
        c->oom = 1;
        return 0;
    }
    o->file = c->files[fi].path;
    o->pos = at;
    return 1;
}

/* Reports an unknown reference with a suggestion when there is one. */
static void cc_unknown(cc_t *c, size_t fi, sk_pos_t at, const char *kind, const char *ref,
                       const char *in_kind, const char *in_id, const sk_strmap_t *known)
{
    const char *hint = sk_rules_suggest_map(known, ref);

    if (hint)
        cc_error(c, fi, at, "unknown %s '%s' in %s '%s' (did you mean '%s'?)", kind, ref, in_kind,
                 in_id, hint);
    else
        cc_error(c, fi, at, "unknown %s '%s' in %s '%s'", kind, ref, in_kind, in_id);
}

/*
 * Parses the duration `text` of field `field` at `path` into *out.
 * Absent text gives `dflt` (or an error when dflt < 0: required).
 * Returns 1 when *out is usable.
 */
static int cc_duration(cc_t *c, size_t fi, const char *text, const char *field, const char *path,
                       const char *kind, const char *id, sk_ms_t dflt, sk_ms_t *out)
{
    if (!text) {
        if (dflt >= 0) {
            *out = dflt;
            return 1;
        }
        cc_error(c, fi, cc_pos(c, fi, 0, "%s", path),
                 "missing required field '%s' in %s '%s' (every grant has an "
                 "end)",
                 field, kind, id);
        return 0;
    }
    if (sk_duration_parse(text, out) != 0) {
        cc_error(c, fi, cc_pos(c, fi, 0, "%s.%s", path, field),
                 "bad duration '%s' for '%s': use a number and a unit: 90s, "
                 "15m, 12h, 7d",
                 text, field);
        return 0;
    }
    return 1;
}

static const char *cc_str(cc_t *c, const char *s)
{
    char *copy = sk_arena_strdup(&c->r->arena, s ? s : "");
    if (!copy)
        c->oom = 1;
    return copy ? copy : "";
}

/* ---- checks, one kind at a time ---------------------------------------- */

/* Checks one entitlement of app `app` and, when valid, compiles it. */
static void cc_entitlement(cc_t *c, size_t fi, const char *app, unsigned ai, unsigned ei,
                           const sk_raw_ent_t *re)
{
    char path[64], key[2 * SK_RULES_ID_MAX + 2];
    sk_ms_t max = 0;
    sk_entitlement_t *e;
    int ok;

    snprintf(path, sizeof(path), "apps[%u].entitlements[%u]", ai, ei);
    if (!cc_check_id(c, fi, "entitlement", re->id, path))
        return;
    snprintf(key, sizeof(key), "%s/%s", app, re->id);
    ok = cc_unique(c, &c->ent_origin, fi, "entitlement", key, cc_pos(c, fi, 0, "%s.id", path));
    if (!cc_duration(c, fi, re->max_duration, "max_duration", path, "entitlement", key, -1, &max))
        return;
    if (max == 0) {
        cc_error(c, fi, cc_pos(c, fi, 0, "%s.max_duration", path),
                 "max_duration of entitlement '%s' must be greater than 0: "
                 "every grant has an end",
                 key);
        return;
    }
    if (!ok)
        return;
    e = &c->r->ent[c->r->n_ent++];
    e->key = cc_str(c, key);
    e->app = cc_str(c, app);
    e->id = cc_str(c, re->id);
    e->name = cc_str(c, re->name);
    e->resource = cc_str(c, re->resource);
    e->permission = cc_str(c, re->permission);
    e->max_duration_ms = max;
    if (sk_strmap_put(&c->r->ents, e->key, e) != 0)
        c->oom = 1;
}

static void cc_apps(cc_t *c, size_t fi, const sk_raw_doc_t *d)
{
    for (unsigned ai = 0; ai < d->apps_count; ai++) {
        const sk_raw_app_t *a = &d->apps[ai];
        char path[32];

        snprintf(path, sizeof(path), "apps[%u]", ai);
        if (!cc_check_id(c, fi, "app", a->id, path))
            continue;
        if (!cc_unique(c, &c->app_origin, fi, "app", a->id, cc_pos(c, fi, 0, "%s.id", path)))
            continue; /* its entitlements would only repeat the error */
        c->r->stats.apps++;
        for (unsigned ei = 0; ei < a->entitlements_count; ei++)
            cc_entitlement(c, fi, a->id, ai, ei, &a->entitlements[ei]);
    }
}

static const char *const cc_platforms[] = {"pagerduty", "opsgenie", "ical", "manual"};

static void cc_rotations(cc_t *c, size_t fi, const sk_raw_doc_t *d)
{
    for (unsigned i = 0; i < d->rotations_count; i++) {
        const sk_raw_rot_t *rr = &d->rotations[i];
        char path[32];
        sk_rotation_t *rot;
        int ok = 1;

        snprintf(path, sizeof(path), "rotations[%u]", i);
        if (!cc_check_id(c, fi, "rotation", rr->id, path))
            continue;
        if (rr->platform) {
            size_t k = 0;
            while (k < SK_ARRAY_LEN(cc_platforms) && strcmp(rr->platform, cc_platforms[k]) != 0)
                k++;
            if (k == SK_ARRAY_LEN(cc_platforms)) {
                const char *hint =
                    sk_rules_suggest(rr->platform, cc_platforms, SK_ARRAY_LEN(cc_platforms));
                cc_error(c, fi, cc_pos(c, fi, 0, "%s.platform", path),
                         "unknown platform '%s' in rotation '%s' (%s%s%s)", rr->platform, rr->id,
                         hint ? "did you mean '"
                              : "expected pagerduty, "
                                "opsgenie, ical or manual",
                         hint ? hint : "", hint ? "'?" : "");
                ok = 0;
            }
        }
        if (!cc_unique(c, &c->rot_origin, fi, "rotation", rr->id,
                       cc_pos(c, fi, 0, "%s.id", path)) ||
            !ok)
            continue;
        rot = &c->r->rot[c->r->n_rot++];
        rot->id = cc_str(c, rr->id);
        rot->name = cc_str(c, rr->name);
        rot->platform = cc_str(c, rr->platform);
        rot->external_id = cc_str(c, rr->external_id);
        if (sk_strmap_put(&c->r->rotations, rot->id, rot) != 0)
            c->oom = 1;
    }
}

static void cc_profiles(cc_t *c, size_t fi, const sk_raw_doc_t *d)
{
    for (unsigned i = 0; i < d->profiles_count; i++) {
        const sk_raw_profile_t *rp = &d->profiles[i];
        char path[32];
        cc_profile_t *p;
        sk_pos_t at;

        snprintf(path, sizeof(path), "profiles[%u]", i);
        if (!cc_check_id(c, fi, "profile", rp->id, path))
            continue;
        at = cc_pos(c, fi, 0, "%s.id", path);
        if (rp->entitlements_count == 0)
            cc_error(c, fi, at, "profile '%s' has no entitlements", rp->id);
        if (sk_strmap_get(&c->profiles, rp->id)) {
            const cc_profile_t *first = sk_strmap_get(&c->profiles, rp->id);
            cc_error(c, fi, at,
                     "duplicate profile '%s' (first defined at "
                     "%s:%d:%d)",
                     rp->id, first->origin.file, first->origin.pos.line, first->origin.pos.col);
            continue;
        }
        p = sk_arena_calloc(&c->tmp, 1, sizeof(*p));
        if (p)
            p->ents = sk_arena_calloc(&c->tmp, rp->entitlements_count + 1, sizeof(*p->ents));
        if (!p || !p->ents || !(p->id = sk_arena_strdup(&c->tmp, rp->id)) ||
            sk_strmap_put(&c->profiles, p->id, p) != 0) {
            c->oom = 1;
            return;
        }
        p->origin.file = c->files[fi].path;
        p->origin.pos = at;
        for (unsigned k = 0; k < rp->entitlements_count; k++) {
            const char *ref = rp->entitlements[k];
            const sk_entitlement_t *e = sk_strmap_get(&c->r->ents, ref);
            if (!e && c->check_refs && !sk_strmap_get(&c->ent_origin, ref))
                cc_unknown(c, fi, cc_pos(c, fi, 0, "%s.entitlements[%u]", path, k), "entitlement",
                           ref, "profile", rp->id, &c->ent_origin);
            p->ents[p->n_ents++] = e;
        }
    }
}

/* Resolves the rotation and profile lists of one enrollment into ce. */
static void cc_enroll_refs(cc_t *c, size_t fi, const char *path, const sk_raw_enroll_t *re,
                           cc_enroll_t *ce)
{
    for (unsigned k = 0; k < re->rotations_count; k++) {
        sk_rotation_t *rot = sk_strmap_get(&c->r->rotations, re->rotations[k]);
        if (rot)
            ce->rots[ce->n_rots++] = rot;
        else if (c->check_refs && !sk_strmap_get(&c->rot_origin, re->rotations[k]))
            cc_unknown(c, fi, cc_pos(c, fi, 0, "%s.rotations[%u]", path, k), "rotation",
                       re->rotations[k], "enrollment", re->id, &c->rot_origin);
    }
    for (unsigned k = 0; k < re->profiles_count; k++) {
        const cc_profile_t *p = sk_strmap_get(&c->profiles, re->profiles[k]);
        if (p)
            ce->profiles[ce->n_profiles++] = p;
        else if (c->check_refs)
            cc_unknown(c, fi, cc_pos(c, fi, 0, "%s.profiles[%u]", path, k), "profile",
                       re->profiles[k], "enrollment", re->id, &c->profiles);
    }
}

static void cc_enrollments(cc_t *c, size_t fi, const sk_raw_doc_t *d)
{
    for (unsigned i = 0; i < d->enrollments_count; i++) {
        const sk_raw_enroll_t *re = &d->enrollments[i];
        char path[32];
        cc_enroll_t *ce = &c->enrolls[c->n_enrolls];
        sk_pos_t at;
        int ok;

        snprintf(path, sizeof(path), "enrollments[%u]", i);
        if (!cc_check_id(c, fi, "enrollment", re->id, path))
            continue;
        at = cc_pos(c, fi, 0, "%s.id", path);
        ok = cc_unique(c, &c->enr_origin, fi, "enrollment", re->id, at);
        if (re->rotations_count == 0) {
            cc_error(c, fi, at, "enrollment '%s' lists no rotations", re->id);
            ok = 0;
        }
        if (re->profiles_count == 0) {
            cc_error(c, fi, at, "enrollment '%s' lists no profiles", re->id);
            ok = 0;
        }
        ok &= cc_duration(c, fi, re->grant_before, "grant_before", path, "enrollment", re->id, 0,
                          &ce->before);
        ok &= cc_duration(c, fi, re->revoke_after, "revoke_after", path, "enrollment", re->id, 0,
                          &ce->after);
        if (re->max_escalation_level && *re->max_escalation_level > RULES_LEVEL_MAX) {
            cc_error(c, fi, cc_pos(c, fi, 0, "%s.max_escalation_level", path),
                     "max_escalation_level %u is too large (at most %d; 0 "
                     "means every level)",
                     *re->max_escalation_level, RULES_LEVEL_MAX);
            ok = 0;
        }
        ce->id = cc_str(c, re->id);
        ce->level = re->max_escalation_level ? (int)*re->max_escalation_level : 0;
        ce->rots = sk_arena_calloc(&c->tmp, re->rotations_count + 1, sizeof(*ce->rots));
        ce->profiles = sk_arena_calloc(&c->tmp, re->profiles_count + 1, sizeof(*ce->profiles));
        if (!ce->rots || !ce->profiles) {
            c->oom = 1;
            return;
        }
        cc_enroll_refs(c, fi, path, re, ce);
        if (ok)
            c->n_enrolls++;
    }
}

/* ---- flattening and fingerprint ---------------------------------------- */

/* Builds every rotation's edges, in enrollment, rotation, profile,
 * entitlement declaration order. Two passes: count, then fill. */
static void cc_flatten(cc_t *c)
{
    sk_rules_t *r = c->r;
    size_t *fill = calloc(r->n_rot + 1, sizeof(*fill));

    if (!fill) {
        c->oom = 1;
        goto out;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < c->n_enrolls; i++) {
            const cc_enroll_t *ce = &c->enrolls[i];
            for (size_t ri = 0; ri < ce->n_rots; ri++) {
                sk_rotation_t *rot = ce->rots[ri];
                size_t slot = (size_t)(rot - r->rot);
                for (size_t pi = 0; pi < ce->n_profiles; pi++) {
                    const cc_profile_t *p = ce->profiles[pi];
                    for (size_t ei = 0; ei < p->n_ents; ei++) {
                        sk_enrollment_edge_t *e;
                        if (pass == 0) {
                            rot->n_edges++;
                            continue;
                        }
                        e = (sk_enrollment_edge_t *)&rot->edges[fill[slot]++];
                        e->ent = p->ents[ei];
                        e->enrollment = ce->id;
                        e->profile = cc_str(c, p->id);
                        e->grant_before_ms = ce->before;
                        e->revoke_after_ms = ce->after;
                        e->max_escalation_level = ce->level;
                    }
                }
            }
        }
        for (size_t i = 0; pass == 0 && i < r->n_rot; i++) {
            r->rot[i].edges =
                sk_arena_calloc(&r->arena, r->rot[i].n_edges + 1, sizeof(sk_enrollment_edge_t));
            if (!r->rot[i].edges) {
                c->oom = 1;
                goto out;
            }
        }
    }
out:
    free(fill);
}

static void cc_hash_str(XXH3_state_t *st, const char *s)
{
    XXH3_128bits_update(st, s, strlen(s) + 1); /* with the NUL: unambiguous */
}

static void cc_hash_num(XXH3_state_t *st, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    XXH3_128bits_update(st, buf, (size_t)n + 1);
}

/* Fingerprint of the compiled content (not of comments or layout). */
static int cc_version(sk_rules_t *r)
{
    XXH3_state_t *st = XXH3_createState();
    XXH128_hash_t h;

    if (!st)
        return SK_ENOMEM;
    XXH3_128bits_reset(st);
    cc_hash_str(st, "shiftkey-rules-v1");
    for (size_t i = 0; i < r->n_ent; i++) {
        const sk_entitlement_t *e = &r->ent[i];
        cc_hash_str(st, e->key);
        cc_hash_str(st, e->name);
        cc_hash_str(st, e->resource);
        cc_hash_str(st, e->permission);
        cc_hash_num(st, e->max_duration_ms);
    }
    for (size_t i = 0; i < r->n_rot; i++) {
        const sk_rotation_t *rot = &r->rot[i];
        cc_hash_str(st, rot->id);
        cc_hash_str(st, rot->name);
        cc_hash_str(st, rot->platform);
        cc_hash_str(st, rot->external_id);
        for (size_t k = 0; k < rot->n_edges; k++) {
            const sk_enrollment_edge_t *e = &rot->edges[k];
            cc_hash_str(st, e->ent->key);
            cc_hash_str(st, e->enrollment);
            cc_hash_str(st, e->profile);
            cc_hash_num(st, e->grant_before_ms);
            cc_hash_num(st, e->revoke_after_ms);
            cc_hash_num(st, e->max_escalation_level);
        }
    }
    if (r->access)
        sk_rules_access_hash(r->access, st);
    h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    snprintf(r->version, sizeof(r->version), "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
    return 0;
}

/* ---- entry points ------------------------------------------------------ */

/* Sizes the arrays of r for every file's declarations. */
static int cc_alloc(cc_t *c)
{
    size_t n_ent = 0, n_rot = 0, n_enr = 0;

    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        if (!d)
            continue;
        for (unsigned i = 0; i < d->apps_count; i++)
            n_ent += d->apps[i].entitlements_count;
        n_rot += d->rotations_count;
        n_enr += d->enrollments_count;
    }
    c->r->ent = sk_arena_calloc(&c->r->arena, n_ent + 1, sizeof(*c->r->ent));
    c->r->rot = sk_arena_calloc(&c->r->arena, n_rot + 1, sizeof(*c->r->rot));
    c->enrolls = sk_arena_calloc(&c->tmp, n_enr + 1, sizeof(*c->enrolls));
    return c->r->ent && c->r->rot && c->enrolls ? 0 : SK_ENOMEM;
}

sk_rules_t *sk_rules_compile(const sk_rules_file_t *files, size_t n_files, int structural_failure,
                             sk_rules_errors_t *errs)
{
    cc_t c;
    sk_rules_t *r = calloc(1, sizeof(*r));

    memset(&c, 0, sizeof(c));
    c.files = files;
    c.n_files = n_files;
    c.check_refs = !structural_failure;
    c.errs = errs;
    c.errs_before = errs->count;
    sk_arena_init(&c.tmp, 16384);
    sk_strmap_init(&c.app_origin);
    sk_strmap_init(&c.ent_origin);
    sk_strmap_init(&c.rot_origin);
    sk_strmap_init(&c.profiles);
    sk_strmap_init(&c.enr_origin);
    if (!r) {
        c.oom = 1;
        goto out;
    }
    c.r = r;
    sk_arena_init(&r->arena, 16384);
    sk_strmap_init(&r->rotations);
    sk_strmap_init(&r->ents);
    if (cc_alloc(&c) != 0) {
        c.oom = 1;
        goto out;
    }
    /* definitions first, in every file, so references may point anywhere */
    for (size_t fi = 0; fi < n_files; fi++) {
        if (files[fi].doc) {
            cc_apps(&c, fi, files[fi].doc);
            cc_rotations(&c, fi, files[fi].doc);
        }
    }
    for (size_t fi = 0; fi < n_files; fi++)
        if (files[fi].doc)
            cc_profiles(&c, fi, files[fi].doc);
    for (size_t fi = 0; fi < n_files; fi++)
        if (files[fi].doc)
            cc_enrollments(&c, fi, files[fi].doc);
    if (!c.oom)
        r->access = sk_rules_access_compile(r, files, n_files, c.check_refs, errs, &c.oom);
    if (c.oom || structural_failure || errs->count > c.errs_before)
        goto out;
    cc_flatten(&c);
    if (c.oom || cc_version(r) != 0) {
        c.oom = 1;
        goto out;
    }
    r->stats.files = n_files;
    r->stats.entitlements = r->n_ent;
    r->stats.rotations = r->n_rot;
    r->stats.profiles = sk_strmap_count(&c.profiles);
    r->stats.enrollments = c.n_enrolls;
out:
    if (c.oom)
        sk_rules_errors_add(errs, n_files ? files[0].path : "(rules)", 0, 0,
                            "out of memory while compiling rules");
    if (r && (c.oom || structural_failure || errs->count > c.errs_before)) {
        sk_rules_destroy(r);
        r = NULL;
    }
    sk_strmap_fini(&c.app_origin);
    sk_strmap_fini(&c.ent_origin);
    sk_strmap_fini(&c.rot_origin);
    sk_strmap_fini(&c.profiles);
    sk_strmap_fini(&c.enr_origin);
    sk_arena_fini(&c.tmp);
    return r;
}

void sk_rules_destroy(sk_rules_t *rules)
{
    if (!rules)
        return;
    sk_strmap_fini(&rules->rotations);
    sk_strmap_fini(&rules->ents);
    sk_rules_access_destroy(rules->access);
    sk_arena_fini(&rules->arena);
    free(rules);
}
