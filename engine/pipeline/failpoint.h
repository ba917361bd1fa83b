/*
 * failpoint.h — abrupt exits at chosen points of the pipeline, for the
 * fault tests only (off unless SHIFTKEY_FAILPOINT is set).
 *
 * Fault tests need a crash in the one window a SIGKILL rarely hits: after a
 * record was applied (state + outbox in Redis) and before the outbox was
 * produced, and after the outbox was produced but before it was trimmed.
 * SHIFTKEY_FAILPOINT=crash-after-apply:N exits abruptly right after the N-th
 * applied record; crash-before-trim:N after the N-th produced outbox chunk.
 * refuse-takeaway:N makes the next N productions of a command that takes
 * access away (REVOKE, EXTEND) fail as Kafka refusing the record for good
 * (MSG_SIZE_TOO_LARGE), to prove such a command is held, not dropped.
 */
#ifndef SK_FAILPOINT_H
#define SK_FAILPOINT_H

#include <stdint.h>

/* The armed failpoints of one engine; all zero = off. */
typedef struct sk_failpoints {
    long crash_after_apply; /* exit once this many records are applied */
    long crash_before_trim; /* exit before the trim of this outbox chunk */
    long flushes;           /* outbox chunks produced so far */
    long refuse_takeaway;   /* REVOKE/EXTEND productions still to refuse (emit.c) */
} sk_failpoints_t;

/* Arms fp from $SHIFTKEY_FAILPOINT (a warning says what is armed, or that
 * the value was not understood and is ignored). */
void sk_failpoint_init(sk_failpoints_t *fp);

/* Exits (status 137, no cleanup) when `records` applied records reach the
 * crash-after-apply failpoint. */
void sk_failpoint_after_apply(const sk_failpoints_t *fp, uint64_t records);

/* Counts a produced outbox chunk about to be trimmed; exits (status 137,
 * no cleanup) when the crash-before-trim failpoint is reached. */
void sk_failpoint_before_trim(sk_failpoints_t *fp);

#endif
