/*
 * verify.c — who sent an input record, checked before anything is decided
 * (DESIGN.md, "Identity and trust"; README.md, "Signed actions"):
 *
 *   1. every input record (all three topics) must sit on the partition its
 *      key maps to with murmur2 (base/keyhash.h): a record elsewhere would
 *      make a second, independent copy of the user's state;
 *   2. requests and provisioning results must carry a valid signature of a
 *      signer the rules allow to act for the record's actor, made within the
 *      signing window (decide/identity.h, pure);
 *   3. and not be a replay of an event id seen within the window (Redis,
 *      sk_store_seen_once).
 *
 * A refused record becomes a dead letter with the reason and an audit
 * record naming the claimed actor and the signer (apply.c).
 */
#include <inttypes.h>
#include <string.h>

#include "base/log.h"
#include "base/keyhash.h"
#include "decide/identity.h"
#include "pipeline/engine_internal.h"
#include "pipeline/verify.h"

void sk_verify_announce(const sk_rules_t *rules)
{
    const sk_signers_t *s = sk_rules_signers(rules);
    if (!s)
        return;
    if (s->mode == SK_IDENTITY_UNSIGNED_DEMO)
        SK_WARN("*** identity: unsigned-demo — UNSIGNED requests and provisioning results are "
                "ACCEPTED: anyone who can write to the input topics can act as anyone. For "
                "demos only; remove it and declare signers (rules/README.md, \"Signers\") ***");
    else if (s->n == 0)
        SK_WARN("no signers in the rules: every request and provisioning result will be "
                "refused (declare signers, rules/README.md \"Signers\")");
    else
        SK_INFO("identity: signed; %zu signers; signing window %lld s", s->n,
                (long long)(s->window_ms / 1000));
}

/* The "sk-sig" header(s) of msg: the first value and how many there are. */
static int envelope_of(const rd_kafka_message_t *msg, const void **val, size_t *len)
{
    rd_kafka_headers_t *h = NULL;
    int n = 0;
    *val = NULL;
    *len = 0;
    if (rd_kafka_message_headers(msg, &h) != RD_KAFKA_RESP_ERR_NO_ERROR || !h)
        return 0;
    const void *v;
    size_t l;
    while (rd_kafka_header_get(h, (size_t)n, SK_ENVELOPE_HEADER, &v, &l) ==
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (n++ == 0) {
            *val = v;
            *len = l;
        }
    }
    return n;
}

int sk_verify_partition(sk_engine_t *e, const rd_kafka_message_t *msg, sk_verify_t *out)
{
    int32_t n = 0, want;
    int rc;
    memset(out, 0, sizeof(*out));
    out->accepted = true;
    if ((rc = sk_partition_count(e, &n)) != 0)
        return rc;
    want = sk_keyhash_partition(msg->key, msg->key_len, n);
    if (msg->key && want != msg->partition) {
        out->accepted = false;
        out->verdict = "wrong_partition";
        snprintf(out->reason, sizeof(out->reason),
                 "record on partition %" PRId32 " but its key '%.*s' maps to partition %" PRId32
                 " of %" PRId32 " (murmur2, as Java clients and librdkafka's "
                 "partitioner=murmur2_random): produce with that partitioner; a record "
                 "elsewhere would make a second copy of the user's state",
                 msg->partition, (int)(msg->key_len > 64 ? 64 : msg->key_len),
                 (const char *)msg->key, want, n);
    }
    return 0;
}

int sk_verify_identity(sk_engine_t *e, const rd_kafka_message_t *msg, const char *user,
                       const char *actor, const char *event_id, sk_ms_t occurred_at_ms,
                       sk_ms_t now_ms, sk_verify_t *out)
{
    sk_identity_result_t res;
    const sk_signers_t *s = sk_rules_signers(e->rules);
    sk_identity_input_t in = {.topic = rd_kafka_topic_name(msg->rkt),
                              .key = msg->key,
                              .key_len = msg->key_len,
                              .value = msg->payload,
                              .value_len = msg->len,
                              .actor = actor,
                              .occurred_at_ms = occurred_at_ms,
                              .now_ms = now_ms};
    int rc;
    memset(out, 0, sizeof(*out));
    in.n_envelopes = envelope_of(msg, &in.envelope, &in.envelope_len);
    if ((rc = sk_identity_check(s, e->rules, &in, &res)) != 0)
        return rc;
    out->accepted = sk_identity_accepted(&res);
    out->verdict = sk_identity_verdict_name(res.verdict);
    snprintf(out->signer, sizeof(out->signer), "%s", res.signer);
    snprintf(out->reason, sizeof(out->reason), "%s", res.reason);
    if (!out->accepted || res.verdict != SK_IDENTITY_OK)
        return 0;
    /* a signed record: once per event id within the window (twice the
     * window is kept: occurred_at may be up to a window in the future) */
    char tag[300];
    bool first = false;
    snprintf(tag, sizeof(tag), "%s@%" PRId64, in.topic, msg->offset);
    if ((rc = sk_store_seen_once(e->store, msg->partition, user, event_id, tag,
                                 2 * s->window_ms + 1000, &first)) != 0)
        return rc;
    if (!first) {
        out->accepted = false;
        out->verdict = "replayed";
        snprintf(out->reason, sizeof(out->reason),
                 "event id '%.64s' of '%.64s' was already received (a replayed record)", event_id,
                 user);
    }
    return 0;
}
