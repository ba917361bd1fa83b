/*
 * event.c — names of the enums of event.h. Each name is the symbol of the
 * same enum in the schemas/ files (sk_codec_new() checks that they agree), so
 * logs, the CLI and the wire all spell a value the same way.
 */
#include "event.h"

/* Each returns a static string, never NULL: "UNKNOWN" when out of range. */

const char *sk_shift_event_type_name(sk_shift_event_type_t t)
{
    static const char *const names[] = {
        [SK_SHIFT_SCHEDULED] = "SCHEDULED", [SK_SHIFT_STARTED] = "STARTED",
        [SK_SHIFT_UPDATED] = "UPDATED",     [SK_SHIFT_ENDED] = "ENDED",
        [SK_SHIFT_CANCELLED] = "CANCELLED",
    };
    return (unsigned)t < SK_ARRAY_LEN(names) ? names[t] : "UNKNOWN";
}

const char *sk_command_action_name(sk_command_action_t a)
{
    static const char *const names[] = {
        [SK_CMD_GRANT] = "GRANT",
        [SK_CMD_REVOKE] = "REVOKE",
        [SK_CMD_EXTEND] = "EXTEND",
    };
    return (unsigned)a < SK_ARRAY_LEN(names) ? names[a] : "UNKNOWN";
}

const char *sk_source_kind_name(sk_source_kind_t k)
{
    static const char *const names[] = {
        [SK_SOURCE_SHIFT] = "SHIFT",
        [SK_SOURCE_REQUEST] = "REQUEST",
        [SK_SOURCE_EMERGENCY] = "EMERGENCY",
    };
    return (unsigned)k < SK_ARRAY_LEN(names) ? names[k] : "UNKNOWN";
}

const char *sk_dead_letter_kind_name(sk_dead_letter_kind_t k)
{
    static const char *const names[] = {
        [SK_DL_UNDECODABLE] = "UNDECODABLE",
        [SK_DL_INVALID] = "INVALID",
        [SK_DL_UNKNOWN_REFERENCE] = "UNKNOWN_REFERENCE",
    };
    return (unsigned)k < SK_ARRAY_LEN(names) ? names[k] : "UNKNOWN";
}
