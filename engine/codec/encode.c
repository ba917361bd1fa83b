/*
 * encode.c — the structs of event.h → framed Avro bytes (see codec.h).
 *
 * Each encoder resets the codec's reusable avro value of its schema, sets
 * every field (by an index resolved once per field name, sk_codec_field;
 * avro_value_set_string and _set_bytes copy, so the caller's strings are
 * only read), then sk_codec_write_framed() writes the value through the
 * codec's one memory writer and copies header + body into the arena. The same
 * input always gives the same bytes: no field depends on time or order of
 * calls, so a re-sent command is byte-identical.
 *
 * Command, AuditRecord and TaskEvent, written for every event, are
 * encoded straight to Avro binary by encode_direct.c; their generic
 * encoders here (sk_codec_encode_*_generic) are the reference the unit
 * tests hold those to, byte for byte.
 *
 * Encoders refuse (SK_EINVAL) what a decoder would have to reject as
 * undecodable: an enum value out of range, a negative array length. NULL
 * strings are written as "".
 */
#define SK_CODEC_INTERNAL
#include "codec/codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Setter state: once rc is non-zero every put_* is a no-op, so an encoder
 * writes a flat list of puts and checks rc once. */
typedef struct ectx {
    avro_value_t *rec;
    const char *what; /* record name, for the message on stderr */
    int rc;
    sk_codec_t *codec; /* a top-level record: its field indexes are cached */
    sk_codec_kind_t kind;
} ectx_t;

static int put_field(ectx_t *e, const char *name, avro_value_t *out)
{
    if (e->rc)
        return e->rc;
    if (e->codec ? sk_codec_field(e->codec, e->kind, e->rec, name, out) != 0
                 : avro_value_get_by_name(e->rec, name, out, NULL) != 0) {
        fprintf(stderr, "shiftkey: codec: %s has no field '%s'\n", e->what, name);
        e->rc = SK_EINVAL;
    }
    return e->rc;
}

static void put_check(ectx_t *e, int avro_rc, const char *name)
{
    if (avro_rc != 0 && !e->rc) {
        fprintf(stderr, "shiftkey: codec: %s.%s: %s\n", e->what, name, avro_strerror());
        e->rc = avro_rc == ENOMEM ? SK_ENOMEM : SK_EINVAL;
    }
}

static void put_str(ectx_t *e, const char *name, const char *s)
{
    avro_value_t v;
    if (put_field(e, name, &v) == 0)
        put_check(e, avro_value_set_string(&v, s ? s : ""), name);
}

static void put_long(ectx_t *e, const char *name, int64_t x)
{
    avro_value_t v;
    if (put_field(e, name, &v) == 0)
        put_check(e, avro_value_set_long(&v, x), name);
}

static void put_int(ectx_t *e, const char *name, int32_t x)
{
    avro_value_t v;
    if (put_field(e, name, &v) == 0)
        put_check(e, avro_value_set_int(&v, x), name);
}

static void put_bool(ectx_t *e, const char *name, bool x)
{
    avro_value_t v;
    if (put_field(e, name, &v) == 0)
        put_check(e, avro_value_set_boolean(&v, x ? 1 : 0), name);
}

static void put_enum(ectx_t *e, const char *name, int x, int count)
{
    avro_value_t v;
    if (x < 0 || x >= count) {
        if (!e->rc)
            fprintf(stderr, "shiftkey: codec: %s.%s: enum value %d out of range (0..%d)\n", e->what,
                    name, x, count - 1);
        e->rc = e->rc ? e->rc : SK_EINVAL;
        return;
    }
    if (put_field(e, name, &v) == 0)
        put_check(e, avro_value_set_enum(&v, x), name);
}

static void put_bytes(ectx_t *e, avro_value_t *v, const char *name, const void *b, size_t n)
{
    if (!e->rc)
        put_check(e, avro_value_set_bytes(v, (void *)(b && n ? b : ""), b ? n : 0), name);
}

/* Union [null, T]: selects branch 1 (returned in *branch) or null. */
static void put_optional(ectx_t *e, const char *name, int present, avro_value_t *branch)
{
    avro_value_t u;
    if (put_field(e, name, &u) != 0)
        return;
    put_check(e, avro_value_set_branch(&u, present ? 1 : 0, branch), name);
    if (!present && !e->rc)
        put_check(e, avro_value_set_null(branch), name);
}

