/*
 * test_codec_evolution.c — schema evolution in the codec (codec_resolve.c):
 * records framed with other schema ids are read through their writer
 * schemas (tests/schemas/evolution/), resolved to the reader schema; the
 * unresolvable ones are refused with a reason that names the problem; the
 * lookup (a schema registry) is asked once per id.
 */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "sk_test.h"

#define DIR "tests/schemas/evolution/"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = calloc(1, (size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* A ScheduleEvent written with the writer schema of `file` under `id`:
 * every field the writer has is set (strings to "x"-ish ids, longs, ints). */
static size_t write_event(const char *file, int32_t id, uint8_t *out, size_t cap)
{
    char *json = slurp(file);
    avro_schema_t s;
    size_t len = 0;
    if (!json || avro_schema_from_json_length(json, strlen(json), &s) != 0) {
        free(json);
        return 0;
    }
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_value_t v, f, b;
    avro_generic_value_new(iface, &v);
    for (size_t i = 0; i < avro_schema_record_size(s); i++) {
        const char *name = avro_schema_record_field_name(s, (int)i);
        avro_value_get_by_index(&v, i, &f, NULL);
        if (!strcmp(name, "type"))
            avro_value_set_enum(&f, 1); /* STARTED */
        else if (!strcmp(name, "end"))
            avro_value_set_branch(&f, 1, &b), avro_value_set_long(&b, 1772470800000LL);
        else if (!strcmp(name, "start"))
            avro_schema_record_field_get(s, "start") &&
                    avro_typeof(avro_schema_record_field_get(s, "start")) == AVRO_INT32
                ? avro_value_set_int(&f, 1000)
            : avro_typeof(avro_schema_record_field_get(s, "start")) == AVRO_STRING
                ? avro_value_set_string(&f, "1000")
                : avro_value_set_long(&f, 1772442000000LL);
        else if (!strcmp(name, "occurred_at"))
            avro_value_set_long(&f, 1772442000000LL);
        else if (!strcmp(name, "escalation_level"))
            avro_typeof(avro_schema_record_field_get(s, name)) == AVRO_INT64
                ? avro_value_set_long(&f, 2)
                : avro_value_set_int(&f, 2);
        else if (!strcmp(name, "user"))
            avro_value_set_string(&f, "bob@example.com");
        else
            avro_value_set_string(&f, "v1");
    }
    size_t body = 0;
    avro_value_sizeof(&v, &body);
    if (body + 5 <= cap) {
        out[0] = 0;
        out[1] = (uint8_t)(id >> 24), out[2] = (uint8_t)(id >> 16), out[3] = (uint8_t)(id >> 8),
        out[4] = (uint8_t)id;
        avro_writer_t w = avro_writer_memory((char *)out + 5, (int64_t)body);
        if (avro_value_write(w, &v) == 0)
            len = body + 5;
        avro_writer_free(w);
    }
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    free(json);
    return len;
}

/* Registers the writer schema of file under id; the codec's answer. */
static int add(sk_codec_t *c, const char *file, int32_t id, char *why, size_t n)
{
    char *json = slurp(file);
    int rc = json ? sk_codec_add_writer(c, id, json, why, n) : SK_EIO;
    free(json);
    return rc;
}

TEST(compatible_versions_are_read)
{
    static const struct {
        const char *file;
        int32_t id;
        int level;                                      /* what the reader sees */
    } cases[] = {{DIR "2001_no_level.avsc", 2001, 1},   /* removed: the default */
                 {DIR "2002_note_added.avsc", 2002, 2}, /* the new field skipped */
                 {DIR "2003_same.avsc", 2003, 2},
                 {DIR "2007_start_int.avsc", 2007, 2}};
    sk_codec_t *c = sk_codec_new();
    uint8_t buf[1024];
    char why[512] = "";
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        CHECK_INT(add(c, cases[i].file, cases[i].id, why, sizeof(why)), 0);
        size_t n = write_event(cases[i].file, cases[i].id, buf, sizeof(buf));
        CHECK(n > 5);
        sk_schedule_event_t ev;
        int rc = sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why));
        if (rc)
            fprintf(stderr, "  %s: %s\n", cases[i].file, why);
        CHECK_INT(rc, 0);
        if (rc == 0) {
            CHECK_STR(ev.user, "bob@example.com");
            CHECK_INT(ev.type, SK_SHIFT_STARTED);
            CHECK_INT(ev.escalation_level, cases[i].level);
            CHECK_INT(ev.end_ms, 1772470800000LL);
            CHECK_INT(ev.start_ms, cases[i].id == 2007 ? 1000 : 1772442000000LL);
        }
    }
    sk_codec_destroy(c);
}

