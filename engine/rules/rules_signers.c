/*
 * rules_signers.c — compiles `identity:`, `signing_window:` and `signers:`
 * (rules/README.md, "Signers") into the sk_signers_t of the rule set, after
 * the directory (person signers and vouches_for name people and groups).
 *
 *   identity: signed | unsigned-demo      (default signed; one file sets it)
 *   signing_window: 5m                    (default 5m; > 0, at most 1d)
 *   signers:
 *     - id: carol@example.com             # a person: signs only as carol
 *       public_keys: ["<base64 Ed25519>"]
 *     - id: slack                         # a front: vouches for a set
 *       front: true
 *       public_keys: ["...", "..."]       # several while a key is rotated
 *       vouches_for: [group:oncall, erin@example.com]   # or [everyone]
 */
#include <stdio.h>
#include <string.h>

#include "rules/rules_access.h"
#include "rules/signers.h"

#define MAX_WINDOW_MS (24LL * 3600 * 1000)

/* `identity` and `signing_window`: at most one file sets each. */
static void ac_identity(ac_t *c, sk_signers_t *s)
{
    int id_fi = -1, win_fi = -1;
    s->mode = SK_IDENTITY_SIGNED;
    s->window_ms = SK_SIGNING_WINDOW_DEFAULT_MS;
    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        if (d && d->identity) {
            sk_pos_t at = sk_ac_pos(c, fi, "identity");
            if (id_fi >= 0)
                sk_ac_error(c, fi, at, "identity is set twice (first in %s)", c->files[id_fi].path);
            else if (strcmp(d->identity, "signed") == 0)
                s->mode = SK_IDENTITY_SIGNED;
            else if (strcmp(d->identity, "unsigned-demo") == 0)
                s->mode = SK_IDENTITY_UNSIGNED_DEMO;
            else
                sk_ac_error(c, fi, at,
                            "bad identity '%s': use signed (the default) or unsigned-demo",
                            d->identity);
            id_fi = (int)fi;
        }
        if (d && d->signing_window) {
            sk_pos_t at = sk_ac_pos(c, fi, "signing_window");
            sk_ms_t w = 0;
            if (win_fi >= 0)
                sk_ac_error(c, fi, at, "signing_window is set twice (first in %s)",
                            c->files[win_fi].path);
            else if (sk_duration_parse(d->signing_window, &w) != 0 || w <= 0 || w > MAX_WINDOW_MS)
                sk_ac_error(c, fi, at,
                            "bad signing_window '%s': a duration greater than 0 and at most 1d, "
                            "e.g. 5m",
                            d->signing_window);
            else
                s->window_ms = w;
            win_fi = (int)fi;
        }
    }
}

/* One `vouches_for` entry: everyone, group:<id> or a person id. */
static void ac_vouch(ac_t *c, size_t fi, const char *path, unsigned k, const char *v,
                     const char *signer)
{
    sk_pos_t at = sk_ac_pos(c, fi, "%s.vouches_for[%u]", path, k);
    char where[128];
    snprintf(where, sizeof(where), "in vouches_for of signer '%.64s'", signer);
    if (strcmp(v, "everyone") == 0)
        return;
    if (strncmp(v, "group:", 6) == 0) {
        if (c->check_refs && !sk_strmap_get(&c->a->groups, v + 6))
            sk_ac_unknown(c, fi, at, "group", v + 6, where, &c->a->groups);
        return;
    }
    if (c->check_refs && !sk_strmap_get(&c->a->people, v))
        sk_ac_unknown(c, fi, at, "person", v, where, &c->a->people);
}

