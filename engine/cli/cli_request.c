/*
 * cli_request.c — `shiftkey request` (ask for access, optionally waiting for
 * the outcome): publishes a CREATED request event on shiftkey.requests.v1,
 * keyed by the requester, for the engine to decide. What comes after it
 * (approve, deny, ...) is `shiftkey task` (cli_task.c).
 *
 * Identity: the event is signed with the user's key (cli/cli_sign.h); --as
 * only selects among the keys the user holds, and the actor is the key's
 * signer. The engine refuses what is unsigned or signed by someone else.
 */
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_shift.h"
#include "cli/cli_sign.h"
#include "cli/cli_task.h"
#include "codec/codec.h"
#include "rules/rules.h"

static int publish(const char *brokers, const sk_request_event_t *ev,
                   const sk_signing_key_t *signer)
{
    sk_cli_record_t rec = {.key = ev->subject, .sign = signer};
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    int rc = 1;
    sk_arena_init(&a, 4096);
    if (!codec || sk_codec_encode_request(codec, ev, &a, &buf, &len) != 0)
        fprintf(stderr, "shiftkey: cannot encode the request event (ids: printable, no spaces)\n");
    else
    {
        rec.val = buf;
        rec.len = len;
        rc = sk_cli_produce_many(brokers, sk_cli_topic(SK_TOPIC_REQUESTS), &rec, 1) ? 1 : 0;
    }
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    return rc;
}

/*
 * A consumer of the commands and tasks topics from their ends as of now,
 * for wait_outcome: made before the request is published, so that nothing
 * it causes is missed and nothing older is read. NULL on failure.
 */
static rd_kafka_t *outcome_reader(const char *brokers)
{
    const char *const topics[] = {sk_cli_topic(SK_TOPIC_COMMANDS), sk_cli_topic(SK_TOPIC_TASKS)};
    rd_kafka_t *rk = sk_cli_consumer_new(brokers, 0);
    if (rk && sk_cli_assign_topics(rk, topics, 2, 1, 10000) < 0) {
        rd_kafka_destroy(rk);
        rk = NULL;
    }
    return rk;
}

/*
 * Follows rk (outcome_reader) for the outcome of one request: 0 when a
 * command held by it appears, 1 when one of its tasks closes denied,
 * cancelled, expired or won't-provision, 3 on timeout. Closes and destroys rk.
 */
static int wait_outcome(rd_kafka_t *rk, const char *subject, const char *request_id,
                        int timeout_s)
{
    int rc = 3;
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    sk_arena_init(&a, 16384);
    sk_ms_t deadline = sk_now_ms() + (sk_ms_t)timeout_s * 1000;
    while (codec && rc == 3 && sk_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        char reason[256], t[40];
        sk_arena_reset(&a);
        if (!m->err && m->key_len == strlen(subject) && memcmp(m->key, subject, m->key_len) == 0) {
            sk_command_t cmd;
            sk_task_t task;
            if (strcmp(rd_kafka_topic_name(m->rkt), sk_cli_topic(SK_TOPIC_COMMANDS)) == 0 &&
                sk_codec_decode_command(codec, m->payload, m->len, &a, &cmd, reason,
                                        sizeof(reason)) == 0) {
                for (size_t i = 0; i < cmd.n_sources; i++)
                    if (strcmp(cmd.sources[i].id, request_id) == 0 && cmd.action != SK_CMD_REVOKE) {
                        printf("%s %s/%s for %s until %s\n", sk_command_action_name(cmd.action),
                               cmd.app, cmd.entitlement, cmd.user,
                               sk_ms_format(cmd.expires_at_ms, t, sizeof(t)));
                        rc = 0;
                    }
            } else if (sk_codec_decode_task(codec, m->payload, m->len, &a, &task, reason,
                                            sizeof(reason)) == 0 &&
                       strcmp(task.request_id, request_id) == 0) {
                printf("task %s: %s%s%s (%s)\n", task.task_id, sk_task_state_name(task.state),
                       task.state == SK_TASK_CLOSED ? " " : "",
                       task.state == SK_TASK_CLOSED ? sk_task_outcome_name(task.outcome) : "",
                       task.reason);
                if (task.state == SK_TASK_CLOSED &&
                    (task.outcome == SK_TASK_DENIED || task.outcome == SK_TASK_CANCELLED ||
                     task.outcome == SK_TASK_WONT_PROVISION || task.outcome == SK_TASK_EXPIRED))
                    rc = 1;
            }
            fflush(stdout);
        }
        rd_kafka_message_destroy(m);
    }
    if (rc == 3)
        fprintf(stderr, "shiftkey request: no outcome within %d s (it may still come: "
                        "shiftkey grants %s)\n", timeout_s, subject);
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

static void request_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey request APP/ENTITLEMENT|PROFILE --duration D [--justification TEXT]\n"
            "                        [--emergency] [--as USER] [--id ID] [--wait SECONDS]\n\n"
            "Asks for access to an entitlement (app/entitlement) or an access profile; the\n"
            "rules decide (self-service, policy steps, reviewers). Reviewers see the task in\n"
            "shiftkey task list and answer with shiftkey task approve|deny ID.\n"
            "  --duration D     how long: 90s, 15m, 2h, 1d (capped by the entitlement's max)\n"
            "  --justification TEXT  why (shown to the reviewers, audited)\n"
            "  --emergency      break-glass: the emergency policy applies\n"
            "  --id ID          the request's id [req-<ms>-<pid>]\n"
            "  --as USER        which of your keys asks (default $SHIFTKEY_USER, else your\n"
            "                   only key; see shiftkey keygen); --key FILE: that key file\n"
            "  --wait SECONDS   wait for the outcome: exit 0 granted, 1 refused, denied,\n"
            "                   cancelled or not provisioned, 3 no outcome yet\n"
            "  --kafka BROKERS / --bootstrap-file F   as for `shiftkey shift`\n"
            "Exit status: 0 published (with --wait: granted), 1 not published (with --wait:\n"
            "refused, denied or cancelled), 2 usage error, 3 --wait ran out (it may still come).\n");
}

