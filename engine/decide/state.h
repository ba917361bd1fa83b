/*
 * state.h — one user's live state as the decision function sees it: the
 * shifts known for the user and the sources that hold each grant. Also its
 * storage form: the fields below (sk_state_fields), which apply.c packs
 * whole into one value with the state's keep-until (codec/state_pack.h,
 * the one pack and unpack every reader uses) and stores as the user's
 * field of its partition's users hash (pipeline/store.h). No TTL: the
 * user's timer is its next real wake-up only; a value past its keep-until
 * reads as an empty state (pipeline/load.c) until the engine's slow
 * keep-until sweep deletes it (pipeline/keep_sweep.c): when it goes
 * changes memory only, never behaviour. A Redis written in the
 * older layout (a hash per user, these fields as its fields) is refused as
 * lost and rebuilt from the changelog (store.h, "#layout"). The changelog
 * keeps these same fields.
 *
 * Field layout (values are space-separated; identifiers never hold spaces,
 * see sk_id_valid):
 *   "s:<shift_id>"                -> "<rotation> <start> <end|-> <level> <closed> <updated>"
 *   "g:<ent_key> <kind> <src_id>" -> "<expires> <rotation|->"
 *   "q:<request_id>"              -> "<status> <target_kind> <target> <duration>
 *                                     <emergency> <policy> <rules_version> <step>
 *                                     <created> <updated> <n> <approver>... <m>
 *                                     <assignee>... [<rkind> <round>]"
 *   "t:<task_id>"                 -> "<task_kind> <ent_key> <request_id|-> <created>
 *                                     <n> <assignee>..."
 *   "r:<command_id>"              -> "<ent_key> <action> <attempt> <next>"
 *   "e:<ent_key>"                 -> "<n> <resource><permission>"
 *   "c:..." and "C:..."           -> access review items and runs (issue 17;
 *                                    layout in decide/campaign_state.h)
 * where kind is S (shift), R (request), E (emergency) or F (found outside
 * shiftkey by a provisioner's reconciliation: src_id is the provisioner,
 * expires "-") and times are ms.
 * A request's status is a word (OPEN, APPROVED, ...), target_kind E
 * (entitlement) or P (profile), step the 0-based index of the current step
 * of the frozen policy; free text (justification, comments) is never stored.
 * The optional tail says what the record is — rkind A (an access request)
 * or R (a revocation proposal) — and its round (how often RESTARTED,
 * HARD_RESET or POLICY_CHANGED sent it back to step 0, so task ids of a new
 * round differ from the old one's). It is written only when it is not
 * "A 0", so values written before it existed parse and store unchanged.
 *
 * A revocation proposal (rkind R) is OPEN while its revocation_policy
 * runs, APPROVED once confirmed (the access was taken) and DENIED when
 * refused (the access stays). Closed requests and proposals are dropped
 * SK_SHIFT_MEMORY_MS after their last update (followups.h, sk_decide_prune).
 *
 * For a request, `assignees` are who may act now: the reviewers of the
 * current step (OPEN), or the provisioners (PROVISIONING). Task ids are not
 * stored for requests: they are recomputed from the state (request_ctx.c,
 * sk_rq_task_id: subject, request id, policy, step, emergency, round, tag), so
 * the PROVISIONING task of a request is known from its q: field alone.
 *
 * "t:" fields are open tasks that belong to no request step: today the
 * DEPROVISIONING tasks opened when a REVOKE leaves an entitlement that is
 * provisioned by hand (task_id = the REVOKE command's id; request_id the
 * request that held it, or "-"; assignees the provisioners then). The field
 * is deleted when a provisioner closes the task.
 *
 * "r:" fields are retries of a command an automatic provisioner answered
 * FAILED (retryable), attempt the retries made so far, next when the next
 * one is due (followups.h, sk_decide_retries). A GRANT or EXTEND is recomputed
 * from the sources of ent_key when the retry is due (so a command that a
 * later change superseded is not retried). A REVOKE cannot be recomputed
 * (its sources are gone), so every REVOKE of an automatically provisioned
 * entitlement is remembered when it is emitted, as a memo with attempt 0
 * and next "-" (never due by itself; at most one per entitlement, dropped
 * when the entitlement is granted again or revoked anew): a FAILED
 * (retryable) answer arms it, and it is sent again under its own id while
 * the entitlement stays unheld.
 *
 * "e:" fields say what a held entitlement is (its resource and permission,
 * n the byte length of the resource; both are free text and may hold
 * spaces) while any source holds it, as the rules said when it was last
 * decided, so that its REVOKE is complete even after a rules change forgot
 * the entitlement (ending.c keeps them; commands.c reads them). An
 * entitlement whose resource and permission are both empty has none.
 *
 * All memory of a parsed or computed state belongs to the arena it was made
 * in; nothing here does I/O.
 */
