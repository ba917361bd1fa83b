/*
 * slack.c — shiftkey-slack: the Slack app (a front for requests and task
 * actions) and the notifier of tasks by Slack and e-mail. Options, secrets,
 * the rules' directory, then two sides until SIGTERM/SIGINT:
 *   endpoint.c   Slack → shiftkey (HTTP, signatures, modals, buttons)
 *   notify.c     shiftkey → Slack and e-mail (tasks topic, reminders)
 * Exit status: 0 stopped by a signal, 1 cannot start, 2 usage error.
 */
#include <curl/curl.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "base/keyfile.h"
#include "base/log.h"
#include "base/topics.h"
#include "cfg.h"
#include "endpoint.h"
#include "journal.h"
#include "mail.h"
#include "notify.h"
#include "rules/signers.h"
#include "shared.h"

#define PROG "shiftkey-slack"

typedef struct opts {
    const char *rules, *kafka, *bootstrap_file, *listen, *api_url, *bot_token_file;
    const char *signing_secret_file, *state, *security_channel, *email_lookup, *smtp_url;
    const char *security_email;
    const char *smtp_from, *smtp_user, *smtp_password_file, *email_always, *remind_after;
    const char *remind_every, *max_wait, *no_endpoint, *log_level, *front_key_file;
} opts_t;

#define O(f) offsetof(opts_t, f)
static const sk_cfg_row_t rows[] = {
    {"rules", "DIR", O(rules), NULL, "rules (the directory: people with platform_ids slack:U…)"},
    {"kafka", "BROKERS", O(kafka), NULL,
     "Kafka bootstrap servers host:port,... [else the bootstrap file]"},
    {"bootstrap-file", "FILE", O(bootstrap_file), "shiftkey.bootstrap",
     "broker address written by shiftkeyd --kafka embedded"},
    {"listen", "ADDR:PORT", O(listen), "127.0.0.1:3000",
     "where Slack's requests arrive (behind your TLS proxy)"},
    {"api-url", "URL", O(api_url), "https://slack.com/api", "Slack Web API base"},
    {"bot-token-file", "FILE", O(bot_token_file), NULL,
     "bot token (xoxb-…), mode 0600 [else $SHIFTKEY_SLACK_BOT_TOKEN]"},
    {"signing-secret-file", "FILE", O(signing_secret_file), NULL,
     "the app's signing secret, mode 0600 [else $SHIFTKEY_SLACK_SIGNING_SECRET]"},
    {"front-key-file", "FILE", O(front_key_file), NULL,
     "the app's signing key (shiftkey keygen slack), mode 0600; the rules' signers: declare it "
     "as a front"},
    {"state", "FILE", O(state), "shiftkey-slack.journal",
     "the notifier's journal (messages per task, what was sent)"},
    {"security-channel", "CHANNEL", O(security_channel), NULL,
     "channel id told of every emergency grant (once per grant)"},
    {"security-email", "ADDRESS", O(security_email), NULL,
     "e-mail address told of every emergency grant (needs --smtp-url)"},
    {"email-lookup", NULL, O(email_lookup), NULL,
     "match people without a slack: id by e-mail (trusts Slack's e-mail)"},
    {"smtp-url", "URL", O(smtp_url), NULL,
     "e-mail for people without a Slack id: smtp://host:port (STARTTLS when offered) or smtps://"},
    {"smtp-from", "ADDRESS", O(smtp_from), "shiftkey@localhost", "From: of the e-mails"},
    {"smtp-user", "USER", O(smtp_user), NULL,
     "SMTP AUTH user (password: --smtp-password-file or $SHIFTKEY_SLACK_SMTP_PASSWORD)"},
    {"smtp-password-file", "FILE", O(smtp_password_file), NULL, "SMTP password, mode 0600"},
    {"email-always", NULL, O(email_always), NULL, "e-mail people with a Slack id too"},
    {"remind-after", "DURATION", O(remind_after), "4h",
     "first automatic reminder of an open task (0: none)"},
    {"remind-every", "DURATION", O(remind_every), "24h", "then again every (0: only once)"},
    {"max-wait", "SECONDS", O(max_wait), "60", "longest Retry-After honoured per 429"},
    {"no-endpoint", NULL, O(no_endpoint), NULL, "notifier only: no HTTP endpoint"},
    {"log-level", "LEVEL", O(log_level), "info", "debug, info, warn, error"},
};

