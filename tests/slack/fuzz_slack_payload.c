/*
 * fuzz_slack_payload.c — the parser of what Slack posts to shiftkey-slack
 * (connectors/slack/payload.c): sk_slack_input_parse on raw bodies, the
 * button values (sk_slack_task_ref_parse) and the signature check on the
 * same bytes. Built here, not in tests/fuzz/, because it links the Slack
 * app's objects and jansson (connectors/slack.mk); its corpus is
 * tests/fuzz/corpus/slack_payload/, run by tests/fuzz/run-regression.sh.
 *
 * Every input is refused with a reason or parses to a struct whose strings
 * are NUL-terminated within their fields, whose kind is one of ours and
 * whose user id is set; a button value that parses re-formats and parses
 * to the same reference.
 */
#include <string.h>

#include "../fuzz/fuzz_common.h"
#include "payload.h"
#include "verify.h"

#include "base/sk.h"
#include "codec/event.h"

#define TERMINATED(f) FUZZ_CHECK(memchr((f), '\0', sizeof(f)) != NULL, #f " not terminated")

static void check_ref(const char *value)
{
    sk_slack_task_ref_t r, back;
    char out[2048];
    if (sk_slack_task_ref_parse(value, &r) != 0)
        return;
    FUZZ_CHECK(sk_id_valid(r.task_id, strlen(r.task_id)), "task id");
    FUZZ_CHECK(r.kind >= 0 && r.kind < SK_TASK_KIND_COUNT, "kind %d", r.kind);
    if (sk_slack_task_ref_format(&r, out, sizeof(out)) != 0)
        return; /* escaping may need more room than the input had */
    FUZZ_CHECK(sk_slack_task_ref_parse(out, &back) == 0, "re-parse of '%s'", out);
    FUZZ_CHECK(strcmp(r.task_id, back.task_id) == 0 && strcmp(r.subject, back.subject) == 0 &&
                   strcmp(r.request_id, back.request_id) == 0 &&
                   strcmp(r.target, back.target) == 0 && r.kind == back.kind,
               "round trip differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sk_slack_input_t in;
    char why[256] = "";
    int rc = sk_slack_input_parse((const char *)data, size, &in, why, sizeof(why));
    if (rc != 0) {
        FUZZ_CHECK(rc == SK_EPARSE || rc == SK_EINVAL || rc == SK_ENOMEM, "rc %d", rc);
        FUZZ_CHECK(why[0] != '\0', "refused without a reason");
    } else {
        FUZZ_CHECK(in.kind >= SK_SLACK_IN_COMMAND && in.kind <= SK_SLACK_IN_VIEW_SUBMISSION,
                   "kind %d", (int)in.kind);
        FUZZ_CHECK(in.user_id[0] != '\0', "no user id");
        TERMINATED(in.user_id);
        TERMINATED(in.trigger_id);
        TERMINATED(in.response_url);
        TERMINATED(in.text);
        TERMINATED(in.value);
        TERMINATED(in.private_metadata);
        TERMINATED(in.justification);
        TERMINATED(in.comment);
        check_ref(in.value);
        check_ref(in.private_metadata);
    }
    /* the signature check reads the same bytes: never crashes, never accepts */
    FUZZ_CHECK(sk_slack_verify("secret", 6, "1700000000", "v0=00", data, size, 1700000000, NULL,
                               why, sizeof(why)) != 0,
               "accepted a bad signature");
    return 0;
}
