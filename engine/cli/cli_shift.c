/* cli_shift.c — publish shift events and watch outputs (see cli_shift.h). */
#include "cli/cli_shift.h"

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/keyhash.h"
#include "cli/cli_sign.h"
#include "codec/codec.h"
#include "rules/rules.h"

#define DEFAULT_BOOTSTRAP_FILE "shiftkey.bootstrap"

int sk_cli_parse_time(const char *text, long long now_ms, long long *out_ms)
{
    sk_ms_t d;
    if (strcmp(text, "now") == 0) {
        *out_ms = now_ms;
        return 0;
    }
    if ((text[0] == '+' || text[0] == '-') && sk_duration_parse(text + 1, &d) == 0) {
        *out_ms = text[0] == '+' ? now_ms + d : now_ms - d;
        return 0;
    }
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*text && *end == '\0' && v >= 0) {
        *out_ms = v;
        return 0;
    }
    struct tm tm = {0};
    end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end && (strcmp(end, "Z") == 0 || *end == '\0')) {
        *out_ms = (long long)timegm(&tm) * 1000;
        return 0;
    }
    return SK_EINVAL;
}

/* The Kafka bootstrap list: --kafka, $SHIFTKEY_KAFKA, or the file written by
 * `shiftkeyd --kafka embedded`. Copies into buf; NULL when none. */
static const char *bootstrap(const char *flag, const char *file, char *buf, size_t len)
{
    const char *env = getenv("SHIFTKEY_KAFKA");
    if (flag || (env && *env)) {
        snprintf(buf, len, "%s", flag ? flag : env);
        return buf;
    }
    FILE *f = fopen(file ? file : DEFAULT_BOOTSTRAP_FILE, "r");
    if (!f)
        return NULL;
    char *ok = fgets(buf, (int)len, f);
    fclose(f);
    if (!ok)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

const char *sk_cli_bootstrap(const char *flag, const char *file, char *buf, size_t len)
{
    return bootstrap(flag, file, buf, len);
}

static void shift_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey shift scheduled|started|updated|ended|cancelled --user U --rotation R\n"
            "                      --id SHIFT_ID [--start T] [--end T] [--level N] [options]\n\n"
            "Publishes one shift event on the schedule topic, as a connector would (source 'cli').\n"
            "T is 'now', '+15m', '-1h', an ISO time 2026-11-23T10:00:00Z, or epoch ms.\n"
            "  --start T        shift start [now]\n"
            "  --end T          shift end; omit for open-ended\n"
            "  --level N        escalation level [1]\n"
            "  --event-id ID    event id [generated from the shift, type and time]\n"
            "  --kafka BROKERS  bootstrap servers [$SHIFTKEY_KAFKA, else the file below]\n"
            "  --bootstrap-file F  written by shiftkeyd --kafka embedded [" DEFAULT_BOOTSTRAP_FILE "]\n"
            "  --topic T        [%s]\n", sk_cli_topic(SK_TOPIC_SCHEDULE));
}

static int type_from_name(const char *s)
{
    for (int t = 0; t < SK_SHIFT_EVENT_TYPE_COUNT; t++) {
        const char *n = sk_shift_event_type_name((sk_shift_event_type_t)t);
        if (strcasecmp(s, n) == 0)
            return t;
    }
    return -1;
}

int sk_cli_produce(const char *brokers, const char *topic, const char *key, const void *val,
                   size_t len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "partitioner", SK_PARTITIONER, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        fprintf(stderr, "shiftkey: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    if (sk_cli_kafka_credentials(conf) != 0) {
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "shiftkey: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (!err && rd_kafka_flush(rk, 10000) != 0)
        err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (!err && rd_kafka_outq_len(rk) > 0)
        err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    rd_kafka_destroy(rk);
    if (err) {
        fprintf(stderr, "shiftkey: cannot publish to %s at %s: %s (is the broker up?)\n", topic,
                brokers, rd_kafka_err2str(err));
        return 1;
    }
    return 0;
}

int sk_cli_shift(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"user", 1, 0, 'u'},  {"rotation", 1, 0, 'r'}, {"id", 1, 0, 'i'},
        {"start", 1, 0, 's'}, {"end", 1, 0, 'e'},      {"level", 1, 0, 'l'},
        {"event-id", 1, 0, 'E'}, {"kafka", 1, 0, 'k'}, {"bootstrap-file", 1, 0, 'b'},
        {"topic", 1, 0, 't'}, {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    const char *user = NULL, *rotation = NULL, *id = NULL, *start = "now", *end = NULL;
    const char *event_id = NULL, *kafka = NULL, *bfile = NULL, *topic = sk_cli_topic(SK_TOPIC_SCHEDULE);
    int level = 1, c, rc = 1;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        shift_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int type = type_from_name(argv[1]);
    if (type < 0) {
        fprintf(stderr, "shiftkey shift: unknown event '%s': use scheduled, started, updated, "
                        "ended or cancelled\n", argv[1]);
        return 2;
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': user = optarg; break;
        case 'r': rotation = optarg; break;
        case 'i': id = optarg; break;
        case 's': start = optarg; break;
        case 'e': end = optarg; break;
        case 'l': level = atoi(optarg); break;
        case 'E': event_id = optarg; break;
        case 'k': kafka = optarg; break;
        case 'b': bfile = optarg; break;
        case 't': topic = optarg; break;
        case 'h': shift_usage(stdout); return 0;
        default: return 2;
        }
    }
    if (!user || !rotation || !id) {
        fprintf(stderr, "shiftkey shift: --user, --rotation and --id are required (see --help)\n");
        return 2;
    }
    long long now = (long long)sk_now_ms(), start_ms, end_ms = SK_MS_NONE;
    if (sk_cli_parse_time(start, now, &start_ms) || (end && sk_cli_parse_time(end, now, &end_ms))) {
        fprintf(stderr, "shiftkey shift: bad time '%s': use now, +15m, -1h, "
                        "2026-11-23T10:00:00Z or epoch ms\n", end && sk_cli_parse_time(end, now, &end_ms) ? end : start);
        return 2;
    }
    char eid[SK_ID_MAX + 1], bs[1024];
    if (!event_id) {
        snprintf(eid, sizeof(eid), "cli-%s-%s-%lld", id, argv[1], now);
        event_id = eid;
    }
    const char *brokers = bootstrap(kafka, bfile, bs, sizeof(bs));
    if (!brokers) {
        fprintf(stderr, "shiftkey: no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, or start "
                        "shiftkeyd --kafka embedded (it writes %s)\n", bfile ? bfile : DEFAULT_BOOTSTRAP_FILE);
        return 2;
    }
    sk_schedule_event_t ev = {event_id, (sk_shift_event_type_t)type, "cli", rotation, user, id,
                              start_ms, end_ms, level, now};
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t arena;
    void *buf;
    size_t len;
    sk_arena_init(&arena, 4096);
    if (!codec || sk_codec_encode_schedule(codec, &ev, &arena, &buf, &len) != 0) {
        fprintf(stderr, "shiftkey shift: cannot encode the event (check the ids: printable, no "
                        "spaces, at most %d bytes)\n", SK_ID_MAX);
        goto out;
    }
    rc = sk_cli_produce(brokers, topic, user, buf, len);
    if (rc == 0)
        printf("published %s shift '%s' for %s in rotation %s (event %s)\n", argv[1], id, user,
               rotation, event_id);
out:
    sk_arena_fini(&arena);
    sk_codec_destroy(codec);
    return rc;
}
