/* payload.c — Slack's request bodies into sk_slack_input_t (payload.h). */
#include "payload.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/sk.h"
#include "codec/event.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into out; 0 or SK_EINVAL. */
static int url_decode(const char *s, size_t n, char *out, size_t out_len)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return SK_EINVAL;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || k + 1 >= out_len)
            return SK_EINVAL;
        out[k++] = c;
    }
    out[k] = '\0';
    return 0;
}

int sk_slack_form_get(const char *body, size_t len, const char *name, char *out, size_t out_len)
{
    size_t nlen = strlen(name), i = 0;
    if (out_len)
        out[0] = '\0';
    while (i < len) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end - i > nlen && body[i + nlen] == '=' && memcmp(body + i, name, nlen) == 0) {
            int rc = url_decode(body + i + nlen + 1, end - i - nlen - 1, out, out_len);
            if (rc != 0 && out_len)
                out[0] = '\0';
            return rc;
        }
        i = end + 1;
    }
    return SK_ENOTFOUND;
}

/* Copies JSON string member `path` ("a.b.c") of root into out. 0, SK_ENOTFOUND, SK_EINVAL. */
static int jget(json_t *root, const char *path, char *out, size_t out_len)
{
    char part[64];
    json_t *v = root;
    const char *p = path;
    out[0] = '\0';
    while (v && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(part))
            return SK_EINVAL;
        memcpy(part, p, n);
        part[n] = '\0';
        v = json_is_object(v) ? json_object_get(v, part) : NULL;
        p += n + (p[n] == '.');
    }
    if (!v || json_is_null(v))
        return SK_ENOTFOUND;
    if (!json_is_string(v))
        return SK_EINVAL;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n + 1 > out_len || memchr(s, '\0', n))
        return SK_EINVAL;
    memcpy(out, s, n + 1);
    return 0;
}

/* One input of a submitted view: state.values.<block>.<block> (we use the
 * same id for the block and its element): a text value, a selected
 * option's value, or (checkboxes) whether any option is selected. */
static int view_value(json_t *values, const char *block, char *out, size_t out_len, int *ticked)
{
    json_t *el = json_object_get(json_object_get(values, block), block);
    json_t *opts = json_object_get(el, "selected_options");
    out[0] = '\0';
    if (!el)
        return 0;
    if (ticked)
        *ticked = json_is_array(opts) && json_array_size(opts) > 0;
    if (jget(el, "value", out, out_len) == SK_EINVAL ||
        (!out[0] && jget(el, "selected_option.value", out, out_len) == SK_EINVAL))
        return SK_EINVAL;
    return 0;
}

