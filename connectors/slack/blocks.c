/* blocks.c — Block Kit messages and modals, e-mail bodies (blocks.h). */
#include "blocks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

/* A growing string; on allocation failure it stays NULL-safe and `bad` is set. */
typedef struct sb {
    char *p;
    size_t n, cap;
    int bad;
} sb_t;

static void sb_printf(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->bad)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (b->n + (size_t)n + 1 > b->cap)) {
        size_t cap = (b->cap + (size_t)(n < 0 ? 0 : n) + 1) * 2;
        char *p = n < 0 ? NULL : realloc(b->p, cap);
        if (!p) {
            b->bad = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* Appends s with Slack's mrkdwn (or HTML) control characters escaped. */
static void sb_esc(sb_t *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '&')
            sb_printf(b, "&amp;");
        else if (*s == '<')
            sb_printf(b, "&lt;");
        else if (*s == '>')
            sb_printf(b, "&gt;");
        else if (*s == '"')
            sb_printf(b, "&quot;");
        else
            sb_printf(b, "%c", *s);
    }
}

static char *sb_take(sb_t *b)
{
    if (b->bad || !b->p) {
        free(b->p);
        return b->bad ? NULL : strdup("");
    }
    return b->p;
}

static const char *kind_title(sk_task_kind_t k)
{
    switch (k) {
    case SK_TASK_REQUEST_REVIEW: return "Access review";
    case SK_TASK_PROVISIONING: return "Manual provisioning";
    case SK_TASK_DEPROVISIONING: return "Manual deprovisioning";
    case SK_TASK_REVOCATION: return "Revocation";
    case SK_TASK_EMERGENCY_GRANT: return "Emergency grant";
    case SK_TASK_ACCESS_REVIEW: return "Access review campaign";
    default: return "Task";
    }
}

static const char *outcome_label(const sk_task_t *t)
{
    switch (t->outcome) {
    case SK_TASK_APPROVED: return "✅ Approved";
    case SK_TASK_DENIED: return t->kind == SK_TASK_REVOCATION ? "❎ Revocation denied" : "❌ Denied";
    case SK_TASK_PROVISIONED:
        return t->kind == SK_TASK_DEPROVISIONING ? "✅ Deprovisioned" : "✅ Provisioned";
    case SK_TASK_WONT_PROVISION: return "🚫 Won't provision";
    case SK_TASK_CONFIRMED: return "✅ Revocation confirmed";
    case SK_TASK_CANCELLED: return "➖ Cancelled";
    case SK_TASK_EXPIRED: return "⌛ Expired";
    case SK_TASK_CERTIFIED: return "✅ Certified";
    case SK_TASK_REVOKED: return "🗑️ Revoked";
    case SK_TASK_LEFT: return "➖ Left as it was";
    default: return "Closed";
    }
}

/* A person as a mention when the directory knows their Slack id. */
static void sb_person(sb_t *b, const sk_rules_t *rules, const char *id)
{
    const char *sid = sk_slack_dir_slack_id(sk_rules_person(rules, id));
    if (sid)
        sb_printf(b, "<@%s> (", sid);
    sb_esc(b, id);
    if (sid)
        sb_printf(b, ")");
}

