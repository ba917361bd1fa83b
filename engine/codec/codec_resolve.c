/*
 * codec_resolve.c — schema evolution: a record written with another
 * version of its schema (another schema id) is read as the reader schema
 * (the one this build was made with), as Avro's resolution rules say.
 *
 * avro-c 1.11.1's resolved writer (the value that reads writer-schema
 * bytes into a reader-schema value) refuses a reader field the writer
 * lacks, even when it has a default: "Reader field b doesn't appear in
 * writer". So the resolution is done in two steps:
 *   1. the reduced reader R' = the reader schema without the fields the
 *      writer lacks (each of which must have a default, else the writer
 *      schema is refused, with the field named); avro-c resolves
 *      writer -> R' (promotions, skipped writer fields, unions);
 *   2. the R' value is copied into the reader value field by field, and
 *      the missing fields take their defaults (read from the reader
 *      schema's JSON with jansson, the JSON library avro-c itself uses).
 * The bytes are walked with the writer schema first, as every record is
 * (codec.c), so avro-c only reads what fits.
 *
 * Writer schemas come from the versions embedded at build time
 * (schemas/versions/NAME/ID.avsc), from sk_codec_add_writer (e.g.
 * shiftkeyd --schema-dir), or from the lookup callback (an HTTP schema
 * registry), which is asked once per unknown id; the answer, a refusal
 * included, is cached.
 */
#define SK_CODEC_INTERNAL
#include "codec/codec.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sk_codec_writer {
    int32_t id;
    int kind;     /* sk_codec_kind_t, or -1 when refused before it was known */
    char *reason; /* refused: why; NULL when usable */
    avro_schema_t ws, rr;
    avro_value_iface_t *res_iface, *rr_iface;
    avro_value_t res, rrv;
    json_t *defaults; /* reader field name -> default, for fields the writer lacks */
};

static void writer_free(sk_codec_writer_t *w)
{
    if (w->res.self)
        avro_value_decref(&w->res);
    if (w->rrv.self)
        avro_value_decref(&w->rrv);
    if (w->res_iface)
        avro_value_iface_decref(w->res_iface);
    if (w->rr_iface)
        avro_value_iface_decref(w->rr_iface);
    if (w->ws)
        avro_schema_decref(w->ws);
    if (w->rr)
        avro_schema_decref(w->rr);
    json_decref(w->defaults);
    free(w->reason);
    memset(w, 0, sizeof(*w));
}

void sk_codec_writers_free(sk_codec_t *c)
{
    for (size_t i = 0; i < c->n_writers; i++)
        writer_free(&c->writers[i]);
    free(c->writers);
    c->writers = NULL;
    c->n_writers = c->cap_writers = 0;
}

static sk_codec_writer_t *writer_find(sk_codec_t *c, int32_t id)
{
    for (size_t i = 0; i < c->n_writers; i++)
        if (c->writers[i].id == id)
            return &c->writers[i];
    return NULL;
}

/* Sets dst (of schema s) to the JSON default d. 0, or -1 when they do not fit. */
static int set_default(avro_value_t *dst, avro_schema_t s, json_t *d)
{
    avro_value_t b;
    switch (avro_typeof(s)) {
    case AVRO_UNION: /* a union's default is of its first branch */
        return avro_value_set_branch(dst, 0, &b)
                   ? -1
                   : set_default(&b, avro_schema_union_branch(s, 0), d);
    case AVRO_NULL: return json_is_null(d) ? avro_value_set_null(dst) : -1;
    case AVRO_BOOLEAN:
        return json_is_boolean(d) ? avro_value_set_boolean(dst, json_is_true(d)) : -1;
    case AVRO_INT32:
        return json_is_integer(d) ? avro_value_set_int(dst, (int32_t)json_integer_value(d)) : -1;
    case AVRO_INT64:
        return json_is_integer(d) ? avro_value_set_long(dst, json_integer_value(d)) : -1;
    case AVRO_DOUBLE:
        return json_is_number(d) ? avro_value_set_double(dst, json_number_value(d)) : -1;
    case AVRO_FLOAT:
        return json_is_number(d) ? avro_value_set_float(dst, (float)json_number_value(d)) : -1;
    case AVRO_STRING:
        return json_is_string(d) ? avro_value_set_string(dst, json_string_value(d)) : -1;
    case AVRO_ENUM: {
        int i = json_is_string(d) ? avro_schema_enum_get_by_name(s, json_string_value(d)) : -1;
        return i < 0 ? -1 : avro_value_set_enum(dst, i);
    }
    case AVRO_LINK: return set_default(dst, avro_schema_link_target(s), d);
    default: return -1;
    }
}

