/* timefmt.c — ISO 8601 and HTTP dates (see timefmt.h). */
#include "timefmt.h"

#include <string.h>
#include <time.h>

static int two_digits(const char *p, int *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/* Parses a zone at p ("Z", "+01:30", "-0500") into seconds east of UTC; the
 * end of the zone in *end. Each character is checked before the next is
 * read, so a short string ends the parse at its NUL. */
static int parse_zone(const char *p, long *off, const char **end)
{
    int h, m;
    if (*p == 'Z') {
        *off = 0;
        *end = p + 1;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '+' ? 1 : -1;
    p++;
    if (two_digits(p, &h))
        return -1;
    p += 2;
    if (*p == ':')
        p++;
    if (two_digits(p, &m) || h > 23 || m > 59)
        return -1;
    *off = sign * (h * 3600L + m * 60L);
    *end = p + 2;
    return 0;
}

int sk_conn_parse_iso(const char *s, sk_ms_t *out)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    long ms = 0, off = 0;
    if (!p)
        return -1;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (parse_zone(p, &off, &p) || *p)
        return -1;
    *out = ((sk_ms_t)timegm(&tm) - off) * 1000 + ms;
    return 0;
}

const char *sk_conn_format_iso(sk_ms_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

int sk_conn_parse_http_date(const char *s, sk_ms_t *out)
{
    struct tm tm = {0};
    while (*s == ' ')
        s++;
    const char *p = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!p)
        return -1;
    while (*p == ' ' || *p == '\r' || *p == '\n')
        p++;
    if (*p)
        return -1;
    *out = (sk_ms_t)timegm(&tm) * 1000;
    return 0;
}