static void put_origin(ectx_t *e, const sk_origin_t *o)
{
    avro_value_t rec;
    if (put_field(e, "origin", &rec) != 0)
        return;
    ectx_t sub = {.rec = &rec, .what = "Origin"};
    put_str(&sub, "topic", o->topic);
    put_int(&sub, "partition", o->partition);
    put_long(&sub, "offset", o->offset);
    e->rc = sub.rc;
}

/* Appends each of strs[0..n) to the array field `name`. */
static void put_str_array(ectx_t *e, const char *name, const char *const *strs, size_t n)
{
    avro_value_t arr, item;
    if (put_field(e, name, &arr) != 0)
        return;
    for (size_t i = 0; i < n && !e->rc; i++) {
        put_check(e, avro_value_append(&arr, &item, NULL), name);
        if (!e->rc)
            put_check(e, avro_value_set_string(&item, strs[i] ? strs[i] : ""), name);
    }
}

/* An array of texts, each written (sk_text_render) into arena first. */
static void put_text_array(ectx_t *e, const char *name, const sk_text_t *texts, size_t n,
                           sk_arena_t *arena)
{
    avro_value_t arr, item;
    if (put_field(e, name, &arr) != 0)
        return;
    for (size_t i = 0; i < n && !e->rc; i++) {
        const char *s = sk_text_render(&texts[i], arena);
        if (!s) {
            e->rc = SK_ENOMEM;
            break;
        }
        put_check(e, avro_value_append(&arr, &item, NULL), name);
        if (!e->rc)
            put_check(e, avro_value_set_string(&item, s), name);
    }
}

int sk_codec_encode_schedule(sk_codec_t *codec, const sk_schedule_event_t *ev, sk_arena_t *arena,
                             void **out, size_t *out_len)
{
    int rc;
    avro_value_t end;
    ectx_t e = {.rec = sk_codec_value_for_write(codec, SK_CODEC_SCHEDULE),
                .what = "ScheduleEvent",
                .codec = codec,
                .kind = SK_CODEC_SCHEDULE};
    put_str(&e, "event_id", ev->event_id);
    put_enum(&e, "type", (int)ev->type, SK_SHIFT_EVENT_TYPE_COUNT);
    put_str(&e, "source", ev->source);
    put_str(&e, "rotation", ev->rotation);
    put_str(&e, "user", ev->user);
    put_str(&e, "shift_id", ev->shift_id);
    put_long(&e, "start", ev->start_ms);
    put_optional(&e, "end", ev->end_ms != SK_MS_NONE, &end);
    if (!e.rc && ev->end_ms != SK_MS_NONE)
        put_check(&e, avro_value_set_long(&end, ev->end_ms), "end");
    put_int(&e, "escalation_level", ev->escalation_level);
    put_long(&e, "occurred_at", ev->occurred_at_ms);
    if ((rc = e.rc))
        goto out;
    rc = sk_codec_write_framed(codec, SK_CODEC_SCHEDULE, arena, out, out_len);
out:
    return rc;
}

static void put_sources(ectx_t *e, const sk_source_ref_t *refs, size_t n)
{
    avro_value_t arr, item;
    if (put_field(e, "sources", &arr) != 0)
        return;
    for (size_t i = 0; i < n && !e->rc; i++) {
        put_check(e, avro_value_append(&arr, &item, NULL), "sources");
        ectx_t sub = {.rec = &item, .what = "SourceRef", .rc = e->rc};
        put_enum(&sub, "kind", (int)refs[i].kind, SK_SOURCE_WIRE_COUNT);
        put_str(&sub, "id", refs[i].id);
        put_str(&sub, "rotation", refs[i].rotation);
        put_long(&sub, "expires_at", refs[i].expires_at_ms);
        e->rc = sub.rc;
    }
}

int sk_codec_encode_command_generic(sk_codec_t *codec, const sk_command_t *cmd, sk_arena_t *arena,
                                    void **out, size_t *out_len)
{
    int rc;
    char id[sizeof cmd->command_id];
    ectx_t e = {.rec = sk_codec_value_for_write(codec, SK_CODEC_COMMAND),
                .what = "Command",
                .codec = codec,
                .kind = SK_CODEC_COMMAND};
    memcpy(id, cmd->command_id, sizeof id - 1);
    id[sizeof id - 1] = '\0'; /* never read past the fixed buffer */
    put_str(&e, "command_id", id);
    put_enum(&e, "action", (int)cmd->action, SK_CMD_ACTION_COUNT);
    put_str(&e, "user", cmd->user);
    put_str(&e, "app", cmd->app);
    put_str(&e, "entitlement", cmd->entitlement);
    put_str(&e, "resource", cmd->resource);
    put_str(&e, "permission", cmd->permission);
    put_long(&e, "expires_at", cmd->expires_at_ms);
    put_long(&e, "issued_at", cmd->issued_at_ms);
    const char *reason = sk_command_reason(cmd, arena);
    if (!reason && !e.rc)
        e.rc = SK_ENOMEM;
    put_str(&e, "reason", reason);
    put_bool(&e, "emergency", cmd->emergency);
    put_sources(&e, cmd->sources, cmd->sources ? cmd->n_sources : 0);
    if ((rc = e.rc))
        goto out;
    rc = sk_codec_write_framed(codec, SK_CODEC_COMMAND, arena, out, out_len);
out:
    return rc;
}

