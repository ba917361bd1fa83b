/*
 * decode.c — framed Avro bytes → the structs of event.h (see codec.h).
 *
 * codec.c checks the framing and walks the bytes before avro-c reads them
 * (SK_EPARSE on failure). Here every field is taken out of the avro value by
 * name and validated for content (SK_EINVAL on failure): identifier syntax
 * and sizes, enum ranges again, times. Every reason names the field.
 */
#define SK_CODEC_INTERNAL
#include "codec/codec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* How a string field is checked. */
typedef enum text_rule {
    TEXT_ANY,         /* 0..SK_TEXT_MAX bytes, no NUL */
    TEXT_ID,          /* sk_id_valid() */
    TEXT_ID_OR_EMPTY, /* "" or sk_id_valid() */
    TEXT_HEX32        /* exactly 32 lowercase hex characters */
} text_rule_t;

/* Where one record's fields are read from, and where errors go. */
typedef struct dctx {
    avro_value_t *rec;  /* record value, owned by the codec */
    sk_arena_t *arena;  /* copy strings here; NULL: borrow from the value */
    const char *prefix; /* prepended to field names in reasons, e.g. "sources[1]." */
    char *reason;
    size_t reason_len;
} dctx_t;

static int fail(dctx_t *d, int rc, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "field 'PREFIXNAME': <message>" into the reason; returns rc. */
static int fail(dctx_t *d, int rc, const char *name, const char *fmt, ...)
{
    if (d->reason && d->reason_len) {
        int n = snprintf(d->reason, d->reason_len, "field '%s%s': ", d->prefix, name);
        if (n >= 0 && (size_t)n < d->reason_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(d->reason + n, d->reason_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

static int field(dctx_t *d, const char *name, avro_value_t *out)
{
    if (avro_value_get_by_name(d->rec, name, out, NULL) != 0)
        return fail(d, SK_EPARSE, name, "missing from the schema");
    return 0;
}

static int text_check(dctx_t *d, const char *name, const char *s, size_t len, text_rule_t rule)
{
    if (strlen(s) != len)
        return fail(d, SK_EINVAL, name, "contains a NUL byte");
    switch (rule) {
    case TEXT_ANY:
        if (len > SK_TEXT_MAX)
            return fail(d, SK_EINVAL, name, "%zu bytes, longer than the %d allowed", len,
                        SK_TEXT_MAX);
        return 0;
    case TEXT_ID_OR_EMPTY:
        if (len == 0)
            return 0;
        /* fall through */
    case TEXT_ID:
        if (len > SK_ID_MAX)
            return fail(d, SK_EINVAL, name, "%zu bytes, longer than the %d allowed", len,
                        SK_ID_MAX);
        if (!sk_id_valid(s, len))
            return fail(d, SK_EINVAL, name,
                        "invalid identifier '%.64s' (1..%d printable ASCII characters, "
                        "no spaces)",
                        s, SK_ID_MAX);
        return 0;
    case TEXT_HEX32:
        if (len != 32 || strspn(s, "0123456789abcdef") != 32)
            return fail(d, SK_EINVAL, name, "'%.64s' is not 32 lowercase hex characters", s);
        return 0;
    }
    return 0;
}

/* Reads string field `name`, checks it, and borrows or copies it. */
static int get_text(dctx_t *d, const char *name, text_rule_t rule, const char **out)
{
    int rc;
    avro_value_t v;
    const char *s = NULL;
    size_t size = 0;
    if ((rc = field(d, name, &v)))
        goto out;
    if (avro_value_get_string(&v, &s, &size) != 0 || !s || size == 0) {
        rc = fail(d, SK_EPARSE, name, "not a string");
        goto out;
    }
    if ((rc = text_check(d, name, s, size - 1, rule)))
        goto out;
    if (d->arena && !(s = sk_arena_strndup(d->arena, s, size - 1))) {
        rc = SK_ENOMEM;
        goto out;
    }
    *out = s;
out:
    return rc;
}

static int get_long(dctx_t *d, const char *name, int64_t min, int64_t *out)
{
    int rc;
    avro_value_t v;
    if ((rc = field(d, name, &v)))
        goto out;
    if (avro_value_get_long(&v, out) != 0) {
        rc = fail(d, SK_EPARSE, name, "not a long");
        goto out;
    }
    if (*out < min)
        rc = min == 0 ? fail(d, SK_EINVAL, name, "%" PRId64 " is negative", *out)
                      : fail(d, SK_EINVAL, name, "%" PRId64 " is below %" PRId64, *out, min);
out:
    return rc;
}

static int get_int(dctx_t *d, const char *name, int32_t min, int32_t *out)
{
    int rc;
    avro_value_t v;
    if ((rc = field(d, name, &v)))
        goto out;
    if (avro_value_get_int(&v, out) != 0) {
        rc = fail(d, SK_EPARSE, name, "not an int");
        goto out;
    }
    if (*out < min)
        rc = fail(d, SK_EINVAL, name, "%" PRId32 " is below %" PRId32, *out, min);
out:
    return rc;
}

/* Enum field; the range was walked already, checked again against count. */
static int get_enum(dctx_t *d, const char *name, int count, int *out)
{
    int rc;
    avro_value_t v;
    if ((rc = field(d, name, &v)))
        goto out;
    if (avro_value_get_enum(&v, out) != 0) {
        rc = fail(d, SK_EPARSE, name, "not an enum");
        goto out;
    }
    if (*out < 0 || *out >= count)
        rc = fail(d, SK_EINVAL, name, "enum index %d out of range (0..%d)", *out, count - 1);
out:
    return rc;
}

/* Union [null, T]: *branch gets the null-or-value child and 0 / 1. */
static int get_optional(dctx_t *d, const char *name, avro_value_t *branch, int *present)
{
    int rc;
    int disc = -1;
    avro_value_t v;
    if ((rc = field(d, name, &v)))
        goto out;
    if (avro_value_get_discriminant(&v, &disc) != 0 || disc < 0 || disc > 1 ||
        avro_value_get_current_branch(&v, branch) != 0) {
        rc = fail(d, SK_EPARSE, name, "union branch %d out of range (0..1)", disc);
        goto out;
    }
    *present = disc == 1;
out:
    return rc;
}

/* ---- ScheduleEvent ---- */

static int schedule_times(dctx_t *d, sk_schedule_event_t *ev)
{
    int rc;
    int present = 0;
    avro_value_t end;
    int32_t level = 0;
    char a[32], b[32];
    if ((rc = get_long(d, "start", 0, &ev->start_ms)) ||
        (rc = get_optional(d, "end", &end, &present)))
        goto out;
    ev->end_ms = SK_MS_NONE;
    if (present) {
        if (avro_value_get_long(&end, &ev->end_ms) != 0) {
            rc = fail(d, SK_EPARSE, "end", "not a long");
            goto out;
        }
        if (ev->end_ms == SK_MS_NONE) {
            rc = fail(d, SK_EINVAL, "end", "%" PRId64 " is reserved; send null for open-ended",
                      ev->end_ms);
            goto out;
        }
        if (ev->end_ms <= ev->start_ms) {
            if (d->reason && d->reason_len)
                snprintf(d->reason, d->reason_len, "field 'end' (%s) is %s 'start' (%s)",
                         sk_ms_format(ev->end_ms, a, sizeof a),
                         ev->end_ms < ev->start_ms ? "before" : "not after",
                         sk_ms_format(ev->start_ms, b, sizeof b));
            rc = SK_EINVAL;
            goto out;
        }
    }
    if ((rc = get_int(d, "escalation_level", 1, &level)))
        goto out;
    if (level > SK_LEVEL_MAX) {
        rc = fail(d, SK_EINVAL, "escalation_level", "%d is above the maximum %d", level,
                  SK_LEVEL_MAX);
        goto out;
    }
    ev->escalation_level = level;
    if ((rc = get_long(d, "occurred_at", 0, &ev->occurred_at_ms)))
        goto out;
    /* times past year 9999 are mistakes (seconds sent as ms * 1000, ...)
     * and would overflow the window arithmetic */
    if (ev->start_ms > SK_MS_MAX_INPUT ||
        (ev->end_ms != SK_MS_NONE && ev->end_ms > SK_MS_MAX_INPUT) ||
        ev->occurred_at_ms > SK_MS_MAX_INPUT)
        rc = fail(d, SK_EINVAL,
                  ev->start_ms > SK_MS_MAX_INPUT         ? "start"
                  : ev->occurred_at_ms > SK_MS_MAX_INPUT ? "occurred_at"
                                                         : "end",
                  "is after year 9999; times are milliseconds since the Unix epoch");
out:
    return rc;
}

int sk_codec_decode_schedule(sk_codec_t *codec, const void *buf, size_t len,
                             sk_schedule_event_t *out, char *reason, size_t reason_len)
{
    int rc;
    int type = 0;
    avro_value_t *rec = NULL;
    sk_schedule_event_t ev = {0};
    dctx_t d = {.prefix = "", .reason = reason, .reason_len = reason_len};

    if ((rc = sk_codec_read_framed(codec, SK_CODEC_SCHEDULE, buf, len, &rec, reason, reason_len)))
        goto out;
    d.rec = rec;
    if ((rc = get_text(&d, "event_id", TEXT_ID, &ev.event_id)) ||
        (rc = get_enum(&d, "type", SK_SHIFT_EVENT_TYPE_COUNT, &type)) ||
        (rc = get_text(&d, "source", TEXT_ID, &ev.source)) ||
        (rc = get_text(&d, "rotation", TEXT_ID, &ev.rotation)) ||
        (rc = get_text(&d, "user", TEXT_ID, &ev.user)) ||
        (rc = get_text(&d, "shift_id", TEXT_ID, &ev.shift_id)) || (rc = schedule_times(&d, &ev)))
        goto out;
    ev.type = (sk_shift_event_type_t)type;
    *out = ev;
out:
    return rc;
}

/* ---- Command ---- */

static int command_source(dctx_t *d, sk_source_ref_t *ref)
{
    int rc;
    int kind = 0;
    if ((rc = get_enum(d, "kind", SK_SOURCE_WIRE_COUNT, &kind)) ||
        (rc = get_text(d, "id", TEXT_ID, &ref->id)) ||
        (rc = get_text(d, "rotation", TEXT_ID_OR_EMPTY, &ref->rotation)) ||
        (rc = get_long(d, "expires_at", 0, &ref->expires_at_ms)))
        goto out;
    ref->kind = (sk_source_kind_t)kind;
out:
    return rc;
}

static int command_sources(dctx_t *d, sk_command_t *cmd)
{
    int rc;
    avro_value_t arr;
    size_t n = 0;
    sk_source_ref_t *refs = NULL;
    char prefix[48];
    if ((rc = field(d, "sources", &arr)))
        goto out;
    if (avro_value_get_size(&arr, &n) != 0) {
        rc = fail(d, SK_EPARSE, "sources", "not an array");
        goto out;
    }
    if (n && !(refs = sk_arena_calloc(d->arena, n, sizeof *refs))) {
        rc = SK_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        avro_value_t item;
        snprintf(prefix, sizeof prefix, "sources[%zu].", i);
        dctx_t sub = {.rec = &item,
                      .arena = d->arena,
                      .prefix = prefix,
                      .reason = d->reason,
                      .reason_len = d->reason_len};
        if (avro_value_get_by_index(&arr, i, &item, NULL) != 0) {
            rc = fail(d, SK_EPARSE, "sources", "item %zu unreadable", i);
            goto out;
        }
        if ((rc = command_source(&sub, &refs[i])))
            goto out;
    }
    cmd->n_sources = n;
    cmd->sources = refs;
out:
    return rc;
}

int sk_codec_decode_command(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                            sk_command_t *out, char *reason, size_t reason_len)
{
    int rc;
    int action = 0;
    int emergency = 0;
    const char *id = NULL;
    avro_value_t *rec = NULL, v;
    sk_command_t cmd = {0};
    dctx_t d = {.arena = arena, .prefix = "", .reason = reason, .reason_len = reason_len};

    if ((rc = sk_codec_read_framed(codec, SK_CODEC_COMMAND, buf, len, &rec, reason, reason_len)))
        goto out;
    d.rec = rec;
    if ((rc = get_text(&d, "command_id", TEXT_HEX32, &id)) ||
        (rc = get_enum(&d, "action", SK_CMD_ACTION_COUNT, &action)) ||
        (rc = get_text(&d, "user", TEXT_ID, &cmd.user)) ||
        (rc = get_text(&d, "app", TEXT_ID, &cmd.app)) ||
        (rc = get_text(&d, "entitlement", TEXT_ID, &cmd.entitlement)) ||
        (rc = get_text(&d, "resource", TEXT_ANY, &cmd.resource)) ||
        (rc = get_text(&d, "permission", TEXT_ANY, &cmd.permission)) ||
        (rc = get_long(&d, "expires_at", 0, &cmd.expires_at_ms)) ||
        (rc = get_long(&d, "issued_at", 0, &cmd.issued_at_ms)) ||
        (rc = get_text(&d, "reason", TEXT_ANY, &cmd.reason)) || (rc = field(&d, "emergency", &v)))
        goto out;
    if (avro_value_get_boolean(&v, &emergency) != 0) {
        rc = fail(&d, SK_EPARSE, "emergency", "not a boolean");
        goto out;
    }
    if ((rc = command_sources(&d, &cmd)))
        goto out;
    memcpy(cmd.command_id, id, 33);
    cmd.action = (sk_command_action_t)action;
    cmd.emergency = emergency != 0;
    *out = cmd;
out:
    return rc;
}

int sk_codec_command_action(sk_codec_t *codec, const void *buf, size_t len,
                            sk_command_action_t *out, char *reason, size_t reason_len)
{
    int rc, action = 0;
    avro_value_t *rec = NULL;
    dctx_t d = {.prefix = "", .reason = reason, .reason_len = reason_len};
    if ((rc = sk_codec_read_framed(codec, SK_CODEC_COMMAND, buf, len, &rec, reason, reason_len)))
        return rc;
    d.rec = rec;
    if ((rc = get_enum(&d, "action", SK_CMD_ACTION_COUNT, &action)) == 0)
        *out = (sk_command_action_t)action;
    return rc;
}

/* ---- DeadLetter ---- */

/* Copies bytes field value `v` into the arena (never NULL on success). */
static int copy_bytes(dctx_t *d, const char *name, avro_value_t *v, const void **out,
                      size_t *out_len)
{
    int rc = 0;
    const void *b = NULL;
    size_t n = 0;
    void *copy;
    if (avro_value_get_bytes(v, &b, &n) != 0) {
        rc = fail(d, SK_EPARSE, name, "not bytes");
        goto out;
    }
    if (!(copy = sk_arena_alloc(d->arena, n ? n : 1))) {
        rc = SK_ENOMEM;
        goto out;
    }
    if (n)
        memcpy(copy, b, n);
    *out = copy;
    *out_len = n;
out:
    return rc;
}

static int dead_letter_origin(dctx_t *d, sk_origin_t *o)
{
    int rc;
    avro_value_t rec;
    dctx_t sub = {.rec = &rec,
                  .arena = d->arena,
                  .prefix = "origin.",
                  .reason = d->reason,
                  .reason_len = d->reason_len};
    if ((rc = field(d, "origin", &rec)) || (rc = get_text(&sub, "topic", TEXT_ANY, &o->topic)) ||
        (rc = get_int(&sub, "partition", INT32_MIN, &o->partition)) ||
        (rc = get_long(&sub, "offset", INT64_MIN, &o->offset)))
        goto out;
out:
    return rc;
}

int sk_codec_decode_dead_letter(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                                sk_dead_letter_t *out, char *reason, size_t reason_len)
{
    int rc;
    int kind = 0, present = 0;
    avro_value_t *rec = NULL, v, branch;
    sk_dead_letter_t dl = {0};
    dctx_t d = {.arena = arena, .prefix = "", .reason = reason, .reason_len = reason_len};

    if ((rc =
             sk_codec_read_framed(codec, SK_CODEC_DEAD_LETTER, buf, len, &rec, reason, reason_len)))
        goto out;
    d.rec = rec;
    if ((rc = get_long(&d, "at", 0, &dl.at_ms)) ||
        (rc = get_enum(&d, "kind", SK_DL_KIND_COUNT, &kind)) ||
        (rc = get_text(&d, "reason", TEXT_ANY, &dl.reason)) ||
        (rc = dead_letter_origin(&d, &dl.origin)) ||
        (rc = get_optional(&d, "key", &branch, &present)))
        goto out;
    if (present && (rc = copy_bytes(&d, "key", &branch, &dl.key, &dl.key_len)))
        goto out;
    if ((rc = field(&d, "payload", &v)) ||
        (rc = copy_bytes(&d, "payload", &v, &dl.payload, &dl.payload_len)))
        goto out;
    dl.kind = (sk_dead_letter_kind_t)kind;
    *out = dl;
out:
    return rc;
}

/* ---- shared by the request, task and provisioning-result decoders ---- */

/* Boolean field `name`. */
static int get_bool(dctx_t *d, const char *name, bool *out)
{
    int rc;
    int b = 0;
    avro_value_t v;
    if ((rc = field(d, name, &v)))
        goto out;
    if (avro_value_get_boolean(&v, &b) != 0) {
        rc = fail(d, SK_EPARSE, name, "not a boolean");
        goto out;
    }
    *out = b != 0;
out:
    return rc;
}

/* A time field: 0..SK_MS_MAX_INPUT. */
static int get_time(dctx_t *d, const char *name, sk_ms_t *out)
{
    int rc;
    if ((rc = get_long(d, name, 0, out)))
        goto out;
    /* past year 9999: a mistake (seconds sent as ms * 1000, ...) */
    if (*out > SK_MS_MAX_INPUT)
        rc = fail(d, SK_EINVAL, name,
                  "is after year 9999; times are milliseconds since the Unix epoch");
out:
    return rc;
}

/* Union [null, string] field checked by `rule`: *out NULL when null. */
static int get_optional_text(dctx_t *d, const char *name, text_rule_t rule, const char **out)
{
    int rc;
    int present = 0;
    avro_value_t branch;
    const char *s = NULL;
    size_t size = 0;
    *out = NULL;
    if ((rc = get_optional(d, name, &branch, &present)) || !present)
        goto out;
    if (avro_value_get_string(&branch, &s, &size) != 0 || !s || size == 0) {
        rc = fail(d, SK_EPARSE, name, "not a string");
        goto out;
    }
    if ((rc = text_check(d, name, s, size - 1, rule)))
        goto out;
    if (d->arena && !(s = sk_arena_strndup(d->arena, s, size - 1))) {
        rc = SK_ENOMEM;
        goto out;
    }
    *out = s;
out:
    return rc;
}

/* ---- AccessRequestEvent ---- */

/* duration_ms: null, or 1..SK_MS_MAX_INPUT (SK_MS_NONE when null). */
static int request_duration(dctx_t *d, sk_request_event_t *ev)
{
    int rc;
    int present = 0;
    avro_value_t branch;
    ev->duration_ms = SK_MS_NONE;
    if ((rc = get_optional(d, "duration_ms", &branch, &present)) || !present)
        goto out;
    if (avro_value_get_long(&branch, &ev->duration_ms) != 0) {
        rc = fail(d, SK_EPARSE, "duration_ms", "not a long");
        goto out;
    }
    if (ev->duration_ms <= 0)
        rc = fail(d, SK_EINVAL, "duration_ms", "%" PRId64 " is not positive", ev->duration_ms);
    else if (ev->duration_ms > SK_MS_MAX_INPUT)
        rc = fail(d, SK_EINVAL, "duration_ms", "%" PRId64 " is above the maximum %lld",
                  ev->duration_ms, (long long)SK_MS_MAX_INPUT);
out:
    return rc;
}

/* An ENTITLEMENT target is "app/entitlement": one '/', both sides non-empty. */
static int request_target(dctx_t *d, const sk_request_event_t *ev)
{
    const char *slash = strchr(ev->target, '/');
    if (ev->target_kind != SK_TARGET_ENTITLEMENT || (ev->type != SK_REQ_CREATED && !*ev->target))
        return 0;
    if (!slash || slash == ev->target || slash[1] == '\0' || strchr(slash + 1, '/'))
        return fail(d, SK_EINVAL, "target", "'%.64s' is not an entitlement key app/entitlement",
                    ev->target);
    return 0;
}

/* The fields some types require. */
static int request_required(dctx_t *d, const sk_request_event_t *ev)
{
    const char *type = sk_request_event_type_name(ev->type);
    if (ev->type == SK_REQ_DURATION_CHANGED && ev->duration_ms == SK_MS_NONE)
        return fail(d, SK_EINVAL, "duration_ms", "null, but %s requires a duration", type);
    if (ev->type == SK_REQ_REASSIGNED && !ev->assignee)
        return fail(d, SK_EINVAL, "assignee", "null, but %s requires an assignee", type);
    if (ev->type == SK_REQ_POLICY_CHANGED && !ev->policy)
        return fail(d, SK_EINVAL, "policy", "null, but %s requires a policy", type);
    return 0;
}

int sk_codec_decode_request(sk_codec_t *codec, const void *buf, size_t len, sk_request_event_t *out,
                            char *reason, size_t reason_len)
{
    int rc;
    int type = 0, kind = 0;
    avro_value_t *rec = NULL;
    sk_request_event_t ev = {0};
    dctx_t d = {.prefix = "", .reason = reason, .reason_len = reason_len};

    if ((rc = sk_codec_read_framed(codec, SK_CODEC_REQUEST, buf, len, &rec, reason, reason_len)))
        goto out;
    d.rec = rec;
    if ((rc = get_text(&d, "event_id", TEXT_ID, &ev.event_id)) ||
        (rc = get_enum(&d, "type", SK_REQ_EVENT_TYPE_COUNT, &type)) ||
        (rc = get_text(&d, "request_id", TEXT_ID, &ev.request_id)) ||
        (rc = get_text(&d, "actor", TEXT_ID, &ev.actor)) ||
        (rc = get_text(&d, "subject", TEXT_ID, &ev.subject)) ||
        (rc = get_enum(&d, "target_kind", SK_TARGET_KIND_COUNT, &kind)) ||
        /* only CREATED names the target; later actions act on the request */
        (rc = get_text(&d, "target", type == SK_REQ_CREATED ? TEXT_ID : TEXT_ID_OR_EMPTY,
                       &ev.target)))
        goto out;
    ev.type = (sk_request_event_type_t)type;
    ev.target_kind = (sk_target_kind_t)kind;
    if ((rc = request_target(&d, &ev)) || (rc = request_duration(&d, &ev)) ||
        (rc = get_text(&d, "justification", TEXT_ANY, &ev.justification)) ||
        (rc = get_bool(&d, "emergency", &ev.emergency)) ||
        (rc = get_text(&d, "comment", TEXT_ANY, &ev.comment)) ||
        (rc = get_optional_text(&d, "assignee", TEXT_ID, &ev.assignee)) ||
        (rc = get_optional_text(&d, "policy", TEXT_ID, &ev.policy)) ||
        (rc = get_text(&d, "source", TEXT_ID, &ev.source)) ||
        (rc = get_time(&d, "occurred_at", &ev.occurred_at_ms)) || (rc = request_required(&d, &ev)))
        goto out;
    *out = ev;
out:
    return rc;
}

/* ---- TaskEvent ---- */

/* outcome: null while open, an outcome exactly when CLOSED. */
static int task_outcome(dctx_t *d, sk_task_t *t)
{
    int rc;
    int present = 0, o = 0;
    avro_value_t branch;
    t->outcome = SK_TASK_OUTCOME_NONE;
    if ((rc = get_optional(d, "outcome", &branch, &present)))
        goto out;
    if (present) {
        if (avro_value_get_enum(&branch, &o) != 0) {
            rc = fail(d, SK_EPARSE, "outcome", "not an enum");
            goto out;
        }
        if (o < 0 || o >= SK_TASK_OUTCOME_COUNT) {
            rc = fail(d, SK_EINVAL, "outcome", "enum index %d out of range (0..%d)", o,
                      SK_TASK_OUTCOME_COUNT - 1);
            goto out;
        }
        t->outcome = (sk_task_outcome_t)o;
    }
    if (t->state == SK_TASK_CLOSED && !present)
        rc = fail(d, SK_EINVAL, "outcome", "null, but the task is CLOSED");
    else if (t->state != SK_TASK_CLOSED && present)
        rc = fail(d, SK_EINVAL, "outcome", "%s, but the task is %s (only CLOSED tasks have one)",
                  sk_task_outcome_name(t->outcome), sk_task_state_name(t->state));
out:
    return rc;
}

static int task_assignees(dctx_t *d, sk_task_t *t)
{
    int rc;
    avro_value_t arr;
    size_t n = 0;
    const char **names = NULL;
    char prefix[48];
    if ((rc = field(d, "assignees", &arr)))
        goto out;
    if (avro_value_get_size(&arr, &n) != 0) {
        rc = fail(d, SK_EPARSE, "assignees", "not an array");
        goto out;
    }
    if (n && !(names = sk_arena_calloc(d->arena, n, sizeof *names))) {
        rc = SK_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        avro_value_t item;
        const char *s = NULL;
        size_t size = 0;
        snprintf(prefix, sizeof prefix, "assignees[%zu]", i);
        dctx_t sub = {.rec = &item,
                      .arena = d->arena,
                      .prefix = "",
                      .reason = d->reason,
                      .reason_len = d->reason_len};
        if (avro_value_get_by_index(&arr, i, &item, NULL) != 0 ||
            avro_value_get_string(&item, &s, &size) != 0 || !s || size == 0) {
            rc = fail(d, SK_EPARSE, "assignees", "item %zu unreadable", i);
            goto out;
        }
        if ((rc = text_check(&sub, prefix, s, size - 1, TEXT_ID)))
            goto out;
        if (!(names[i] = sk_arena_strndup(d->arena, s, size - 1))) {
            rc = SK_ENOMEM;
            goto out;
        }
    }
    t->n_assignees = n;
    t->assignees = names;
out:
    return rc;
}

/* expires_at: null (SK_MS_NONE), or a time 0..SK_MS_MAX_INPUT. */
static int task_until(dctx_t *d, sk_task_t *t)
{
    int rc;
    int present = 0;
    avro_value_t branch;
    t->expires_ms = SK_MS_NONE;
    if ((rc = get_optional(d, "expires_at", &branch, &present)) || !present)
        goto out;
    if (avro_value_get_long(&branch, &t->expires_ms) != 0) {
        rc = fail(d, SK_EPARSE, "expires_at", "not a long");
        goto out;
    }
    if (t->expires_ms < 0 || t->expires_ms > SK_MS_MAX_INPUT)
        rc = fail(d, SK_EINVAL, "expires_at", "%" PRId64 " is outside 0..%lld", t->expires_ms,
                  (long long)SK_MS_MAX_INPUT);
out:
    return rc;
}

int sk_codec_decode_task(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                         sk_task_t *out, char *reason, size_t reason_len)
{
    int rc;
    int kind = 0, state = 0;
    avro_value_t *rec = NULL;
    sk_task_t t = {0};
    dctx_t d = {.arena = arena, .prefix = "", .reason = reason, .reason_len = reason_len};

    if ((rc = sk_codec_read_framed(codec, SK_CODEC_TASK, buf, len, &rec, reason, reason_len)))
        goto out;
    d.rec = rec;
    if ((rc = get_text(&d, "task_id", TEXT_ID, &t.task_id)) ||
        (rc = get_enum(&d, "kind", SK_TASK_KIND_COUNT, &kind)) ||
        (rc = get_enum(&d, "state", SK_TASK_STATE_COUNT, &state)))
        goto out;
    t.kind = (sk_task_kind_t)kind;
    t.state = (sk_task_state_t)state;
    if ((rc = task_outcome(&d, &t)) ||
        (rc = get_text(&d, "request_id", TEXT_ID_OR_EMPTY, &t.request_id)) ||
        (rc = get_text(&d, "subject", TEXT_ID, &t.subject)) ||
        (rc = get_text(&d, "target", TEXT_ID, &t.target)) || (rc = get_int(&d, "step", 0, &t.step)))
        goto out;
    if (t.step > SK_TASK_STEP_MAX) {
        rc = fail(&d, SK_EINVAL, "step", "%" PRId32 " is above the maximum %d", t.step,
                  SK_TASK_STEP_MAX);
        goto out;
    }
    if ((rc = task_assignees(&d, &t)) || (rc = get_bool(&d, "emergency", &t.emergency)) ||
        (rc = get_text(&d, "reason", TEXT_ANY, &t.reason)) || (rc = get_time(&d, "at", &t.at_ms)) ||
        (rc = get_text(&d, "justification", TEXT_ANY, &t.justification)) ||
        (rc = task_until(&d, &t)) || (rc = get_text(&d, "actor", TEXT_ID_OR_EMPTY, &t.actor)))
        goto out;
    *out = t;
out:
    return rc;
}

/* ---- ProvisioningResult ---- */

int sk_codec_decode_provisioning_result(sk_codec_t *codec, const void *buf, size_t len,
                                        sk_provisioning_result_t *out, char *reason,
                                        size_t reason_len)
{
    int rc;
    int result = 0;
    const char *id = NULL;
    avro_value_t *rec = NULL;
    sk_provisioning_result_t r = {0};
    dctx_t d = {.prefix = "", .reason = reason, .reason_len = reason_len};

    if ((rc = sk_codec_read_framed(codec, SK_CODEC_PROVISIONING_RESULT, buf, len, &rec, reason,
                                   reason_len)))
        goto out;
    d.rec = rec;
    if ((rc = get_text(&d, "command_id", TEXT_HEX32, &id)) ||
        (rc = get_enum(&d, "result", SK_PROV_STATUS_COUNT, &result)) ||
        (rc = get_bool(&d, "retryable", &r.retryable)))
        goto out;
    r.result = (sk_provisioning_status_t)result;
    if (r.retryable && r.result != SK_PROV_FAILED) {
        rc = fail(&d, SK_EINVAL, "retryable", "true, but the result is %s (only FAILED is retried)",
                  sk_provisioning_status_name(r.result));
        goto out;
    }
    if ((rc = get_text(&d, "provisioner", TEXT_ID, &r.provisioner)) ||
        (rc = get_text(&d, "user", TEXT_ID, &r.user)) ||
        (rc = get_text(&d, "message", TEXT_ANY, &r.message)) ||
        (rc = get_text(&d, "entitlement", TEXT_ANY, &r.entitlement)) ||
        (rc = get_time(&d, "at", &r.at_ms)))
        goto out;
    /* FOUND names the entitlement found; DEPROVISIONED may (a stray that
     * reconciliation removed); no other result names one */
    if (r.result == SK_PROV_FOUND ? !r.entitlement[0]
                                  : r.entitlement[0] && r.result != SK_PROV_DEPROVISIONED) {
        rc = fail(&d, SK_EINVAL, "entitlement",
                  "%s with the result %s (FOUND names one, DEPROVISIONED may)",
                  r.entitlement[0] ? "set" : "empty", sk_provisioning_status_name(r.result));
        goto out;
    }
    memcpy(r.command_id, id, 33);
    *out = r;
out:
    return rc;
}