static int parse_interaction(const char *js, sk_slack_input_t *in, char *why, size_t why_len)
{
    json_error_t jerr;
    json_t *root = json_loads(js, JSON_REJECT_DUPLICATES, &jerr);
    char type[64];
    int rc = SK_EPARSE;
    if (!root || !json_is_object(root)) {
        snprintf(why, why_len, "payload is not a JSON object");
        goto out;
    }
    rc = SK_EINVAL;
    if (jget(root, "type", type, sizeof(type)) != 0 ||
        jget(root, "user.id", in->user_id, sizeof(in->user_id)) != 0 || !in->user_id[0]) {
        snprintf(why, why_len, "payload without type or user.id");
        goto out;
    }
    if (jget(root, "trigger_id", in->trigger_id, sizeof(in->trigger_id)) == SK_EINVAL ||
        jget(root, "response_url", in->response_url, sizeof(in->response_url)) == SK_EINVAL) {
        snprintf(why, why_len, "bad trigger_id or response_url");
        goto out;
    }
    if (strcmp(type, "block_actions") == 0) {
        json_t *acts = json_object_get(root, "actions");
        json_t *a0 = json_is_array(acts) ? json_array_get(acts, 0) : NULL;
        in->kind = SK_SLACK_IN_BLOCK_ACTION;
        if (!a0 || jget(a0, "action_id", in->action_id, sizeof(in->action_id)) != 0 ||
            jget(a0, "value", in->value, sizeof(in->value)) != 0) {
            snprintf(why, why_len, "block_actions without an action_id and value");
            goto out;
        }
        if (jget(root, "container.channel_id", in->channel, sizeof(in->channel)) == SK_EINVAL ||
            jget(root, "container.message_ts", in->ts, sizeof(in->ts)) == SK_EINVAL) {
            snprintf(why, why_len, "bad container");
            goto out;
        }
    } else if (strcmp(type, "view_submission") == 0) {
        json_t *view = json_object_get(root, "view");
        json_t *values = json_object_get(json_object_get(view, "state"), "values");
        in->kind = SK_SLACK_IN_VIEW_SUBMISSION;
        if (jget(view, "callback_id", in->callback_id, sizeof(in->callback_id)) != 0 ||
            jget(view, "id", in->view_id, sizeof(in->view_id)) != 0 ||
            jget(view, "private_metadata", in->private_metadata, sizeof(in->private_metadata)) ==
                SK_EINVAL) {
            snprintf(why, why_len, "view_submission without callback_id or id");
            goto out;
        }
        if (view_value(values, "target", in->target, sizeof(in->target), NULL) ||
            view_value(values, "duration", in->duration, sizeof(in->duration), NULL) ||
            view_value(values, "justification", in->justification, sizeof(in->justification),
                       NULL) ||
            view_value(values, "comment", in->comment, sizeof(in->comment), NULL) ||
            view_value(values, "emergency", type, sizeof(type), &in->emergency)) {
            snprintf(why, why_len, "a field of the form is too long");
            goto out;
        }
    } else {
        rc = SK_EPARSE;
        snprintf(why, why_len, "interaction type '%s' not handled", type);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int sk_slack_input_parse(const char *body, size_t len, sk_slack_input_t *in, char *why,
                         size_t why_len)
{
    char *payload = NULL;
    int rc;
    memset(in, 0, sizeof(*in));
    if (len > 65536) {
        snprintf(why, why_len, "body too large");
        return SK_EPARSE;
    }
    payload = malloc(len + 1);
    if (!payload) {
        snprintf(why, why_len, "out of memory");
        return SK_ENOMEM;
    }
    rc = sk_slack_form_get(body, len, "payload", payload, len + 1);
    if (rc == 0) {
        rc = parse_interaction(payload, in, why, why_len);
        goto out;
    }
    if (rc == SK_EINVAL) {
        snprintf(why, why_len, "bad urlencoding of payload");
        goto out;
    }
    in->kind = SK_SLACK_IN_COMMAND;
    if (sk_slack_form_get(body, len, "command", in->command, sizeof(in->command)) != 0 ||
        sk_slack_form_get(body, len, "user_id", in->user_id, sizeof(in->user_id)) != 0 ||
        !in->user_id[0]) {
        snprintf(why, why_len, "neither an interaction payload nor a slash command");
        rc = SK_EPARSE;
        goto out;
    }
    if (sk_slack_form_get(body, len, "text", in->text, sizeof(in->text)) == SK_EINVAL ||
        sk_slack_form_get(body, len, "trigger_id", in->trigger_id, sizeof(in->trigger_id)) ==
            SK_EINVAL ||
        sk_slack_form_get(body, len, "response_url", in->response_url, sizeof(in->response_url)) ==
            SK_EINVAL) {
        snprintf(why, why_len, "a field of the command is too long or badly encoded");
        rc = SK_EINVAL;
        goto out;
    }
    rc = 0;
out:
    free(payload);
    return rc;
}

int sk_slack_task_ref_parse(const char *value, sk_slack_task_ref_t *ref)
{
    char kind[8];
    size_t n = strlen(value);
    memset(ref, 0, sizeof(*ref));
    if (sk_slack_form_get(value, n, "t", ref->task_id, sizeof(ref->task_id)) != 0 ||
        sk_slack_form_get(value, n, "s", ref->subject, sizeof(ref->subject)) != 0 ||
        sk_slack_form_get(value, n, "k", kind, sizeof(kind)) != 0 ||
        sk_slack_form_get(value, n, "r", ref->request_id, sizeof(ref->request_id)) == SK_EINVAL ||
        sk_slack_form_get(value, n, "g", ref->target, sizeof(ref->target)) == SK_EINVAL)
        return SK_EINVAL;
    if (strlen(kind) != 1 || kind[0] < '0' || kind[0] >= '0' + SK_TASK_KIND_COUNT)
        return SK_EINVAL;
    ref->kind = kind[0] - '0';
    if (!sk_id_valid(ref->task_id, strlen(ref->task_id)) ||
        !sk_id_valid(ref->subject, strlen(ref->subject)))
        return SK_EINVAL;
    return 0;
}

/* Appends "&name=" + s percent-encoded; 0 or -1. */
static int put(char *out, size_t out_len, size_t *k, const char *name, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    int n = snprintf(out + *k, out_len - *k, "%s%s=", *k ? "&" : "", name);
    if (n < 0 || (size_t)n >= out_len - *k)
        return -1;
    *k += (size_t)n;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '@' || c == '/';
        if (*k + (plain ? 1 : 3) >= out_len)
            return -1;
        if (plain)
            out[(*k)++] = (char)c;
        else {
            out[(*k)++] = '%';
            out[(*k)++] = hexd[c >> 4];
            out[(*k)++] = hexd[c & 15];
        }
    }
    out[*k] = '\0';
    return 0;
}

int sk_slack_task_ref_format(const sk_slack_task_ref_t *ref, char *out, size_t out_len)
{
    char kind[2] = {(char)('0' + ref->kind), '\0'};
    size_t k = 0;
    if (out_len == 0)
        return SK_EINVAL;
    out[0] = '\0';
    if (put(out, out_len, &k, "t", ref->task_id) || put(out, out_len, &k, "r", ref->request_id) ||
        put(out, out_len, &k, "s", ref->subject) || put(out, out_len, &k, "k", kind) ||
        put(out, out_len, &k, "g", ref->target))
        return SK_EINVAL;
    return 0;
}
