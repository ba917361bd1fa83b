/*
 * event.c — names of the enums of event.h, and the reasons of a command
 * and an audit record written when read. Each name is the symbol of the
 * same enum in the schemas/ files (sk_codec_new() checks that they agree), so
 * logs, the CLI and the wire all spell a value the same way.
 */
#include "codec/event.h"

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
        [SK_SOURCE_FOUND] = "FOUND",
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

const char *sk_request_event_type_name(sk_request_event_type_t t)
{
    static const char *const names[] = {
        [SK_REQ_CREATED] = "CREATED",
        [SK_REQ_APPROVED] = "APPROVED",
        [SK_REQ_DENIED] = "DENIED",
        [SK_REQ_DURATION_CHANGED] = "DURATION_CHANGED",
        [SK_REQ_ESCALATED] = "ESCALATED",
        [SK_REQ_REASSIGNED] = "REASSIGNED",
        [SK_REQ_COMMENTED] = "COMMENTED",
        [SK_REQ_CANCELLED] = "CANCELLED",
        [SK_REQ_DELETED] = "DELETED",
        [SK_REQ_RESTARTED] = "RESTARTED",
        [SK_REQ_HARD_RESET] = "HARD_RESET",
        [SK_REQ_POLICY_CHANGED] = "POLICY_CHANGED",
        [SK_REQ_STEP_SKIPPED] = "STEP_SKIPPED",
        [SK_REQ_PROCESS_NOW] = "PROCESS_NOW",
        [SK_REQ_REMINDER_SENT] = "REMINDER_SENT",
        [SK_REQ_REVOCATION_PROPOSED] = "REVOCATION_PROPOSED",
        [SK_REQ_REVOCATION_CONFIRMED] = "REVOCATION_CONFIRMED",
        [SK_REQ_REVOCATION_DENIED] = "REVOCATION_DENIED",
        [SK_REQ_REVIEW_CERTIFIED] = "REVIEW_CERTIFIED",
        [SK_REQ_REVIEW_REVOKED] = "REVIEW_REVOKED",
        [SK_REQ_CAMPAIGN_STARTED] = "CAMPAIGN_STARTED",
        [SK_REQ_CAMPAIGN_CLOSED] = "CAMPAIGN_CLOSED",
    };
    return (unsigned)t < SK_ARRAY_LEN(names) ? names[t] : "UNKNOWN";
}

const char *sk_target_kind_name(sk_target_kind_t k)
{
    static const char *const names[] = {
        [SK_TARGET_ENTITLEMENT] = "ENTITLEMENT",
        [SK_TARGET_PROFILE] = "PROFILE",
    };
    return (unsigned)k < SK_ARRAY_LEN(names) ? names[k] : "UNKNOWN";
}

const char *sk_task_kind_name(sk_task_kind_t k)
{
    static const char *const names[] = {
        [SK_TASK_REQUEST_REVIEW] = "REQUEST_REVIEW",   [SK_TASK_PROVISIONING] = "PROVISIONING",
        [SK_TASK_DEPROVISIONING] = "DEPROVISIONING",   [SK_TASK_REVOCATION] = "REVOCATION",
        [SK_TASK_EMERGENCY_GRANT] = "EMERGENCY_GRANT", [SK_TASK_ACCESS_REVIEW] = "ACCESS_REVIEW",
    };
    return (unsigned)k < SK_ARRAY_LEN(names) ? names[k] : "UNKNOWN";
}

const char *sk_task_state_name(sk_task_state_t s)
{
    static const char *const names[] = {
        [SK_TASK_CREATED] = "CREATED",
        [SK_TASK_ASSIGNED] = "ASSIGNED",
        [SK_TASK_UPDATED] = "UPDATED",
        [SK_TASK_CLOSED] = "CLOSED",
    };
    return (unsigned)s < SK_ARRAY_LEN(names) ? names[s] : "UNKNOWN";
}

const char *sk_task_outcome_name(sk_task_outcome_t o)
{
    static const char *const names[] = {
        [SK_TASK_APPROVED] = "APPROVED",       [SK_TASK_DENIED] = "DENIED",
        [SK_TASK_PROVISIONED] = "PROVISIONED", [SK_TASK_WONT_PROVISION] = "WONT_PROVISION",
        [SK_TASK_CONFIRMED] = "CONFIRMED",     [SK_TASK_CANCELLED] = "CANCELLED",
        [SK_TASK_EXPIRED] = "EXPIRED",         [SK_TASK_CERTIFIED] = "CERTIFIED",
        [SK_TASK_REVOKED] = "REVOKED",         [SK_TASK_LEFT] = "LEFT",
    };
    if (o == SK_TASK_OUTCOME_NONE)
        return "NONE";
    return (unsigned)o < SK_ARRAY_LEN(names) ? names[o] : "UNKNOWN";
}

const char *sk_provisioning_status_name(sk_provisioning_status_t s)
{
    static const char *const names[] = {
        [SK_PROV_PROVISIONED] = "PROVISIONED",
        [SK_PROV_WONT_PROVISION] = "WONT_PROVISION",
        [SK_PROV_FAILED] = "FAILED",
        [SK_PROV_DEPROVISIONED] = "DEPROVISIONED",
        [SK_PROV_FOUND] = "FOUND",
    };
    return (unsigned)s < SK_ARRAY_LEN(names) ? names[s] : "UNKNOWN";
}

const char *sk_command_reason(const sk_command_t *c, sk_arena_t *arena)
{
    return c->reason ? c->reason : sk_text_render(&c->reason_lazy, arena);
}

const char *sk_audit_reason(const sk_audit_t *a, sk_arena_t *arena)
{
    return a->reason ? a->reason : sk_text_render(&a->reason_lazy, arena);
}
