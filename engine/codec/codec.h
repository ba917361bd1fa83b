/*
 * codec.h — Avro wire format of every topic (schemas/NAME.avsc), with avro-c.
 *
 * Framing: Confluent's, 1 magic byte 0x00 + 4-byte big-endian schema id +
 * Avro binary. Schema ids are fixed per schema file (SK_SCHEMA_ID_*), so no
 * registry is needed to read them; a registry may later map the same ids.
 *
 * Decoding validates everything avro-c 1.11.1 does not: enum ranges, union
 * branches, string sizes and identifier syntax, trailing bytes, times.
 */
#ifndef SK_CODEC_H
#define SK_CODEC_H

#include "base/arena.h"
#include "codec/event.h"

enum {
    SK_SCHEMA_ID_SCHEDULE_EVENT = 1001,
    SK_SCHEMA_ID_COMMAND = 1002,
    SK_SCHEMA_ID_AUDIT = 1003,
    SK_SCHEMA_ID_DEAD_LETTER = 1004,
    SK_SCHEMA_ID_REQUEST = 1010,             /* 1005: before issue 17 (schemas/versions/) */
    SK_SCHEMA_ID_TASK = 1011,                /* 1006, 1009: earlier versions (schemas/versions/) */
    SK_SCHEMA_ID_PROVISIONING_RESULT = 1012, /* 1007: before FOUND (schemas/versions/) */
    SK_SCHEMA_ID_CHANGELOG = 1008
};

#define SK_WIRE_HEADER_LEN 5

typedef struct sk_codec sk_codec_t;

/* Parses the embedded schemas; NULL on failure (message on stderr). One
 * codec per thread: it reuses avro values between calls. */
sk_codec_t *sk_codec_new(void);
void sk_codec_destroy(sk_codec_t *codec);

/*
 * sk_codec_decode_schedule — decodes one framed ScheduleEvent. On success
 * returns 0 and fills *out, whose strings are owned by the codec and valid
 * until the next decode or encode of a ScheduleEvent (both reuse the same
 * avro value: copy what must live longer). On failure returns SK_EPARSE (not decodable)
 * or SK_EINVAL (decoded but invalid) and writes a readable reason into
 * reason (e.g. "field 'type': enum index 9 out of range (0..4)").
 */
int sk_codec_decode_schedule(sk_codec_t *codec, const void *buf, size_t len,
                             sk_schedule_event_t *out, char *reason, size_t reason_len);

/*
 * Encoders: each writes one framed record into memory allocated from
 * `arena` and returns 0 with *out / *out_len set, or a negative SK_E* code.
 */
int sk_codec_encode_schedule(sk_codec_t *codec, const sk_schedule_event_t *ev, sk_arena_t *arena,
                             void **out, size_t *out_len);
int sk_codec_encode_command(sk_codec_t *codec, const sk_command_t *cmd, sk_arena_t *arena,
                            void **out, size_t *out_len);
int sk_codec_encode_audit(sk_codec_t *codec, const sk_audit_t *audit, sk_arena_t *arena, void **out,
                          size_t *out_len);
int sk_codec_encode_dead_letter(sk_codec_t *codec, const sk_dead_letter_t *dl, sk_arena_t *arena,
                                void **out, size_t *out_len);

/*
 * Decoders of the output records, for the CLI, tests and replay. Strings are
 * copied into `arena`. Return 0, SK_EPARSE or SK_EINVAL (reason filled).
 */
int sk_codec_decode_command(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                            sk_command_t *out, char *reason, size_t reason_len);
int sk_codec_decode_dead_letter(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                                sk_dead_letter_t *out, char *reason, size_t reason_len);

/*
 * The action of a framed Command record, read without the decoder's limits
 * on the other fields (a command the engine produced is read back whatever
 * the length of its resource or reason). 0, or SK_EPARSE / SK_EINVAL
 * (reason filled) when the record or its action cannot be read.
 */
int sk_codec_command_action(sk_codec_t *codec, const void *buf, size_t len,
                            sk_command_action_t *out, char *reason, size_t reason_len);

