/*
 * changelog.c — ChangelogRecord <-> framed Avro (see changelog.h). Times
 * "none" (SK_MS_NONE) are written as -1 and read back as SK_MS_NONE.
 */
#define SK_CODEC_INTERNAL
#include "codec/changelog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Sets field `name` of rec; *rc keeps the first failure. */
static avro_value_t *field_of(avro_value_t *rec, const char *name, avro_value_t *v, int *rc)
{
    if (*rc == 0 && avro_value_get_by_name(rec, name, v, NULL) != 0)
        *rc = SK_EINVAL;
    return *rc ? NULL : v;
}

static void check(int avro_rc, int *rc)
{
    if (avro_rc && !*rc)
        *rc = avro_rc == ENOMEM ? SK_ENOMEM : SK_EINVAL;
}

static int64_t time_out(sk_ms_t t)
{
    return t == SK_MS_NONE ? -1 : t;
}
static sk_ms_t time_in(int64_t t)
{
    return t < 0 ? SK_MS_NONE : t;
}

int sk_codec_encode_changelog(sk_codec_t *codec, const sk_changelog_record_t *r, sk_arena_t *arena,
                              void **out, size_t *out_len)
{
    avro_value_t *rec = sk_codec_value_for_write(codec, SK_CODEC_CHANGELOG);
    avro_value_t v, arr, item, f;
    int rc = 0;
    if (field_of(rec, "seq", &v, &rc))
        check(avro_value_set_long(&v, r->seq), &rc);
    if (field_of(rec, "partition", &v, &rc))
        check(avro_value_set_int(&v, r->partition), &rc);
    if (field_of(rec, "user", &v, &rc))
        check(avro_value_set_string(&v, r->user ? r->user : ""), &rc);
    if (field_of(rec, "keep_until", &v, &rc))
        check(avro_value_set_long(&v, time_out(r->keep_until_ms)), &rc);
    if (field_of(rec, "next_wake", &v, &rc))
        check(avro_value_set_long(&v, time_out(r->next_wake_ms)), &rc);
    if (field_of(rec, "fields", &arr, &rc)) {
        for (size_t i = 0; i < r->n_fields && !rc; i++) {
            const sk_changelog_field_t *sf = &r->fields[i];
            check(avro_value_append(&arr, &item, NULL), &rc);
            if (field_of(&item, "name", &f, &rc))
                check(
                    avro_value_set_bytes(&f, (void *)(sf->name_len ? sf->name : ""), sf->name_len),
                    &rc);
            if (field_of(&item, "value", &f, &rc))
                check(avro_value_set_bytes(&f, (void *)(sf->value_len ? sf->value : ""),
                                           sf->value_len),
                      &rc);
        }
    }
    if (field_of(rec, "offsets", &arr, &rc)) {
        for (size_t i = 0; i < r->n_offsets && !rc; i++) {
            check(avro_value_append(&arr, &item, NULL), &rc);
            if (field_of(&item, "topic", &f, &rc))
                check(avro_value_set_string(&f, r->offsets[i].topic), &rc);
            if (field_of(&item, "offset", &f, &rc))
                check(avro_value_set_long(&f, r->offsets[i].offset), &rc);
        }
    }
    if (rc) {
        fprintf(stderr, "shiftkey: codec: ChangelogRecord: %s\n", avro_strerror());
        return rc;
    }
    return sk_codec_write_framed(codec, SK_CODEC_CHANGELOG, arena, out, out_len);
}

/* Copies a bytes value into arena memory, NUL-terminated. */
static int copy_bytes(avro_value_t *v, sk_arena_t *a, const char **out, size_t *len)
{
    const void *b = NULL;
    size_t n = 0;
    char *c;
    if (avro_value_get_bytes(v, &b, &n) != 0)
        return SK_EPARSE;
    if (!(c = sk_arena_alloc(a, n + 1)))
        return SK_ENOMEM;
    if (n)
        memcpy(c, b, n);
    c[n] = '\0';
    *out = c;
    *len = n;
    return 0;
}