static void fmt_duration(sk_ms_t ms, char *buf, size_t len)
{
    if (ms == SK_MS_NONE || ms <= 0)
        snprintf(buf, len, "default");
    else if (ms % 3600000 == 0)
        snprintf(buf, len, "%" PRId64 "h", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(buf, len, "%" PRId64 "m", ms / 60000);
    else
        snprintf(buf, len, "%" PRId64 "s", ms / 1000);
}

/* The headline and details of a task, in mrkdwn. */
static char *task_text(const sk_slack_task_view_t *v, sk_slack_note_t note, const sk_rules_t *rules)
{
    const sk_task_t *t = &v->task;
    sb_t b = {0};
    char dur[32];
    sb_printf(&b, "%s%s*%s*", t->emergency ? "⚡ *EMERGENCY* " : "",
              note == SK_SLACK_NOTE_REMINDER ? "🔔 Reminder: " : "", kind_title(t->kind));
    if (note == SK_SLACK_NOTE_CLOSED)
        sb_printf(&b, " — *%s*", outcome_label(t));
    sb_printf(&b, "\n");
    switch (t->kind) {
    case SK_TASK_PROVISIONING: sb_printf(&b, "Give `"); break;
    case SK_TASK_DEPROVISIONING: sb_printf(&b, "Take away `"); break;
    case SK_TASK_REVOCATION: sb_printf(&b, "Remove `"); break;
    case SK_TASK_ACCESS_REVIEW: sb_printf(&b, "Keep `"); break;
    default: sb_printf(&b, "Access to `"); break;
    }
    sb_esc(&b, t->target);
    sb_printf(&b,
              t->kind == SK_TASK_REQUEST_REVIEW || t->kind == SK_TASK_ACCESS_REVIEW ? "` for "
                                                                                    : "` %s ",
              t->kind == SK_TASK_PROVISIONING ? "to" : "from");
    sb_person(&b, rules, t->subject);
    if (t->step > 0)
        sb_printf(&b, " (step %d)", (int)t->step);
    fmt_duration(v->duration_ms, dur, sizeof(dur));
    if (t->kind == SK_TASK_REQUEST_REVIEW)
        sb_printf(&b, "\n*Duration:* %s", dur);
    if (v->justification && *v->justification) {
        sb_printf(&b, "\n*Justification:* ");
        sb_esc(&b, v->justification);
    }
    if (t->request_id && *t->request_id) {
        sb_printf(&b, "\n*Request:* `");
        sb_esc(&b, t->request_id);
        sb_printf(&b, "`");
    }
    if (t->reason && *t->reason) {
        sb_printf(&b, "\n_");
        sb_esc(&b, t->reason);
        sb_printf(&b, "_");
    }
    return sb_take(&b);
}

static json_t *button(const char *action, const char *label, const char *style, const char *value)
{
    json_t *btn =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:b}, s:s}", "type", "button", "action_id", action,
                  "text", "type", "plain_text", "text", label, "emoji", 1, "value", value);
    if (btn && style)
        json_object_set_new(btn, "style", json_string(style));
    return btn;
}

/* The actions block of an open task; NULL when the value does not fit. */
static json_t *task_buttons(const sk_task_t *t)
{
    sk_slack_task_ref_t ref = {.kind = t->kind};
    char value[2048];
    json_t *els = json_array();
    snprintf(ref.task_id, sizeof(ref.task_id), "%s", t->task_id);
    snprintf(ref.request_id, sizeof(ref.request_id), "%s", t->request_id ? t->request_id : "");
    snprintf(ref.subject, sizeof(ref.subject), "%s", t->subject);
    snprintf(ref.target, sizeof(ref.target), "%s", t->target);
    if (!els || sk_slack_task_ref_format(&ref, value, sizeof(value)) != 0) {
        json_decref(els);
        return NULL;
    }
    switch (t->kind) {
    case SK_TASK_REQUEST_REVIEW:
        json_array_append_new(els, button("approve", "Approve", "primary", value));
        json_array_append_new(els, button("deny", "Deny…", "danger", value));
        json_array_append_new(els, button("duration", "Edit duration…", NULL, value));
        if (!t->emergency)
            json_array_append_new(els, button("escalate", "⚡ Escalate to emergency", NULL, value));
        break;
    case SK_TASK_PROVISIONING:
        json_array_append_new(els, button("provisioned", "Provisioned", "primary", value));
        json_array_append_new(els, button("wont_provision", "Won't provision…", "danger", value));
        break;
    case SK_TASK_DEPROVISIONING:
        json_array_append_new(els, button("deprovisioned", "Deprovisioned", "primary", value));
        break;
    case SK_TASK_REVOCATION:
        json_array_append_new(els, button("confirm", "Confirm revocation", "danger", value));
        json_array_append_new(els, button("reject", "Deny revocation…", NULL, value));
        break;
    case SK_TASK_ACCESS_REVIEW:
        json_array_append_new(els, button("certify", "Certify…", "primary", value));
        json_array_append_new(els, button("revoke_access", "Revoke…", "danger", value));
        break;
    default: break;
    }
    return json_pack("{s:s, s:s, s:o}", "type", "actions", "block_id", "task_actions", "elements",
                     els);
}

static json_t *section(const char *mrkdwn)
{
    return json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", "mrkdwn", "text",
                     mrkdwn);
}

/* {"text": fallback, "blocks": [section]} from owned mrkdwn text (freed). */
static json_t *simple(char *text)
{
    json_t *m = text ? json_pack("{s:s, s:[o]}", "text", text, "blocks", section(text)) : NULL;
    free(text);
    return m;
}

