/*
 * identity.h — who acts: the verification of a signed input record of the
 * requests or provisioning-results topic, before anything is decided
 * (DESIGN.md, "Identity and trust"). Pure: no I/O, no clock, no globals;
 * the caller passes now, the record's bytes and its envelope header. The
 * replay check (an event id seen before) needs memory across records and
 * lives with the store (pipeline/).
 */
#ifndef SK_IDENTITY_H
#define SK_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/sk.h"
#include "codec/envelope.h"
#include "rules/signers.h"

typedef enum sk_identity_verdict {
    SK_IDENTITY_OK = 0,         /* signed by a signer allowed to act for the actor */
    SK_IDENTITY_UNSIGNED_OK,    /* unsigned, accepted because `identity: unsigned-demo` */
    SK_IDENTITY_UNSIGNED,       /* no envelope header */
    SK_IDENTITY_MALFORMED,      /* the envelope cannot be parsed (or is repeated) */
    SK_IDENTITY_UNKNOWN_SIGNER, /* the rules declare no such signer */
    SK_IDENTITY_BAD_SIGNATURE,  /* no key of the signer verifies it */
    SK_IDENTITY_NOT_ALLOWED,    /* the signer may not act for this actor */
    SK_IDENTITY_OUT_OF_WINDOW,  /* occurred_at or signing time too far from now */
    SK_IDENTITY_VERDICT_COUNT
} sk_identity_verdict_t;

/* "ok", "unsigned", "bad_signature", ...: the audit decision suffix. */
const char *sk_identity_verdict_name(sk_identity_verdict_t v);

/* One record to verify. Everything is borrowed for the call. */
typedef struct sk_identity_input {
    const char *topic; /* the topic it was read from */
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const void *envelope; /* the "sk-sig" header value; NULL when absent */
    size_t envelope_len;
    int n_envelopes;        /* how many "sk-sig" headers (more than 1 is malformed) */
    const char *actor;      /* who the payload says acts */
    sk_ms_t occurred_at_ms; /* when the payload says it happened */
    sk_ms_t now_ms;
} sk_identity_input_t;

typedef struct sk_identity_result {
    sk_identity_verdict_t verdict;
    char signer[SK_ENVELOPE_SIGNER_MAX + 1]; /* "" when unsigned or unparsable */
    char reason[384];                        /* one readable sentence */
} sk_identity_result_t;

/*
 * sk_identity_check — verifies in for the signers s (with rules for group
 * membership). Fills *out; returns 0 for a verdict (accepted or not:
 * callers read out->verdict), SK_ENOMEM. Order of checks: envelope present
 * (else UNSIGNED, or UNSIGNED_OK in demo mode), parsable, signer known,
 * signature valid for one of its keys, signer allowed for the actor,
 * signing time and occurred_at within s->window_ms of now.
 */
int sk_identity_check(const sk_signers_t *s, const sk_rules_t *rules, const sk_identity_input_t *in,
                      sk_identity_result_t *out);

/* true for the verdicts that let the record through. */
static inline bool sk_identity_accepted(const sk_identity_result_t *r)
{
    return r->verdict == SK_IDENTITY_OK || r->verdict == SK_IDENTITY_UNSIGNED_OK;
}

#endif
