/*
 * test_slack_unit.c — the pure parts of shiftkey-slack: Slack signature
 * verification (good, bad, stale, missing, constant length), the replay
 * guard, the request-body parser (slash command, block action, view
 * submission, malformed input), button values, the journal across a
 * reopen (torn last line included), the secret files' mode check, the
 * Block Kit of a task (⚡, buttons, closed form without buttons), the
 * refused GRANT read from the engine's dead-letter notice, and e-mail
 * subjects as RFC 2047 encoded-words.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocks.h"
#include "codec/codec.h"
#include "journal.h"
#include "mail.h"
#include "payload.h"
#include "refused.h"
#include "shared.h"
#include "sk_test.h"
#include "verify.h"

static const char *SECRET = "8f742231b10e8888abcd99yyyzzz85a5";

/* Slack's documented example, then our own signing of any body. */
static void sign(const char *ts, const char *body, char out[68])
{
    unsigned char mac[32];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"v0:", 3);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    strcpy(out, "v0=");
    for (int i = 0; i < 32; i++)
        sprintf(out + 3 + 2 * i, "%02x", mac[i]);
}

TEST(verify_slack_documented_example)
{
    /* https://api.slack.com/authentication/verifying-requests-from-slack */
    const char *body =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
        "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
        "00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
        "d2c447fce8b6703c";
    char why[128];
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "1531420618",
                              "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                              body, strlen(body), 1531420618 + 10, NULL, why, sizeof(why)),
              0);
}

TEST(verify_refuses)
{
    const char *body = "command=%2Fshiftkey&user_id=U1&text=status";
    char sig[68], why[128];
    int64_t now = 1700000000;
    sign("1700000000", body, sig);
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "1700000000", sig, body, strlen(body), now,
                              NULL, why, sizeof(why)),
              0);
    /* one byte of the body changed */
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "1700000000", sig,
                              "command=%2Fshiftkey&user_id=U2&text=status", strlen(body), now, NULL,
                              why, sizeof(why)),
              SK_EINVAL);
    CHECK_CONTAINS(why, "bad signature");
    /* 301 s later: stale */
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "1700000000", sig, body, strlen(body),
                              now + 301, NULL, why, sizeof(why)),
              SK_EINVAL);
    CHECK_CONTAINS(why, "stale");
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), NULL, sig, body, strlen(body), now, NULL, why,
                              sizeof(why)),
              SK_EINVAL);
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "1700000000", NULL, body, strlen(body), now,
                              NULL, why, sizeof(why)),
              SK_EINVAL);
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "17e8", sig, body, strlen(body), now, NULL,
                              why, sizeof(why)),
              SK_EINVAL);
    sig[10] ^= 1; /* same length, one bit off */
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "1700000000", sig, body, strlen(body), now,
                              NULL, why, sizeof(why)),
              SK_EINVAL);
    CHECK_INT(sk_slack_verify(SECRET, strlen(SECRET), "1700000000", "v0=00", body, strlen(body),
                              now, NULL, why, sizeof(why)),
              SK_EINVAL);
    /* another secret */
    sig[10] ^= 1;
    CHECK_INT(sk_slack_verify("other", 5, "1700000000", sig, body, strlen(body), now, NULL, why,
                              sizeof(why)),
              SK_EINVAL);
}

TEST(replay_guard)
{
    static sk_slack_replay_t r;
    sk_slack_replay_init(&r);
    CHECK_INT(sk_slack_replay_seen(&r, "v0=aa", 1000, 1000), 0);
    CHECK_INT(sk_slack_replay_seen(&r, "v0=aa", 1000, 1001), 1);
    CHECK_INT(sk_slack_replay_seen(&r, "v0=bb", 1000, 1001), 0);
    /* long after, the entry expired (its timestamp is refused as stale anyway) */
    CHECK_INT(sk_slack_replay_seen(&r, "v0=aa", 1000, 1000 + 2 * SK_SLACK_MAX_SKEW_S + 1), 0);
    sk_slack_replay_fini(&r);
}

