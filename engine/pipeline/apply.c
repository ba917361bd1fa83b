/*
 * apply.c — input records through decode -> decide -> apply, a polled batch
 * at a time: the users' states are loaded in one pipelined round trip, the
 * records decided in order on in-memory state, and each decision turned
 * into plain store writes (user_value: the user's state packed whole, and
 * its timer; writes_of: on-call index fields, and its outputs encoded as
 * outbox records), which the same atomic
 * script applies with the offset (one pipelined round trip for the batch).
 * Timers take the same path one user at a time.
 *
 * Three input topics, co-partitioned and keyed by the subject user: shift
 * events (sk_decide), access requests (sk_decide_request, with the on-call
 * index read for the rotations their reviewers steps name) and provisioning
 * results (sk_decide_result).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "decide/decide_request.h"
#include "decide/oncall_index.h"
#include "pipeline/engine_internal.h"
#include "pipeline/load.h"
#include "pipeline/verify.h"

/* The encoded outputs of one decision, in outbox form. */
typedef struct staged {
    sk_outbox_entry_t *e;
    size_t n, cap;
} staged_t;

static staged_t *staged_new(sk_arena_t *a, size_t cap)
{
    staged_t *st = sk_arena_calloc(a, 1, sizeof(*st));
    if (st && !(st->e = sk_arena_calloc(a, cap, sizeof(*st->e))))
        return NULL;
    if (st)
        st->cap = cap;
    return st;
}

static int stage(staged_t *st, sk_out_topic_t topic, const void *key, size_t key_len, void *value,
                 size_t len)
{
    if (st->n >= st->cap)
        return SK_ENOMEM;
    st->e[st->n++] = (sk_outbox_entry_t){topic, key, key_len, value, len};
    return 0;
}

/* A copy of n bytes in arena memory (n > 0), or NULL. */
static void *copy_bytes(sk_arena_t *a, const void *b, size_t n)
{
    void *c = sk_arena_alloc(a, n);
    if (c)
        memcpy(c, b, n);
    return c;
}

/* Stages an encoded output; one larger than SK_OUT_RECORD_MAX (no input
 * should make one: decoded texts are bounded) is never staged, a notice
 * naming it is (poison.c), so no record in an outbox can be too large for
 * Kafka. 0 or SK_ENOMEM. */
static int stage_bounded(sk_engine_t *e, staged_t *st, sk_out_topic_t topic, int32_t p,
                         const void *key, size_t key_len, void *value, size_t len)
{
    const char *const names[SK_OUT_TOPIC_COUNT] = {e->cfg.commands_topic, e->cfg.audit_topic,
                                                   e->cfg.deadletter_topic, e->cfg.tasks_topic};
    sk_dead_letter_t dl;
    if (len <= SK_OUT_RECORD_MAX)
        return stage(st, topic, key, key_len, value, len);
    sk_poison_refusal_t *r = sk_poison_refusal_new(names[topic], p, key, key_len, value, len,
                                                   "larger than the engine's bound on an output");
    int rc = r ? sk_poison_notice(&e->arena, r, &dl) : SK_ENOMEM;
    if (rc == 0) {
        dl.key = dl.key ? copy_bytes(&e->arena, dl.key, dl.key_len) : NULL;
        dl.payload = copy_bytes(&e->arena, dl.payload, dl.payload_len);
        if ((dl.key_len && !dl.key) || !dl.payload)
            rc = SK_ENOMEM;
    }
    free(r);
    if (rc == 0) {
        SK_ERROR("partition %" PRId32 ": %s", p, dl.reason);
        rc = sk_codec_encode_dead_letter(e->codec, &dl, &e->arena, &value, &len);
    }
    return rc ? rc : stage(st, SK_OUT_DEADLETTER, dl.key, dl.key_len, value, len);
}

/* Encodes the decision's records into outbox entries: commands, the dead
 * letter, the audit record, then tasks. Dead letters keep the original
 * record key; everything else is keyed by the subject user. */
static int stage_decision(sk_engine_t *e, const sk_decision_t *d, const sk_dead_letter_t *dl,
                          staged_t *st)
{
    void *buf;
    size_t len;
    int rc;
    int32_t p = d->audit.origin.partition;
    for (size_t i = 0; i < d->n_commands; i++) {
        if ((rc = sk_codec_encode_command(e->codec, &d->commands[i], &e->arena, &buf, &len)) ||
            (rc = stage_bounded(e, st, SK_OUT_COMMANDS, p, d->commands[i].user,
                                strlen(d->commands[i].user), buf, len)))
            return rc;
    }
    if (dl) {
        if ((rc = sk_codec_encode_dead_letter(e->codec, dl, &e->arena, &buf, &len)) ||
            (rc = stage_bounded(e, st, SK_OUT_DEADLETTER, p, dl->key, dl->key_len, buf, len)))
            return rc;
    }
    if ((rc = sk_codec_encode_audit(e->codec, &d->audit, &e->arena, &buf, &len)) ||
        (rc =
             stage_bounded(e, st, SK_OUT_AUDIT, p, d->audit.user, strlen(d->audit.user), buf, len)))
        return rc;
    for (size_t i = 0; i < d->n_tasks; i++) {
        const sk_task_t *t = &d->tasks[i];
        if ((rc = sk_codec_encode_task(e->codec, t, &e->arena, &buf, &len)) ||
            (rc = stage_bounded(e, st, SK_OUT_TASKS, p, t->subject, strlen(t->subject), buf, len)))
            return rc;
    }
    return 0;
}

