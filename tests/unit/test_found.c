/*
 * test_found.c — access found outside shiftkey by a provisioner's
 * reconciliation (issue 17: "grants found by reconciliation" in campaign
 * scope), driven with fixed clocks on tests/rules/found: a FOUND result
 * records a FOUND source (no expiry, no GRANT), again changes nothing, is
 * kept by the state's storage form and by time; a campaign with grant kind
 * `found` opens a review of it, whose revoke sends a REVOKE that encodes
 * on the wire and removes the source; a confirmed revocation removes it
 * too; bad FOUND results and bad campaign rules are refused.
 *
 * Cast: bob holds pg/read outside shiftkey, found by provisioner pgprov;
 * ann owns the app (the reviewer); olga owns the campaign.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "decide/decide_request.h"
#include "sk_decide_fx.h"
#include "sk_test.h"

#define RULES "tests/rules/found"
#define T0    1800000000000LL /* 2027-01-15T08:00:00Z: the campaign starts */
#define HOUR  3600000LL
#define DAY   (24 * HOUR)

static sk_dfx_t fx = {.rules_path = RULES};

/* The last case: frees what the cases share (the sanitizer's leak check). */
TEST(teardown)
{
    sk_dfx_teardown(&fx);
}

/* Every command must encode and decode on the wire (a FOUND source never
 * goes on a Command: its SourceKind has no such symbol). */
static void check_commands_wire(const sk_command_t *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *buf = NULL;
        size_t len = 0;
        char why[256] = "";
        sk_command_t back;
        CHECK_INT(sk_codec_encode_command(sk_dfx_codec(&fx), &cmds[i], &fx.arena, &buf, &len), 0);
        if (buf)
            CHECK_INT(sk_codec_decode_command(sk_dfx_codec(&fx), buf, len, &fx.arena, &back, why,
                                              sizeof(why)),
                      0);
    }
}

/* pgprov reports `ent` `status` (FOUND, or DEPROVISIONED of a stray) for
 * st's user at now; the new state replaces *st. */