json_t *sk_slack_blocks_task(const sk_slack_task_view_t *v, sk_slack_note_t note,
                             const sk_rules_t *rules)
{
    char *text = task_text(v, note, rules);
    json_t *blocks, *m;
    if (!text)
        return NULL;
    blocks = json_pack("[o]", section(text));
    if (blocks && note != SK_SLACK_NOTE_CLOSED && v->task.state != SK_TASK_CLOSED) {
        json_t *acts = task_buttons(&v->task);
        if (acts)
            json_array_append_new(blocks, acts);
    }
    m = blocks ? json_pack("{s:s, s:o}", "text", text, "blocks", blocks) : NULL;
    free(text);
    return m;
}

json_t *sk_slack_blocks_update(const sk_task_t *t)
{
    sb_t b = {0};
    sb_printf(&b, "%s", t->emergency ? "⚡ " : "");
    sb_esc(&b, t->reason && *t->reason ? t->reason : "updated");
    return simple(sb_take(&b));
}

json_t *sk_slack_blocks_requester_task(const sk_task_t *t)
{
    sb_t b = {0};
    sb_printf(&b, "%sYour request `", t->emergency ? "⚡ " : "");
    sb_esc(&b, t->request_id);
    sb_printf(&b, "` for `");
    sb_esc(&b, t->target);
    sb_printf(&b, "`: *%s*", outcome_label(t));
    if (t->step > 0)
        sb_printf(&b, " at step %d", (int)t->step);
    if (t->reason && *t->reason) {
        sb_printf(&b, "\n_");
        sb_esc(&b, t->reason);
        sb_printf(&b, "_");
    }
    return simple(sb_take(&b));
}

static void sb_expiry(sb_t *b, sk_ms_t at)
{
    char buf[40];
    sb_printf(b, "%s", sk_ms_format(at, buf, sizeof(buf)));
}

json_t *sk_slack_blocks_requester_grant(const sk_command_t *c)
{
    sb_t b = {0};
    sb_printf(&b, "%s✅ You have `", c->emergency ? "⚡ " : "");
    sb_esc(&b, c->app);
    sb_printf(&b, "/");
    sb_esc(&b, c->entitlement);
    sb_printf(&b, "` until ");
    sb_expiry(&b, c->expires_at_ms);
    return simple(sb_take(&b));
}

json_t *sk_slack_blocks_requester_refused(const sk_slack_refused_t *r)
{
    sb_t b = {0};
    sb_printf(&b, "⛔ Your access to `");
    if (*r->app || *r->entitlement) {
        sb_esc(&b, r->app);
        sb_printf(&b, "/");
        sb_esc(&b, r->entitlement);
    } else
        sb_printf(&b, "an entitlement");
    sb_printf(&b, "` was not given: shiftkey decided to grant it, but Kafka refused the grant "
                  "command for good");
    if (*r->error) {
        sb_printf(&b, " (");
        sb_esc(&b, r->error);
        sb_printf(&b, ")");
    }
    sb_printf(&b, ", so no provisioner received it. The operators were alerted; ask them before "
                  "requesting again (command `");
    sb_esc(&b, r->command_id);
    sb_printf(&b, "`).");
    return simple(sb_take(&b));
}

json_t *sk_slack_blocks_security_grant(const sk_slack_task_view_t *v, const sk_rules_t *rules)
{
    const sk_task_t *t = &v->task;
    const char *why = t->justification && *t->justification ? t->justification : v->justification;
    sb_t b = {0};
    sb_printf(&b, "⚡ *Emergency access granted*: `");
    sb_esc(&b, t->target);
    sb_printf(&b, "` to ");
    sb_person(&b, rules, t->subject);
    if (t->expires_ms > 0 && t->expires_ms != SK_MS_NONE) {
        sb_printf(&b, " until ");
        sb_expiry(&b, t->expires_ms);
    }
    sb_printf(&b, "\nJustification: ");
    sb_esc(&b, why && *why ? why : "(none given)");
    sb_printf(&b, "\n_");
    sb_esc(&b, t->reason);
    sb_printf(&b, "_ (request `");
    sb_esc(&b, t->request_id);
    sb_printf(&b, "`)");
    return simple(sb_take(&b));
}

static json_t *input(const char *id, const char *label, json_t *element, int optional)
{
    json_object_set_new(element, "action_id", json_string(id));
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:b}", "type", "input", "block_id", id, "label",
                     "type", "plain_text", "text", label, "element", element, "optional", optional);
}