/* One DEBUG line per command. Not INFO: every command is on the commands
 * topic and its decision on the audit topic (Kafka is the audit trail); at
 * thousands of commands a second an INFO line each was most of the log's
 * volume and a write(2) each on the engine's thread. engine.c logs an INFO
 * summary a minute instead. */
static void log_commands(const sk_decision_t *d, sk_arena_t *a)
{
    char t[40];
    if (!sk_log_enabled(SK_LOG_DEBUG))
        return;
    for (size_t i = 0; i < d->n_commands; i++) {
        const sk_command_t *c = &d->commands[i];
        const char *why = sk_command_reason(c, a); /* decide leaves it lazy */
        SK_DEBUG("%-6s %s %s/%s %s %s: %s [%s]", sk_command_action_name(c->action), c->user, c->app,
                 c->entitlement, c->action == SK_CMD_REVOKE ? "held until" : "until",
                 sk_ms_format(c->expires_at_ms, t, sizeof(t)), why ? why : "", c->command_id);
    }
}

/*
 * After SK_ENOTFOUND on partition p: Redis lost the partition's state (its
 * epoch vanished: restarted without its data, flushed, replaced; or it went
 * back in time: a failover to a replica that lagged). The partition stops,
 * loudly (once): it is restored from the changelog (sk_partition_ensure)
 * before the work is retried.
 */
static void state_lost(sk_engine_t *e, int32_t p)
{
    if (e->parts[p].lost)
        return; /* another write of the same batch said so already */
    SK_ERROR("%s; the partition stops until it is restored from the changelog",
             sk_store_last_error(e->store));
    sk_emit_forget(e, p);
    e->parts[p].lost = true;
}

/*
 * After SK_EFENCED on partition p: another instance owns it now. We let go,
 * dropping our chunks in flight (their trims would be fenced anyway: they
 * are the new owner's to trim).
 */
static void let_go(sk_engine_t *e, int32_t p)
{
    sk_emit_let_go(e, p, sk_store_last_error(e->store));
}

/* Applies one input's writes (timers): a lost state stops the partition
 * (SK_EAGAIN: it is restored, and its timers read again, before its next
 * use); a newer owner is left the partition (SK_EFENCED is returned). */
static int apply_op(sk_engine_t *e, sk_store_writes_t *w, bool *applied)
{
    int rc = sk_store_apply(e->store, w, applied);
    if (rc == SK_ENOTFOUND) {
        state_lost(e, w->partition);
        return SK_EAGAIN;
    }
    if (rc == SK_EFENCED)
        let_go(e, w->partition);
    if (rc == 0 && *applied && w->seq > e->parts[w->partition].seq)
        e->parts[w->partition].seq = w->seq;
    return rc;
}

/*
 * The user's value after a step, for the store: *w's value_op and value
 * and its timer (next_wake_ms). The state `after` is packed whole
 * (codec/state_pack.h) with its keep-until; the key is deleted when the
 * state is empty or already past its keep-until at `now` (as a TTL would
 * have dropped it), and kept unwritten when the step changed nothing
 * (`diff` empty, the same keep-until) or packs to the same bytes. The
 * timer is next_wake alone: a value past its keep-until is deleted by the
 * keep-until sweep (keep_sweep.c), and reads as empty until then (no
 * timer member for the keep-until alone: 104 bytes a user). *cur is the
 * user's value before the step and
 * becomes the one after. Arena memory. 0 or SK_ENOMEM.
 */
static int user_value(sk_arena_t *a, const sk_user_state_t *after, const sk_state_diff_t *diff,
                      sk_ms_t keep, sk_ms_t next_wake, sk_ms_t now, sk_store_value_t *cur,
                      sk_store_writes_t *w)
{
    sk_ms_t cur_keep = SK_MS_NONE;
    sk_state_field_t *sf = NULL;
    size_t n = 0;
    int rc;
    bool had = cur->len > 0;
    if (had && sk_state_pack_keep_until(cur->bytes, cur->len, &cur_keep) != 0)
        cur_keep = SK_MS_NONE - 1; /* damaged: differs from any keep-until */
    bool expired = keep != SK_MS_NONE && keep <= now;
    w->value_op = SK_STORE_VALUE_KEEP;
    w->next_wake_ms = next_wake;
    if (!expired && had && diff->n_set == 0 && diff->n_del == 0 && cur_keep == keep) {
        return 0; /* nothing changed */
    }
    if (!expired && (rc = sk_state_fields(a, after, &sf, &n)) != 0)
        return rc;
    if (expired || n == 0) {
        if (had)
            w->value_op = SK_STORE_VALUE_DEL;
        *cur = (sk_store_value_t){0};
        return 0;
    }
    sk_store_field_t *f = sk_arena_calloc(a, n, sizeof(*f));
    void *packed;
    size_t len;
    if (!f)
        return SK_ENOMEM;
    for (size_t k = 0; k < n; k++)
        f[k] = (sk_store_field_t){sf[k].name, sf[k].name_len, sf[k].value, sf[k].value_len};
    if ((rc = sk_state_pack(a, f, n, keep, &packed, &len)) != 0)
        return rc;
    if (had && cur->len == len && memcmp(cur->bytes, packed, len) == 0)
        return 0; /* the same bytes */
    w->value_op = SK_STORE_VALUE_SET;
    w->value = packed;
    w->value_len = len;
    *cur = (sk_store_value_t){packed, len};
    return 0;
}