#ifndef SK_STATE_H
#define SK_STATE_H

#include "base/arena.h"
#include "codec/event.h"

typedef enum sk_shift_status {
    SK_SHIFT_STATUS_OPEN = 0,     /* scheduled or running: grants in its window */
    SK_SHIFT_STATUS_ENDED = 1,    /* ended: grants until end + grace, never again */
    SK_SHIFT_STATUS_CANCELLED = 2 /* withdrawn: grants nothing, never again */
} sk_shift_status_t;

typedef struct sk_shift {
    const char *id;
    const char *rotation;
    sk_ms_t start_ms;
    sk_ms_t end_ms; /* SK_MS_NONE when open-ended */
    int level;      /* escalation level, >= 1 */
    sk_shift_status_t status;
    sk_ms_t updated_ms; /* occurred_at of the last event applied to it */
} sk_shift_t;

/* One justification holding one grant, with its own expiry. */
typedef struct sk_grant_source {
    const char *ent_key; /* "app/entitlement" */
    sk_source_kind_t kind;
    const char *id;       /* shift id (or request id) */
    const char *rotation; /* for shifts; "" otherwise */
    sk_ms_t expires_ms;
} sk_grant_source_t;

typedef enum sk_request_status {
    SK_REQUEST_OPEN = 0,         /* waiting at a reviewers step */
    SK_REQUEST_APPROVED = 1,     /* the grant source was added */
    SK_REQUEST_DENIED = 2,       /* a deny, a false condition */
    SK_REQUEST_CANCELLED = 3,    /* withdrawn by the requester */
    SK_REQUEST_PROVISIONING = 4, /* approved, waiting for a manual provisioner */
    SK_REQUEST_STATUS_COUNT
} sk_request_status_t;

const char *sk_request_status_name(sk_request_status_t s);

/* The largest round stored (restarts of one request). */
#define SK_ROUND_MAX 1000000

/* What a q: record is. */
typedef enum sk_request_kind {
    SK_REQUEST_KIND_ACCESS = 0,     /* a request for access */
    SK_REQUEST_KIND_REVOCATION = 1, /* a proposal to remove access: APPROVED =
                                       confirmed (revoked), DENIED = kept */
    SK_REQUEST_KIND_COUNT
} sk_request_kind_t;

/* An access request of the user, frozen at creation (see decide_request.h). */
typedef struct sk_request_state {
    const char *id;
    sk_request_status_t status;
    sk_target_kind_t target_kind;
    const char *target;  /* "app/entitlement" or profile id */
    sk_ms_t duration_ms; /* the duration that will be granted (before the cap) */
    bool emergency;
    const char *policy;        /* the frozen policy id */
    const char *rules_version; /* the rules it was resolved under */
    int step;                  /* 0-based index of the current step */
    sk_ms_t created_ms;
    sk_ms_t updated_ms;
    size_t n_approvers; /* approvals of the current step so far */
    const char **approvers;
    size_t n_assignees; /* who may act on the current step */
    const char **assignees;
    sk_request_kind_t kind; /* access request or revocation proposal */
    int round;              /* restarts to step 0 so far (task ids) */
} sk_request_state_t;

/* An open task that is not a request's step ("t:" fields). */
typedef struct sk_open_task {
    const char *id;         /* task id (= the REVOKE command id) */
    sk_task_kind_t kind;    /* SK_TASK_DEPROVISIONING */
    const char *ent_key;    /* "app/entitlement" */
    const char *request_id; /* the request that held it; "" when none */
    sk_ms_t created_ms;
    size_t n_assignees; /* who may answer it */
    const char **assignees;
} sk_open_task_t;

/* A pending retry of a command ("r:" fields). */
typedef struct sk_retry {
    const char *command_id;     /* the command retried (its id never changes) */
    const char *ent_key;        /* "app/entitlement" */
    sk_command_action_t action; /* SK_CMD_GRANT or SK_CMD_EXTEND */
    int attempt;                /* retries made so far, >= 0 */
    sk_ms_t next_ms;            /* when the next retry is due */
} sk_retry_t;

/* What a held entitlement is ("e:" fields). */
typedef struct sk_held_detail {
    const char *ent_key;  /* "app/entitlement" */
    const char *resource; /* as the rules said while it was held */
    const char *permission;
} sk_held_detail_t;