int sk_codec_encode_audit_generic(sk_codec_t *codec, const sk_audit_t *audit, sk_arena_t *arena,
                                  void **out, size_t *out_len)
{
    int rc;
    char id[sizeof audit->audit_id];
    ectx_t e = {.rec = sk_codec_value_for_write(codec, SK_CODEC_AUDIT),
                .what = "AuditRecord",
                .codec = codec,
                .kind = SK_CODEC_AUDIT};
    memcpy(id, audit->audit_id, sizeof id - 1);
    id[sizeof id - 1] = '\0';
    put_str(&e, "audit_id", id);
    put_long(&e, "at", audit->at_ms);
    put_str(&e, "actor", audit->actor);
    put_str(&e, "user", audit->user);
    put_str(&e, "event_id", audit->event_id);
    put_str(&e, "decision", audit->decision);
    const char *reason = sk_audit_reason(audit, arena);
    if (!reason && !e.rc)
        e.rc = SK_ENOMEM;
    put_str(&e, "reason", reason);
    put_str(&e, "rules_version", audit->rules_version);
    put_origin(&e, &audit->origin);
    put_text_array(&e, "trace", audit->trace, audit->trace ? audit->n_trace : 0, arena);
    put_str_array(&e, "command_ids", audit->command_ids,
                  audit->command_ids ? audit->n_commands : 0);
    if ((rc = e.rc))
        goto out;
    rc = sk_codec_write_framed(codec, SK_CODEC_AUDIT, arena, out, out_len);
out:
    return rc;
}

int sk_codec_encode_dead_letter(sk_codec_t *codec, const sk_dead_letter_t *dl, sk_arena_t *arena,
                                void **out, size_t *out_len)
{
    int rc;
    avro_value_t key, payload;
    ectx_t e = {.rec = sk_codec_value_for_write(codec, SK_CODEC_DEAD_LETTER),
                .what = "DeadLetter",
                .codec = codec,
                .kind = SK_CODEC_DEAD_LETTER};
    put_long(&e, "at", dl->at_ms);
    put_enum(&e, "kind", (int)dl->kind, SK_DL_KIND_COUNT);
    put_str(&e, "reason", dl->reason);
    put_origin(&e, &dl->origin);
    put_optional(&e, "key", dl->key != NULL, &key);
    if (dl->key)
        put_bytes(&e, &key, "key", dl->key, dl->key_len);
    if (put_field(&e, "payload", &payload) == 0)
        put_bytes(&e, &payload, "payload", dl->payload, dl->payload_len);
    if ((rc = e.rc))
        goto out;
    rc = sk_codec_write_framed(codec, SK_CODEC_DEAD_LETTER, arena, out, out_len);
out:
    return rc;
}

/* Union [null, string]: null when s is NULL. */
static void put_optional_str(ectx_t *e, const char *name, const char *s)
{
    avro_value_t branch;
    put_optional(e, name, s != NULL, &branch);
    if (!e->rc && s)
        put_check(e, avro_value_set_string(&branch, s), name);
}