/* Copies a string value into arena memory. */
static int copy_string(avro_value_t *v, sk_arena_t *a, const char **out)
{
    const char *s = NULL;
    size_t n = 0;
    if (avro_value_get_string(v, &s, &n) != 0)
        return SK_EPARSE;
    return (*out = sk_arena_strndup(a, s, n ? n - 1 : 0)) ? 0 : SK_ENOMEM;
}

/* The elements of array field `name` of rec, allocated in arena. */
static int read_fields(avro_value_t *rec, sk_arena_t *a, sk_changelog_record_t *r)
{
    avro_value_t arr, item, f;
    size_t n = 0;
    int rc = 0;
    if (!field_of(rec, "fields", &arr, &rc) || avro_value_get_size(&arr, &n) != 0)
        return SK_EPARSE;
    sk_changelog_field_t *fs = sk_arena_calloc(a, n + 1, sizeof(*fs));
    if (!fs)
        return SK_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        if (avro_value_get_by_index(&arr, i, &item, NULL) != 0)
            return SK_EPARSE;
        if (field_of(&item, "name", &f, &rc))
            rc = copy_bytes(&f, a, &fs[i].name, &fs[i].name_len);
        if (!rc && field_of(&item, "value", &f, &rc))
            rc = copy_bytes(&f, a, &fs[i].value, &fs[i].value_len);
    }
    r->fields = fs;
    r->n_fields = n;
    return rc;
}

static int read_offsets(avro_value_t *rec, sk_arena_t *a, sk_changelog_record_t *r)
{
    avro_value_t arr, item, f;
    size_t n = 0;
    int rc = 0;
    if (!field_of(rec, "offsets", &arr, &rc) || avro_value_get_size(&arr, &n) != 0)
        return SK_EPARSE;
    sk_changelog_offset_t *os = sk_arena_calloc(a, n + 1, sizeof(*os));
    if (!os)
        return SK_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        if (avro_value_get_by_index(&arr, i, &item, NULL) != 0)
            return SK_EPARSE;
        if (field_of(&item, "topic", &f, &rc))
            rc = copy_string(&f, a, &os[i].topic);
        if (!rc && field_of(&item, "offset", &f, &rc) &&
            avro_value_get_long(&f, &os[i].offset) != 0)
            rc = SK_EPARSE;
    }
    r->offsets = os;
    r->n_offsets = n;
    return rc;
}

int sk_codec_decode_changelog(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                              sk_changelog_record_t *out, char *reason, size_t reason_len)
{
    avro_value_t *rec = NULL, v;
    sk_changelog_record_t r = {0};
    int64_t keep = -1, wake = -1;
    int rc;
    if ((rc = sk_codec_read_framed(codec, SK_CODEC_CHANGELOG, buf, len, &rec, reason, reason_len)))
        goto out;
    if (!field_of(rec, "seq", &v, &rc) || avro_value_get_long(&v, &r.seq) != 0 ||
        !field_of(rec, "partition", &v, &rc) || avro_value_get_int(&v, &r.partition) != 0 ||
        !field_of(rec, "user", &v, &rc) || (rc = copy_string(&v, arena, &r.user)) != 0 ||
        !field_of(rec, "keep_until", &v, &rc) || avro_value_get_long(&v, &keep) != 0 ||
        !field_of(rec, "next_wake", &v, &rc) || avro_value_get_long(&v, &wake) != 0 ||
        (rc = read_fields(rec, arena, &r)) != 0 || (rc = read_offsets(rec, arena, &r)) != 0) {
        rc = rc ? rc : SK_EPARSE;
        snprintf(reason, reason_len, "not a valid ChangelogRecord");
        goto out;
    }
    if (r.seq <= 0 || r.partition < 0) {
        snprintf(reason, reason_len, "ChangelogRecord: seq %lld or partition %d out of range",
                 (long long)r.seq, (int)r.partition);
        rc = SK_EINVAL;
        goto out;
    }
    r.keep_until_ms = time_in(keep);
    r.next_wake_ms = time_in(wake);
    *out = r;
out:
    return rc;
}
