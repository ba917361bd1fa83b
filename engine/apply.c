/*
 * apply.c — one input through decode -> decide -> apply: the decision's
 * outputs are encoded and staged in the partition's outbox in the same
 * atomic Redis step that changes the user's state and records the offset.
 */
#include <inttypes.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"

#define MAX_OUT 256 /* commands + audit + dead letter of one decision */

typedef struct staged {
    sk_outbox_entry_t e[MAX_OUT];
    size_t n;
} staged_t;

static int stage(staged_t *st, sk_out_topic_t topic, const void *key, size_t key_len,
                 void *value, size_t len)
{
    if (st->n >= MAX_OUT)
        return SK_ENOMEM;
    st->e[st->n++] = (sk_outbox_entry_t){topic, key, key_len, value, len};
    return 0;
}

/* Encodes the decision's records into the outbox entries. */
/* Dead letters keep the original record key; everything else is keyed by
 * the subject user. */
static int stage_decision(sk_engine_t *e, const sk_decision_t *d, const sk_dead_letter_t *dl,
                          staged_t *st)
{
    void *buf;
    size_t len;
    int rc;
    for (size_t i = 0; i < d->n_commands; i++) {
        if ((rc = sk_codec_encode_command(e->codec, &d->commands[i], &e->arena, &buf, &len)) ||
            (rc = stage(st, SK_OUT_COMMANDS, d->commands[i].user, strlen(d->commands[i].user),
                        buf, len)))
            return rc;
    }
    if (dl) {
        if ((rc = sk_codec_encode_dead_letter(e->codec, dl, &e->arena, &buf, &len)) ||
            (rc = stage(st, SK_OUT_DEADLETTER, dl->key, dl->key_len, buf, len)))
            return rc;
    }
    if ((rc = sk_codec_encode_audit(e->codec, &d->audit, &e->arena, &buf, &len)))
        return rc;
    return stage(st, SK_OUT_AUDIT, d->audit.user, strlen(d->audit.user), buf, len);
}

/* Makes sure we hold a current claim on the partition (the claim could not
 * be made at assignment if Redis was down then). */
static int ensure_claimed(sk_engine_t *e, int32_t p)
{
    if (e->parts[p].epoch > 0)
        return 0;
    return sk_engine_take_partition(e, p);
}

static void log_commands(const sk_decision_t *d)
{
    char t[40];
    for (size_t i = 0; i < d->n_commands; i++) {
        const sk_command_t *c = &d->commands[i];
        SK_INFO("%-6s %s %s/%s %s %s: %s [%s]", sk_command_action_name(c->action), c->user,
                c->app, c->entitlement, c->action == SK_CMD_REVOKE ? "held until" : "until",
                sk_ms_format(c->expires_at_ms, t, sizeof(t)), c->reason, c->command_id);
    }
}

/* Applies the op; on FENCED with the epoch gone (Redis lost its data) the
 * partition is claimed again once, loudly. */
static int apply_op(sk_engine_t *e, sk_apply_op_t *op, bool *applied)
{
    int rc = sk_store_apply(e->store, op, applied);
    if (rc == SK_EFENCED) {
        const char *why = sk_store_last_error(e->store);
        if (strstr(why, "epoch is nil") || strstr(why, "epoch is false")) {
            SK_WARN("partition %" PRId32 ": its epoch vanished from Redis (data lost or "
                    "flushed?); claiming it again",
                    op->partition);
            e->parts[op->partition].epoch = 0;
            if ((rc = ensure_claimed(e, op->partition)) != 0)
                return rc;
            op->epoch = e->parts[op->partition].epoch;
            rc = sk_store_apply(e->store, op, applied);
        }
    }
    if (rc == SK_EFENCED) {
        SK_WARN("%s; leaving the partition to its new owner", sk_store_last_error(e->store));
        e->parts[op->partition].owned = false;
        e->stats.fenced++;
    }
    return rc;
}