static int parse(const char *body, sk_slack_input_t *in)
{
    char why[256];
    return sk_slack_input_parse(body, strlen(body), in, why, sizeof(why));
}

TEST(parse_command)
{
    sk_slack_input_t *in = malloc(sizeof(*in));
    CHECK_INT(parse("token=x&command=%2Fshiftkey&text=request+aws-prod%2Fadmin&user_id=U0DEV&"
                    "trigger_id=1.2.3&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr%2F1",
                    in),
              0);
    CHECK_INT(in->kind, SK_SLACK_IN_COMMAND);
    CHECK_STR(in->command, "/shiftkey");
    CHECK_STR(in->text, "request aws-prod/admin");
    CHECK_STR(in->user_id, "U0DEV");
    CHECK_STR(in->trigger_id, "1.2.3");
    CHECK_STR(in->response_url, "http://127.0.0.1:9/r/1");
    CHECK_INT(parse("command=%2Fshiftkey&text=x", in), SK_EPARSE); /* no user */
    CHECK_INT(parse("command=%2Fshiftkey&user_id=U1&text=%zz", in), SK_EINVAL);
    CHECK_INT(parse("command=%2Fshiftkey&user_id=U1&text=a%00b", in), SK_EINVAL);
    CHECK_INT(parse("", in), SK_EPARSE);
    free(in);
}

static char *form_payload(const char *json)
{
    size_t n = strlen(json);
    char *out = malloc(8 + 3 * n + 1), *p = out;
    p += sprintf(p, "payload=");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)json[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            *p++ = (char)c;
        else
            p += sprintf(p, "%%%02X", c);
    }
    *p = '\0';
    return out;
}

TEST(parse_interactions)
{
    sk_slack_input_t *in = malloc(sizeof(*in));
    char *b = form_payload(
        "{\"type\":\"block_actions\",\"user\":{\"id\":\"U0MGR\"},\"trigger_id\":\"t1\","
        "\"response_url\":\"http://x/r\",\"container\":{\"channel_id\":\"D1\",\"message_ts\":"
        "\"1.000100\"},\"actions\":[{\"action_id\":\"approve\",\"value\":\"t=T1&r=R1&s=dev&k=0\"}]}");
    CHECK_INT(parse(b, in), 0);
    CHECK_INT(in->kind, SK_SLACK_IN_BLOCK_ACTION);
    CHECK_STR(in->action_id, "approve");
    CHECK_STR(in->value, "t=T1&r=R1&s=dev&k=0");
    CHECK_STR(in->channel, "D1");
    CHECK_STR(in->ts, "1.000100");
    free(b);
    b = form_payload(
        "{\"type\":\"view_submission\",\"user\":{\"id\":\"U0DEV\"},\"view\":{\"id\":\"V1\","
        "\"callback_id\":\"request\",\"private_metadata\":\"\",\"state\":{\"values\":{"
        "\"target\":{\"target\":{\"type\":\"static_select\",\"selected_option\":{\"value\":"
        "\"pgdb/dba\"}}},\"duration\":{\"duration\":{\"type\":\"plain_text_input\",\"value\":"
        "\"30m\"}},\"justification\":{\"justification\":{\"value\":\"incident 42\"}},"
        "\"emergency\":{\"emergency\":{\"selected_options\":[{\"value\":\"emergency\"}]}}}}}}");
    CHECK_INT(parse(b, in), 0);
    CHECK_INT(in->kind, SK_SLACK_IN_VIEW_SUBMISSION);
    CHECK_STR(in->callback_id, "request");
    CHECK_STR(in->view_id, "V1");
    CHECK_STR(in->target, "pgdb/dba");
    CHECK_STR(in->duration, "30m");
    CHECK_STR(in->justification, "incident 42");
    CHECK_INT(in->emergency, 1);
    free(b);
    b = form_payload("{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\"},\"actions\":[]}");
    CHECK_INT(parse(b, in), SK_EINVAL);
    free(b);
    b = form_payload("{\"type\":\"shortcut\",\"user\":{\"id\":\"U1\"}}");
    CHECK_INT(parse(b, in), SK_EPARSE);
    free(b);
    b = form_payload("[1,2");
    CHECK_INT(parse(b, in), SK_EPARSE);
    free(b);
    b = form_payload("{\"type\":\"block_actions\",\"user\":{\"id\":7}}");
    CHECK_INT(parse(b, in), SK_EINVAL);
    free(b);
    free(in);
}

