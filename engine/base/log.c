/* log.c — timestamped lines on stderr (see log.h). */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/sk.h"

static sk_log_level_t log_level = SK_LOG_INFO; /* set once at start-up */

void sk_log_set_level(sk_log_level_t level) { log_level = level; }

int sk_log_level_parse(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void sk_log(sk_log_level_t level, const char *fmt, ...)
{
    static const char *const tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    char line[2048], ts[40];
    va_list ap;
    if (level < log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %s\n", sk_ms_format(sk_now_ms(), ts, sizeof(ts)), tags[level], line);
}