static sk_request_decision_t stray(sk_user_state_t *st, sk_provisioning_status_t status,
                                   const char *ent, sk_ms_t now)
{
    sk_provisioning_result_t r = {.result = status,
                                  .provisioner = "pgprov",
                                  .user = st->user,
                                  .message = "member of role pg_read_all_data",
                                  .entitlement = ent,
                                  .at_ms = now};
    snprintf(r.command_id, sizeof(r.command_id), "%s", "00112233445566778899aabbccddeeff");
    sk_result_input_t in = {
        .result = &r, .origin = {"shiftkey.provisioning.results.v1", 0, 3}, .now_ms = now};
    sk_request_decision_t d;
    CHECK_INT(sk_decide_result(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.base.tasks, d.base.n_tasks);
    check_commands_wire(d.base.commands, d.base.n_commands);
    if (!d.base.rejected && !d.refused)
        *st = d.base.state;
    return d;
}

static sk_request_decision_t found(sk_user_state_t *st, const char *ent, sk_ms_t now)
{
    return stray(st, SK_PROV_FOUND, ent, now);
}

static sk_decision_t timer(sk_user_state_t *st, sk_ms_t now)
{
    sk_decision_t d;
    sk_input_t in = {
        .kind = SK_INPUT_TIMER, .user = st->user, .origin = {"", 0, -1}, .now_ms = now};
    CHECK_INT(sk_decide(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.tasks, d.n_tasks);
    check_commands_wire(d.commands, d.n_commands);
    if (!d.rejected)
        *st = d.state;
    return d;
}

static sk_request_decision_t act(sk_user_state_t *st, sk_request_event_type_t type, const char *id,
                                 const char *actor, const char *target, const char *comment,
                                 sk_ms_t now)
{
    sk_request_decision_t d;
    sk_request_event_t e = {.event_id = sk_arena_sprintf(&fx.arena, "ev-%lld", (long long)now),
                            .type = type,
                            .request_id = id,
                            .actor = actor,
                            .subject = st->user,
                            .target_kind = SK_TARGET_ENTITLEMENT,
                            .target = target,
                            .duration_ms = type == SK_REQ_CREATED ? HOUR : SK_MS_NONE,
                            .justification = "",
                            .comment = comment,
                            .source = "test",
                            .occurred_at_ms = now};
    sk_request_input_t in = {.event = &e, .origin = {"shiftkey.requests.v1", 0, 7}, .now_ms = now};
    CHECK_INT(sk_decide_request(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.base.tasks, d.base.n_tasks);
    check_commands_wire(d.base.commands, d.base.n_commands);
    if (!d.base.rejected && !d.refused)
        *st = d.base.state;
    return d;
}

/* The sources of ent of kind k in st. */
static size_t count_sources(const sk_user_state_t *st, const char *ent, sk_source_kind_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n_sources; i++)
        n += st->sources[i].kind == k && strcmp(st->sources[i].ent_key, ent) == 0;
    return n;
}

static const sk_task_t *review_of(const sk_decision_t *d, const char *ent)
{
    for (size_t i = 0; i < d->n_tasks; i++)
        if (d->tasks[i].kind == SK_TASK_ACCESS_REVIEW && strcmp(d->tasks[i].target, ent) == 0)
            return &d->tasks[i];
    return NULL;
}

/* ---- a FOUND result ---- */

TEST(found_records_a_source_once)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = {.user = "bob"};
    sk_request_decision_t d = found(&bob, "pg/read", T0 - DAY);
    CHECK(!d.refused && !d.base.rejected);
    CHECK_STR(d.base.audit.decision, "found");
    CHECK_INT((int)d.base.n_commands, 0); /* the access exists: no GRANT */
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
    CHECK(bob.n_sources == 1 && bob.sources[0].expires_ms == SK_MS_NONE);
    CHECK_STR(bob.n_sources ? bob.sources[0].id : "", "pgprov");
    CHECK(d.base.keep_until_ms == SK_MS_NONE); /* never dropped with its key */
    CHECK(d.base.diff.n_set == 1);
    /* the same finding in the next reconciliation run: nothing changes */
    d = found(&bob, "pg/read", T0 - DAY + HOUR);
    CHECK_STR(d.base.audit.decision, "ignored");
    CHECK(d.base.diff.n_set == 0 && d.base.diff.n_del == 0 && d.base.n_commands == 0);
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
    /* stored and read back, and kept by time */
    bob = sk_dfx_stored(&fx, &bob);
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
    CHECK(bob.n_sources == 1 && bob.sources[0].expires_ms == SK_MS_NONE);
    sk_decision_t t = timer(&bob, T0 - DAY + 300 * DAY);
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
    CHECK_INT((int)t.n_commands, 0);
}

TEST(stray_removed_drops_the_source)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = {.user = "bob"};
    found(&bob, "pg/read", T0);
    sk_request_decision_t d = stray(&bob, SK_PROV_DEPROVISIONED, "pg/write", T0 + HOUR);
    CHECK_STR(d.base.audit.decision, "ignored"); /* not the one found */
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
    d = stray(&bob, SK_PROV_DEPROVISIONED, "pg/read", T0 + HOUR);
    /* the source goes; with nothing else holding it, the usual REVOKE follows
     * (the provisioner answers it DEPROVISIONED: idempotent by effect) */
    CHECK_STR(d.base.audit.decision, "revoked");
    CHECK_INT((int)d.base.n_commands, 1);
    CHECK(d.base.n_commands && d.base.commands[0].action == SK_CMD_REVOKE);
    CHECK_INT((int)bob.n_sources, 0);
    CHECK(d.base.keep_until_ms != SK_MS_NONE); /* nothing keeps the key any more */
}