TEST(task_ref_round_trip)
{
    sk_slack_task_ref_t r = {.kind = SK_TASK_PROVISIONING}, back;
    char v[2048];
    strcpy(r.task_id, "0123456789abcdef0123456789abcdef");
    strcpy(r.request_id, "req&1=x");
    strcpy(r.subject, "dev@example.com");
    strcpy(r.target, "pgdb/dba");
    CHECK_INT(sk_slack_task_ref_format(&r, v, sizeof(v)), 0);
    CHECK_INT(sk_slack_task_ref_parse(v, &back), 0);
    CHECK_STR(back.request_id, "req&1=x");
    CHECK_STR(back.subject, "dev@example.com");
    CHECK_STR(back.target, "pgdb/dba");
    CHECK_INT(back.kind, SK_TASK_PROVISIONING);
    CHECK_INT(sk_slack_task_ref_parse("t=a&s=b&k=9", &back), SK_EINVAL);
    CHECK_INT(sk_slack_task_ref_parse("t=a&k=0", &back), SK_EINVAL);
    CHECK_INT(sk_slack_task_ref_format(&r, v, 20), SK_EINVAL);
}

TEST(journal_survives_reopen)
{
    char path[] = "/tmp/sk-slack-journal-XXXXXX", err[256];
    int fd = mkstemp(path);
    const sk_slack_msg_t *m;
    close(fd);
    sk_slack_journal_t *j = sk_slack_journal_open(path, err, sizeof(err));
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_INT(sk_slack_journal_done(j, "T:a:0"), 0);
    CHECK_INT(sk_slack_journal_mark(j, "T:a:0"), 0);
    CHECK_INT(sk_slack_journal_add_msg(j, "a", "D1", "1.1"), 0);
    CHECK_INT(sk_slack_journal_add_msg(j, "a", "D2", "2.2"), 0);
    CHECK_INT(sk_slack_journal_set_reminders(j, "a", 2), 0);
    CHECK_INT(sk_slack_journal_mark(j, "bad\tkey"), SK_EINVAL);
    sk_slack_journal_close(j);
    fd = open(path, O_WRONLY | O_APPEND);
    CHECK(write(fd, "D\ttorn", 6) == 6); /* no newline: a crash mid-write */
    close(fd);
    j = sk_slack_journal_open(path, err, sizeof(err));
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_INT(sk_slack_journal_done(j, "T:a:0"), 1);
    CHECK_INT(sk_slack_journal_done(j, "torn"), 0);
    CHECK_INT(sk_slack_journal_msgs(j, "a", &m), 2);
    CHECK_STR(m[1].channel, "D2");
    CHECK_STR(m[1].ts, "2.2");
    CHECK_INT(sk_slack_journal_reminders(j, "a"), 2);
    sk_slack_journal_close(j);
    unlink(path);
}

