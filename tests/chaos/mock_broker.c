/*
 * mock_broker — librdkafka's mock cluster as a process of its own, so that
 * fault tests can SIGKILL the engine without losing the broker. Writes its
 * bootstrap address to the file given, then reads commands on stdin:
 *
 *   down            the broker refuses connections (rd_kafka_mock_broker_set_down)
 *   up              it accepts them again
 *   errors N ERR    the next N Produce requests fail with error code ERR
 *   quit            exit (also on end of input)
 *
 * usage: mock_broker BOOTSTRAP_FILE PARTITIONS
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    char errstr[256], line[256];
    static const char *const topics[] = {"shiftkey.schedule.v1",
                                         "shiftkey.commands.v1",
                                         "shiftkey.audit.v1",
                                         "shiftkey.deadletter.v1",
                                         "shiftkey.requests.v1",
                                         "shiftkey.tasks.v1",
                                         "shiftkey.provisioning.results.v1",
                                         "shiftkey.changelog.v1"};
    if (argc != 3) {
        fprintf(stderr, "usage: mock_broker BOOTSTRAP_FILE PARTITIONS\n");
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "mock_broker: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc)
        return 1;
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
        rd_kafka_mock_topic_create(mc, topics[i], atoi(argv[2]), 1);
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fclose(f) ||
        rename(tmp, argv[1])) {
        fprintf(stderr, "mock_broker: cannot write %s\n", argv[1]);
        return 1;
    }
    while (fgets(line, sizeof(line), stdin)) {
        int n, err;
        if (strncmp(line, "down", 4) == 0)
            rd_kafka_mock_broker_set_down(mc, 1);
        else if (strncmp(line, "up", 2) == 0)
            rd_kafka_mock_broker_set_up(mc, 1);
        else if (sscanf(line, "errors %d %d", &n, &err) == 2)
            for (int i = 0; i < n; i++)
                rd_kafka_mock_push_request_errors(mc, 0 /* ApiKey Produce */, 1,
                                                  (rd_kafka_resp_err_t)err);
        else if (strncmp(line, "quit", 4) == 0)
            break;
        else
            fprintf(stderr, "mock_broker: unknown command: %s", line);
        printf("ok\n");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
