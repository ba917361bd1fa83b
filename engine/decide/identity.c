/*
 * identity.c — verification of a signed input record (see identity.h).
 */
#include <stdio.h>
#include <string.h>

#include "decide/identity.h"

const char *sk_identity_verdict_name(sk_identity_verdict_t v)
{
    static const char *const names[] = {"ok",
                                        "unsigned_demo",
                                        "unsigned",
                                        "malformed_signature",
                                        "unknown_signer",
                                        "bad_signature",
                                        "signer_not_allowed",
                                        "out_of_window"};
    return (unsigned)v < SK_ARRAY_LEN(names) ? names[v] : "?";
}

static int64_t distance(sk_ms_t a, sk_ms_t b)
{
    /* both are bounded by SK_MS_MAX_INPUT in practice; saturate anyway */
    if (a > b)
        return a - b < 0 ? INT64_MAX : a - b;
    return b - a < 0 ? INT64_MAX : b - a;
}

int sk_identity_check(const sk_signers_t *s, const sk_rules_t *rules, const sk_identity_input_t *in,
                      sk_identity_result_t *out)
{
    sk_envelope_t env;
    char why[256];
    const sk_signer_t *signer;
    const char *actor = in->actor ? in->actor : "";
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (in->n_envelopes == 0 || !in->envelope) {
        if (s && s->mode == SK_IDENTITY_UNSIGNED_DEMO) {
            out->verdict = SK_IDENTITY_UNSIGNED_OK;
            snprintf(out->reason, sizeof(out->reason),
                     "unsigned, accepted because the rules say identity: unsigned-demo");
        } else {
            out->verdict = SK_IDENTITY_UNSIGNED;
            snprintf(out->reason, sizeof(out->reason),
                     "unsigned record (no %s header): the actor '%.64s' is not authenticated",
                     SK_ENVELOPE_HEADER, actor);
        }
        goto out;
    }
    if (in->n_envelopes > 1) {
        out->verdict = SK_IDENTITY_MALFORMED;
        snprintf(out->reason, sizeof(out->reason), "%d %s headers (one is allowed)",
                 in->n_envelopes, SK_ENVELOPE_HEADER);
        goto out;
    }
    if (sk_envelope_parse(in->envelope, in->envelope_len, &env, why, sizeof(why)) != 0) {
        out->verdict = SK_IDENTITY_MALFORMED;
        snprintf(out->reason, sizeof(out->reason), "%s", why);
        goto out;
    }
    memcpy(out->signer, env.signer, sizeof(out->signer));
    if (!(signer = sk_signers_find(s, env.signer))) {
        out->verdict = SK_IDENTITY_UNKNOWN_SIGNER;
        snprintf(out->reason, sizeof(out->reason),
                 "signed by '%.64s', which the rules do not declare as a signer", env.signer);
        goto out;
    }
    out->verdict = SK_IDENTITY_BAD_SIGNATURE;
    for (size_t i = 0; i < signer->n_keys; i++) {
        rc = sk_envelope_verify(&env, signer->keys[i], in->topic, in->key, in->key_len, in->value,
                                in->value_len);
        if (rc == SK_ENOMEM)
            goto out;
        if (rc == 0) {
            out->verdict = SK_IDENTITY_OK;
            break;
        }
    }
    rc = 0;
    if (out->verdict == SK_IDENTITY_BAD_SIGNATURE) {
        snprintf(out->reason, sizeof(out->reason),
                 "the signature of '%.64s' does not verify with any of its keys (forged, "
                 "or altered after signing)",
                 env.signer);
        goto out;
    }
    if (!sk_signers_may_vouch(rules, signer, actor)) {
        out->verdict = SK_IDENTITY_NOT_ALLOWED;
        snprintf(out->reason, sizeof(out->reason), "signer '%.64s' may not act for '%.64s'%s",
                 env.signer, actor,
                 signer->front ? " (not in its vouches_for)"
                               : " (a person signs only as themselves)");
        goto out;
    }
    if (distance(env.issued_at_ms, in->now_ms) > s->window_ms ||
        distance(in->occurred_at_ms, in->now_ms) > s->window_ms) {
        char a[40], b[40], c[40];
        out->verdict = SK_IDENTITY_OUT_OF_WINDOW;
        snprintf(out->reason, sizeof(out->reason),
                 "signed at %s, occurred at %s: not within %lld s of now (%s); a replay or a "
                 "clock far off",
                 sk_ms_format(env.issued_at_ms, a, sizeof(a)),
                 sk_ms_format(in->occurred_at_ms, b, sizeof(b)), (long long)(s->window_ms / 1000),
                 sk_ms_format(in->now_ms, c, sizeof(c)));
        goto out;
    }
    snprintf(out->reason, sizeof(out->reason), "signed by '%.64s' for '%.64s'", env.signer, actor);
out:
    return rc;
}