int sk_codec_encode_request(sk_codec_t *codec, const sk_request_event_t *ev, sk_arena_t *arena,
                            void **out, size_t *out_len)
{
    int rc;
    avro_value_t dur;
    ectx_t e = {.rec = sk_codec_value_for_write(codec, SK_CODEC_REQUEST),
                .what = "AccessRequestEvent",
                .codec = codec,
                .kind = SK_CODEC_REQUEST};
    put_str(&e, "event_id", ev->event_id);
    put_enum(&e, "type", (int)ev->type, SK_REQ_EVENT_TYPE_COUNT);
    put_str(&e, "request_id", ev->request_id);
    put_str(&e, "actor", ev->actor);
    put_str(&e, "subject", ev->subject);
    put_enum(&e, "target_kind", (int)ev->target_kind, SK_TARGET_KIND_COUNT);
    put_str(&e, "target", ev->target);
    put_optional(&e, "duration_ms", ev->duration_ms != SK_MS_NONE, &dur);
    if (!e.rc && ev->duration_ms != SK_MS_NONE)
        put_check(&e, avro_value_set_long(&dur, ev->duration_ms), "duration_ms");
    put_str(&e, "justification", ev->justification);
    put_bool(&e, "emergency", ev->emergency);
    put_str(&e, "comment", ev->comment);
    put_optional_str(&e, "assignee", ev->assignee);
    put_optional_str(&e, "policy", ev->policy);
    put_str(&e, "source", ev->source);
    put_long(&e, "occurred_at", ev->occurred_at_ms);
    if ((rc = e.rc))
        goto out;
    rc = sk_codec_write_framed(codec, SK_CODEC_REQUEST, arena, out, out_len);
out:
    return rc;
}

int sk_codec_encode_task_generic(sk_codec_t *codec, const sk_task_t *task, sk_arena_t *arena,
                                 void **out, size_t *out_len)
{
    int rc;
    avro_value_t outcome;
    int has_outcome = task->outcome != SK_TASK_OUTCOME_NONE;
    ectx_t e = {.rec = sk_codec_value_for_write(codec, SK_CODEC_TASK),
                .what = "TaskEvent",
                .codec = codec,
                .kind = SK_CODEC_TASK};
    put_str(&e, "task_id", task->task_id);
    put_enum(&e, "kind", (int)task->kind, SK_TASK_KIND_COUNT);
    put_enum(&e, "state", (int)task->state, SK_TASK_STATE_COUNT);
    if (has_outcome && ((int)task->outcome < 0 || task->outcome >= SK_TASK_OUTCOME_COUNT)) {
        fprintf(stderr, "shiftkey: codec: TaskEvent.outcome: enum value %d out of range (0..%d)\n",
                (int)task->outcome, SK_TASK_OUTCOME_COUNT - 1);
        e.rc = e.rc ? e.rc : SK_EINVAL;
    }
    put_optional(&e, "outcome", has_outcome, &outcome);
    if (!e.rc && has_outcome)
        put_check(&e, avro_value_set_enum(&outcome, (int)task->outcome), "outcome");
    put_str(&e, "request_id", task->request_id);
    put_str(&e, "subject", task->subject);
    put_str(&e, "target", task->target);
    put_int(&e, "step", task->step);
    put_str_array(&e, "assignees", task->assignees, task->assignees ? task->n_assignees : 0);
    put_bool(&e, "emergency", task->emergency);
    put_str(&e, "reason", task->reason);
    put_long(&e, "at", task->at_ms);
    put_str(&e, "justification", task->justification);
    avro_value_t until;
    int has_until = task->expires_ms > 0 && task->expires_ms != SK_MS_NONE;
    put_optional(&e, "expires_at", has_until, &until);
    if (!e.rc && has_until)
        put_check(&e, avro_value_set_long(&until, task->expires_ms), "expires_at");
    put_str(&e, "actor", task->actor ? task->actor : "");
    if ((rc = e.rc))
        goto out;
    rc = sk_codec_write_framed(codec, SK_CODEC_TASK, arena, out, out_len);
out:
    return rc;
}

int sk_codec_encode_provisioning_result(sk_codec_t *codec, const sk_provisioning_result_t *res,
                                        sk_arena_t *arena, void **out, size_t *out_len)
{
    int rc;
    char id[sizeof res->command_id];
    ectx_t e = {.rec = sk_codec_value_for_write(codec, SK_CODEC_PROVISIONING_RESULT),
                .what = "ProvisioningResult",
                .codec = codec,
                .kind = SK_CODEC_PROVISIONING_RESULT};
    memcpy(id, res->command_id, sizeof id - 1);
    id[sizeof id - 1] = '\0'; /* never read past the fixed buffer */
    put_str(&e, "command_id", id);
    put_enum(&e, "result", (int)res->result, SK_PROV_STATUS_COUNT);
    put_bool(&e, "retryable", res->retryable);
    put_str(&e, "provisioner", res->provisioner);
    put_str(&e, "user", res->user);
    put_str(&e, "message", res->message);
    put_str(&e, "entitlement", res->entitlement ? res->entitlement : "");
    put_long(&e, "at", res->at_ms);
    if ((rc = e.rc))
        goto out;
    rc = sk_codec_write_framed(codec, SK_CODEC_PROVISIONING_RESULT, arena, out, out_len);
out:
    return rc;
}
