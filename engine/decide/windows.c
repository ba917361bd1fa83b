/* windows.c — grant windows of shifts through enrollment edges (see windows.h). */
#include "decide/windows.h"

#include "decide/common.h"

bool sk_decide_edge_applies(const sk_shift_t *sh, const sk_enrollment_edge_t *e)
{
    return !e->max_escalation_level || sh->level <= e->max_escalation_level;
}

void sk_decide_edge_window(const sk_shift_t *sh, const sk_enrollment_edge_t *e, sk_ms_t *from,
                           sk_ms_t *until)
{
    *from = sk_decide_ms_sub(sh->start_ms, e->grant_before_ms);
    sk_ms_t end = sh->end_ms == SK_MS_NONE ? SK_MS_NONE
                                           : sk_decide_ms_add(sh->end_ms, e->revoke_after_ms);
    *until = sk_decide_ms_min(end, sk_decide_ms_add(*from, e->ent->max_duration_ms));
}

sk_ms_t sk_decide_next_window_start(const sk_rules_t *rules, const sk_shift_t *shifts,
                                    size_t n_shifts, sk_ms_t now_ms)
{
    sk_ms_t wake = SK_MS_NONE;
    for (size_t i = 0; i < n_shifts; i++) {
        const sk_shift_t *sh = &shifts[i];
        const sk_rotation_t *rot = sk_rules_rotation(rules, sh->rotation);
        if (sh->status == SK_SHIFT_STATUS_CANCELLED || !rot)
            continue;
        for (size_t j = 0; j < rot->n_edges; j++) {
            sk_ms_t from, until;
            if (!sk_decide_edge_applies(sh, &rot->edges[j]))
                continue;
            sk_decide_edge_window(sh, &rot->edges[j], &from, &until);
            if (now_ms < from)
                wake = sk_decide_ms_min(wake, from);
        }
    }
    return wake;
}
