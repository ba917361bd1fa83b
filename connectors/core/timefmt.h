/*
 * timefmt.h — the time formats the platforms use: ISO 8601 / RFC 3339
 * ("2026-10-25T01:00:00Z", "…+02:00", "….123Z") and the HTTP date of
 * Retry-After ("Wed, 21 Oct 2026 07:28:00 GMT", RFC 9110 IMF-fixdate). Pure.
 */
#ifndef SK_CONN_TIMEFMT_H
#define SK_CONN_TIMEFMT_H

#include <stddef.h>

#include "base/sk.h"

/*
 * sk_conn_parse_iso — parses an ISO 8601 time with a zone (Z, ±HH:MM or
 * ±HHMM; fractions of a second are truncated to ms) into *out. 0, or -1 for
 * anything else (a missing zone, an offset that is not two digits each, hours
 * > 23 or minutes > 59, trailing text); *out is untouched on error. Never
 * reads past the terminating NUL of s.
 */
int sk_conn_parse_iso(const char *s, sk_ms_t *out);

/* Formats ms as "2026-10-25T01:00:00Z" (UTC, whole seconds) into buf; returns buf. */
const char *sk_conn_format_iso(sk_ms_t ms, char *buf, size_t len);

/* Parses an HTTP date (IMF-fixdate, GMT) into *out. 0 or -1. */
int sk_conn_parse_http_date(const char *s, sk_ms_t *out);

#endif
