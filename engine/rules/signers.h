/*
 * signers.h — who may sign the records of the requests and provisioning
 * results topics, as the rules declare them (`identity:` and `signers:`;
 * rules/README.md, "Signers"). The model only: the envelope format is in
 * codec/envelope.h, the verification of a record in decide/identity.h.
 *
 * A signer is either a person signing as themselves (its id is a person id
 * of the directory; it vouches for that person only) or a *front* (the
 * Slack app, a web front, a provisioner) with the set of actors it may
 * vouch for: person ids, `group:<id>` (any member), or `everyone`. Each
 * signer has one or more Ed25519 public keys (several while a key is
 * rotated). Ownership: every pointer lives as long as the rule set.
 */
#ifndef SK_SIGNERS_H
#define SK_SIGNERS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/keyfile.h"
#include "base/sk.h"
#include "rules/rules.h"

/* `identity:` of the rules. */
typedef enum sk_identity_mode {
    SK_IDENTITY_SIGNED = 0,       /* default: unsigned actions are refused */
    SK_IDENTITY_UNSIGNED_DEMO = 1 /* unsigned actions accepted (demos only; logged loudly) */
} sk_identity_mode_t;

/* Default of `signing_window`: a signed record is accepted when its
 * occurred_at and its signing time are within this much of now. */
#define SK_SIGNING_WINDOW_DEFAULT_MS (5 * 60 * 1000)

typedef struct sk_signer {
    const char *id;
    bool front;    /* false: a person, vouching for itself */
    size_t n_keys; /* >= 1 */
    const unsigned char (*keys)[SK_KEY_PUBLIC_LEN];
    size_t n_vouches;               /* fronts: >= 1 */
    const char *const *vouches_for; /* person id, "group:<id>" or "everyone" */
} sk_signer_t;

typedef struct sk_signers {
    sk_identity_mode_t mode;
    sk_ms_t window_ms; /* > 0 */
    size_t n;
    const sk_signer_t *signers; /* declaration order */
} sk_signers_t;

/* The signers of a rule set (never NULL for a loaded rule set). */
const sk_signers_t *sk_rules_signers(const sk_rules_t *rules);

/* The signer with that id, or NULL. Linear: signer lists are short. */
const sk_signer_t *sk_signers_find(const sk_signers_t *s, const char *id);

/*
 * sk_signers_may_vouch — 1 when signer may act for actor: any signer for
 * itself (its id is the actor: a person, or a provisioner front answering
 * as itself); a front also for an actor its vouches_for names directly, as
 * a member of a named group (the directory of rules), or for anyone with
 * `everyone`. 0 otherwise (NULL arguments included). Pure.
 */
int sk_signers_may_vouch(const sk_rules_t *rules, const sk_signer_t *signer, const char *actor);

/*
 * sk_signers_check_entry — checks one `vouches_for` entry at load time:
 * 0 if it is "everyone", "group:<known group>" or a known person id;
 * otherwise SK_ENOTFOUND with what it names in *what ("person", "group").
 */
int sk_signers_check_entry(const sk_rules_t *rules, const char *entry, const char **what);

#endif
