/*
 * cli_watch.c — `shiftkey watch`: follows the commands (or dead-letter, or
 * tasks) topic and prints each record, as a table line or as JSON.
 */
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_sign.h"
#include "cli/cli_shift.h"
#include "cli/cli_task.h"
#include "codec/codec.h"

static volatile sig_atomic_t watch_stop;
static void on_sigint(int sig) { (void)sig; watch_stop = 1; }

static void watch_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey watch [commands|deadletters|tasks] [--from-beginning] [--count N]\n"
            "                      [--timeout SECONDS] [-o table|json] [--kafka BROKERS]\n\n"
            "Follows shiftkey's output and prints one line per record (Ctrl-C stops):\n"
            "the commands (default), the dead letters, or the task events (reviews,\n"
            "manual provisioning, revocations, as notifiers see them).\n"
            "Exit status: 0 when --count records were seen (or on Ctrl-C), 1 on timeout.\n");
}

static void print_command(const sk_command_t *c, int json)
{
    char t[40];
    if (!json) {
        printf("%-6s %-24s %s/%s %s %s  %s  [%s]\n", sk_command_action_name(c->action), c->user,
               c->app, c->entitlement, c->action == SK_CMD_REVOKE ? "held until" : "until",
               sk_ms_format(c->expires_at_ms, t, sizeof(t)), c->reason, c->command_id);
        return;
    }
    printf("{\"command_id\":");
    sk_cli_json_str(stdout, c->command_id);
    printf(",\"action\":");
    sk_cli_json_str(stdout, sk_command_action_name(c->action));
    printf(",\"user\":");
    sk_cli_json_str(stdout, c->user);
    printf(",\"app\":");
    sk_cli_json_str(stdout, c->app);
    printf(",\"entitlement\":");
    sk_cli_json_str(stdout, c->entitlement);
    printf(",\"expires_at\":%" PRId64 ",\"reason\":", c->expires_at_ms);
    sk_cli_json_str(stdout, c->reason);
    printf(",\"sources\":[");
    for (size_t i = 0; i < c->n_sources; i++) {
        printf("%s{\"kind\":", i ? "," : "");
        sk_cli_json_str(stdout, sk_source_kind_name(c->sources[i].kind));
        printf(",\"id\":");
        sk_cli_json_str(stdout, c->sources[i].id);
        printf(",\"expires_at\":%" PRId64 "}", c->sources[i].expires_at_ms);
    }
    printf("]}\n");
}

static void print_dead_letter(const sk_dead_letter_t *d, int json)
{
    if (!json) {
        printf("DEAD   %s[%" PRId32 "]@%" PRId64 "  %s\n", d->origin.topic, d->origin.partition,
               d->origin.offset, d->reason);
        return;
    }
    printf("{\"topic\":");
    sk_cli_json_str(stdout, d->origin.topic);
    printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"reason\":", d->origin.partition,
           d->origin.offset);
    sk_cli_json_str(stdout, d->reason);
    printf("}\n");
}

int sk_cli_watch(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"from-beginning", 0, 0, 'B'}, {"count", 1, 0, 'n'}, {"timeout", 1, 0, 'T'},
        {"kafka", 1, 0, 'k'}, {"bootstrap-file", 1, 0, 'b'}, {"help", 0, 0, 'h'},
        {"output", 1, 0, 'o'}, {0, 0, 0, 0}};
    const char *kafka = NULL, *bfile = NULL, *what = "commands";
    int from_beginning = 0, json = 0, c, rc = 1;
    long count = -1, timeout_s = -1, seen = 0;
    char bs[1024], errstr[512];

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'B': from_beginning = 1; break;
        case 'n': count = atol(optarg); break;
        case 'T': timeout_s = atol(optarg); break;
        case 'k': kafka = optarg; break;
        case 'b': bfile = optarg; break;
        case 'o': json = strcmp(optarg, "json") == 0; break;
        case 'h': watch_usage(stdout); return 0;
        default: watch_usage(stderr); return 2;
        }
    }
    if (optind < argc)
        what = argv[optind];
    const char *topic = strcmp(what, "commands") == 0      ? sk_cli_topic(SK_TOPIC_COMMANDS)
                        : strcmp(what, "deadletters") == 0 ? sk_cli_topic(SK_TOPIC_DEADLETTER)
                        : strcmp(what, "tasks") == 0       ? sk_cli_topic(SK_TOPIC_TASKS)
                                                           : NULL;
    if (!topic) {
        fprintf(stderr, "shiftkey watch: '%s': use commands, deadletters or tasks\n", what);
        return 2;
    }
    const char *brokers = sk_cli_bootstrap(kafka, bfile, bs, sizeof(bs));
    if (!brokers) {
        fprintf(stderr, "shiftkey: no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, or start "
                        "shiftkeyd --kafka embedded\n");
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[64];
    snprintf(group, sizeof(group), "shiftkey-watch-%d", (int)getpid());
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "auto.offset.reset", from_beginning ? "earliest" : "latest", errstr,
                      sizeof(errstr));
    if (sk_cli_kafka_credentials(conf) != 0) {
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "shiftkey watch: %s\n", errstr);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    signal(SIGINT, on_sigint);

    sk_codec_t *codec = sk_codec_new();
    sk_arena_t arena;
    sk_arena_init(&arena, 16384);
    sk_ms_t deadline = timeout_s >= 0 ? sk_now_ms() + timeout_s * 1000 : SK_MS_NONE;
    while (codec && !watch_stop && (count < 0 || seen < count) && sk_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (!m->err) {
            char reason[256];
            sk_arena_reset(&arena);
            if (strcmp(what, "commands") == 0) {
                sk_command_t cmd;
                if (sk_codec_decode_command(codec, m->payload, m->len, &arena, &cmd, reason,
                                            sizeof(reason)) == 0)
                    print_command(&cmd, json);
                else
                    fprintf(stderr, "undecodable record at offset %" PRId64 ": %s\n", m->offset, reason);
            } else if (strcmp(what, "tasks") == 0) {
                sk_task_t task;
                if (sk_codec_decode_task(codec, m->payload, m->len, &arena, &task, reason,
                                         sizeof(reason)) != 0)
                    fprintf(stderr, "undecodable record at offset %" PRId64 ": %s\n", m->offset, reason);
                else if (json) {
                    sk_cli_print_task_json(&task);
                    putchar('\n');
                } else
                    sk_cli_print_task_row(&task, sk_now_ms());
            } else {
                sk_dead_letter_t dl;
                if (sk_codec_decode_dead_letter(codec, m->payload, m->len, &arena, &dl, reason,
                                                sizeof(reason)) == 0)
                    print_dead_letter(&dl, json);
                else
                    fprintf(stderr, "undecodable record at offset %" PRId64 ": %s\n", m->offset, reason);
            }
            fflush(stdout);
            seen++;
        }
        rd_kafka_message_destroy(m);
    }
    rc = (count < 0 || seen >= count || watch_stop) ? 0 : 1;
    sk_arena_fini(&arena);
    sk_codec_destroy(codec);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
