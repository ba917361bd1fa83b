/* refused.c — a refused GRANT from its dead-letter notice (refused.h). */
#include "refused.h"

#include <stdint.h>
#include <string.h>

#include "base/sk.h"
#include "codec/codec.h"

/* Reads the Avro payload's first fields by hand: the payload is a prefix
 * of the record (cut anywhere), which avro-c would refuse as a whole. The
 * head of a Command (schemas/command.avsc, id 1002) is command_id (string),
 * action (enum: GRANT is 0), user, app, entitlement (strings). */
typedef struct head {
    const uint8_t *p, *end;
} head_t;

/* An Avro long (zig-zag varint). 0, or -1 when cut or too long. */
static int read_long(head_t *h, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (h->p >= h->end)
            return -1;
        uint8_t b = *h->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

/* An Avro string copied into a (NUL-terminated). 0; -1 when cut or
 * malformed; SK_ENOMEM. */
static int read_string(head_t *h, sk_arena_t *a, const char **out)
{
    int64_t n;
    if (read_long(h, &n) != 0 || n < 0 || n > h->end - h->p)
        return -1;
    char *s = sk_arena_alloc(a, (size_t)n + 1);
    if (!s)
        return SK_ENOMEM;
    memcpy(s, h->p, (size_t)n);
    s[n] = '\0';
    h->p += n;
    *out = s;
    return memchr(s, '\0', (size_t)n) ? -1 : 0;
}

/* Kafka's error as the notice's reason names it: "... for good (<error>): ...". */
static const char *kafka_error(const char *reason, sk_arena_t *a)
{
    const char *open = reason ? strstr(reason, "for good (") : NULL;
    const char *close = open ? strstr(open, "): ") : NULL;
    if (!close)
        return "";
    open += strlen("for good (");
    char *s = sk_arena_alloc(a, (size_t)(close - open) + 1);
    if (!s)
        return NULL;
    memcpy(s, open, (size_t)(close - open));
    s[close - open] = '\0';
    return s;
}

int sk_slack_refused_grant(const sk_dead_letter_t *dl, const char *commands_topic, sk_arena_t *a,
                           sk_slack_refused_t *out)
{
    int32_t id;
    int64_t action;
    int rc;
    if (!dl->origin.topic || strcmp(dl->origin.topic, commands_topic) != 0 ||
        sk_codec_schema_id(dl->payload, dl->payload_len, &id) != 0 || id != SK_SCHEMA_ID_COMMAND)
        return 0;
    head_t h = {(const uint8_t *)dl->payload + 5, (const uint8_t *)dl->payload + dl->payload_len};
    *out = (sk_slack_refused_t){.user = "", .app = "", .entitlement = ""};
    if ((rc = read_string(&h, a, &out->command_id)) != 0)
        return rc == SK_ENOMEM ? rc : 0;
    if (read_long(&h, &action) != 0 || action != SK_CMD_GRANT || !*out->command_id)
        return 0;
    /* user, app, entitlement: as far as the payload goes */
    const char **fields[] = {&out->user, &out->app, &out->entitlement};
    for (size_t i = 0; i < SK_ARRAY_LEN(fields); i++)
        if ((rc = read_string(&h, a, fields[i])) != 0) {
            if (rc == SK_ENOMEM)
                return rc;
            *fields[i] = "";
            break;
        }
    if (!*out->user && dl->key && dl->key_len) { /* commands are keyed by their user */
        char *k = sk_arena_alloc(a, dl->key_len + 1);
        if (!k)
            return SK_ENOMEM;
        memcpy(k, dl->key, dl->key_len);
        k[dl->key_len] = '\0';
        out->user = k;
    }
    if (!*out->user)
        return 0;
    if (!(out->error = kafka_error(dl->reason, a)))
        return SK_ENOMEM;
    return 1;
}
