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

const char *sk_ms_format(sk_ms_t t, char *buf, size_t len)
{
    if (t == SK_MS_NONE) {
        snprintf(buf, len, "never");
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
