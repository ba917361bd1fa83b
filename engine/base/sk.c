/* sk.c — error names, the clock, identifier checks (see sk.h). */
#include "base/sk.h"

#include <stdio.h>
#include <time.h>

const char *sk_strerror(int code)
{
    switch (code) {
    case SK_OK: return "ok";
    case SK_EINVAL: return "invalid input";
    case SK_ENOMEM: return "out of memory";
    case SK_EIO: return "I/O error";
    case SK_EPARSE: return "parse error";
    case SK_EFENCED: return "fenced: partition owned by another instance";
    case SK_EAGAIN: return "try again";
    case SK_ENOTFOUND: return "not found";
    default: return "unknown error";
    }
}

sk_ms_t sk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (sk_ms_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Two digits of v (0..99) at p. */
static void put2(char *p, uint32_t v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* The civil date of day z, counted from 0000-03-01 minus one 400-year era
 * (so that z is never negative: 32-bit unsigned arithmetic), proleptic
 * Gregorian: the well-known era algorithm, 400-year eras of 146,097 days,
 * years counted from March so that the leap day ends the year. *y is the
 * year plus 400. */
static void civil_from_days(uint32_t z, uint32_t *y, uint32_t *m, uint32_t *d)
{
    const uint32_t era = z / 146097;
    const uint32_t doe = z - era * 146097;                                      /* [0, 146096] */
    const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    const uint32_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

/* Years 0000..9999 without gmtime_r and snprintf (the deciders format
 * times in every reason and trace line): the same text, much faster. */
#define MS_FAST_MIN (-62167219200000LL) /* 0000-01-01T00:00:00.000Z */
#define DAY_MS      86400000LL

const char *sk_ms_format(sk_ms_t t, char *buf, size_t len)
{
    if (t == SK_MS_NONE) {
        snprintf(buf, len, "never");
        return buf;
    }
    if (t >= MS_FAST_MIN && t <= SK_MS_MAX_INPUT && len >= 25) {
        /* days since 0000-01-01 (>= 0), then from 0000-03-01 less an era */
        int64_t days = (t - MS_FAST_MIN) / DAY_MS;
        uint32_t in_day = (uint32_t)(t - MS_FAST_MIN - days * DAY_MS), y, m, d;
        uint32_t secs = in_day / 1000, ms = in_day % 1000;
        civil_from_days((uint32_t)(days - 60 + 146097), &y, &m, &d);
        y -= 400;
        put2(buf, y / 100);
        put2(buf + 2, y % 100);
        buf[4] = '-';
        put2(buf + 5, m);
        buf[7] = '-';
        put2(buf + 8, d);
        buf[10] = 'T';
        put2(buf + 11, secs / 3600);
        buf[13] = ':';
        put2(buf + 14, secs / 60 % 60);
        buf[16] = ':';
        put2(buf + 17, secs % 60);
        buf[19] = '.';
        buf[20] = (char)('0' + ms / 100);
        put2(buf + 21, ms % 100);
        buf[23] = 'Z';
        buf[24] = '\0';
        return buf;
    }
    time_t secs = (time_t)(t / 1000);
    int ms = (int)(t % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

int sk_id_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > SK_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}