/*
 * The store writes of a decision, as plain data (store.h): the on-call
 * index writes and the staged outputs (the user's value is user_value's;
 * the other fields of *w are the caller's). Arrays in arena memory;
 * strings borrowed. 0 or SK_ENOMEM.
 */
static int writes_of(sk_arena_t *a, const sk_oncall_op_t *oncall, size_t n_oncall,
                     const staged_t *st, sk_store_writes_t *w)
{
    sk_store_oncall_field_t *idx = sk_arena_calloc(a, n_oncall + 1, sizeof(*idx));
    if (!idx)
        return SK_ENOMEM;
    for (size_t k = 0; k < n_oncall; k++)
        idx[k] = (sk_store_oncall_field_t){oncall[k].rotation, oncall[k].field, oncall[k].value};
    w->n_oncall = n_oncall;
    w->oncall = idx;
    w->n_out = st->n;
    w->out = st->e;
    return 0;
}

/* One record of a batch on its way through decode -> decide -> apply. */
typedef struct item {
    const rd_kafka_message_t *msg;
    int topic; /* sk_in_topic_t */
    bool skip; /* not ours, or known to be applied already */
    sk_input_t in;
    sk_schedule_event_t ev;       /* schedule records; strings copied into the batch arena */
    sk_request_event_t req;       /* request records; likewise */
    sk_provisioning_result_t res; /* provisioning results; likewise */
    const char *user;             /* the subject user, once decoded */
    sk_request_decision_t rd;     /* request records: the decision with its tasks */
    int drc;                      /* decode result */
    const char *reason;           /* decode failure */
    const char *refused_actor;    /* refused by verify.c: the actor the record claims */
    const char *refused_verdict;  /* and why, e.g. "bad_signature" */
    const char *refused_event;    /* and the event id it carries */
    size_t user_idx;              /* into the batch's distinct users */
    sk_decision_t d;
    sk_dead_letter_t dl;
    staged_t *st;
    sk_oncall_op_t *oncall; /* on-call index writes of the decision */
    size_t n_oncall;
} item_t;

static const char *copy_str(sk_arena_t *a, const char *s)
{
    return sk_arena_strdup(a, s);
}

/* Copies a string the codec owns into the batch arena (NULL stays NULL);
 * *ok becomes false when out of memory. */
static const char *keep_str(sk_engine_t *e, const char *s, bool *ok)
{
    const char *c = s ? sk_arena_strdup(&e->arena, s) : NULL;
    if (s && !c)
        *ok = false;
    return c;
}

/* Refuses item it (decoded) as verify.c said: a dead letter, and an audit
 * record that names the claimed actor and the signer (decide_item). */
static int refuse_item(sk_engine_t *e, item_t *it, const sk_verify_t *v, const char *actor,
                       const char *event_id)
{
    it->refused_event = event_id;
    it->drc = SK_EINVAL; /* in.user stays the subject: the audit record names it */
    it->user = NULL;
    it->refused_actor = actor ? actor : "";
    it->refused_verdict = v->verdict;
    it->reason = sk_arena_sprintf(&e->arena,
                                  "identity refused (%s): %s; claimed actor '%.64s', "
                                  "signer '%.64s'",
                                  v->verdict, v->reason, it->refused_actor,
                                  v->signer[0] ? v->signer : "(none)");
    return it->reason ? 0 : SK_ENOMEM;
}

/* The identity checks of a decoded request or result (pipeline/verify.c). */
static int verify_item(sk_engine_t *e, item_t *it, const char *actor, const char *event_id,
                       sk_ms_t occurred_at_ms)
{
    sk_verify_t v;
    int rc = sk_verify_identity(e, it->msg, it->user, actor, event_id, occurred_at_ms,
                                it->in.now_ms, &v);
    if (rc != 0 || v.accepted)
        return rc;
    return refuse_item(e, it, &v, actor, event_id);
}

