/*
 * event.h — the records shiftkey reads and writes, as C structs. The wire
 * form of each is an Avro schema in schemas/ (decode.c and encode.c convert).
 *
 * Strings are borrowed: an event's strings belong to the decoder that filled
 * it (valid until its next decode), an output record's strings to the arena
 * of the decision that made it.
 */
#ifndef SK_EVENT_H
#define SK_EVENT_H

#include <stdbool.h>

#include "base/sk.h"
#include "codec/text.h" /* SK_TEXT_MAX, sk_text_t */

/* ---- input: shiftkey.schedule.v1 (schemas/schedule_event.avsc) ---- */

typedef enum sk_shift_event_type {
    SK_SHIFT_SCHEDULED = 0, /* a future shift is known */
    SK_SHIFT_STARTED = 1,   /* the shift has begun */
    SK_SHIFT_UPDATED = 2,   /* start and/or end moved (override) */
    SK_SHIFT_ENDED = 3,     /* the shift is over (end = when) */
    SK_SHIFT_CANCELLED = 4, /* the shift will not happen / is withdrawn */
    SK_SHIFT_EVENT_TYPE_COUNT
} sk_shift_event_type_t;

const char *sk_shift_event_type_name(sk_shift_event_type_t t);

typedef struct sk_schedule_event {
    const char *event_id; /* unique per event at its source */
    sk_shift_event_type_t type;
    const char *source;     /* pagerduty, opsgenie, ical, cli, ... */
    const char *rotation;   /* rotation id as in the rules */
    const char *user;       /* subject user id; also the record key */
    const char *shift_id;   /* stable id of the shift at its source */
    sk_ms_t start_ms;       /* shift start */
    sk_ms_t end_ms;         /* shift end; SK_MS_NONE when open-ended */
    int escalation_level;   /* >= 1 */
    sk_ms_t occurred_at_ms; /* when the source observed the change */
} sk_schedule_event_t;

/* ---- output: shiftkey.commands.v1 (schemas/command.avsc) ---- */

typedef enum sk_command_action {
    SK_CMD_GRANT = 0,  /* give the entitlement until expires_at */
    SK_CMD_REVOKE = 1, /* take it away now */
    SK_CMD_EXTEND = 2, /* still held; expiry is now expires_at (later or earlier) */
    SK_CMD_ACTION_COUNT
} sk_command_action_t;

const char *sk_command_action_name(sk_command_action_t a);

typedef enum sk_source_kind {
    SK_SOURCE_SHIFT = 0,
    SK_SOURCE_REQUEST = 1,
    SK_SOURCE_EMERGENCY = 2,
    /* found outside shiftkey by a provisioner's reconciliation: never on
     * a command (schemas/command.avsc has the kinds below it), no expiry */
    SK_SOURCE_FOUND = 3,
    SK_SOURCE_KIND_COUNT
#define SK_SOURCE_WIRE_COUNT SK_SOURCE_FOUND /* the kinds a Command's SourceRef carries */
} sk_source_kind_t;

const char *sk_source_kind_name(sk_source_kind_t k);

/* Why a grant is held: one justification with its own expiry. */
typedef struct sk_source_ref {
    sk_source_kind_t kind;
    const char *id;       /* shift id / request id */
    const char *rotation; /* for shifts; "" otherwise */
    sk_ms_t expires_at_ms;
} sk_source_ref_t;

typedef struct sk_command {
    char command_id[33]; /* 32 hex chars: deterministic, see decide.h */
    sk_command_action_t action;
    const char *user;
    const char *app;
    const char *entitlement; /* entitlement id within the app */
    const char *resource;
    const char *permission;
    sk_ms_t expires_at_ms; /* GRANT/EXTEND: new expiry; REVOKE: old expiry */
    sk_ms_t issued_at_ms;
    const char *reason;    /* one readable sentence; NULL when the deciders left it
                               as reason_lazy (read both with sk_command_reason) */
    sk_text_t reason_lazy; /* the sentence written when read (codec/text.h) */
    bool emergency;
    size_t n_sources;
    const sk_source_ref_t *sources; /* sources holding it after this command */
} sk_command_t;

/* ---- output: shiftkey.audit.v1 (schemas/audit_record.avsc) ---- */

/* Where an input came from: a Kafka record or a timer. */
typedef struct sk_origin {
    const char *topic; /* "" for timers */
    int32_t partition;
    int64_t offset; /* -1 for timers */
} sk_origin_t;

typedef struct sk_audit {
    char audit_id[33]; /* deterministic, like command ids */
    sk_ms_t at_ms;
    const char *actor;     /* "connector:pagerduty", "timer", ... */
    const char *user;      /* subject */
    const char *event_id;  /* "" for timers */
    const char *decision;  /* "granted", "revoked", "no_change", "rejected", ... */
    const char *reason;    /* NULL when left as reason_lazy (sk_audit_reason) */
    sk_text_t reason_lazy; /* as a command's (the first command's reason) */
    const char *rules_version;
    sk_origin_t origin;
    size_t n_trace;
    const sk_text_t *trace; /* rule path of each step, readable; written only
                               when encoded (sk_text_render, codec/text.h) */
    size_t n_commands;
    const char *const *command_ids; /* commands this decision caused */
} sk_audit_t;