TEST(secret_files)
{
    char path[] = "/tmp/sk-slack-secret-XXXXXX", buf[64], err[256];
    int fd = mkstemp(path);
    CHECK(write(fd, "s3cret\n", 7) == 7);
    close(fd);
    chmod(path, 0600);
    CHECK_INT(sk_slack_secret(path, "NOPE", 1, buf, sizeof(buf), err, sizeof(err)), 0);
    CHECK_STR(buf, "s3cret");
    chmod(path, 0644);
    CHECK_INT(sk_slack_secret(path, "NOPE", 1, buf, sizeof(buf), err, sizeof(err)), -1);
    CHECK_CONTAINS(err, "chmod 600");
    CHECK(strstr(err, "s3cret") == NULL);
    unlink(path);
    setenv("SK_TEST_SECRET", "fromenv", 1);
    CHECK_INT(sk_slack_secret(NULL, "SK_TEST_SECRET", 1, buf, sizeof(buf), err, sizeof(err)), 0);
    CHECK_STR(buf, "fromenv");
    CHECK_INT(sk_slack_secret(NULL, "SK_TEST_UNSET_X", 1, buf, sizeof(buf), err, sizeof(err)), -1);
    CHECK_INT(sk_slack_secret(NULL, "SK_TEST_UNSET_X", 0, buf, sizeof(buf), err, sizeof(err)), 0);
}

TEST(blocks_of_a_task)
{
    const char *as[] = {"mgr@example.com"};
    sk_slack_task_view_t v = {.task = {.task_id = "T1",
                                       .kind = SK_TASK_REQUEST_REVIEW,
                                       .state = SK_TASK_CREATED,
                                       .outcome = SK_TASK_OUTCOME_NONE,
                                       .request_id = "R1",
                                       .subject = "dev@example.com",
                                       .target = "pgdb/dba",
                                       .step = 1,
                                       .n_assignees = 1,
                                       .assignees = as,
                                       .emergency = true,
                                       .reason = "review <needed>",
                                       .at_ms = 1},
                              .justification = "incident & more",
                              .duration_ms = 1800000};
    json_t *m = sk_slack_blocks_task(&v, SK_SLACK_NOTE_NEW, NULL);
    char *s = json_dumps(m, 0);
    CHECK_CONTAINS(s, "⚡");
    CHECK_CONTAINS(s, "\"action_id\": \"approve\"");
    CHECK_CONTAINS(s, "\"action_id\": \"deny\"");
    CHECK_CONTAINS(s, "incident &amp; more");
    CHECK_CONTAINS(s, "review &lt;needed&gt;");
    CHECK_CONTAINS(s, "30m");
    CHECK(strstr(s, "escalate") == NULL); /* already an emergency */
    free(s);
    json_decref(m);
    v.task.state = SK_TASK_CLOSED;
    v.task.outcome = SK_TASK_APPROVED;
    v.task.reason = "approved by 'mgr@example.com'";
    m = sk_slack_blocks_task(&v, SK_SLACK_NOTE_CLOSED, NULL);
    s = json_dumps(m, 0);
    CHECK_CONTAINS(s, "Approved");
    CHECK_CONTAINS(s, "approved by");
    CHECK(strstr(s, "\"actions\"") == NULL);
    free(s);
    json_decref(m);
    char *subj, *text, *html;
    CHECK_INT(sk_slack_mail_render(&v, SK_SLACK_NOTE_NEW, &subj, &text, &html), 0);
    CHECK_CONTAINS(subj, "EMERGENCY");
    CHECK_CONTAINS(text, "Justification: incident & more");
    CHECK_CONTAINS(html, "incident &amp; more");
    free(subj);
    free(text);
    free(html);
}

/* The engine's notice of a record Kafka refused: its reason as
 * pipeline/poison.c writes it, its payload the record's first `cut` bytes. */
static sk_dead_letter_t notice(const char *topic, const void *value, size_t len, size_t cut)
{
    return (sk_dead_letter_t){
        .kind = SK_DL_INVALID,
        .reason = "output refused by Kafka for good (Broker: Message size too large): a 4144-byte "
                  "record for shiftkey.commands.v1, key 'bob' (3 bytes), value sha256 00, was "
                  "dropped; this notice stands for it (payload: its first 512 bytes)",
        .origin = {topic, 1, -1},
        .key = "bob",
        .key_len = 3,
        .payload = value,
        .payload_len = cut < len ? cut : len};
}

