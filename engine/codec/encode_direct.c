/*
 * encode_direct.c — the records the engine writes for every event
 * (Command, AuditRecord, TaskEvent) encoded straight to Avro binary
 * (avro_out.h), byte for byte what avro-c's generic values write for the
 * same schema (encode.c keeps those encoders: the reference the unit
 * tests compare against, sk_codec_encode_*_generic).
 *
 * Why: with avro-c each field is a value lookup, a copy of the string
 * into the value, a reset per record and a generic walk to write it; that
 * was about six times the cost of the decision itself. Written directly,
 * a record costs about what its bytes do.
 *
 * What keeps it true to the schemas: the writers below follow the field
 * order of schemas/command.avsc, audit_record.avsc and task_event.avsc,
 * and sk_codec_direct_check (called by sk_codec_new) compares that order
 * and every field's type with the parsed schema: a schema edited without
 * this file refuses to make a codec, loudly, rather than write records a
 * reader would mis-read. Enum ranges are checked as the generic encoders
 * check them (SK_EINVAL).
 */
#define SK_CODEC_INTERNAL
#include "codec/codec.h"
#include "codec/avro_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sk_avro_out_grow(sk_avro_out_t *o, size_t n)
{
    size_t cap = o->cap ? o->cap : 1024;
    while (cap - o->len < n)
        cap *= 2;
    uint8_t *p = realloc(o->p, cap);
    if (!p) {
        o->failed = true;
        return false;
    }
    o->p = p;
    o->cap = cap;
    return true;
}

/* ---- the shapes the writers follow ---- */

/* One field: its name and type code: s string, l long, i int, b boolean,
 * e enum, r record (fields in sub), a array of `item`, u union [null,
 * `item`]; an array or union of records has its fields in sub. */
typedef struct shape {
    const char *name;
    char type, item;
    const struct shape *sub;
    size_t n_sub;
} shape_t;

#define SUB(x) x, sizeof(x) / sizeof(x[0])

static const shape_t SOURCE_REF[] = {
    {"kind", 'e', 0, NULL, 0},
    {"id", 's', 0, NULL, 0},
    {"rotation", 's', 0, NULL, 0},
    {"expires_at", 'l', 0, NULL, 0},
};
static const shape_t COMMAND[] = {
    {"command_id", 's', 0, NULL, 0},  {"action", 'e', 0, NULL, 0},
    {"user", 's', 0, NULL, 0},        {"app", 's', 0, NULL, 0},
    {"entitlement", 's', 0, NULL, 0}, {"resource", 's', 0, NULL, 0},
    {"permission", 's', 0, NULL, 0},  {"expires_at", 'l', 0, NULL, 0},
    {"issued_at", 'l', 0, NULL, 0},   {"reason", 's', 0, NULL, 0},
    {"emergency", 'b', 0, NULL, 0},   {"sources", 'a', 'r', SUB(SOURCE_REF)},
};
static const shape_t ORIGIN[] = {
    {"topic", 's', 0, NULL, 0},
    {"partition", 'i', 0, NULL, 0},
    {"offset", 'l', 0, NULL, 0},
};
static const shape_t AUDIT[] = {
    {"audit_id", 's', 0, NULL, 0},      {"at", 'l', 0, NULL, 0},
    {"actor", 's', 0, NULL, 0},         {"user", 's', 0, NULL, 0},
    {"event_id", 's', 0, NULL, 0},      {"decision", 's', 0, NULL, 0},
    {"reason", 's', 0, NULL, 0},        {"rules_version", 's', 0, NULL, 0},
    {"origin", 'r', 0, SUB(ORIGIN)},    {"trace", 'a', 's', NULL, 0},
    {"command_ids", 'a', 's', NULL, 0},
};
static const shape_t TASK[] = {
    {"task_id", 's', 0, NULL, 0},       {"kind", 'e', 0, NULL, 0},
    {"state", 'e', 0, NULL, 0},         {"outcome", 'u', 'e', NULL, 0},
    {"request_id", 's', 0, NULL, 0},    {"subject", 's', 0, NULL, 0},
    {"target", 's', 0, NULL, 0},        {"step", 'i', 0, NULL, 0},
    {"assignees", 'a', 's', NULL, 0},   {"emergency", 'b', 0, NULL, 0},
    {"reason", 's', 0, NULL, 0},        {"at", 'l', 0, NULL, 0},
    {"justification", 's', 0, NULL, 0}, {"expires_at", 'u', 'l', NULL, 0},
    {"actor", 's', 0, NULL, 0},
};

