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

#include "sk.h"

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
    const char *event_id;  /* unique per event at its source */
    sk_shift_event_type_t type;
    const char *source;    /* pagerduty, opsgenie, ical, cli, ... */
    const char *rotation;  /* rotation id as in the rules */
    const char *user;      /* subject user id; also the record key */
    const char *shift_id;  /* stable id of the shift at its source */
    sk_ms_t start_ms;      /* shift start */
    sk_ms_t end_ms;        /* shift end; SK_MS_NONE when open-ended */
    int escalation_level;  /* >= 1 */
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
    SK_SOURCE_KIND_COUNT
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
    char command_id[33];   /* 32 hex chars: deterministic, see decide.h */
    sk_command_action_t action;
    const char *user;
    const char *app;
    const char *entitlement; /* entitlement id within the app */
    const char *resource;
    const char *permission;
    sk_ms_t expires_at_ms;   /* GRANT/EXTEND: new expiry; REVOKE: old expiry */
    sk_ms_t issued_at_ms;
    const char *reason;      /* one readable sentence */
    bool emergency;
    size_t n_sources;
    const sk_source_ref_t *sources; /* sources holding it after this command */
} sk_command_t;

/* ---- output: shiftkey.audit.v1 (schemas/audit_record.avsc) ---- */

/* Where an input came from: a Kafka record or a timer. */
typedef struct sk_origin {
    const char *topic;   /* "" for timers */
    int32_t partition;
    int64_t offset;      /* -1 for timers */
} sk_origin_t;

typedef struct sk_audit {
    char audit_id[33];    /* deterministic, like command ids */
    sk_ms_t at_ms;
    const char *actor;    /* "connector:pagerduty", "timer", ... */
    const char *user;     /* subject */
    const char *event_id; /* "" for timers */
    const char *decision; /* "granted", "revoked", "no_change", "rejected", ... */
    const char *reason;
    const char *rules_version;
    sk_origin_t origin;
    size_t n_trace;
    const char *const *trace;       /* rule path of each step, readable */
    size_t n_commands;
    const char *const *command_ids; /* commands this decision caused */
} sk_audit_t;

/* ---- output: shiftkey.deadletter.v1 (schemas/dead_letter.avsc) ---- */

typedef enum sk_dead_letter_kind {
    SK_DL_UNDECODABLE = 0, /* not our framing / not valid Avro */
    SK_DL_INVALID = 1,     /* valid Avro, invalid content */
    SK_DL_UNKNOWN_REFERENCE = 2, /* names something the rules lack */
    SK_DL_KIND_COUNT
} sk_dead_letter_kind_t;

const char *sk_dead_letter_kind_name(sk_dead_letter_kind_t k);

typedef struct sk_dead_letter {
    sk_ms_t at_ms;
    sk_dead_letter_kind_t kind;
    const char *reason;
    sk_origin_t origin;
    const void *key;     /* original record key; may be NULL */
    size_t key_len;
    const void *payload; /* original record value, unchanged */
    size_t payload_len;
} sk_dead_letter_t;

#endif
