/*
 * windows.h — grant windows: when a shift grants an entitlement through an
 * enrollment edge of its rotation. Used by the shift decider (the sources
 * wanted now) and by the common ending (the wake-up for windows still to
 * come). Not a public header. Pure.
 */
#ifndef SK_DECIDE_WINDOWS_H
#define SK_DECIDE_WINDOWS_H

#include <stdbool.h>

#include "decide/state.h"
#include "rules/rules.h"

/* 1 when edge e grants to shift sh (its escalation level is covered). */
bool sk_decide_edge_applies(const sk_shift_t *sh, const sk_enrollment_edge_t *e);

/*
 * sk_decide_edge_window — the grant window [*from, *until) of shift sh
 * through edge e: from the shift start minus grant_before to its end plus
 * revoke_after (SK_MS_NONE for an open-ended shift), capped by the
 * entitlement's maximum duration counted from the window's start (so the
 * cap does not depend on when the event was processed). Saturating.
 */
void sk_decide_edge_window(const sk_shift_t *sh, const sk_enrollment_edge_t *e, sk_ms_t *from,
                           sk_ms_t *until);

/*
 * sk_decide_next_window_start — the earliest start of a grant window after
 * now_ms among `shifts` that are not cancelled, through the enrollment
 * edges of their rotations that cover their escalation level; SK_MS_NONE
 * when none. The wake-up every decider needs for grants still to come.
 */
sk_ms_t sk_decide_next_window_start(const sk_rules_t *rules, const sk_shift_t *shifts,
                                    size_t n_shifts, sk_ms_t now_ms);

#endif