static bool check_record(avro_schema_t rec, const shape_t *f, size_t n);

/* Does schema t have type code `type` (with `item` and sub as above)? */
static bool check_type(avro_schema_t t, char type, char item, const shape_t *sub, size_t n_sub)
{
    if (!t)
        return false;
    switch (type) {
    case 's': return avro_typeof(t) == AVRO_STRING;
    case 'l': return avro_typeof(t) == AVRO_INT64;
    case 'i': return avro_typeof(t) == AVRO_INT32;
    case 'b': return avro_typeof(t) == AVRO_BOOLEAN;
    case 'e': return avro_typeof(t) == AVRO_ENUM;
    case 'r': return check_record(t, sub, n_sub);
    case 'a':
        return avro_typeof(t) == AVRO_ARRAY &&
               check_type(avro_schema_array_items(t), item, 0, sub, n_sub);
    case 'u':
        return avro_typeof(t) == AVRO_UNION && avro_schema_union_size(t) == 2 &&
               avro_typeof(avro_schema_union_branch(t, 0)) == AVRO_NULL &&
               check_type(avro_schema_union_branch(t, 1), item, 0, sub, n_sub);
    default: return false;
    }
}

static bool check_record(avro_schema_t rec, const shape_t *f, size_t n)
{
    if (!rec || avro_typeof(rec) != AVRO_RECORD || avro_schema_record_size(rec) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(rec, (int)i);
        if (!name || strcmp(name, f[i].name) != 0 ||
            !check_type(avro_schema_record_field_get_by_index(rec, (int)i), f[i].type, f[i].item,
                        f[i].sub, f[i].n_sub))
            return false;
    }
    return true;
}

int sk_codec_direct_check(const sk_codec_t *codec)
{
    static const struct {
        sk_codec_kind_t kind;
        const shape_t *f;
        size_t n;
    } recs[] = {
        {SK_CODEC_COMMAND, SUB(COMMAND)}, {SK_CODEC_AUDIT, SUB(AUDIT)}, {SK_CODEC_TASK, SUB(TASK)}};
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
        if (!check_record(codec->slots[recs[i].kind].schema, recs[i].f, recs[i].n)) {
            fprintf(stderr,
                    "shiftkey: codec: the %s schema differs from what encode_direct.c writes\n",
                    codec->slots[recs[i].kind].name);
            return SK_EINVAL;
        }
    return 0;
}

/* ---- framing ---- */

/* A writer over the codec's scratch, the frame's header written. */
static void frame_begin(sk_codec_t *codec, sk_codec_kind_t kind, sk_avro_out_t *o)
{
    uint32_t id = (uint32_t)codec->slots[kind].id;
    sk_avro_out_init(o, codec->out, codec->out_cap);
    if (sk_avro_out_room(o, SK_WIRE_HEADER_LEN)) {
        uint8_t h[SK_WIRE_HEADER_LEN] = {0, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
                                         (uint8_t)(id >> 8), (uint8_t)id};
        memcpy(o->p, h, sizeof h);
        o->len = sizeof h;
    }
}

/* The framed record into arena memory; the scratch kept (it may have
 * grown). rc: an encoder's refusal, or 0. */
