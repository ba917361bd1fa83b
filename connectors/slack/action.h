/*
 * action.h — what a person did in Slack, as records on shiftkey's input
 * topics: AccessRequestEvents on the requests topic (create, approve,
 * deny, edit duration, escalate, confirm / deny a revocation) and
 * ProvisioningResults on the results topic (provisioned, won't provision,
 * deprovisioned), keyed by the subject, produced with the murmur2
 * partitioner and an idempotent producer, each acknowledged before the
 * person is told it was sent.
 *
 * The actor is the person the directory maps the clicking Slack user to
 * (never a name from the payload), and every record is signed with the
 * app's front key (DESIGN.md, "Identity and trust"): the engine accepts it
 * when the rules' `signers:` let that front vouch for the actor. Event ids
 * are deterministic — the same person pressing the same button of the
 * same task twice makes the same event id; the publisher remembers what it
 * sent and does not send it again (the engine would refuse it as a
 * replay): a repeated click is idempotent.
 *
 * One publisher per thread (it owns a codec).
 */
#ifndef SK_SLACK_ACTION_H
#define SK_SLACK_ACTION_H

#include <stddef.h>

#include "base/keyfile.h"
#include "base/sk.h"
#include "payload.h"
#include "rules/rules.h"

typedef struct sk_slack_publisher sk_slack_publisher_t;

/*
 * sk_slack_publisher_new — a producer for brokers that signs every record
 * with key (the app's front key, copied; wiped on destroy), or sends them
 * unsigned when key is NULL (rules with `identity: unsigned-demo` only).
 * rules (borrowed, outlives the publisher) says for whom the front may
 * vouch. NULL with the reason in err.
 */
sk_slack_publisher_t *sk_slack_publisher_new(const char *brokers, const char *requests_topic,
                                             const char *results_topic, const sk_signing_key_t *key,
                                             const sk_rules_t *rules, char *err, size_t err_len);
void sk_slack_publisher_destroy(sk_slack_publisher_t *p);

/* sk_slack_publisher_ping — whether the brokers answer a metadata request
 * within timeout_ms: 0, or -1. Safe from any thread. */
int sk_slack_publisher_ping(sk_slack_publisher_t *p, int timeout_ms);

/*
 * sk_slack_action_publish — THE one place where the Slack app writes to
 * Kafka: signs (topic, key, value) with the front key — an `sk-sig` header
 * (codec/envelope.h) made by sk_envelope_sign now — produces the record
 * and waits up to 10 s for the broker's acknowledgement. 0; SK_EINVAL when
 * it cannot be signed; SK_EIO (not acknowledged) with the reason in err.
 */
int sk_slack_action_publish(sk_slack_publisher_t *p, const char *topic, const char *key,
                            const void *value, size_t len, char *err, size_t err_len);

/* A button (or the modal completing it). */
typedef struct sk_slack_action {
    const char *action;             /* action_id: approve, deny, duration, escalate,
                                       provisioned, wont_provision, deprovisioned,
                                       confirm, reject */
    const sk_slack_task_ref_t *ref; /* the task it acts on */
    const char *actor;              /* person id from the directory */
    const char *comment;            /* "" when none */
    sk_ms_t duration_ms;            /* duration only */
} sk_slack_action_t;

/* 1 when action_id is one of ours; *topic_results set when it answers on
 * the results topic; *needs_modal when it needs text first (deny,
 * wont_provision, reject, duration). */
int sk_slack_action_known(const char *action, int *on_results, int *needs_modal);

/* Encodes and publishes one action. 0; SK_EINVAL (not an action, the
 * task kind does not take it, or the front may not vouch for the actor:
 * err says so); SK_EIO. The same person pressing the same button of the
 * same task again is answered 0 without a second record (*again set: the
 * engine would refuse the same event id as a replay). */
int sk_slack_action_send(sk_slack_publisher_t *p, const sk_slack_action_t *a, int *again, char *err,
                         size_t err_len);

/* A new request from the modal. request_id_out (>= 48 bytes) gets its id,
 * derived from the modal's view id (a resubmitted view is the same
 * request). 0, SK_EINVAL (err), SK_EIO. */
int sk_slack_request_send(sk_slack_publisher_t *p, const char *actor, const char *target,
                          sk_ms_t duration_ms, const char *justification, int emergency,
                          const char *view_id, char *request_id_out, char *err, size_t err_len);

#endif