/*
 * sk_command_reason / sk_audit_reason — the record's reason: `reason`
 * itself, or `reason_lazy` written into `arena` (sk_text_render: at most
 * SK_TEXT_MAX bytes; "" when neither is set). The deciders leave the
 * reasons of the commands they compute lazy, so that only what is encoded
 * or shown is ever written. NULL only when the arena is out of memory.
 */
const char *sk_command_reason(const sk_command_t *c, sk_arena_t *arena);
const char *sk_audit_reason(const sk_audit_t *a, sk_arena_t *arena);

/* ---- output: shiftkey.deadletter.v1 (schemas/dead_letter.avsc) ---- */

typedef enum sk_dead_letter_kind {
    SK_DL_UNDECODABLE = 0,       /* not our framing / not valid Avro */
    SK_DL_INVALID = 1,           /* valid Avro, invalid content */
    SK_DL_UNKNOWN_REFERENCE = 2, /* names something the rules lack */
    SK_DL_KIND_COUNT
} sk_dead_letter_kind_t;

const char *sk_dead_letter_kind_name(sk_dead_letter_kind_t k);

typedef struct sk_dead_letter {
    sk_ms_t at_ms;
    sk_dead_letter_kind_t kind;
    const char *reason;
    sk_origin_t origin;
    const void *key; /* original record key; may be NULL */
    size_t key_len;
    const void *payload; /* original record value, unchanged */
    size_t payload_len;
} sk_dead_letter_t;

/* ---- input: shiftkey.requests.v1 (schemas/access_request_event.avsc) ---- */

/* What a person did to an access request or a revocation proposal. */
typedef enum sk_request_event_type {
    SK_REQ_CREATED = 0,               /* a new request */
    SK_REQ_APPROVED = 1,              /* a reviewer approved the current step */
    SK_REQ_DENIED = 2,                /* a reviewer denied: the request ends */
    SK_REQ_DURATION_CHANGED = 3,      /* duration_ms is the new duration */
    SK_REQ_ESCALATED = 4,             /* the request becomes an emergency request */
    SK_REQ_REASSIGNED = 5,            /* assignee takes over the review */
    SK_REQ_COMMENTED = 6,             /* a comment; nothing changes */
    SK_REQ_CANCELLED = 7,             /* withdrawn by the requester */
    SK_REQ_DELETED = 8,               /* removed by an administrator */
    SK_REQ_RESTARTED = 9,             /* back to the first step */
    SK_REQ_HARD_RESET = 10,           /* policy recomputed from the current rules */
    SK_REQ_POLICY_CHANGED = 11,       /* policy is the new policy */
    SK_REQ_STEP_SKIPPED = 12,         /* the current step is skipped */
    SK_REQ_PROCESS_NOW = 13,          /* re-evaluate at once */
    SK_REQ_REMINDER_SENT = 14,        /* the reviewers were reminded */
    SK_REQ_REVOCATION_PROPOSED = 15,  /* removal of subject's access to target */
    SK_REQ_REVOCATION_CONFIRMED = 16, /* the proposal is confirmed: revoke */
    SK_REQ_REVOCATION_DENIED = 17,    /* the proposal is denied: access stays */
    SK_REQ_REVIEW_CERTIFIED = 18,     /* access review: the grant stays (comment: why) */
    SK_REQ_REVIEW_REVOKED = 19,       /* access review: the grant goes (comment: why) */
    SK_REQ_CAMPAIGN_STARTED = 20,     /* an owner starts a run of campaign request_id */
    SK_REQ_CAMPAIGN_CLOSED = 21,      /* an owner ends the open run of campaign request_id */
    SK_REQ_EVENT_TYPE_COUNT
} sk_request_event_type_t;

const char *sk_request_event_type_name(sk_request_event_type_t t);

/* What a request's target names. */
typedef enum sk_target_kind {
    SK_TARGET_ENTITLEMENT = 0, /* "app/entitlement" */
    SK_TARGET_PROFILE = 1,     /* access profile id */
    SK_TARGET_KIND_COUNT
} sk_target_kind_t;

const char *sk_target_kind_name(sk_target_kind_t k);