static int frame_end(sk_codec_t *codec, sk_avro_out_t *o, int rc, sk_arena_t *arena, void **out,
                     size_t *out_len)
{
    codec->out = (char *)o->p;
    codec->out_cap = o->cap;
    if (rc)
        return rc;
    if (o->failed)
        return SK_ENOMEM;
    void *buf = sk_arena_alloc(arena, o->len);
    if (!buf)
        return SK_ENOMEM;
    memcpy(buf, o->p, o->len);
    *out = buf;
    *out_len = o->len;
    return 0;
}

/* An enum index, refused (SK_EINVAL, as encode.c) out of 0..count-1. */
static int put_enum(sk_avro_out_t *o, const char *what, int x, int count)
{
    if (x < 0 || x >= count) {
        fprintf(stderr, "shiftkey: codec: %s: enum value %d out of range (0..%d)\n", what, x,
                count - 1);
        return SK_EINVAL;
    }
    sk_avro_out_long(o, x);
    return 0;
}

/*
 * A text (a reason, a trace line) written straight into the record: a lazy
 * one is written in a builder on the stack (its inline buffer; a longer
 * text goes to arena memory) and copied once, with no arena string in
 * between; a plain one as it is. Cut as sk_text_render cuts (the same
 * bytes). SK_ENOMEM or 0.
 */
static int put_text(sk_avro_out_t *o, const sk_text_t *t, sk_arena_t *arena)
{
    if (!t->write || t->s) { /* plain (or empty) */
        const char *s = t->s ? sk_text_bound(arena, t->s) : "";
        if (!s)
            return SK_ENOMEM;
        sk_avro_out_str(o, s);
        return 0;
    }
    sk_strbuf_t b;
    sk_strbuf_init(&b, arena);
    t->write(&b, t->args);
    const char *s = sk_strbuf_peek(&b);
    if (s && b.len > SK_TEXT_MAX)
        s = sk_text_bound(arena, s);
    if (!s)
        return SK_ENOMEM;
    sk_avro_out_mem(o, s, b.len > SK_TEXT_MAX ? strlen(s) : b.len);
    return 0;
}

/* An array of n strings (NULL items written as ""). */
static void put_str_array(sk_avro_out_t *o, const char *const *s, size_t n)
{
    if (s && n) {
        sk_avro_out_long(o, (int64_t)n);
        for (size_t i = 0; i < n; i++)
            sk_avro_out_str(o, s[i]);
    }
    sk_avro_out_long(o, 0);
}

/* ---- the records ---- */

int sk_codec_encode_command(sk_codec_t *codec, const sk_command_t *cmd, sk_arena_t *arena,
                            void **out, size_t *out_len)
{
    sk_avro_out_t o;
    int rc;
    size_t n = cmd->sources ? cmd->n_sources : 0;
    frame_begin(codec, SK_CODEC_COMMAND, &o);
    /* the id is a fixed buffer: never read past it */
    sk_avro_out_mem(&o, cmd->command_id, strnlen(cmd->command_id, sizeof cmd->command_id - 1));
    if ((rc = put_enum(&o, "Command.action", (int)cmd->action, SK_CMD_ACTION_COUNT)))
        goto out;
    sk_avro_out_str(&o, cmd->user);
    sk_avro_out_str(&o, cmd->app);
    sk_avro_out_str(&o, cmd->entitlement);
    sk_avro_out_str(&o, cmd->resource);
    sk_avro_out_str(&o, cmd->permission);
    sk_avro_out_long(&o, cmd->expires_at_ms);
    sk_avro_out_long(&o, cmd->issued_at_ms);
    if (cmd->reason) /* else written when read: sk_command_reason, here straight */
        sk_avro_out_str(&o, cmd->reason);
    else if ((rc = put_text(&o, &cmd->reason_lazy, arena)))
        goto out;
    sk_avro_out_bool(&o, cmd->emergency);
    if (n) {
        sk_avro_out_long(&o, (int64_t)n);
        for (size_t i = 0; i < n; i++) {
            const sk_source_ref_t *s = &cmd->sources[i];
            if ((rc = put_enum(&o, "SourceRef.kind", (int)s->kind, SK_SOURCE_WIRE_COUNT)))
                goto out;
            sk_avro_out_str(&o, s->id);
            sk_avro_out_str(&o, s->rotation);
            sk_avro_out_long(&o, s->expires_at_ms);
        }
    }
    sk_avro_out_long(&o, 0);
out:
    return frame_end(codec, &o, rc, arena, out, out_len);
}