int sk_cli_request(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"duration", 1, 0, 'd'}, {"justification", 1, 0, 'j'}, {"emergency", 0, 0, 'e'},
        {"as", 1, 0, 'a'},       {"id", 1, 0, 'i'},             {"wait", 1, 0, 'w'},
        {"kafka", 1, 0, 'k'},    {"bootstrap-file", 1, 0, 'b'}, {"help", 0, 0, 'h'},
        {"key", 1, 0, 'K'},      {0, 0, 0, 0}};
    const char *duration = NULL, *justification = "", *as = NULL, *id = NULL, *key = NULL;
    sk_signing_key_t signer;
    char as_buf[SK_KEY_SIGNER_MAX + 1];
    const char *kafka = NULL, *bfile = NULL;
    int emergency = 0, wait_s = -1, c;
    char bs[1024], idbuf[64];
    sk_ms_t dur = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': duration = optarg; break;
        case 'j': justification = optarg; break;
        case 'e': emergency = 1; break;
        case 'a': as = optarg; break;
        case 'i': id = optarg; break;
        case 'w': wait_s = atoi(optarg); break;
        case 'k': kafka = optarg; break;
        case 'b': bfile = optarg; break;
        case 'K': key = optarg; break;
        case 'h': request_usage(stdout); return 0;
        default: request_usage(stderr); return 2;
        }
    }
    if (optind >= argc || !duration || sk_duration_parse(duration, &dur) != 0 || dur <= 0) {
        fprintf(stderr, "shiftkey request: need APP/ENTITLEMENT and --duration (e.g. 2h)\n");
        return 2;
    }
    int signer_rc = sk_cli_signer("shiftkey request", as, key, &signer);
    if (signer_rc != 0)
        return signer_rc;
    snprintf(as_buf, sizeof(as_buf), "%s", signer.signer); /* outlives the wiped key */
    as = as_buf;
    const char *brokers = sk_cli_bootstrap(kafka, bfile, bs, sizeof(bs));
    if (!brokers) {
        fprintf(stderr, "shiftkey: no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, or start "
                        "shiftkeyd --kafka embedded\n");
        return 2;
    }
    sk_ms_t now = sk_now_ms();
    if (!id) {
        snprintf(idbuf, sizeof(idbuf), "req-%" PRId64 "-%d", now, (int)getpid());
        id = idbuf;
    }
    char event_id[96];
    snprintf(event_id, sizeof(event_id), "%s-created", id);
    sk_request_event_t ev = {.event_id = event_id, .type = SK_REQ_CREATED, .request_id = id,
                             .actor = as, .subject = as,
                             .target_kind = strchr(argv[optind], '/') ? SK_TARGET_ENTITLEMENT
                                                                      : SK_TARGET_PROFILE,
                             .target = argv[optind], .duration_ms = dur,
                             .justification = justification, .emergency = emergency != 0,
                             .comment = "", .source = "cli", .occurred_at_ms = now};
    rd_kafka_t *reader = NULL;
    if (wait_s >= 0 && !(reader = outcome_reader(brokers)))
        return 1;
    int published = publish(brokers, &ev, &signer);
    sk_keyfile_wipe(&signer);
    if (published != 0) {
        if (reader)
            rd_kafka_destroy(reader);
        return 1;
    }
    printf("requested %s for %s as %s (request %s)\n", argv[optind], duration, as, id);
    fflush(stdout);
    return reader ? wait_outcome(reader, as, id, wait_s) : 0;
}