/*
 * Access requests (shiftkey.requests.v1, AccessRequestEvent) and provisioning
 * results (shiftkey.provisioning.results.v1, ProvisioningResult) are engine
 * inputs, decoded like ScheduleEvent: strings are borrowed from the codec,
 * valid until the next decode or encode of the same record type. Tasks
 * (shiftkey.tasks.v1, TaskEvent) are an output: their decoder copies into
 * `arena`, like the Command decoder. All three return 0, SK_EPARSE (not
 * decodable) or SK_EINVAL (decoded, invalid content) with a reason naming
 * the field, e.g. "field 'duration_ms': 0 is not positive".
 *
 * Content checked beyond the walk: identifiers (sk_id_valid), free text at
 * most 4096 bytes, no NUL; times 0..SK_MS_MAX_INPUT; a request's duration
 * 1..SK_MS_MAX_INPUT when present and present for DURATION_CHANGED, its
 * assignee present for REASSIGNED, its policy for POLICY_CHANGED, an
 * ENTITLEMENT target of the form app/entitlement; a task's outcome set
 * exactly when it is CLOSED, step 0..SK_TASK_STEP_MAX; a result's
 * command_id 32 lowercase hex, retryable only when FAILED.
 *
 * Encoders: as above (arena memory, SK_EINVAL for an enum out of range).
 * A request with duration_ms SK_MS_NONE, assignee NULL or policy NULL
 * writes null; a task with outcome SK_TASK_OUTCOME_NONE writes null.
 */
int sk_codec_decode_request(sk_codec_t *codec, const void *buf, size_t len, sk_request_event_t *out,
                            char *reason, size_t reason_len);
int sk_codec_encode_request(sk_codec_t *codec, const sk_request_event_t *ev, sk_arena_t *arena,
                            void **out, size_t *out_len);
int sk_codec_decode_task(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                         sk_task_t *out, char *reason, size_t reason_len);
int sk_codec_encode_task(sk_codec_t *codec, const sk_task_t *task, sk_arena_t *arena, void **out,
                         size_t *out_len);
int sk_codec_decode_provisioning_result(sk_codec_t *codec, const void *buf, size_t len,
                                        sk_provisioning_result_t *out, char *reason,
                                        size_t reason_len);
int sk_codec_encode_provisioning_result(sk_codec_t *codec, const sk_provisioning_result_t *res,
                                        sk_arena_t *arena, void **out, size_t *out_len);

/* Reads the schema id of a framed record; SK_EPARSE if not framed. */
int sk_codec_schema_id(const void *buf, size_t len, int32_t *out_id);

/*
 * Schema evolution (codec_resolve.c). A record framed with another schema
 * id than the one this build writes is read through that id's writer
 * schema, resolved to the reader schema as Avro says (fields the writer
 * lacks take the reader's defaults, fields the reader lacks are skipped,
 * promotions apply). Writer schemas: the versions embedded from
 * schemas/versions/NAME/ID.avsc, those added here, and those the lookup
 * finds. A writer schema that cannot be resolved makes its records
 * undecodable (SK_EPARSE) with a reason that says why; an id only the
 * lookup could answer, while it cannot, makes them SK_EAGAIN (not yet
 * decodable: try again later).
 */

/*
 * sk_codec_add_writer — registers the writer schema `json` under `id`. Its
 * record name says which input it is a version of. 0, or SK_EINVAL with
 * the reason when it cannot be resolved to the reader schema (the refusal
 * is remembered for the id too), or SK_ENOMEM.
 */
int sk_codec_add_writer(sk_codec_t *codec, int32_t id, const char *json, char *reason,
                        size_t reason_len);

/*
 * A lookup of unknown schema ids (an HTTP schema registry): 0 with *json
 * (malloc'd, the caller frees) the writer schema; SK_ENOTFOUND when the
 * registry does not know the id (a definite answer: cached like a
 * refusal); any other code when it could not be asked (an outage: the
 * decoder returns SK_EAGAIN with the reason — the record is not known to
 * be bad, its caller waits and tries again; nothing is cached). Called on
 * the decoding thread.
 */