int sk_apply_record(sk_engine_t *e, const rd_kafka_message_t *msg)
{
    int32_t p = msg->partition;
    sk_schedule_event_t ev;
    sk_decision_t d;
    sk_dead_letter_t dl = {0};
    char reason[512];
    staged_t *st = NULL;
    bool applied = false;
    int rc;

    if (p < 0 || p >= SK_MAX_PARTITIONS || !e->parts[p].owned)
        return 0; /* not ours (any more) */
    if ((rc = ensure_claimed(e, p)) != 0)
        return rc;
    sk_arena_reset(&e->arena);
    st = sk_arena_calloc(&e->arena, 1, sizeof(*st));
    if (!st)
        return SK_ENOMEM;

    const char *key = msg->key ? sk_arena_strndup(&e->arena, msg->key, msg->key_len) : "";
    sk_input_t in = {.kind = SK_INPUT_SCHEDULE,
                     .schedule = NULL,
                     .user = key ? key : "",
                     .origin = {rd_kafka_topic_name(msg->rkt), p, msg->offset},
                     .now_ms = sk_now_ms()};
    int drc = sk_codec_decode_schedule(e->codec, msg->payload, msg->len, &ev, reason,
                                       sizeof(reason));
    if (drc == 0 && strcmp(in.user, ev.user) != 0) {
        snprintf(reason, sizeof(reason),
                 "record key '%.64s' is not the event's user '%.64s': key every record by "
                 "its user so one user's events stay in order",
                 in.user, ev.user);
        drc = SK_EINVAL;
    }
    if (drc != 0) {
        in.user = "";
        rc = sk_decide_reject(e->rules, &in,
                              drc == SK_EPARSE ? SK_DL_UNDECODABLE : SK_DL_INVALID,
                              sk_arena_strdup(&e->arena, reason), &e->arena, &d);
    } else {
        sk_user_state_t state;
        in.schedule = &ev;
        in.user = ev.user;
        if ((rc = sk_store_load_user(e->store, p, ev.user, &e->arena, &state)) != 0)
            return rc;
        rc = sk_decide(e->rules, &in, &state, &e->arena, &d);
    }
    if (rc)
        return rc;
    if (d.rejected) {
        dl = (sk_dead_letter_t){in.now_ms, d.reject_kind, d.reject_reason, in.origin,
                                msg->key, msg->key_len, msg->payload, msg->len};
    }
    if ((rc = stage_decision(e, &d, d.rejected ? &dl : NULL, st)) != 0)
        return rc;
    sk_apply_op_t op = {.partition = p,
                        .epoch = e->parts[p].epoch,
                        .topic = in.origin.topic,
                        .offset = msg->offset,
                        .user = d.rejected ? NULL : in.user,
                        .diff = &d.diff,
                        .next_wake_ms = d.next_wake_ms,
                        .keep_until_ms = d.keep_until_ms,
                        .n_out = st->n,
                        .out = st->e};
    if ((rc = apply_op(e, &op, &applied)) != 0)
        return rc;
    e->stats.records++;
    e->parts[p].next_offset = msg->offset + 1;
    e->parts[p].commit_pending = true;
    if (!applied) {
        e->stats.duplicates_skipped++;
        SK_DEBUG("skipped %s[%" PRId32 "]@%" PRId64 ": already applied", in.origin.topic, p,
                 msg->offset);
        return 0;
    }
    e->parts[p].dirty = true;
    e->stats.decisions++;
    e->stats.commands += d.n_commands;
    if (d.rejected) {
        e->stats.dead_letters++;
        SK_WARN("dead letter %s[%" PRId32 "]@%" PRId64 ": %s", in.origin.topic, p, msg->offset,
                d.reject_reason);
    }
    log_commands(&d);
    return 0;
}

int sk_apply_timer(sk_engine_t *e, int32_t p, const char *user, sk_ms_t now)
{
    sk_user_state_t state;
    sk_decision_t d;
    bool applied = false;
    int rc;

    sk_arena_reset(&e->arena);
    staged_t *st = sk_arena_calloc(&e->arena, 1, sizeof(*st));
    if (!st)
        return SK_ENOMEM;
    sk_input_t in = {.kind = SK_INPUT_TIMER, .user = user, .origin = {"", p, -1}, .now_ms = now};
    if ((rc = sk_store_load_user(e->store, p, user, &e->arena, &state)) != 0)
        return rc;
    if ((rc = sk_decide(e->rules, &in, &state, &e->arena, &d)) != 0)
        return rc;
    bool changed = d.n_commands || d.diff.n_set || d.diff.n_del;
    if (changed && (rc = stage_decision(e, &d, NULL, st)) != 0)
        return rc;
    sk_apply_op_t op = {.partition = p,
                        .epoch = e->parts[p].epoch,
                        .topic = NULL,
                        .offset = -1,
                        .user = user,
                        .diff = &d.diff,
                        .next_wake_ms = d.next_wake_ms > now ? d.next_wake_ms : SK_MS_NONE,
                        .keep_until_ms = d.keep_until_ms,
                        .n_out = st->n,
                        .out = st->e};
    if ((rc = apply_op(e, &op, &applied)) != 0)
        return rc;
    e->stats.timers_fired++;
    e->stats.commands += d.n_commands;
    if (st->n)
        e->parts[p].dirty = true;
    log_commands(&d);
    return 0;
}
