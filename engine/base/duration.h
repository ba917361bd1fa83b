/*
 * duration.h — durations as people write them in rules, flags and configs.
 */
#ifndef SK_DURATION_H
#define SK_DURATION_H

#include "base/sk.h"

/*
 * sk_duration_parse — parses "90s", "15m", "12h", "7d", "1h30m" or "0" into
 * milliseconds. Returns 0, or SK_EINVAL for anything else (negative, empty,
 * unknown unit, overflow).
 */
int sk_duration_parse(const char *text, sk_ms_t *out_ms);

#endif