TEST(refused_grant_from_its_notice)
{
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    sk_slack_refused_t r;
    sk_command_t cmd = {.command_id = "0123456789abcdef0123456789abcdef",
                        .action = SK_CMD_GRANT,
                        .user = "bob",
                        .app = "vault",
                        .entitlement = "arn",
                        .resource = "arn:aws:secretsmanager:eu-west-1:1:secret:x",
                        .permission = "read",
                        .expires_at_ms = 1800000000000LL,
                        .issued_at_ms = 1800000000000LL,
                        .reason = "held by REQUEST 'r1'"};
    void *buf = NULL;
    size_t len = 0;
    sk_arena_init(&a, 4096);
    CHECK(codec != NULL);
    if (!codec)
        return;
    CHECK_INT(sk_codec_encode_command(codec, &cmd, &a, &buf, &len), 0);
    sk_dead_letter_t dl = notice("shiftkey.commands.v1", buf, len, 512);
    CHECK_INT(sk_slack_refused_grant(&dl, "shiftkey.commands.v1", &a, &r), 1);
    CHECK_STR(r.command_id, cmd.command_id);
    CHECK_STR(r.user, "bob");
    CHECK_STR(r.app, "vault");
    CHECK_STR(r.entitlement, "arn");
    CHECK_STR(r.error, "Broker: Message size too large");
    json_t *m = sk_slack_blocks_requester_refused(&r);
    const char *text = json_string_value(json_object_get(m, "text"));
    CHECK_CONTAINS(text, "`vault/arn` was not given");
    CHECK_CONTAINS(text, "Broker: Message size too large");
    CHECK_CONTAINS(text, cmd.command_id);
    json_decref(m);
    /* cut inside the app: the user from the record, the entitlement unknown */
    dl = notice("shiftkey.commands.v1", buf, len, 5 + 33 + 1 + 4 + 3);
    CHECK_INT(sk_slack_refused_grant(&dl, "shiftkey.commands.v1", &a, &r), 1);
    CHECK_STR(r.user, "bob");
    CHECK_STR(r.app, "");
    /* cut inside the user: the notice's key names them */
    dl = notice("shiftkey.commands.v1", buf, len, 5 + 33 + 1 + 2);
    CHECK_INT(sk_slack_refused_grant(&dl, "shiftkey.commands.v1", &a, &r), 1);
    CHECK_STR(r.user, "bob");
    /* cut before the action, another topic, an input's dead letter: not one */
    dl = notice("shiftkey.commands.v1", buf, len, 5 + 33);
    CHECK_INT(sk_slack_refused_grant(&dl, "shiftkey.commands.v1", &a, &r), 0);
    dl = notice("shiftkey.changelog.v1", buf, len, 512);
    CHECK_INT(sk_slack_refused_grant(&dl, "shiftkey.commands.v1", &a, &r), 0);
    dl = notice("shiftkey.commands.v1", "not avro", 8, 512);
    CHECK_INT(sk_slack_refused_grant(&dl, "shiftkey.commands.v1", &a, &r), 0);
    /* a REVOKE or an EXTEND is held by the engine, never noticed: not told */
    for (int act = SK_CMD_REVOKE; act <= SK_CMD_EXTEND; act++) {
        cmd.action = (sk_command_action_t)act;
        CHECK_INT(sk_codec_encode_command(codec, &cmd, &a, &buf, &len), 0);
        dl = notice("shiftkey.commands.v1", buf, len, 512);
        CHECK_INT(sk_slack_refused_grant(&dl, "shiftkey.commands.v1", &a, &r), 0);
    }
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
}