/* Decodes a record of the requests topic into *it (see decode_item). */
static int decode_request(sk_engine_t *e, item_t *it, const char *key)
{
    char reason[512];
    sk_request_event_t rq;
    bool ok = true;
    it->drc = sk_codec_decode_request(e->codec, it->msg->payload, it->msg->len, &rq, reason,
                                      sizeof(reason));
    if (it->drc == 0 && strcmp(key, rq.subject) != 0) {
        snprintf(reason, sizeof(reason),
                 "record key '%.64s' is not the request's subject '%.64s': key every request "
                 "event by its subject so one request's events stay in order",
                 key, rq.subject);
        it->drc = SK_EINVAL;
    }
    if (it->drc != 0) {
        it->in.user = "";
        it->reason = sk_arena_strdup(&e->arena, reason);
        return it->reason ? 0 : SK_ENOMEM;
    }
    it->req = rq;
    it->req.event_id = keep_str(e, rq.event_id, &ok);
    it->req.request_id = keep_str(e, rq.request_id, &ok);
    it->req.actor = keep_str(e, rq.actor, &ok);
    it->req.subject = keep_str(e, rq.subject, &ok);
    it->req.target = keep_str(e, rq.target, &ok);
    it->req.justification = keep_str(e, rq.justification, &ok);
    it->req.comment = keep_str(e, rq.comment, &ok);
    it->req.assignee = keep_str(e, rq.assignee, &ok);
    it->req.policy = keep_str(e, rq.policy, &ok);
    it->req.source = keep_str(e, rq.source, &ok);
    if (!ok)
        return SK_ENOMEM;
    it->in.user = it->user = it->req.subject;
    return verify_item(e, it, it->req.actor, it->req.event_id, it->req.occurred_at_ms);
}

/* Decodes a record of the provisioning results topic into *it (see
 * decode_item): the key must be the result's user. */
static int decode_result(sk_engine_t *e, item_t *it, const char *key)
{
    char reason[512];
    sk_provisioning_result_t r;
    bool ok = true;
    it->drc = sk_codec_decode_provisioning_result(e->codec, it->msg->payload, it->msg->len, &r,
                                                  reason, sizeof(reason));
    if (it->drc == 0 && strcmp(key, r.user) != 0) {
        snprintf(reason, sizeof(reason),
                 "record key '%.64s' is not the result's user '%.64s': key every provisioning "
                 "result by its user so it lands where the user's state is",
                 key, r.user);
        it->drc = SK_EINVAL;
    }
    if (it->drc != 0) {
        it->in.user = "";
        it->reason = sk_arena_strdup(&e->arena, reason);
        return it->reason ? 0 : SK_ENOMEM;
    }
    it->res = r; /* command_id is an array: copied with the struct */
    it->res.provisioner = keep_str(e, r.provisioner, &ok);
    it->res.user = keep_str(e, r.user, &ok);
    it->res.message = keep_str(e, r.message, &ok);
    it->res.entitlement = keep_str(e, r.entitlement, &ok); /* FOUND (1012) */
    if (!ok)
        return SK_ENOMEM;
    it->in.user = it->user = it->res.user;
    /* a result has no event id: the answer itself is the event */
    const char *event_id =
        sk_arena_sprintf(&e->arena, "%s:%s:%lld", r.command_id,
                         sk_provisioning_status_name(r.result), (long long)r.at_ms);
    if (!event_id)
        return SK_ENOMEM;
    return verify_item(e, it, it->res.provisioner, event_id, r.at_ms);
}

/* Decodes one record into *it; the event's strings are copied because the
 * codec reuses its buffers on the next decode. */
static int decode_item(sk_engine_t *e, item_t *it)
{
    const rd_kafka_message_t *msg = it->msg;
    char reason[512];
    sk_schedule_event_t ev;
    const char *key = msg->key ? sk_arena_strndup(&e->arena, msg->key, msg->key_len) : "";
    if (!key)
        return SK_ENOMEM;
    it->in = (sk_input_t){.kind = SK_INPUT_SCHEDULE,
                          .user = key,
                          .origin = {rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset},
                          .now_ms = sk_now_ms()};
    /* a record on another partition than its key's is never decided */
    sk_verify_t v;
    int rc = sk_verify_partition(e, msg, &v);
    if (rc != 0)
        return rc;
    if (!v.accepted) {
        it->drc = SK_EINVAL;
        it->in.user = "";
        it->reason = sk_arena_strdup(&e->arena, v.reason);
        return it->reason ? 0 : SK_ENOMEM;
    }
    if (it->topic == SK_IN_REQUESTS)
        return decode_request(e, it, key);
    if (it->topic == SK_IN_RESULTS)
        return decode_result(e, it, key);
    it->drc =
        sk_codec_decode_schedule(e->codec, msg->payload, msg->len, &ev, reason, sizeof(reason));
    if (it->drc == 0 && strcmp(key, ev.user) != 0) {
        snprintf(reason, sizeof(reason),
                 "record key '%.64s' is not the event's user '%.64s': key every record by "
                 "its user so one user's events stay in order",
                 key, ev.user);
        it->drc = SK_EINVAL;
    }
    if (it->drc != 0) {
        it->in.user = "";
        it->reason = sk_arena_strdup(&e->arena, reason);
        return it->reason ? 0 : SK_ENOMEM;
    }
    it->ev = ev;
    it->ev.event_id = copy_str(&e->arena, ev.event_id);
    it->ev.source = copy_str(&e->arena, ev.source);
    it->ev.rotation = copy_str(&e->arena, ev.rotation);
    it->ev.user = copy_str(&e->arena, ev.user);
    it->ev.shift_id = copy_str(&e->arena, ev.shift_id);
    if (!it->ev.event_id || !it->ev.source || !it->ev.rotation || !it->ev.user || !it->ev.shift_id)
        return SK_ENOMEM;
    it->in.schedule = &it->ev;
    it->in.user = it->user = it->ev.user;
    return 0;
}

