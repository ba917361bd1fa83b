/*
 * duration.c — sk_duration_parse (declared in base/duration.h): "90s", "15m",
 * "12h", "7d", "1h30m", "500ms", "0" into milliseconds.
 *
 * Grammar: either "0", or one or more <digits><unit> groups with units
 * d, h, m, s, ms, each used at most once and in that (decreasing) order,
 * no spaces, no sign, no fractions. The total must fit in sk_ms_t.
 */
#include <stdint.h>

#include "base/duration.h"

/* Matches the unit at *p; returns its size in ms and advances *p, or 0. */
static int64_t duration_unit(const char **p)
{
    const char *s = *p;

    if (s[0] == 'm' && s[1] == 's') {
        *p = s + 2;
        return 1;
    }
    switch (s[0]) {
    case 'd': *p = s + 1; return 86400000;
    case 'h': *p = s + 1; return 3600000;
    case 'm': *p = s + 1; return 60000;
    case 's': *p = s + 1; return 1000;
    default: return 0;
    }
}

int sk_duration_parse(const char *text, sk_ms_t *out_ms)
{
    int rc = SK_EINVAL;
    const char *p = text;
    int64_t total = 0;
    int64_t last_unit = INT64_MAX; /* units must strictly decrease */

    if (!text || !out_ms || !*text)
        goto out;
    if (text[0] == '0' && text[1] == '\0') {
        total = 0;
        rc = 0;
        goto out;
    }
    while (*p) {
        int64_t n = 0, unit;
        int digits = 0;

        while (*p >= '0' && *p <= '9') {
            int d = *p - '0';
            if (n > (INT64_MAX - d) / 10)
                goto out; /* overflow */
            n = n * 10 + d;
            p++;
            digits++;
        }
        if (digits == 0)
            goto out;
        unit = duration_unit(&p);
        if (unit == 0 || unit >= last_unit)
            goto out;
        last_unit = unit;
        if (n > (INT64_MAX - total) / unit)
            goto out;
        total += n * unit;
    }
    rc = 0;
out:
    if (rc == 0)
        *out_ms = total;
    return rc;
}
