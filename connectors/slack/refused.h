/*
 * refused.h — a GRANT that Kafka refused for good, read from the engine's
 * dead-letter notice (docs/reliability.md, "A GRANT refused for good gives
 * no access"): the engine drops such a record and produces in its place,
 * on shiftkey.deadletter.v1, a notice keyed by the user whose origin topic
 * is the commands topic, whose reason names Kafka's error and whose
 * payload is the first bytes of the refused record. The notifier tells the
 * user from it that the access was not given. Pure: no I/O.
 */
#ifndef SK_SLACK_REFUSED_H
#define SK_SLACK_REFUSED_H

#include "base/arena.h"
#include "codec/event.h"

/* What the notice tells of the refused GRANT; strings in the arena. */
typedef struct sk_slack_refused {
    const char *command_id;  /* the GRANT's id (32 hex digits) */
    const char *user;        /* whose access it was: the command's user, else the notice's key */
    const char *app;         /* "" when the payload was cut before it */
    const char *entitlement; /* "" when the payload was cut before it */
    const char *error;       /* Kafka's error as the reason names it, "" when not found */
} sk_slack_refused_t;

/*
 * sk_slack_refused_grant — 1 when dl is the notice of a GRANT refused on
 * commands_topic (origin topic, payload framed as a Command — schema id
 * SK_SCHEMA_ID_COMMAND — whose head reads action GRANT, an id and a user),
 * with *out filled (strings copied into a); 0 for any other dead letter (an
 * input's, a notice of another output, of a REVOKE or EXTEND — held by the
 * engine, never noticed — or a payload cut before the action); SK_ENOMEM.
 */
int sk_slack_refused_grant(const sk_dead_letter_t *dl, const char *commands_topic, sk_arena_t *a,
                           sk_slack_refused_t *out);

#endif