typedef struct sk_user_state {
    const char *user;
    size_t n_shifts;
    sk_shift_t *shifts;
    size_t n_sources;
    sk_grant_source_t *sources;
    size_t n_requests; /* access requests (issue 3) */
    sk_request_state_t *requests;
    size_t n_open_tasks; /* open tasks outside requests ("t:") */
    sk_open_task_t *open_tasks;
    size_t n_retries; /* pending command retries ("r:") */
    sk_retry_t *retries;
    size_t n_held; /* details of held entitlements ("e:") */
    sk_held_detail_t *held;
    size_t n_campaign; /* access review fields ("c:" items, "C:" runs), kept
                          here as stored; campaign_state.h reads and writes them */
    struct sk_state_field *campaign;
} sk_user_state_t;

/* A field of the user's state, name and value as bytes (not NUL-terminated
 * when read from Redis; the lengths rule). */
typedef struct sk_state_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sk_state_field_t;

/* The change that turns one stored state into another. The fields to
 * write may be written only when they are read, like the audit trace
 * (codec/text.h): a decision says which items changed (n_set of them,
 * `items`), and the apply step writes them (sk_state_diff_write), so a
 * decision that is never stored (replay, rules test, explain) and the
 * decision function itself do not format them. */
typedef struct sk_state_diff {
    size_t n_set;
    /* the fields to write (NUL-terminated copies); NULL while not written
     * yet (sk_state_diff_write) */
    sk_state_field_t *set;
    size_t n_del;
    const char **del; /* field names to delete (always written) */
    /* the changed items `set` is written from, in order, borrowed from the
     * `after` state; each item's kind (internal to state.c); the arena the
     * diff was made in, where `set` goes */
    const void **items;
    const unsigned char *item_kinds;
    sk_arena_t *arena;
} sk_state_diff_t;

/*
 * sk_state_parse — builds the state of `user` from its fields. Strings
 * are copied into `arena`. A field that cannot be parsed is skipped and
 * counted in *n_bad (may be NULL), so one damaged field cannot block a user.
 * Returns 0 or SK_ENOMEM.
 */
int sk_state_parse(sk_arena_t *arena, const char *user, const sk_state_field_t *fields,
                   size_t n_fields, sk_user_state_t *out, size_t *n_bad);

/*
 * sk_state_diff — the field writes and deletes that turn `before` into
 * `after`, every field written. Allocates from `arena`. Returns 0 or
 * SK_ENOMEM.
 */
int sk_state_diff(sk_arena_t *arena, const sk_user_state_t *before, const sk_user_state_t *after,
                  sk_state_diff_t *out);

/*
 * sk_state_fields — every field of st in its storage form (the whole state,
 * as the changelog keeps it), NUL-terminated copies in `arena`. 0 or
 * SK_ENOMEM.
 */
int sk_state_fields(sk_arena_t *arena, const sk_user_state_t *st, sk_state_field_t **out,
                    size_t *n);

/*
 * sk_state_diff_lazy — sk_state_diff with the writes not written yet:
 * out->n_set and out->items say what changed, out->set is NULL until
 * sk_state_diff_write (deletes are written). The items are borrowed from
 * `after`, which must outlive the diff. What the deciders return
 * (decide.h). Returns 0 or SK_ENOMEM.
 */
int sk_state_diff_lazy(sk_arena_t *arena, const sk_user_state_t *before,
                       const sk_user_state_t *after, sk_state_diff_t *out);

/*
 * sk_state_diff_write — writes diff->set from its items, into the arena
 * the diff was made in (nothing when written already or when nothing
 * changed): the same fields sk_state_diff writes. That arena and the
 * items' state must still be alive. Returns 0 or SK_ENOMEM (diff->set
 * stays NULL).
 */
int sk_state_diff_write(sk_state_diff_t *diff);

/*
 * sk_state_awaits_people — true when the state holds something only a person
 * can end: a request waiting for reviewers (OPEN) or provisioners
 * (PROVISIONING), an open task outside requests ("t:"), or access found
 * outside shiftkey (an F source: only a revoke or a provisioner ends it).
 * Such a state must not expire with its key: a pending review would vanish
 * without a trace.
 */
bool sk_state_awaits_people(const sk_user_state_t *st);

/* Finders; NULL when absent. */
const sk_shift_t *sk_state_shift(const sk_user_state_t *st, const char *id);
const sk_request_state_t *sk_state_request(const sk_user_state_t *st, const char *id);
const sk_open_task_t *sk_state_open_task(const sk_user_state_t *st, const char *id);
const sk_retry_t *sk_state_retry(const sk_user_state_t *st, const char *command_id);
const sk_held_detail_t *sk_state_held(const sk_user_state_t *st, const char *ent_key);

#endif
