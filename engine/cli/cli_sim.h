/*
 * cli_sim.h — the engine's decisions in memory: every user's state, the
 * on-call index and the durable timers kept in this process instead of
 * Redis, and the real deciders (sk_decide, sk_decide_request,
 * sk_decide_result) run on them in time order. What `shiftkey rules test`,
 * `replay` and `explain` are built on. No Kafka, no Redis, no clock: time
 * is what the caller says it is.
 *
 * The states are kept in their storage form (state.h, the fields of the
 * user's Redis hash) and parsed again before each decision, exactly as the
 * pipeline loads them, so what the simulator decides is what the engine
 * would: the same functions on the same bytes.
 *
 * Timers: after each decision the user's wake-up is its next_wake_ms, as
 * apply.c stores it; sk_sim_advance fires every wake-up that is due, in due
 * order, each decided at its due time (the engine fires within a scan
 * interval of it).
 */
#ifndef SK_CLI_SIM_H
#define SK_CLI_SIM_H

#include <stdbool.h>

#include "decide/decide_request.h"
#include "decide/state.h"
#include "rules/rules.h"

typedef struct sk_sim sk_sim_t;

typedef enum sk_sim_input {
    SK_SIM_SCHEDULE = 0,
    SK_SIM_REQUEST = 1,
    SK_SIM_RESULT = 2,
    SK_SIM_TIMER = 3,
    SK_SIM_REJECT = 4 /* an input that never reached the rules (undecodable) */
} sk_sim_input_t;

/* One decision as the sink sees it. Everything is borrowed and valid only
 * during the call. */
typedef struct sk_sim_out {
    sk_sim_input_t input;
    const char *user;
    sk_ms_t at_ms;
    const sk_decision_t *d; /* commands, tasks, audit, new state */
    bool refused;           /* requests and results */
    const char *refuse_reason;
    const sk_request_event_t *request; /* SK_SIM_REQUEST only */
} sk_sim_out_t;

typedef void (*sk_sim_sink_fn)(void *ctx, const sk_sim_out_t *out);

/* A simulator over `rules` (borrowed: it must outlive the simulator); each
 * decision is handed to sink(ctx, ...) when sink is not NULL. NULL when out
 * of memory. */
sk_sim_t *sk_sim_new(const sk_rules_t *rules, sk_sim_sink_fn sink, void *ctx);
void sk_sim_destroy(sk_sim_t *sim);

/*
 * sk_sim_advance — fires every timer due at or before t, in due order (ties
 * by user id), each decided at its due time, then sets the clock to t (it
 * never goes back: a t before the clock only fires what is due). Returns 0
 * or SK_ENOMEM.
 */
int sk_sim_advance(sk_sim_t *sim, sk_ms_t t);

/* The simulator's clock: the latest time given to it. */
sk_ms_t sk_sim_now(const sk_sim_t *sim);

/*
 * sk_sim_schedule / sk_sim_request / sk_sim_result — advance to now_ms,
 * then decide one input at now_ms on its user's state and keep the new
 * state, on-call index and wake-up (a rejected input changes nothing). The
 * event is borrowed for the call. Returns 0 or SK_ENOMEM.
 */
int sk_sim_schedule(sk_sim_t *sim, const sk_schedule_event_t *ev, sk_ms_t now_ms);
int sk_sim_request(sk_sim_t *sim, const sk_request_event_t *ev, sk_ms_t now_ms);
int sk_sim_result(sk_sim_t *sim, const sk_provisioning_result_t *res, sk_ms_t now_ms);

/* sk_sim_reject — an input that could not be decoded: a dead letter with
 * `reason`, nothing else. Returns 0 or SK_ENOMEM. */
int sk_sim_reject(sk_sim_t *sim, sk_dead_letter_kind_t kind, const char *reason, sk_ms_t now_ms);

/*
 * sk_sim_state — the current state of `user` (empty when unknown), parsed
 * into `arena` (the caller's; the result lives as long as it does). Returns
 * 0 or SK_ENOMEM.
 */
int sk_sim_state(sk_sim_t *sim, const char *user, sk_arena_t *arena, sk_user_state_t *out);

/*
 * sk_sim_load_user — replaces the stored fields of `user` with the given
 * ones (copied), e.g. read from Redis for `explain`, and its wake-up with
 * wake_ms (SK_MS_NONE: none). Returns 0 or SK_ENOMEM.
 */
int sk_sim_load_user(sk_sim_t *sim, const char *user, const sk_state_field_t *fields,
                     size_t n_fields, sk_ms_t wake_ms);

/* sk_sim_load_oncall — one field of the on-call index (oncall_index.h),
 * copied; value NULL deletes it. Returns 0 or SK_ENOMEM. */
int sk_sim_load_oncall(sk_sim_t *sim, const char *rotation, const char *field, const char *value);

/* Calls fn for every user known to the simulator (any order). */
void sk_sim_each_user(sk_sim_t *sim, void (*fn)(void *ctx, const char *user), void *ctx);

/* How many decisions were made so far (inputs and timers). */
size_t sk_sim_decisions(const sk_sim_t *sim);

#endif
