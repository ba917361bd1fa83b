/*
 * log.h — one line per event on stderr: "2026-11-23T10:00:00.123Z INFO  msg".
 * The level and the format are set once at start-up (sk_log_set_level,
 * sk_log_set_json) before threads start. JSON lines (for log shippers):
 *   {"ts":"2026-11-23T10:00:00.123Z","level":"info","msg":"..."}
 */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stddef.h>

typedef enum sk_log_level {
    SK_LOG_DEBUG = 0,
    SK_LOG_INFO,
    SK_LOG_WARN,
    SK_LOG_ERROR
} sk_log_level_t;

void sk_log_set_level(sk_log_level_t level);

/* True when lines of this level are written (to skip building costly ones). */
int sk_log_enabled(sk_log_level_t level);

/* json non-zero: one JSON object per line instead of text. */
void sk_log_set_json(int json);

/* Parses "text" or "json" into *json; 0, or -1 for anything else. */
int sk_log_format_parse(const char *name, int *json);

/* Parses "debug", "info", "warn" or "error"; -1 if none of them. */
int sk_log_level_parse(const char *name);

/* Writes one line; control characters (newlines included) and '\\' of the
 * formatted message are escaped (sk_log_escape), so text from input cannot
 * forge a log line. */
void sk_log(sk_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * sk_log_escape — copies in to out (out_len > 0), writing each control
 * character as \xNN and '\\' as "\\\\"; truncates to fit, always
 * NUL-terminated. Returns the length written. Pure.
 */
size_t sk_log_escape(const char *in, char *out, size_t out_len);

#define SK_DEBUG(...) sk_log(SK_LOG_DEBUG, __VA_ARGS__)
#define SK_INFO(...)  sk_log(SK_LOG_INFO, __VA_ARGS__)
#define SK_WARN(...)  sk_log(SK_LOG_WARN, __VA_ARGS__)
#define SK_ERROR(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)

#endif