typedef struct sk_request_event {
    const char *event_id; /* unique per event at its source */
    sk_request_event_type_t type;
    const char *request_id; /* the request acted on */
    const char *actor;      /* who did it */
    const char *subject;    /* whose access it is; also the record key */
    sk_target_kind_t target_kind;
    const char *target;        /* "app/entitlement" or profile id */
    sk_ms_t duration_ms;       /* > 0; SK_MS_NONE when absent */
    const char *justification; /* "" when none */
    bool emergency;
    const char *comment;    /* "" when none */
    const char *assignee;   /* REASSIGNED: new reviewer; NULL when absent */
    const char *policy;     /* POLICY_CHANGED: new policy id; NULL when absent */
    const char *source;     /* cli, slack, ... */
    sk_ms_t occurred_at_ms; /* when the actor acted */
} sk_request_event_t;

/* ---- output: shiftkey.tasks.v1 (schemas/task_event.avsc) ---- */

typedef enum sk_task_kind {
    SK_TASK_REQUEST_REVIEW = 0,  /* approve or deny a step of a request */
    SK_TASK_PROVISIONING = 1,    /* give the access by hand */
    SK_TASK_DEPROVISIONING = 2,  /* take the access away by hand */
    SK_TASK_REVOCATION = 3,      /* confirm or deny a proposed removal */
    SK_TASK_EMERGENCY_GRANT = 4, /* the record of a break-glass grant: CLOSED, APPROVED */
    SK_TASK_ACCESS_REVIEW = 5,   /* certify or revoke a standing grant (campaign) */
    SK_TASK_KIND_COUNT
} sk_task_kind_t;

const char *sk_task_kind_name(sk_task_kind_t k);

typedef enum sk_task_state {
    SK_TASK_CREATED = 0,
    SK_TASK_ASSIGNED = 1, /* assignees changed */
    SK_TASK_UPDATED = 2,  /* step, comment, ... */
    SK_TASK_CLOSED = 3,   /* outcome says how */
    SK_TASK_STATE_COUNT
} sk_task_state_t;

const char *sk_task_state_name(sk_task_state_t s);

typedef enum sk_task_outcome {
    SK_TASK_OUTCOME_NONE = -1, /* open task (null on the wire) */
    SK_TASK_APPROVED = 0,
    SK_TASK_DENIED = 1,
    SK_TASK_PROVISIONED = 2,
    SK_TASK_WONT_PROVISION = 3,
    SK_TASK_CONFIRMED = 4,
    SK_TASK_CANCELLED = 5,
    SK_TASK_EXPIRED = 6,
    SK_TASK_CERTIFIED = 7, /* access review: kept */
    SK_TASK_REVOKED = 8,   /* access review: taken away */
    SK_TASK_LEFT = 9,      /* access review: open at the end, left as it was */
    SK_TASK_OUTCOME_COUNT
} sk_task_outcome_t;

/* "NONE" for SK_TASK_OUTCOME_NONE. */
const char *sk_task_outcome_name(sk_task_outcome_t o);

#define SK_TASK_STEP_MAX 1000

typedef struct sk_task {
    const char *task_id;
    sk_task_kind_t kind;
    sk_task_state_t state;
    sk_task_outcome_t outcome; /* set exactly when state is CLOSED, else _NONE */
    const char *request_id;    /* "" for tasks of on-call grants */
    const char *subject;       /* whose access it is; also the record key */
    const char *target;        /* "app/entitlement" or profile id */
    int32_t step;              /* policy step, 1 = first; 0 when not a step */
    size_t n_assignees;
    const char *const *assignees; /* who may act now */
    bool emergency;
    const char *reason; /* one readable sentence */
    sk_ms_t at_ms;
    /* EMERGENCY_GRANT only (schema 1009): the requester's justification
     * (NULL or "" when none) and until when the grant holds (0 or
     * SK_MS_NONE when none: null on the wire; decoded as SK_MS_NONE) */
    const char *justification;
    sk_ms_t expires_ms;
    const char *actor; /* the person who made this change; NULL or "" when the engine */
} sk_task_t;

/* ---- input: shiftkey.provisioning.results.v1 (schemas/provisioning_result.avsc) ---- */

typedef enum sk_provisioning_status {
    SK_PROV_PROVISIONED = 0,    /* access given */
    SK_PROV_WONT_PROVISION = 1, /* refused for good */
    SK_PROV_FAILED = 2,         /* not done; see retryable */
    SK_PROV_DEPROVISIONED = 3,  /* access taken away */
    SK_PROV_FOUND = 4,          /* held outside shiftkey, found by reconciliation (1012) */
    SK_PROV_STATUS_COUNT
} sk_provisioning_status_t;

const char *sk_provisioning_status_name(sk_provisioning_status_t s);

typedef struct sk_provisioning_result {
    char command_id[33]; /* the Command answered: 32 hex chars */
    sk_provisioning_status_t result;
    bool retryable; /* FAILED only */
    const char *provisioner;
    const char *user;    /* subject; also the record key */
    const char *message; /* "" when none */
    const char
        *entitlement; /* FOUND, or a stray DEPROVISIONED: "app/entitlement"; else "" (1012) */
    sk_ms_t at_ms;
} sk_provisioning_result_t;

#endif