TEST(incompatible_versions_are_refused_with_the_reason)
{
    sk_codec_t *c = sk_codec_new();
    char why[512] = "";
    uint8_t buf[1024];
    CHECK_INT(add(c, DIR "2004_start_string.avsc", 2004, why, sizeof(why)), SK_EINVAL);
    CHECK_CONTAINS(why, "writer schema 2004 cannot be read as ScheduleEvent (1001)");
    CHECK_INT(add(c, DIR "2005_no_user.avsc", 2005, why, sizeof(why)), SK_EINVAL);
    CHECK_CONTAINS(why, "lacks field 'user', which has no default in ScheduleEvent");
    CHECK_INT(add(c, DIR "2006_level_long.avsc", 2006, why, sizeof(why)), SK_EINVAL);
    /* a record of a refused version: undecodable, saying why */
    size_t n = write_event(DIR "2005_no_user.avsc", 2005, buf, sizeof(buf));
    sk_schedule_event_t ev;
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "lacks field 'user'");
    /* an id nobody knows */
    buf[4] = 0x99;
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "nor a known version of it");
    /* a version of another record on this topic */
    CHECK_INT(add(c, DIR "2003_same.avsc", 2003, why, sizeof(why)), 0);
    n = write_event(DIR "2003_same.avsc", 2003, buf, sizeof(buf));
    sk_request_event_t rq;
    CHECK_INT(sk_codec_decode_request(c, buf, n, &rq, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "schema id 2003 is a ScheduleEvent, not a AccessRequestEvent");
    sk_codec_destroy(c);
}

static int lookups, registry_back;
static int lookup(void *ctx, int32_t id, char **json, char *reason, size_t len)
{
    (void)ctx;
    lookups++;
    if (id == 3001 || (id == 3003 && registry_back)) {
        *json = slurp(DIR "2001_no_level.avsc");
        return *json ? 0 : SK_EIO;
    }
    if (id == 3002) {
        snprintf(reason, len, "404 Schema not found");
        return SK_ENOTFOUND;
    }
    snprintf(reason, len, "connection refused");
    return SK_EIO;
}

TEST(the_lookup_is_asked_once_per_id)
{
    sk_codec_t *c = sk_codec_new();
    char why[512] = "";
    uint8_t buf[1024];
    sk_schedule_event_t ev;
    sk_codec_set_lookup(c, lookup, NULL);
    lookups = 0;
    size_t n = write_event(DIR "2001_no_level.avsc", 3001, buf, sizeof(buf));
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), 0);
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), 0);
    CHECK_INT(lookups, 1);
    buf[4] = 3002 & 0xff, buf[3] = 3002 >> 8;
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "unknown to the schema registry (404 Schema not found)");
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), SK_EPARSE);
    CHECK_INT(lookups, 2); /* a definite answer is cached */
    buf[4] = 3003 & 0xff, buf[3] = 3003 >> 8;
    /* an outage: not an answer, the record may be good (SK_EAGAIN, not a
     * dead letter), asked again; once the registry answers, it is read */
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), SK_EAGAIN);
    CHECK_CONTAINS(why, "could not be asked: connection refused");
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), SK_EAGAIN);
    CHECK_INT(lookups, 4); /* a transient failure is asked again */
    registry_back = 1;
    CHECK_INT(sk_codec_decode_schedule(c, buf, n, &ev, why, sizeof(why)), 0);
    CHECK_INT(lookups, 5);
    sk_codec_destroy(c);
}

SK_TEST_MAIN(SK_TEST_CASE(compatible_versions_are_read),
             SK_TEST_CASE(incompatible_versions_are_refused_with_the_reason),
             SK_TEST_CASE(the_lookup_is_asked_once_per_id))