int sk_codec_encode_audit(sk_codec_t *codec, const sk_audit_t *audit, sk_arena_t *arena, void **out,
                          size_t *out_len)
{
    sk_avro_out_t o;
    int rc = 0;
    size_t n = audit->trace ? audit->n_trace : 0;
    frame_begin(codec, SK_CODEC_AUDIT, &o);
    sk_avro_out_mem(&o, audit->audit_id, strnlen(audit->audit_id, sizeof audit->audit_id - 1));
    sk_avro_out_long(&o, audit->at_ms);
    sk_avro_out_str(&o, audit->actor);
    sk_avro_out_str(&o, audit->user);
    sk_avro_out_str(&o, audit->event_id);
    sk_avro_out_str(&o, audit->decision);
    if (audit->reason) /* as a command's reason */
        sk_avro_out_str(&o, audit->reason);
    else if ((rc = put_text(&o, &audit->reason_lazy, arena)))
        goto out;
    sk_avro_out_str(&o, audit->rules_version);
    sk_avro_out_str(&o, audit->origin.topic);
    sk_avro_out_long(&o, audit->origin.partition);
    sk_avro_out_long(&o, audit->origin.offset);
    if (n) {
        sk_avro_out_long(&o, (int64_t)n);
        for (size_t i = 0; i < n; i++)
            if ((rc = put_text(&o, &audit->trace[i], arena)))
                goto out;
    }
    sk_avro_out_long(&o, 0);
    put_str_array(&o, audit->command_ids, audit->command_ids ? audit->n_commands : 0);
out:
    return frame_end(codec, &o, rc, arena, out, out_len);
}

int sk_codec_encode_task(sk_codec_t *codec, const sk_task_t *task, sk_arena_t *arena, void **out,
                         size_t *out_len)
{
    sk_avro_out_t o;
    int rc;
    bool has_outcome = task->outcome != SK_TASK_OUTCOME_NONE;
    bool has_until = task->expires_ms > 0 && task->expires_ms != SK_MS_NONE;
    frame_begin(codec, SK_CODEC_TASK, &o);
    sk_avro_out_str(&o, task->task_id);
    if ((rc = put_enum(&o, "TaskEvent.kind", (int)task->kind, SK_TASK_KIND_COUNT)) ||
        (rc = put_enum(&o, "TaskEvent.state", (int)task->state, SK_TASK_STATE_COUNT)))
        goto out;
    sk_avro_out_long(&o, has_outcome ? 1 : 0); /* union [null, TaskOutcome] */
    if (has_outcome &&
        (rc = put_enum(&o, "TaskEvent.outcome", (int)task->outcome, SK_TASK_OUTCOME_COUNT)))
        goto out;
    sk_avro_out_str(&o, task->request_id);
    sk_avro_out_str(&o, task->subject);
    sk_avro_out_str(&o, task->target);
    sk_avro_out_long(&o, task->step);
    put_str_array(&o, task->assignees, task->assignees ? task->n_assignees : 0);
    sk_avro_out_bool(&o, task->emergency);
    sk_avro_out_str(&o, task->reason);
    sk_avro_out_long(&o, task->at_ms);
    sk_avro_out_str(&o, task->justification);
    sk_avro_out_long(&o, has_until ? 1 : 0); /* union [null, long] */
    if (has_until)
        sk_avro_out_long(&o, task->expires_ms);
    sk_avro_out_str(&o, task->actor);
out:
    return frame_end(codec, &o, rc, arena, out, out_len);
}
