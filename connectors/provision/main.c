/*
 * main.c — shiftkey-provision: options (one table, connectors/core/cfg.h),
 * then the runtime (runtime.c). What the provisioner serves and how it
 * reaches its target is in the configuration file (--config).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/log.h"
#include "cfg.h"
#include "prov.h"

#define PROG "shiftkey-provision"

typedef struct main_opts {
    const char *config, *kafka, *bootstrap_file, *group, *commands_topic, *results_topic;
    const char *metrics, *log_level, *check;
    sk_cfg_multi_t kafka_config;
} main_opts_t;

#define O(f) offsetof(main_opts_t, f)
static const sk_cfg_row_t ROWS[] = {
    {"config", "FILE", O(config), NULL,
     "configuration file (target, entitlements, users); required"},
    {"kafka", "BROKERS", O(kafka), NULL,
     "Kafka bootstrap servers host:port,... [else the bootstrap file]"},
    {"bootstrap-file", "FILE", O(bootstrap_file), "shiftkey.bootstrap",
     "broker address written by shiftkeyd --kafka embedded"},
    {"group", "ID", O(group), NULL, "consumer group [shiftkey-provision-<provisioner>]"},
    {"commands-topic", "TOPIC", O(commands_topic), "shiftkey.commands.v1",
     "input: GRANT/REVOKE/EXTEND commands"},
    {"results-topic", "TOPIC", O(results_topic), "shiftkey.provisioning.results.v1",
     "output: one result per command"},
    {"kafka-config", "NAME=VALUE", O(kafka_config), NULL,
     "extra librdkafka setting; prefix consumer: or producer: for one client", 1},
    {"metrics", "IP:PORT", O(metrics), NULL,
     "serve /metrics, /healthz and /readyz there (HOST:PORT, e.g. 127.0.0.1:9464)"},
    {"log-level", "LEVEL", O(log_level), "info", "debug, info, warn or error"},
    {"check", NULL, O(check), NULL,
     "check the configuration and the target (server, every role or group), then exit"},
};
#undef O

static const char HEAD[] =
    "usage: " PROG " --config FILE [options]\n"
    "Applies shiftkey's GRANT/REVOKE/EXTEND commands for the apps of its configuration to one\n"
    "target (PostgreSQL roles, LDAP groups, a signed webhook, a program), answers each on the\n"
    "results topic, and removes a grant at its expires_at itself when no REVOKE came.\n";

static const char TAIL[] =
    "\nThe configuration file, its secrets and each target: connectors/README.md (Provisioners).\n"
    "Exit status: 0 stopped by SIGTERM/SIGINT (or --check ok); 1 cannot start; 2 usage error.\n";

/* Reads the first line of the bootstrap file into buf; 0 or -1. */
static int read_bootstrap(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, (int)len, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return *buf ? 0 : -1;
}

/* The provisioner name of the config, for the default group id. */
static int group_of(const char *config, char *buf, size_t len)
{
    sk_prov_conf_t c;
    if (sk_prov_conf_load(config, &c) != 0)
        return -1;
    const char *p = sk_prov_conf_get(&c, SK_PROV_SEC_TOP, "provisioner", "default");
    snprintf(buf, len, "shiftkey-provision-%s", p);
    sk_prov_conf_fini(&c);
    return 0;
}

int main(int argc, char **argv)
{
    main_opts_t mo = {0};
    sk_cfg_group_t groups[] = {{"options", "SHIFTKEY_", ROWS, SK_ARRAY_LEN(ROWS), &mo}};
    char brokers[1024], group[300];
    int rc = sk_cfg_parse(PROG, HEAD, TAIL, groups, 1, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    int lvl = sk_log_level_parse(mo.log_level);
    if (!mo.config || lvl < 0) {
        fprintf(stderr, "%s: %s (see --help)\n", PROG,
                !mo.config ? "--config FILE is required"
                           : "--log-level: debug, info, warn or error");
        return 2;
    }
    sk_log_set_level((sk_log_level_t)lvl);
    if (mo.kafka) {
        snprintf(brokers, sizeof(brokers), "%s", mo.kafka);
    } else if (!mo.check && read_bootstrap(mo.bootstrap_file, brokers, sizeof(brokers)) != 0) {
        fprintf(stderr, "%s: no Kafka address: pass --kafka or a readable --bootstrap-file (%s)\n",
                PROG, mo.bootstrap_file);
        return 1;
    }
    if (mo.group)
        snprintf(group, sizeof(group), "%s", mo.group);
    else if (group_of(mo.config, group, sizeof(group)) != 0)
        return 1;
    sk_prov_opts_t o = {.prog = PROG,
                        .brokers = mo.kafka || !mo.check ? brokers : "",
                        .group = group,
                        .commands_topic = mo.commands_topic,
                        .results_topic = mo.results_topic,
                        .kafka_props = mo.kafka_config.v,
                        .n_kafka_props = mo.kafka_config.n,
                        .metrics_addr = mo.metrics,
                        .check_only = mo.check != NULL};
    return sk_prov_run(&o, mo.config);
}