TEST(bad_found_results_refused)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = {.user = "bob"};
    sk_request_decision_t d = found(&bob, "pg/admin", T0);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "the rules do not have");
    CHECK_INT((int)bob.n_sources, 0);
    d = found(&bob, "", T0);
    CHECK(d.base.rejected && d.base.reject_kind == SK_DL_INVALID);
    CHECK_INT((int)bob.n_sources, 0);
}

TEST(request_over_found_access_sends_nothing)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = {.user = "bob"};
    found(&bob, "pg/read", T0 - DAY);
    sk_request_decision_t d = act(&bob, SK_REQ_CREATED, "rq-1", "bob", "pg/read", "", T0 - DAY);
    CHECK(!d.refused && !d.base.rejected);
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_REQUEST), 1);
    CHECK_INT((int)d.base.n_commands, 0);               /* held already */
    sk_decision_t t = timer(&bob, T0 - DAY + 2 * HOUR); /* the request ends */
    CHECK_INT((int)t.n_commands, 0);                    /* still held outside shiftkey */
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
}

/* ---- access reviews ---- */

TEST(campaign_found_reviews_and_revokes)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = {.user = "bob"};
    found(&bob, "pg/read", T0 - DAY);
    sk_decision_t d = timer(&bob, T0);
    const sk_task_t *r = review_of(&d, "pg/read");
    CHECK(r && r->state == SK_TASK_CREATED && r->n_assignees == 1);
    if (!r)
        return;
    CHECK_STR(r->assignees[0], "ann");
    CHECK_CONTAINS(r->request_id, "found-review@");
    sk_request_decision_t a =
        act(&bob, SK_REQ_REVIEW_REVOKED, r->task_id, "ann", "", "nobody granted this", T0 + HOUR);
    CHECK(!a.refused && !a.base.rejected);
    CHECK_INT((int)a.base.n_commands, 1);
    if (a.base.n_commands) {
        const sk_command_t *c = &a.base.commands[0];
        CHECK(c->action == SK_CMD_REVOKE);
        CHECK_STR(c->app, "pg");
        CHECK_STR(c->entitlement, "read");
        CHECK_INT((int)c->n_sources, 0); /* FOUND is not a wire source kind */
        CHECK(c->expires_at_ms == T0 + HOUR);
        CHECK_CONTAINS(c->reason, "found outside shiftkey");
    }
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 0);
    /* found again later (the REVOKE was not applied): recorded again */
    sk_request_decision_t f = found(&bob, "pg/read", T0 + 2 * HOUR);
    CHECK_STR(f.base.audit.decision, "found");
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
}

/* A stale FOUND (reported by a reconciliation that ran before the REVOKE
 * was applied, read after the revoke) re-records the source; the
 * provisioner's DEPROVISIONED answer to that REVOKE then drops it, since the
 * access it confirms removed is the access the FOUND reported. */