/* Decides one item on the user's current state (updated in place for the
 * next record of the same user in the batch) and encodes its outputs.
 * `oncall` is the batch's view of the on-call index: requests resolve
 * their on_call reviewers from it, and every decision's index writes are
 * applied to it for the records after. */
static int decide_item(sk_engine_t *e, item_t *it, sk_user_state_t *states,
                       sk_oncall_view_t *oncall)
{
    sk_user_state_t before = it->drc == 0 ? states[it->user_idx] : (sk_user_state_t){0};
    int rc;
    if (it->drc != 0) {
        rc = sk_decide_reject(e->rules, &it->in,
                              it->drc == SK_EPARSE ? SK_DL_UNDECODABLE : SK_DL_INVALID, it->reason,
                              &e->arena, &it->d);
        if (rc == 0 && it->refused_actor) {
            it->d.audit.actor = it->refused_actor;
            it->d.audit.event_id = it->refused_event;
            it->d.audit.decision = sk_arena_sprintf(&e->arena, "refused_%s", it->refused_verdict);
            if (!it->d.audit.decision)
                return SK_ENOMEM;
        }
    } else if (it->topic == SK_IN_REQUESTS) {
        sk_request_input_t rin = {
            .event = &it->req, .origin = it->in.origin, .now_ms = it->in.now_ms};
        sk_oncall_list_t *lists = NULL;
        size_t n_lists = 0;
        if (oncall->n_rotations &&
            (rc = sk_oncall_view_lists(oncall, it->in.now_ms, &e->arena, &lists, &n_lists)))
            return rc;
        rin.oncall = lists;
        rin.n_oncall = n_lists;
        rc = sk_decide_request(e->rules, &rin, &states[it->user_idx], &e->arena, &it->rd);
        it->d = it->rd.base;
        if (rc == 0 && !it->d.rejected)
            states[it->user_idx] = it->d.state;
    } else if (it->topic == SK_IN_RESULTS) {
        sk_result_input_t rin = {
            .result = &it->res, .origin = it->in.origin, .now_ms = it->in.now_ms};
        rc = sk_decide_result(e->rules, &rin, &states[it->user_idx], &e->arena, &it->rd);
        it->d = it->rd.base;
        if (rc == 0 && !it->d.rejected)
            states[it->user_idx] = it->d.state;
    } else {
        rc = sk_decide(e->rules, &it->in, &states[it->user_idx], &e->arena, &it->d);
        if (rc == 0 && !it->d.rejected)
            states[it->user_idx] = it->d.state;
    }
    if (rc)
        return rc;
    if (!it->d.rejected &&
        ((rc = sk_oncall_ops(&before, &it->d.state, &e->arena, &it->oncall, &it->n_oncall)) ||
         (rc = sk_oncall_view_apply(oncall, it->oncall, it->n_oncall))))
        return rc;
    if (it->d.rejected) {
        it->dl =
            (sk_dead_letter_t){it->in.now_ms, it->d.reject_kind, it->d.reject_reason, it->in.origin,
                               it->msg->key,  it->msg->key_len,  it->msg->payload,    it->msg->len};
        /* a prefix, the length and a SHA-256: never the whole record */
        if ((rc = sk_poison_bound_dead_letter(&e->arena, &it->dl)) != 0)
            return rc;
    }
    it->st = staged_new(&e->arena, it->d.n_commands + it->d.n_tasks + 3);
    if (!it->st)
        return SK_ENOMEM;
    return stage_decision(e, &it->d, it->d.rejected ? &it->dl : NULL, it->st);
}

static void note_applied(sk_engine_t *e, const item_t *it, bool applied)
{
    int32_t p = it->msg->partition;
    bool rq = it->drc == 0 && it->topic != SK_IN_SCHEDULE; /* it->rd is set */
    sk_engine_metrics_decision(
        &e->m,
        it->topic == SK_IN_REQUESTS ? "request"
        : rq                        ? "result"
                                    : "schedule",
        it->in.origin.topic, applied, &it->d, rq && it->rd.refused,
        rq ? it->rd.refuse_reason : NULL,
        rq && it->topic == SK_IN_REQUESTS ? sk_request_event_type_name(it->req.type) : "result",
        rd_kafka_message_timestamp(it->msg, NULL), sk_now_ms());
    sk_engine_metrics_identity(&e->m, it->topic == SK_IN_REQUESTS ? "request" : "result",
                               it->refused_verdict);
    e->stats.records++;
    e->parts[p].in[it->topic].next_offset = it->msg->offset + 1;
    e->parts[p].in[it->topic].applied_offset = it->msg->offset;
    e->parts[p].in[it->topic].commit_pending = true;
    if (!applied) {
        e->stats.duplicates_skipped++;
        SK_DEBUG("skipped %s[%" PRId32 "]@%" PRId64 ": already applied", it->in.origin.topic, p,
                 it->msg->offset);
        return;
    }
    e->parts[p].dirty = true;
    e->stats.decisions++;
    e->stats.commands += it->d.n_commands;
    if (it->d.rejected) {
        e->stats.dead_letters++;
        SK_WARN("dead letter %s[%" PRId32 "]@%" PRId64 ": %s", it->in.origin.topic, p,
                it->msg->offset, it->d.reject_reason);
    }
    /* an undecodable record has no fields to name: its dead-letter line says it all */
    if (it->drc == 0 && it->topic == SK_IN_REQUESTS)
        SK_INFO("request %s of %s (%s by %s): %s: %s", it->req.request_id, it->req.subject,
                sk_request_event_type_name(it->req.type), it->req.actor, it->d.audit.decision,
                it->d.audit.reason);
    else if (it->drc == 0 && it->topic == SK_IN_RESULTS)
        SK_INFO("provisioning result %s for %s (%s by %s): %s: %s", it->res.command_id,
                it->res.user, sk_provisioning_status_name(it->res.result), it->res.provisioner,
                it->d.audit.decision, it->d.audit.reason);
    log_commands(&it->d, &e->arena);
}