static json_t *text_input(int multiline, const char *placeholder)
{
    return json_pack("{s:s, s:b, s:{s:s, s:s}}", "type", "plain_text_input", "multiline", multiline,
                     "placeholder", "type", "plain_text", "text", placeholder);
}

static json_t *modal(const char *callback, const char *title, const char *submit,
                     const char *metadata, json_t *blocks)
{
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:o}", "type",
                     "modal", "callback_id", callback, "private_metadata", metadata, "title",
                     "type", "plain_text", "text", title, "submit", "type", "plain_text", "text",
                     submit, "close", "type", "plain_text", "text", "Cancel", "blocks", blocks);
}

json_t *sk_slack_blocks_request_modal(const sk_rules_t *rules, const char *target)
{
    json_t *blocks = json_array();
    int emergency_ok = 1;
    if (!blocks)
        return NULL;
    if (target && *target) {
        const sk_request_settings_t *rs = sk_rules_request_settings(rules, target);
        char *t = NULL;
        sb_t b = {0};
        sb_printf(&b, "Request access to `");
        sb_esc(&b, target);
        sb_printf(&b, "`");
        t = sb_take(&b);
        if (t)
            json_array_append_new(blocks, section(t));
        free(t);
        emergency_ok = rs && rs->emergency_policy;
    } else {
        json_t *opts = json_array();
        size_t n = sk_rules_entitlement_count(rules);
        for (size_t i = 0; opts && i < n && json_array_size(opts) < 100; i++) {
            const sk_entitlement_t *e = sk_rules_entitlement_at(rules, i);
            const sk_request_settings_t *rs = sk_rules_request_settings(rules, e->key);
            char label[76];
            if (!rs || !rs->self_service)
                continue;
            snprintf(label, sizeof(label), "%s%s", rs->emergency_policy ? "⚡ " : "", e->key);
            json_array_append_new(opts, json_pack("{s:{s:s, s:s}, s:s}", "text", "type",
                                                  "plain_text", "text", label, "value", e->key));
        }
        json_array_append_new(
            blocks, input("target", "Access",
                          json_pack("{s:s, s:o}", "type", "static_select", "options", opts), 0));
    }
    json_array_append_new(blocks, input("duration", "Duration (e.g. 2h, 30m)",
                                        text_input(0, "the entitlement's default"), 1));
    json_array_append_new(
        blocks, input("justification", "Justification", text_input(1, "why you need it"), 0));
    if (emergency_ok)
        json_array_append_new(
            blocks, input("emergency",
                          target && *target ? "Emergency"
                                            : "Emergency (where a break-glass policy exists: ⚡)",
                          json_pack("{s:s, s:[{s:{s:s, s:s}, s:s}]}", "type", "checkboxes",
                                    "options", "text", "type", "plain_text", "text",
                                    "⚡ Break-glass: bypass the review", "value", "emergency"),
                          1));
    return modal("request", "Request access", "Request", target ? target : "", blocks);
}

json_t *sk_slack_blocks_action_modal(const char *action, const char *value)
{
    json_t *blocks = json_array();
    const char *title = "Comment", *submit = "Send";
    if (!blocks)
        return NULL;
    if (strcmp(action, "duration") == 0) {
        title = "Edit duration";
        submit = "Change";
        json_array_append_new(blocks,
                              input("duration", "New duration (e.g. 1h)", text_input(0, "1h"), 0));
    } else {
        int review = strcmp(action, "certify") == 0 || strcmp(action, "revoke_access") == 0;
        int required = strcmp(action, "wont_provision") == 0 || review;
        title = strcmp(action, "deny") == 0            ? "Deny the request"
                : strcmp(action, "reject") == 0        ? "Deny the revocation"
                : strcmp(action, "certify") == 0       ? "Certify the access"
                : strcmp(action, "revoke_access") == 0 ? "Revoke the access"
                                                       : "Won't provision";
        submit = strcmp(action, "wont_provision") == 0 ? "Refuse"
                 : strcmp(action, "certify") == 0      ? "Certify"
                 : review                              ? "Revoke"
                                                       : "Deny";
        json_array_append_new(blocks, input("comment", required ? "Why (required)" : "Comment",
                                            text_input(1, "optional"), !required));
    }
    return modal(action, title, submit, value, blocks);
}