TEST(stale_found_dropped_by_the_revokes_answer)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = {.user = "bob"};
    found(&bob, "pg/read", T0 - DAY);
    sk_decision_t d = timer(&bob, T0);
    const sk_task_t *r = review_of(&d, "pg/read");
    CHECK(r != NULL);
    if (!r)
        return;
    sk_request_decision_t a =
        act(&bob, SK_REQ_REVIEW_REVOKED, r->task_id, "ann", "", "nobody granted this", T0 + HOUR);
    CHECK_INT((int)a.base.n_commands, 1);
    if (a.base.n_commands != 1)
        return;
    char revoke_id[sizeof(a.base.commands[0].command_id)];
    snprintf(revoke_id, sizeof(revoke_id), "%s", a.base.commands[0].command_id);
    found(&bob, "pg/read", T0 + HOUR + 1); /* the stale report */
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
    /* an answer to another command keeps it */
    sk_provisioning_result_t res = {.result = SK_PROV_DEPROVISIONED,
                                    .provisioner = "pgprov",
                                    .user = "bob",
                                    .message = "",
                                    .entitlement = "",
                                    .at_ms = T0 + HOUR + 2};
    snprintf(res.command_id, sizeof(res.command_id), "%s", "ffeeddccbbaa99887766554433221100");
    sk_result_input_t in = {
        .result = &res, .origin = {"shiftkey.provisioning.results.v1", 0, 4}, .now_ms = res.at_ms};
    sk_request_decision_t x;
    CHECK_INT(sk_decide_result(fx.rules, &in, &bob, &fx.arena, &x), 0);
    if (!x.base.rejected && !x.refused)
        bob = x.base.state;
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 1);
    snprintf(res.command_id, sizeof(res.command_id), "%s", revoke_id);
    in.origin.offset = 5;
    CHECK_INT(sk_decide_result(fx.rules, &in, &bob, &fx.arena, &x), 0);
    CHECK(!x.base.rejected && !x.refused);
    bob = x.base.state;
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 0);
    /* the entitlement lost its last source: REVOKE again (idempotent by
     * effect, as for a stray's removal) */
    CHECK_INT((int)x.base.n_commands, 1);
    CHECK(x.base.n_commands == 1 && x.base.commands[0].action == SK_CMD_REVOKE);
    bob = sk_dfx_stored(&fx, &bob);
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_FOUND), 0);
}

TEST(campaign_found_ignores_other_grants)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = {.user = "bob"};
    act(&bob, SK_REQ_CREATED, "rq-1", "bob", "pg/read", "", T0 - HOUR);
    CHECK_INT((int)count_sources(&bob, "pg/read", SK_SOURCE_REQUEST), 1);
    sk_decision_t d = timer(&bob, T0);
    CHECK(review_of(&d, "pg/read") == NULL); /* a request: not in a `found` scope */
}

TEST(bad_grant_kind_refused)
{
    sk_dfx_setup(&fx);
    char dir[] = "/tmp/sk-found-XXXXXX", path[64];
    sk_rules_errors_t errs;
    FILE *f;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    CHECK((f = fopen(path, "w")) != NULL);
    if (!f)
        return;
    fputs("apps:\n"
          "  - id: pg\n"
          "    entitlements:\n"
          "      - id: read\n"
          "        max_duration: 1h\n"
          "people:\n"
          "  - id: olga\n"
          "campaigns:\n"
          "  - id: c1\n"
          "    owners: [olga]\n"
          "    scope: {apps: [pg], grants: [founds]}\n"
          "    reviewers: {users: [olga]}\n"
          "    start: 2027-01-15T08:00:00Z\n"
          "    due_after: 14d\n"
          "    end_action: leave\n",
          f);
    fclose(f);
    sk_rules_errors_init(&errs);
    sk_rules_t *r = sk_rules_load(path, &errs);
    CHECK(r == NULL);
    sk_rules_destroy(r);
    CHECK_INT((int)errs.count, 1);
    if (errs.count) {
        CHECK_INT(errs.items[0].line, 11);
        CHECK_CONTAINS(errs.items[0].message, "unknown grant kind 'founds'");
        CHECK_CONTAINS(errs.items[0].message, "manual or found");
    }
    sk_rules_errors_fini(&errs);
    unlink(path);
    rmdir(dir);
}

SK_TEST_MAIN(SK_TEST_CASE(found_records_a_source_once),
             SK_TEST_CASE(stray_removed_drops_the_source), SK_TEST_CASE(bad_found_results_refused),
             SK_TEST_CASE(request_over_found_access_sends_nothing),
             SK_TEST_CASE(campaign_found_reviews_and_revokes),
             SK_TEST_CASE(stale_found_dropped_by_the_revokes_answer),
             SK_TEST_CASE(campaign_found_ignores_other_grants),
             SK_TEST_CASE(bad_grant_kind_refused), SK_TEST_CASE(teardown))