/* Does the writer record (JSON) have the reader field rf, by name or alias? */
static int writer_has(json_t *wfields, json_t *rf)
{
    const char *name = json_string_value(json_object_get(rf, "name"));
    json_t *aliases = json_object_get(rf, "aliases");
    size_t i, k;
    json_t *wf, *a;
    json_array_foreach(wfields, i, wf)
    {
        const char *wn = json_string_value(json_object_get(wf, "name"));
        if (wn && name && strcmp(wn, name) == 0)
            return 1;
        json_array_foreach(aliases, k, a) if (wn && json_is_string(a) &&
                                              strcmp(wn, json_string_value(a)) == 0) return 1;
    }
    return 0;
}

/* Refuses w with a reason (printf). Returns -1. */
static int refuse(sk_codec_writer_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(sk_codec_writer_t *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    free(w->reason);
    w->reason = strdup(buf);
    return -1;
}

/* Builds the reduced reader and the resolution of w (whose ws is parsed and
 * kind known) against the reader schema of the slot. 0, or -1 refused. */
static int writer_resolve(sk_codec_t *c, sk_codec_writer_t *w, const char *wjson)
{
    sk_codec_slot_t *slot = &c->slots[w->kind];
    json_error_t jerr;
    json_t *r = json_loads(c->reader_json[w->kind], 0, &jerr), *wj = json_loads(wjson, 0, &jerr);
    json_t *rfields = json_object_get(r, "fields"), *wfields = json_object_get(wj, "fields");
    json_t *kept = json_array(), *rf;
    char *rrjson = NULL;
    size_t i;
    int rc = -1;
    w->defaults = json_object();
    if (!r || !wj || !json_is_array(rfields) || !json_is_array(wfields) || !kept || !w->defaults) {
        refuse(w, "schema %" PRId32 " is not a JSON record schema", w->id);
        goto out;
    }
    json_array_foreach(rfields, i, rf)
    {
        const char *name = json_string_value(json_object_get(rf, "name"));
        json_t *def = json_object_get(rf, "default");
        if (writer_has(wfields, rf)) {
            json_array_append(kept, rf);
            continue;
        }
        if (!def) {
            refuse(w,
                   "writer schema %" PRId32
                   " lacks field '%s', which has no default in %s (%" PRId32 ")",
                   w->id, name ? name : "?", slot->name, slot->id);
            goto out;
        }
        json_object_set(w->defaults, name, def);
    }
    json_object_set(r, "fields", kept);
    if (!(rrjson = json_dumps(r, JSON_COMPACT)) ||
        avro_schema_from_json_length(rrjson, strlen(rrjson), &w->rr) != 0) {
        refuse(w, "reduced reader schema for %" PRId32 ": %s", w->id, avro_strerror());
        w->rr = NULL;
        goto out;
    }
    if (!(w->res_iface = avro_resolved_writer_new(w->ws, w->rr))) {
        refuse(w, "writer schema %" PRId32 " cannot be read as %s (%" PRId32 "): %s", w->id,
               slot->name, slot->id, avro_strerror());
        goto out;
    }
    if (!(w->rr_iface = avro_generic_class_from_schema(w->rr)) ||
        avro_generic_value_new(w->rr_iface, &w->rrv) != 0 ||
        avro_resolved_writer_new_value(w->res_iface, &w->res) != 0) {
        refuse(w, "out of memory");
        goto out;
    }
    avro_resolved_writer_set_dest(&w->res, &w->rrv);
    /* every default must fit its field: try them on the reader value now */
    const char *fname;
    json_t *def;
    avro_value_reset(&slot->value);
    json_object_foreach(w->defaults, fname, def)
    {
        avro_value_t f;
        if (avro_value_get_by_name(&slot->value, fname, &f, NULL) != 0 ||
            set_default(&f, avro_schema_record_field_get(slot->schema, fname), def) != 0) {
            refuse(w, "the default of field '%s' in %s does not fit its type", fname, slot->name);
            goto out;
        }
    }
    rc = 0;
out:
    free(rrjson);
    json_decref(kept);
    json_decref(r);
    json_decref(wj);
    return rc;
}

int sk_codec_add_writer(sk_codec_t *c, int32_t id, const char *json, char *reason,
                        size_t reason_len)
{
    sk_codec_writer_t *w = writer_find(c, id);
    if (w) {
        if (w->reason)
            snprintf(reason, reason_len, "%s", w->reason);
        return w->reason ? SK_EINVAL : 0;
    }
    for (int k = 0; k < SK_CODEC_KIND_COUNT; k++)
        if (c->slots[k].id == id) {
            snprintf(reason, reason_len, "schema id %" PRId32 " is the %s this build reads", id,
                     c->slots[k].name);
            return SK_EINVAL;
        }
    if (c->n_writers == c->cap_writers) {
        size_t cap = c->cap_writers ? c->cap_writers * 2 : 8;
        sk_codec_writer_t *v = realloc(c->writers, cap * sizeof(*v));
        if (!v)
            return SK_ENOMEM;
        c->writers = v;
        c->cap_writers = cap;
    }
    w = &c->writers[c->n_writers++];
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->kind = -1;
    if (avro_schema_from_json_length(json, strlen(json), &w->ws) != 0) {
        refuse(w, "schema %" PRId32 " does not parse: %s", id, avro_strerror());
        w->ws = NULL;
    } else if (avro_typeof(w->ws) != AVRO_RECORD) {
        refuse(w, "schema %" PRId32 " is not a record", id);
    } else {
        for (int k = 0; k < SK_CODEC_KIND_COUNT; k++)
            if (strcmp(avro_schema_name(w->ws), c->slots[k].name) == 0)
                w->kind = k;
        if (w->kind < 0)
            refuse(w, "schema %" PRId32 " is a record %s, which shiftkey does not read", id,
                   avro_schema_name(w->ws));
        else
            writer_resolve(c, w, json);
    }
    if (w->reason)
        snprintf(reason, reason_len, "%s", w->reason);
    return w->reason ? SK_EINVAL : 0;
}

void sk_codec_set_lookup(sk_codec_t *c, sk_codec_lookup_fn fn, void *ctx)
{
    c->lookup = fn;
    c->lookup_ctx = ctx;
}

int sk_codec_read_other(sk_codec_t *c, sk_codec_kind_t kind, int32_t id, const uint8_t *body,
                        size_t len, size_t given, avro_value_t **out, char *reason,
                        size_t reason_len)
{
    sk_codec_slot_t *slot = &c->slots[kind];
    sk_codec_writer_t *w = writer_find(c, id);
    char why[512];
    for (int k = 0; k < SK_CODEC_KIND_COUNT; k++)
        if (c->slots[k].id == id) { /* another of our own records */
            snprintf(reason, reason_len, "schema id %" PRId32 " is not a %s (%" PRId32 ")", id,
                     slot->name, slot->id);
            return SK_EPARSE;
        }
    if (!w && c->lookup) {
        char *json = NULL;
        int lrc = c->lookup(c->lookup_ctx, id, &json, why, sizeof(why));
        if (lrc == 0) {
            (void)sk_codec_add_writer(c, id, json, why, sizeof(why));
            w = writer_find(c, id);
        } else if (lrc == SK_ENOTFOUND) {
            /* a definite answer: remember it */
            if (sk_codec_add_writer(c, id, "not a schema", reason, reason_len) != SK_ENOMEM &&
                (w = writer_find(c, id)) != NULL)
                refuse(w, "schema id %" PRId32 " is unknown to the schema registry (%s)", id, why);
        } else {
            snprintf(reason, reason_len,
                     "schema id %" PRId32 " is not a %s (%" PRId32
                     "); the schema registry could not be asked: %s",
                     id, slot->name, slot->id, why);
            free(json);
            return SK_EAGAIN; /* an outage is no answer: the record may be good */
        }
        free(json);
    }
    if (!w) {
        snprintf(reason, reason_len,
                 "schema id %" PRId32 " is not a %s (%" PRId32 ") nor a known version of it "
                 "(schemas/versions, --schema-dir, --schema-registry)",
                 id, slot->name, slot->id);
        return SK_EPARSE;
    }
    if (w->reason) {
        snprintf(reason, reason_len, "%s", w->reason);
        return SK_EPARSE;
    }
    if (w->kind != (int)kind) {
        snprintf(reason, reason_len, "schema id %" PRId32 " is a %s, not a %s (%" PRId32 ")", id,
                 c->slots[w->kind].name, slot->name, slot->id);
        return SK_EPARSE;
    }
    size_t end = 0;
    int rc = sk_codec_walk(w->ws, body, len, given, &end, reason, reason_len);
    if (rc)
        return rc;
    if (end != len) {
        snprintf(reason, reason_len,
                 "%zu trailing bytes after the %s record (writer schema %" PRId32 ")", len - end,
                 slot->name, id);
        return SK_EPARSE;
    }
    avro_value_reset(&w->rrv);
    avro_reader_memory_set_source(c->reader, (const char *)body, (int64_t)len);
    if (avro_value_read(c->reader, &w->res) != 0) {
        snprintf(reason, reason_len, "not a valid %s (writer schema %" PRId32 "): %s", slot->name,
                 id, avro_strerror());
        return SK_EPARSE;
    }
    /* the reader value: every field the writer had, then the defaults */
    avro_value_reset(&slot->value);
    size_t n = avro_schema_record_size(slot->schema);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(slot->schema, (int)i);
        avro_value_t dst, src;
        json_t *def = json_object_get(w->defaults, name);
        if (avro_value_get_by_index(&slot->value, i, &dst, NULL) != 0 ||
            (def ? set_default(&dst, avro_schema_record_field_get_by_index(slot->schema, (int)i),
                               def)
                 : (avro_value_get_by_name(&w->rrv, name, &src, NULL) ||
                    avro_value_copy_fast(&dst, &src)))) {
            snprintf(reason, reason_len, "field '%s': cannot be taken from writer schema %" PRId32,
                     name, id);
            return SK_EPARSE;
        }
    }
    *out = &slot->value;
    return 0;
}
