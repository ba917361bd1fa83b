/*
 * payload.h — what Slack posts to the app, parsed into one flat struct:
 * slash commands (application/x-www-form-urlencoded fields) and
 * interactions (a `payload` field holding JSON: block_actions from
 * buttons, view_submission from modals). Pure: no I/O, no globals; every
 * field is bounded and copied, so the struct owns nothing and can be
 * queued as is. tests/slack/fuzz_slack_payload.c fuzzes sk_slack_input_parse.
 */
#ifndef SK_SLACK_PAYLOAD_H
#define SK_SLACK_PAYLOAD_H

#include <stddef.h>

typedef enum sk_slack_input_kind {
    SK_SLACK_IN_COMMAND = 1,    /* /shiftkey ... */
    SK_SLACK_IN_BLOCK_ACTION,   /* a button of one of our messages */
    SK_SLACK_IN_VIEW_SUBMISSION /* a modal of ours submitted */
} sk_slack_input_kind_t;

typedef struct sk_slack_input {
    sk_slack_input_kind_t kind;
    char user_id[64];        /* Slack user id of who acted (U…, W…) */
    char trigger_id[256];    /* for views.open; "" when absent */
    char response_url[1024]; /* for ephemeral answers; "" when absent */
    /* SK_SLACK_IN_COMMAND */
    char command[64]; /* "/shiftkey" */
    char text[4096];  /* what follows the command */
    /* SK_SLACK_IN_BLOCK_ACTION */
    char action_id[64];       /* "approve", "deny", ... */
    char value[2048];         /* the button's value (sk_slack_task_ref_parse) */
    char channel[64], ts[64]; /* the message clicked; "" when unknown */
    /* SK_SLACK_IN_VIEW_SUBMISSION: the modal and its inputs */
    char callback_id[64]; /* "request", or the action the modal completes */
    char view_id[64];
    char private_metadata[2048];
    char target[300], duration[64], justification[4096], comment[4096];
    int emergency; /* the emergency checkbox was ticked */
} sk_slack_input_t;

/*
 * sk_slack_form_get — the value of field `name` in a urlencoded body (len
 * bytes, not NUL-terminated), decoded ('+' and %XX) into out. 0;
 * SK_ENOTFOUND when absent; SK_EINVAL when it does not fit in out, has a
 * bad escape or decodes to a NUL. out is "" on any error.
 */
int sk_slack_form_get(const char *body, size_t len, const char *name, char *out, size_t out_len);

/*
 * sk_slack_input_parse — parses one request body. 0 with *in filled;
 * SK_EPARSE (not a form, not JSON, not an interaction we know) or SK_EINVAL
 * (a field missing or too long) with the reason in why. *in is fully
 * overwritten (zeroed first).
 */
int sk_slack_input_parse(const char *body, size_t len, sk_slack_input_t *in, char *why,
                         size_t why_len);

/* What our buttons carry: the task they act on (a urlencoded value
 * "t=TASK&r=REQUEST&s=SUBJECT&k=KIND&g=TARGET"). */
typedef struct sk_slack_task_ref {
    char task_id[300], request_id[300], subject[300], target[300];
    int kind; /* sk_task_kind_t */
} sk_slack_task_ref_t;

/* Parses a button value. 0, or SK_EINVAL (a field missing, too long, or a
 * kind out of range). */
int sk_slack_task_ref_parse(const char *value, sk_slack_task_ref_t *ref);

/* Writes a button value for ref into out. 0, or SK_EINVAL when it does not fit. */
int sk_slack_task_ref_format(const sk_slack_task_ref_t *ref, char *out, size_t out_len);

#endif