/* Distinct (partition, user) pairs of the batch, for one pipelined load. */
static int gather_users(sk_engine_t *e, item_t *items, size_t n, int32_t **parts,
                        const char ***users, size_t *n_users)
{
    *parts = sk_arena_calloc(&e->arena, n + 1, sizeof(**parts));
    *users = sk_arena_calloc(&e->arena, n + 1, sizeof(**users));
    if (!*parts || !*users)
        return SK_ENOMEM;
    *n_users = 0;
    for (size_t i = 0; i < n; i++) {
        item_t *it = &items[i];
        if (it->skip || it->drc != 0)
            continue;
        size_t k = 0;
        while (k < *n_users &&
               !((*parts)[k] == it->msg->partition && strcmp((*users)[k], it->user) == 0))
            k++;
        if (k == *n_users) {
            (*parts)[k] = it->msg->partition;
            (*users)[k] = it->user;
            (*n_users)++;
        }
        it->user_idx = k;
    }
    return 0;
}

/*
 * The states of the batch's distinct users: from the cache where it holds
 * them, the others read from Redis in one pipelined round trip (none when
 * all are cached). values[k] keeps the value states[k] was parsed from:
 * the base of the cache's entry after the user's first applied step.
 */
static int load_states(sk_engine_t *e, size_t n, const int32_t *parts, const char *const *users,
                       sk_store_value_t *values, sk_user_state_t *states)
{
    size_t *miss = sk_arena_calloc(&e->arena, n + 1, sizeof(*miss)), n_miss = 0;
    int32_t *mp = sk_arena_calloc(&e->arena, n + 1, sizeof(*mp));
    const char **mu = sk_arena_calloc(&e->arena, n + 1, sizeof(*mu));
    sk_store_value_t *read = sk_arena_calloc(&e->arena, n + 1, sizeof(*read));
    sk_ms_t now = sk_now_ms();
    int rc;
    if (!miss || !mp || !mu || !read)
        return SK_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        bool hit = false;
        if ((rc = sk_state_cache_get(e->cache, parts[k], users[k], &e->arena, &values[k], &hit)) !=
            0)
            return rc;
        if (!hit) {
            miss[n_miss] = k;
            mp[n_miss] = parts[k];
            mu[n_miss++] = users[k];
        }
    }
    if (n_miss && (rc = sk_store_read_users(e->store, n_miss, mp, mu, &e->arena, read)) != 0)
        return rc;
    for (size_t i = 0; i < n_miss; i++)
        values[miss[i]] = read[i];
    for (size_t k = 0; k < n; k++)
        if ((rc = sk_load_state(&e->arena, users[k], &values[k], now, &states[k])) != 0)
            return rc;
    return 0;
}

/*
 * After an apply: a step Redis applied goes into the cache (and its
 * outputs to the emitter's memory, in outbox order); a user whose step was
 * skipped or refused is dropped from the cache, and not cached again in
 * this batch (tainted[k]).
 */
static void note_step(sk_engine_t *e, const sk_store_writes_t *w, const sk_store_value_t *base,
                      bool applied, int rc, bool *tainted)
{
    if (rc == 0 && applied)
        sk_emit_staged(e, w->partition, w->out, w->n_out);
    if (!w->user)
        return;
    if (rc == 0 && applied && !*tainted) {
        if (sk_state_cache_apply(e->cache, base, w) != 0)
            *tainted = true;
        return;
    }
    sk_state_cache_drop(e->cache, w->partition, w->user);
    *tainted = true;
}

/*
 * Reads the on-call index of every rotation that an on_call reviewers step
 * of the batch's requests may name, for all partitions, into *view (one
 * pipelined round trip; none when no request of the batch can reach such a
 * step). Needs the users' states loaded (a request's frozen policy).
 */
