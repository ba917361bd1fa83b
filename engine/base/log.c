/* log.c — timestamped lines on stderr (see log.h). */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/sk.h"

static sk_log_level_t log_level = SK_LOG_INFO; /* set once at start-up */
static int log_json;                           /* likewise */

void sk_log_set_level(sk_log_level_t level)
{
    log_level = level;
}

void sk_log_set_json(int json)
{
    log_json = json;
}

int sk_log_format_parse(const char *name, int *json)
{
    if (strcmp(name, "text") != 0 && strcmp(name, "json") != 0)
        return -1;
    *json = strcmp(name, "json") == 0;
    return 0;
}

/* line as a JSON string's contents (quotes, backslashes, control bytes
 * escaped; other bytes as they are) into out (len >= 6). */
static void json_escape(const char *in, char *out, size_t len)
{
    size_t k = 0;
    for (; *in && k + 7 < len; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20) {
            k += (size_t)snprintf(out + k, len - k, "\\u%04x", c);
        } else {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
}

int sk_log_enabled(sk_log_level_t level)
{
    return level >= log_level;
}

int sk_log_level_parse(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

size_t sk_log_escape(const char *in, char *out, size_t out_len)
{
    size_t k = 0;
    if (out_len == 0)
        return 0;
    for (; *in && k + 5 < out_len; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '\\' || c < 0x20 || c == 0x7f)
            k += (size_t)snprintf(out + k, out_len - k, c == '\\' ? "\\\\" : "\\x%02x", c);
        else
            out[k++] = (char)c;
    }
    out[k] = '\0';
    return k;
}

void sk_log(sk_log_level_t level, const char *fmt, ...)
{
    static const char *const tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    char line[2048], safe[2048 * 2], ts[40];
    va_list ap;
    if (level < log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (log_json) { /* JSON escaping keeps one event on one line too */
        static const char *const names[] = {"debug", "info", "warn", "error"};
        char esc[sizeof(line) * 2];
        json_escape(line, esc, sizeof(esc));
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n",
                sk_ms_format(sk_now_ms(), ts, sizeof(ts)), names[level], esc);
        return;
    }
    /* one event, one line: free text (comments, reasons, record keys) cannot
     * start a forged line of its own */
    sk_log_escape(line, safe, sizeof(safe));
    fprintf(stderr, "%s %s %s\n", sk_ms_format(sk_now_ms(), ts, sizeof(ts)), tags[level], safe);
}