typedef int (*sk_codec_lookup_fn)(void *ctx, int32_t id, char **json, char *reason,
                                  size_t reason_len);

/* Sets the lookup (NULL: none); ctx is passed to it. */
void sk_codec_set_lookup(sk_codec_t *codec, sk_codec_lookup_fn fn, void *ctx);

/*
 * ---- internal to codec.c, decode.c and encode.c (define SK_CODEC_INTERNAL
 * before including); not part of the API. ----
 */
#ifdef SK_CODEC_INTERNAL
#include <avro.h>

typedef enum sk_codec_kind {
    SK_CODEC_SCHEDULE = 0,
    SK_CODEC_COMMAND,
    SK_CODEC_AUDIT,
    SK_CODEC_DEAD_LETTER,
    SK_CODEC_REQUEST,
    SK_CODEC_TASK,
    SK_CODEC_PROVISIONING_RESULT,
    SK_CODEC_CHANGELOG,
    SK_CODEC_KIND_COUNT
} sk_codec_kind_t;

/* One schema: parsed once, its generic value reused by every call. */
typedef struct sk_codec_slot {
    const char *name;          /* record name, e.g. "ScheduleEvent" */
    int32_t id;                /* SK_SCHEMA_ID_* */
    avro_schema_t schema;      /* owned */
    avro_value_iface_t *iface; /* owned */
    avro_value_t value;        /* owned; reset before each use */
} sk_codec_slot_t;

typedef struct sk_codec_writer sk_codec_writer_t;

struct sk_codec {
    sk_codec_slot_t slots[SK_CODEC_KIND_COUNT];
    avro_reader_t reader;                         /* memory reader, re-pointed per decode */
    const char *reader_json[SK_CODEC_KIND_COUNT]; /* the embedded reader schemas */
    sk_codec_writer_t *writers;                   /* other versions (codec_resolve.c) */
    size_t n_writers, cap_writers;
    sk_codec_lookup_fn lookup;
    void *lookup_ctx;
};

/* Walks one value of schema s over a body of `len` bytes (of a framed
 * record of `given` bytes) without reading it (codec_walk.c): every length,
 * count, enum index and union branch checked against the bytes left. 0 and
 * *end the bytes the value takes (the caller refuses trailing bytes), or
 * SK_EPARSE with a reason naming the field. */
int sk_codec_walk(avro_schema_t s, const uint8_t *body, size_t len, size_t given, size_t *end,
                  char *reason, size_t reason_len);

/* Reads a body framed with schema id `id`, not the slot's, through its
 * writer schema into the slot's value (codec_resolve.c). Same contract as
 * sk_codec_read_framed. */
int sk_codec_read_other(sk_codec_t *codec, sk_codec_kind_t kind, int32_t id, const uint8_t *body,
                        size_t len, size_t given, avro_value_t **out, char *reason,
                        size_t reason_len);

/* Frees every writer schema (sk_codec_destroy). */
void sk_codec_writers_free(sk_codec_t *codec);

/* Reads one framed record of `kind` into codec->slots[kind].value, after
 * checking the framing and walking the body against the schema (lengths,
 * enum and union ranges, trailing bytes). On failure returns SK_EPARSE with
 * a reason. The value is owned by the codec, valid until its next use. */
int sk_codec_read_framed(sk_codec_t *codec, sk_codec_kind_t kind, const void *buf, size_t len,
                         avro_value_t **out, char *reason, size_t reason_len);

/* Resets and returns the reusable value of `kind`, to be filled. */
avro_value_t *sk_codec_value_for_write(sk_codec_t *codec, sk_codec_kind_t kind);

/* Writes header + codec->slots[kind].value into arena memory. */
int sk_codec_write_framed(sk_codec_t *codec, sk_codec_kind_t kind, sk_arena_t *arena, void **out,
                          size_t *out_len);
#endif /* SK_CODEC_INTERNAL */

#endif