json_t *sk_slack_blocks_ephemeral(const char *text)
{
    return json_pack("{s:s, s:s, s:b}", "response_type", "ephemeral", "text", text,
                     "replace_original", 0);
}

json_t *sk_slack_blocks_task_list(const char *title, const sk_slack_task_view_t *v, size_t n,
                                  int with_buttons, const sk_rules_t *rules)
{
    json_t *blocks = json_array();
    json_t *m;
    if (!blocks)
        return NULL;
    json_array_append_new(blocks, section(title));
    for (size_t i = 0; i < n && json_array_size(blocks) < 45; i++) {
        char *text = task_text(&v[i], SK_SLACK_NOTE_NEW, rules);
        if (!text)
            continue;
        json_array_append_new(blocks, json_pack("{s:s}", "type", "divider"));
        json_array_append_new(blocks, section(text));
        free(text);
        if (with_buttons) {
            json_t *acts = task_buttons(&v[i].task);
            if (acts)
                json_array_append_new(blocks, acts);
        }
    }
    m = json_pack("{s:s, s:s, s:o}", "response_type", "ephemeral", "text", title, "blocks", blocks);
    return m;
}

int sk_slack_mail_render(const sk_slack_task_view_t *v, sk_slack_note_t note, char **subject,
                         char **text, char **html)
{
    const sk_task_t *t = &v->task;
    sb_t s = {0}, x = {0}, h = {0};
    char dur[32], until[40];
    const char *state = note == SK_SLACK_NOTE_CLOSED     ? outcome_label(t)
                        : note == SK_SLACK_NOTE_REMINDER ? "reminder"
                                                         : "needs you";
    const char *why = t->justification && *t->justification ? t->justification
                      : v->justification                    ? v->justification
                                                            : "";
    fmt_duration(v->duration_ms, dur, sizeof(dur));
    if (t->expires_ms > 0 && t->expires_ms != SK_MS_NONE) /* an EMERGENCY_GRANT record */
        snprintf(dur, sizeof(dur), "until %s", sk_ms_format(t->expires_ms, until, sizeof(until)));
    sb_printf(&s, "%s[shiftkey] %s: %s for %s (%s)", t->emergency ? "⚡ EMERGENCY " : "",
              kind_title(t->kind), t->target, t->subject, state);
    sb_printf(&x, "%s%s: %s\n\nAccess: %s\nFor: %s\n", t->emergency ? "EMERGENCY " : "",
              kind_title(t->kind), state, t->target, t->subject);
    if (t->step > 0)
        sb_printf(&x, "Step: %d\n", (int)t->step);
    sb_printf(&x, "Duration: %s\nJustification: %s\nRequest: %s\nTask: %s\n\n%s\n", dur, why,
              t->request_id, t->task_id, t->reason);
    if (note != SK_SLACK_NOTE_CLOSED)
        sb_printf(&x, "\nAct with: shiftkey task %s %s\n",
                  t->kind == SK_TASK_REQUEST_REVIEW   ? "approve|deny"
                  : t->kind == SK_TASK_PROVISIONING   ? "provisioned|wont-provision"
                  : t->kind == SK_TASK_DEPROVISIONING ? "deprovisioned"
                                                      : "confirm|reject",
                  t->task_id);
    sb_printf(&h, "<html><body><p><b>%s%s</b>: ", t->emergency ? "&#9889; EMERGENCY " : "",
              kind_title(t->kind));
    sb_esc(&h, state);
    sb_printf(&h, "</p><table><tr><td>Access</td><td><code>");
    sb_esc(&h, t->target);
    sb_printf(&h, "</code></td></tr><tr><td>For</td><td>");
    sb_esc(&h, t->subject);
    sb_printf(&h, "</td></tr><tr><td>Duration</td><td>%s</td></tr><tr><td>Justification</td><td>",
              dur);
    sb_esc(&h, why);
    sb_printf(&h, "</td></tr><tr><td>Task</td><td><code>");
    sb_esc(&h, t->task_id);
    sb_printf(&h, "</code></td></tr></table><p><i>");
    sb_esc(&h, t->reason);
    sb_printf(&h, "</i></p></body></html>\n");
    *subject = sb_take(&s);
    *text = sb_take(&x);
    *html = sb_take(&h);
    if (!*subject || !*text || !*html) {
        free(*subject);
        free(*text);
        free(*html);
        *subject = *text = *html = NULL;
        return SK_ENOMEM;
    }
    return 0;
}