static const char *about =
    "usage: " PROG " --rules DIR [--kafka BROKERS | --bootstrap-file FILE] [options]\n\n"
    "The Slack app of shiftkey: /shiftkey request|status|tasks and the buttons of its\n"
    "messages become actions on the requests and results topics; tasks become DMs that\n"
    "are updated when they close, e-mails, reminders and security-channel notices.\n"
    "Secrets come from files (0600) or the environment, never from the command line.\n"
    "Every action is signed with the app's front key (--front-key-file).\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static const char *brokers_of(const opts_t *o, char *buf, size_t len)
{
    FILE *f;
    if (o->kafka && *o->kafka)
        return o->kafka;
    if (getenv("SHIFTKEY_KAFKA") && *getenv("SHIFTKEY_KAFKA"))
        return getenv("SHIFTKEY_KAFKA");
    f = fopen(o->bootstrap_file, "r");
    if (!f)
        return NULL;
    if (!fgets(buf, (int)len, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? buf : NULL;
}

static int ms_opt(const char *name, const char *v, sk_ms_t *out)
{
    long long ms = 0;
    if (strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (sk_cfg_duration(PROG, name, v, 1000, &ms) != 0)
        return -1;
    *out = ms;
    return 0;
}

/*
 * front_key_check — loads --front-key-file and checks that the rules
 * declare its signer as a front: every action the app sends is signed
 * with it (DESIGN.md, "Identity and trust"). Without a key the app runs
 * only when the rules accept unsigned actions (identity: unsigned-demo).
 * 0 with *have set when a key was loaded; -1 with the reason on stderr.
 */
static int front_key_check(const opts_t *o, const sk_rules_t *rules, sk_signing_key_t *k, int *have)
{
    const sk_signers_t *signers = sk_rules_signers(rules);
    const sk_signer_t *s;
    char err[1024];
    *have = 0;
    if (!o->front_key_file || !*o->front_key_file) {
        if (signers->mode == SK_IDENTITY_SIGNED) {
            fprintf(stderr,
                    PROG ": the rules accept signed actions only: give --front-key-file (a key "
                         "made by `shiftkey keygen slack`, declared in signers: with front: true "
                         "and vouches_for)\n");
            return -1;
        }
        SK_WARN(PROG ": no --front-key-file: actions go out UNSIGNED (identity: unsigned-demo)");
        return 0;
    }
    if (sk_keyfile_read(o->front_key_file, k, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": --front-key-file: %s\n", err);
        return -1;
    }
    s = sk_signers_find(signers, k->signer);
    if (!s || !s->front) {
        fprintf(stderr,
                PROG ": the key of %s is signer '%s', which the rules do not declare as a front "
                     "(signers: - id: %s, front: true, public_keys, vouches_for)\n",
                o->front_key_file, k->signer, k->signer);
        sk_keyfile_wipe(k);
        return -1;
    }
    *have = 1;
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    sk_cfg_group_t groups[] = {{"options", "SHIFTKEY_SLACK_", rows, SK_ARRAY_LEN(rows), &o}};
    char token[512], secret[512], smtp_pw[512], err[1024], bs[1024];
    const char *brokers;
    sk_rules_errors_t rerrs;
    sk_rules_t *rules = NULL;
    sk_slack_journal_t *journal = NULL;
    sk_slack_endpoint_t *ep = NULL;
    sk_slack_tasks_t tasks;
    sk_signing_key_t front_key = {0};
    int have_key = 0;
    long max_wait = 60;
    sk_ms_t remind_after = 0, remind_every = 0;
    int rc = 1, lvl;

    int p = sk_cfg_parse(PROG, about, NULL, groups, 1, argc, argv);
    if (p != 0)
        return p > 0 ? 0 : 2;
    if (!o.rules || ms_opt("remind-after", o.remind_after, &remind_after) ||
        ms_opt("remind-every", o.remind_every, &remind_every) ||
        sk_cfg_int(PROG, "max-wait", o.max_wait, 1, 3600, &max_wait) ||
        (lvl = sk_log_level_parse(o.log_level)) < 0) {
        if (!o.rules)
            fprintf(stderr, PROG ": need --rules DIR (see --help)\n");
        return 2;
    }
    sk_log_set_level((sk_log_level_t)lvl);
    sk_slack_tasks_init(&tasks);
    sk_rules_errors_init(&rerrs);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, PROG ": cannot initialise libsodium or libcurl\n");
        goto out;
    }
    if (sk_slack_secret(o.bot_token_file, "SHIFTKEY_SLACK_BOT_TOKEN", 1, token, sizeof(token), err,
                        sizeof(err)) ||
        (!o.no_endpoint && sk_slack_secret(o.signing_secret_file, "SHIFTKEY_SLACK_SIGNING_SECRET",
                                           1, secret, sizeof(secret), err, sizeof(err))) ||
        sk_slack_secret(o.smtp_password_file, "SHIFTKEY_SLACK_SMTP_PASSWORD", 0, smtp_pw,
                        sizeof(smtp_pw), err, sizeof(err))) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    brokers = brokers_of(&o, bs, sizeof(bs));
    if (!brokers) {
        fprintf(stderr, PROG ": no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, or point "
                             "--bootstrap-file at the file shiftkeyd --kafka embedded writes\n");
        goto out;
    }
    rules = sk_rules_load(o.rules, &rerrs);
    if (!rules) {
        sk_rules_errors_print(&rerrs, stderr);
        goto out;
    }
    if (!o.no_endpoint && front_key_check(&o, rules, &front_key, &have_key) != 0)
        goto out;
    journal = sk_slack_journal_open(o.state, err, sizeof(err));
    if (!journal) {
        fprintf(stderr, PROG ": state: %s\n", err);
        goto out;
    }
    sk_slack_api_t api = {.base_url = o.api_url,
                          .token = token,
                          .attempts = 5,
                          .max_wait_s = (int)max_wait,
                          .timeout_s = 10,
                          .stop = &stop_flag};
    sk_slack_smtp_t smtp = {.url = o.smtp_url,
                            .from = o.smtp_from,
                            .user = o.smtp_user,
                            .password = smtp_pw,
                            .timeout_s = 30};
    const char *t_req = sk_topic_env_name(SK_TOPIC_REQUESTS);
    const char *t_res = sk_topic_env_name(SK_TOPIC_RESULTS);
    sk_slack_endpoint_cfg_t ecfg = {.listen = o.listen,
                                    .signing_secret = secret,
                                    .rules = rules,
                                    .tasks = &tasks,
                                    .api = &api,
                                    .email_lookup = o.email_lookup != NULL,
                                    .brokers = brokers,
                                    .requests_topic = t_req,
                                    .results_topic = t_res,
                                    .front_key = have_key ? &front_key : NULL};
    sk_slack_notifier_cfg_t ncfg = {.brokers = brokers,
                                    .tasks_topic = sk_topic_env_name(SK_TOPIC_TASKS),
                                    .commands_topic = sk_topic_env_name(SK_TOPIC_COMMANDS),
                                    .requests_topic = t_req,
                                    .deadletter_topic = sk_topic_env_name(SK_TOPIC_DEADLETTER),
                                    .rules = rules,
                                    .api = &api,
                                    .smtp = &smtp,
                                    .email_always = o.email_always != NULL,
                                    .email_lookup = o.email_lookup != NULL,
                                    .security_channel = o.security_channel,
                                    .security_email = o.security_email,
                                    .remind_after_ms = remind_after,
                                    .remind_every_ms = remind_every,
                                    .tasks = &tasks,
                                    .journal = journal,
                                    .stop = &stop_flag};
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (!o.no_endpoint && !(ep = sk_slack_endpoint_start(&ecfg, err, sizeof(err)))) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    size_t with_id = 0;
    for (size_t i = 0; i < sk_rules_person_count(rules); i++)
        with_id += sk_slack_dir_slack_id(sk_rules_person_at(rules, i)) != NULL;
    SK_INFO(PROG ": started (rules %s, %zu of %zu people with a slack: id)",
            sk_rules_version(rules), with_id, sk_rules_person_count(rules));
    rc = sk_slack_notifier_run(&ncfg) == 0 ? 0 : 1;
    SK_INFO(PROG ": stopping");
out:
    sk_slack_endpoint_stop(ep);
    sk_slack_journal_close(journal);
    sk_rules_destroy(rules);
    sk_rules_errors_fini(&rerrs);
    sk_slack_tasks_fini(&tasks);
    sk_keyfile_wipe(&front_key);
    sodium_memzero(token, sizeof(token));
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(smtp_pw, sizeof(smtp_pw));
    curl_global_cleanup();
    return rc;
}
