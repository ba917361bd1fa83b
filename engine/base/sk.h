/*
 * sk.h — definitions shared by every shiftkey module: error codes, time,
 * limits. No module state lives here.
 */
#ifndef SK_H
#define SK_H

#include <stddef.h>
#include <stdint.h>

/* Every function that can fail returns 0 or one of these negative codes. */
enum {
    SK_OK = 0,
    SK_EINVAL = -1,   /* bad argument or invalid input record */
    SK_ENOMEM = -2,   /* allocation failed */
    SK_EIO = -3,      /* Redis / Kafka / file I/O failed; retry may work */
    SK_EPARSE = -4,   /* input could not be parsed */
    SK_EFENCED = -5,  /* another engine instance owns this partition now */
    SK_EAGAIN = -6,   /* temporary condition; call again */
    SK_ENOTFOUND = -7 /* the named thing does not exist */
};

/* Human-readable name of an SK_E* code; never NULL. */
const char *sk_strerror(int code);

/* Absolute wall-clock time in milliseconds since the Unix epoch. All due
 * times in shiftkey are kept in this unit (see DESIGN.md, "one clock"). */
typedef int64_t sk_ms_t;

/* "No time": an open-ended shift end, or "no timer pending". */
#define SK_MS_NONE INT64_MAX

/* Latest time accepted from input: 9999-12-31T23:59:59.999Z. */
#define SK_MS_MAX_INPUT 253402300799999LL

/* Current wall-clock time. */
sk_ms_t sk_now_ms(void);

/* Formats t as "2026-11-23T10:15:00.000Z" into buf (at least 32 bytes). */
const char *sk_ms_format(sk_ms_t t, char *buf, size_t len);

/* Highest accepted escalation level. */
#define SK_LEVEL_MAX 1000

/* Longest accepted identifier (user, rotation, shift id, event id), bytes. */
#define SK_ID_MAX 256

/*
 * sk_id_valid — 1 if s (len bytes) is an acceptable identifier: 1..SK_ID_MAX
 * bytes of printable ASCII without spaces (e-mail addresses are fine).
 * Identifiers are used inside Redis field names, so separators are refused.
 */
int sk_id_valid(const char *s, size_t len);

#define SK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