/* Decodes a Subject value as sk_slack_mail_subject writes it: every line
 * within 76 characters (the first after "Subject: "), every word
 * =?UTF-8?B?...?= whose bytes end on a whole character; their bytes joined
 * into out. 0, or -1 when any of that does not hold. */
static int decode_subject(const char *v, char *out, size_t len)
{
    size_t k = 0, line = strlen("Subject: ");
    const char *p = v;
    while (*p) {
        const char *end = strstr(p, "\r\n ");
        size_t wl = end ? (size_t)(end - p) : strlen(p);
        unsigned char bin[128];
        size_t bl = 0;
        if (line + wl > 76 || wl < 12 || strncmp(p, "=?UTF-8?B?", 10) != 0 ||
            strncmp(p + wl - 2, "?=", 2) != 0 ||
            sodium_base642bin(bin, sizeof(bin), p + 10, wl - 12, NULL, &bl, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            k + bl >= len)
            return -1;
        for (size_t i = bl; i > 0 && i + 4 > bl; i--) /* the last character is whole */
            if ((bin[i - 1] & 0xc0) != 0x80) {
                size_t need = bin[i - 1] >= 0xf0   ? 4
                              : bin[i - 1] >= 0xe0 ? 3
                              : bin[i - 1] >= 0xc0 ? 2
                                                   : 1;
                if (bl - (i - 1) != need)
                    return -1;
                break;
            }
        memcpy(out + k, bin, bl);
        k += bl;
        p += wl;
        if (end)
            p += 3;
        line = 1;
    }
    out[k] = '\0';
    return 0;
}

TEST(mail_subject_rfc2047)
{
    char v[SK_SLACK_SUBJECT_OUT], back[SK_SLACK_SUBJECT_OUT], long_s[600];
    const char *em = "⚡ EMERGENCY [shiftkey] Emergency grant: kube/edit for dev@example.com "
                     "(Approved) — zoë's ünïcödé 日本語 text";
    sk_slack_mail_subject("[shiftkey] Access review: kube/edit for dev (needs you)", v);
    CHECK_STR(v, "[shiftkey] Access review: kube/edit for dev (needs you)"); /* ASCII as is */
    sk_slack_mail_subject("evil\r\nBcc: x@y\tz", v);
    CHECK_STR(v, "evil  Bcc: x@y z"); /* no header injection */
    sk_slack_mail_subject(em, v);
    CHECK(strncmp(v, "=?UTF-8?B?", 10) == 0);
    CHECK(strstr(v, "\r\n =?UTF-8?B?") != NULL); /* folded: several words */
    for (const char *p = v; *p; p++)
        CHECK(*p > 0 && (*p >= 0x20 || *p == '\r' || *p == '\n'));
    CHECK_INT(decode_subject(v, back, sizeof(back)), 0);
    CHECK_STR(back, em);
    /* a long subject is cut before a character, never inside one */
    size_t n = 0;
    while (n + 3 < sizeof(long_s) - 1) {
        memcpy(long_s + n, "語", 3);
        n += 3;
    }
    long_s[n] = '\0';
    sk_slack_mail_subject(long_s, v);
    CHECK_INT(decode_subject(v, back, sizeof(back)), 0);
    CHECK_INT(strlen(back), SK_SLACK_SUBJECT_MAX / 3 * 3);
    CHECK(strncmp(back, long_s, strlen(back)) == 0);
}

SK_TEST_MAIN(SK_TEST_CASE(verify_slack_documented_example), SK_TEST_CASE(verify_refuses),
             SK_TEST_CASE(replay_guard), SK_TEST_CASE(parse_command),
             SK_TEST_CASE(parse_interactions), SK_TEST_CASE(task_ref_round_trip),
             SK_TEST_CASE(journal_survives_reopen), SK_TEST_CASE(secret_files),
             SK_TEST_CASE(blocks_of_a_task), SK_TEST_CASE(refused_grant_from_its_notice),
             SK_TEST_CASE(mail_subject_rfc2047))