static int load_oncall(sk_engine_t *e, const item_t *items, size_t n, const sk_user_state_t *states,
                       sk_oncall_view_t *view)
{
    const char *rots[SK_ONCALL_MAX_ROTATIONS];
    size_t n_rots = 0;
    int32_t n_parts = 0;
    int rc;
    for (size_t i = 0; i < n; i++) {
        const item_t *it = &items[i];
        if (it->skip || it->drc != 0 || it->topic != SK_IN_REQUESTS)
            continue;
        if (sk_oncall_rotations(e->rules, &it->req, &states[it->user_idx], rots,
                                SK_ONCALL_MAX_ROTATIONS, &n_rots) != 0) {
            SK_WARN("more than %d rotations named by on_call reviewers in one batch; "
                    "the others find no one",
                    SK_ONCALL_MAX_ROTATIONS);
            break;
        }
    }
    if ((rc = sk_oncall_view_init(view, &e->arena, rots, n_rots)) != 0 || n_rots == 0)
        return rc;
    if ((rc = sk_partition_count(e, &n_parts)) != 0)
        return rc;
    return sk_load_oncall(e->store, n_parts, view);
}

int sk_apply_batch(sk_engine_t *e, rd_kafka_message_t *const *msgs, size_t n)
{
    int32_t *parts;
    const char **users;
    size_t n_users = 0, n_ops = 0;
    sk_user_state_t *states;
    sk_store_value_t *values, *cur;
    bool *tainted, untainted = false;
    sk_oncall_view_t oncall;
    int rc;

    sk_arena_reset(&e->arena);
    item_t *items = sk_arena_calloc(&e->arena, n + 1, sizeof(*items));
    sk_store_writes_t *ops = sk_arena_calloc(&e->arena, n + 1, sizeof(*ops));
    item_t **op_item = sk_arena_calloc(&e->arena, n + 1, sizeof(*op_item));
    bool *applied = sk_arena_calloc(&e->arena, n + 1, sizeof(*applied));
    int *rcs = sk_arena_calloc(&e->arena, n + 1, sizeof(*rcs));
    if (!items || !ops || !op_item || !applied || !rcs)
        return SK_ENOMEM;

    /* decode; skip what is not ours or was applied before (a retry) */
    for (size_t i = 0; i < n; i++) {
        item_t *it = &items[i];
        int32_t p = msgs[i]->partition;
        it->msg = msgs[i];
        it->topic = sk_in_topic_index(&e->cfg, rd_kafka_topic_name(msgs[i]->rkt));
        if (p < 0 || p >= SK_MAX_PARTITIONS || it->topic < 0 || !e->parts[p].owned ||
            e->parts[p].stopped || msgs[i]->offset <= e->parts[p].in[it->topic].applied_offset) {
            it->skip = true;
            continue;
        }
        if ((rc = sk_partition_ensure(e, p)) != 0)
            return rc;
        if (e->parts[p].stale_polled || sk_hold_active(e, p, it->topic)) {
            it->skip = true; /* restored or held, moved back: it comes again, in order */
            continue;
        }
        if ((rc = decode_item(e, it)) != 0)
            return rc;
        if (it->drc == SK_EAGAIN) { /* no answer is not a bad record: hold (hold.c) */
            it->skip = true;
            (void)sk_hold_start(e, p, it->topic, msgs[i]->offset, it->reason);
            continue;
        }
        sk_hold_ok(e, p, it->topic);
        for (int t = 0; t < SK_IN_TOPIC_COUNT; t++)
            e->parts[p].ledger_off[t] = e->parts[p].in[t].applied_offset;
    }
    /* load every user's state in one round trip, then decide in order */
    if ((rc = gather_users(e, items, n, &parts, &users, &n_users)) != 0)
        return rc;
    states = sk_arena_calloc(&e->arena, n_users + 1, sizeof(*states));
    values = sk_arena_calloc(&e->arena, n_users + 1, sizeof(*values));
    cur = sk_arena_calloc(&e->arena, n_users + 1, sizeof(*cur));
    tainted = sk_arena_calloc(&e->arena, n_users + 1, sizeof(*tainted));
    if (!states || !values || !cur || !tainted)
        return SK_ENOMEM;
    if (n_users && (rc = load_states(e, n_users, parts, users, values, states)) != 0)
        return rc;
    if (n_users)
        memcpy(cur, values, n_users * sizeof(*cur));
    if ((rc = load_oncall(e, items, n, states, &oncall)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        item_t *it = &items[i];
        int32_t p = it->msg->partition;
        if (it->skip)
            continue;
        if ((rc = decide_item(e, it, states, &oncall)) != 0)
            return rc;
        /* the ledger's record of the step: the user's whole state after it */
        sk_outbox_entry_t rec;
        int64_t seq = 0;
        if (it->msg->offset > e->parts[p].ledger_off[it->topic])
            e->parts[p].ledger_off[it->topic] = it->msg->offset;
        if ((rc = sk_ledger_stage(e, p, it->d.rejected ? NULL : it->in.user,
                                  it->d.rejected ? NULL : &states[it->user_idx], it->d.next_wake_ms,
                                  it->d.keep_until_ms, &rec, &seq)) != 0 ||
            (rc = stage(it->st, rec.topic, rec.key, rec.key_len, (void *)rec.value,
                        rec.value_len)) != 0)
            return rc;
        ops[n_ops] = (sk_store_writes_t){.partition = p,
                                         .epoch = e->parts[p].epoch,
                                         .topic = it->in.origin.topic,
                                         .offset = it->msg->offset,
                                         .user = it->d.rejected ? NULL : it->in.user,
                                         .next_wake_ms = it->d.next_wake_ms,
                                         .seq_floor = e->parts[p].seq,
                                         .seq = seq};
        if ((!it->d.rejected &&
             (rc = user_value(&e->arena, &states[it->user_idx], &it->d.diff, it->d.keep_until_ms,
                              it->d.next_wake_ms, it->in.now_ms, &cur[it->user_idx],
                              &ops[n_ops])) != 0) ||
            (rc = writes_of(&e->arena, it->oncall, it->n_oncall, it->st, &ops[n_ops])) != 0)
            return rc;
        op_item[n_ops++] = it;
    }
    /* apply all in one round trip, in order */
    rc = sk_store_apply_many(e->store, ops, n_ops, applied, rcs);
    for (size_t i = 0; i < n_ops; i++) {
        int32_t p = ops[i].partition;
        size_t k = op_item[i]->user_idx;
        /* ops[i].user is set only for a decided record, whose user_idx is */
        note_step(e, &ops[i], ops[i].user ? &values[k] : NULL, applied[i], rcs[i],
                  ops[i].user ? &tainted[k] : &untainted);
        if (rcs[i] == 0) {
            note_applied(e, op_item[i], applied[i]);
            if (applied[i] && ops[i].seq > e->parts[p].seq)
                e->parts[p].seq = ops[i].seq;
            if (applied[i] && ops[i].user)
                sk_timers_note(&e->parts[p], ops[i].next_wake_ms);
        } else if (rcs[i] == SK_EFENCED && e->parts[p].owned) {
            let_go(e, p);
        } else if (rcs[i] == SK_ENOTFOUND && e->parts[p].owned) {
            state_lost(e, p);
            rc = SK_EAGAIN;
        } else if (rcs[i] == SK_EIO && rc == 0) {
            rc = SK_EIO;
        }
    }
    if (rc == SK_EIO) /* what ran is not known: every state is read again */
        sk_state_cache_clear(e->cache, -1);
    return rc;
}

int sk_apply_timer(sk_engine_t *e, int32_t p, const char *user, sk_ms_t now)
{
    return sk_apply_redecide(e, p, user, now, SK_INPUT_TIMER);
}

int sk_apply_redecide(sk_engine_t *e, int32_t p, const char *user, sk_ms_t now,
                      sk_input_kind_t kind)
{
    sk_user_state_t state;
    sk_decision_t d;
    bool applied = false;
    int rc;

    sk_store_value_t value, cur;
    bool tainted = false;
    sk_arena_reset(&e->arena);
    sk_input_t in = {.kind = kind, .user = user, .origin = {"", p, -1}, .now_ms = now};
    if ((rc = load_states(e, 1, &p, &user, &value, &state)) != 0)
        return rc;
    cur = value;
    if ((rc = sk_decide(e->rules, &in, &state, &e->arena, &d)) != 0)
        return rc;
    sk_oncall_op_t *oncall = NULL;
    size_t n_oncall = 0;
    if ((rc = sk_oncall_ops(&state, &d.state, &e->arena, &oncall, &n_oncall)) != 0)
        return rc;
    staged_t *st = staged_new(&e->arena, d.n_commands + d.n_tasks + 3);
    if (!st)
        return SK_ENOMEM;
    bool changed = d.n_commands || d.n_tasks || d.diff.n_set || d.diff.n_del;
    if (changed && (rc = stage_decision(e, &d, NULL, st)) != 0)
        return rc;
    sk_ms_t wake = d.next_wake_ms > now ? d.next_wake_ms : SK_MS_NONE;
    sk_outbox_entry_t rec;
    int64_t seq = 0;
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++)
        e->parts[p].ledger_off[t] = e->parts[p].in[t].applied_offset;
    if ((rc = sk_ledger_stage(e, p, user, &d.state, wake, d.keep_until_ms, &rec, &seq)) != 0 ||
        (rc = stage(st, rec.topic, rec.key, rec.key_len, (void *)rec.value, rec.value_len)))
        return rc;
    sk_store_writes_t w = {.partition = p,
                           .epoch = e->parts[p].epoch,
                           .topic = NULL,
                           .offset = -1,
                           .user = user,
                           .seq_floor = e->parts[p].seq,
                           .seq = seq};
    if ((rc = user_value(&e->arena, &d.state, &d.diff, d.keep_until_ms, wake, now, &cur, &w)) ||
        (rc = writes_of(&e->arena, oncall, n_oncall, st, &w)) != 0)
        return rc;
    rc = apply_op(e, &w, &applied);
    note_step(e, &w, &value, applied, rc, &tainted);
    if (rc == SK_EIO)
        sk_state_cache_clear(e->cache, -1);
    if (rc)
        return rc;
    if (applied)
        sk_timers_note(&e->parts[p], w.next_wake_ms);
    e->stats.timers_fired++;
    e->stats.commands += d.n_commands;
    sk_engine_metrics_decision(&e->m, "timer", NULL, true, &d, false, NULL, NULL, SK_MS_NONE, now);
    if (st->n)
        e->parts[p].dirty = true;
    log_commands(&d, &e->arena);
    return 0;
}