/* One entry of `signers`; 1 when it was compiled into *out. */
static int ac_signer(ac_t *c, size_t fi, unsigned i, const sk_raw_signer_t *rs, sk_strmap_t *seen,
                     sk_signer_t *out)
{
    char path[32];
    snprintf(path, sizeof(path), "signers[%u]", i);
    sk_pos_t at = sk_ac_pos(c, fi, "%s", path);
    bool front = rs->front && *rs->front;
    if (!rs->id || !*rs->id) {
        sk_ac_error(c, fi, at, "missing required field 'id' in signer");
        return 0;
    }
    sk_pos_t id_at = sk_ac_pos(c, fi, "%s.id", path);
    if (!sk_id_valid(rs->id, strlen(rs->id)) || strlen(rs->id) > SK_KEY_SIGNER_MAX) {
        sk_ac_error(c, fi, id_at, "invalid signer id '%s': printable characters without spaces",
                    rs->id);
        return 0;
    }
    ac_origin_t *o = sk_strmap_get(seen, rs->id);
    if (o) {
        sk_ac_error(c, fi, id_at, "duplicate signer '%s' (first defined at %s:%d:%d)", rs->id,
                    o->file, o->pos.line, o->pos.col);
        return 0;
    }
    if ((o = sk_arena_calloc(&c->tmp, 1, sizeof(*o))) == NULL) {
        c->oom = 1;
        return 0;
    }
    o->file = c->files[fi].path;
    o->pos = id_at;
    sk_ac_put(c, seen, rs->id, o);
    if (!front && c->check_refs && !sk_strmap_get(&c->a->people, rs->id)) {
        sk_ac_unknown(c, fi, id_at, "person", rs->id,
                      "as signer (a signer that is not a person needs front: true)", &c->a->people);
        return 0;
    }
    if (front && sk_strmap_get(&c->a->people, rs->id)) {
        sk_ac_error(c, fi, id_at,
                    "front '%s' has the id of a person: a front would act as that person; "
                    "give the front its own id",
                    rs->id);
        return 0;
    }
    if (front && rs->vouches_for_count == 0) {
        sk_ac_error(c, fi, at, "front '%s' vouches for nobody: set vouches_for", rs->id);
        return 0;
    }
    if (!front && rs->vouches_for_count) {
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.vouches_for", path),
                    "signer '%s' is a person and vouches only for itself: vouches_for needs "
                    "front: true",
                    rs->id);
        return 0;
    }
    if (rs->public_keys_count == 0) {
        sk_ac_error(c, fi, at, "signer '%s' has no public_keys", rs->id);
        return 0;
    }
    unsigned char(*keys)[SK_KEY_PUBLIC_LEN] =
        sk_ac_calloc(c, rs->public_keys_count, SK_KEY_PUBLIC_LEN);
    const char **vouches = sk_ac_calloc(c, rs->vouches_for_count, sizeof(*vouches));
    if (!keys || !vouches)
        return 0;
    int ok = 1;
    for (unsigned k = 0; k < rs->public_keys_count; k++) {
        if (sk_keyfile_public_decode(rs->public_keys[k], keys[k]) != 0) {
            sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.public_keys[%u]", path, k),
                        "bad public key of signer '%s': expected 32 bytes in base64 (44 "
                        "characters, as `shiftkey keygen` prints)",
                        rs->id);
            ok = 0;
        }
    }
    for (unsigned k = 0; k < rs->vouches_for_count; k++) {
        ac_vouch(c, fi, path, k, rs->vouches_for[k], rs->id);
        vouches[k] = sk_ac_str(c, rs->vouches_for[k]);
    }
    *out = (sk_signer_t){.id = sk_ac_str(c, rs->id),
                         .front = front,
                         .n_keys = rs->public_keys_count,
                         .keys = (const unsigned char(*)[SK_KEY_PUBLIC_LEN])keys,
                         .n_vouches = rs->vouches_for_count,
                         .vouches_for = vouches};
    return ok;
}

void sk_ac_signers(ac_t *c)
{
    sk_signers_t *s = &c->a->signers;
    size_t n = 0;
    sk_strmap_t seen;
    sk_signer_t *list;

    ac_identity(c, s);
    for (size_t fi = 0; fi < c->n_files; fi++)
        if (c->files[fi].doc)
            n += c->files[fi].doc->signers_count;
    if (!(list = sk_ac_calloc(c, n, sizeof(*list))))
        return;
    sk_strmap_init(&seen);
    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->signers_count; i++)
            if (ac_signer(c, fi, i, &d->signers[i], &seen, &list[s->n]))
                s->n++;
    }
    sk_strmap_fini(&seen);
    s->signers = list;
}

const sk_signers_t *sk_rules_signers(const sk_rules_t *rules)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a ? &a->signers : NULL;
}
