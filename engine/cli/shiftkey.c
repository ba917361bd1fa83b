/*
 * shiftkey — the command-line tool: check rules, publish shift events by
 * hand, ask for access and act on requests and tasks, and watch what the
 * engine decides.
 */
#include <stdio.h>
#include <string.h>

#include "base/version.h"
#include "cli/cli_campaign.h"
#include "cli/cli_common.h"
#include "cli/cli_explain.h"
#include "cli/cli_replay.h"
#include "cli/cli_rules.h"
#include "cli/cli_shift.h"
#include "cli/cli_sign.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey COMMAND [ARGS]   (shiftkey COMMAND --help for each)\n\n"
            "commands:\n"
            "  rules check PATH     check a rule set; print every error as file:line:column\n"
            "  rules show PATH      what each rotation grants, with lead and grace times\n"
            "  rules test DIR       run the rules' test files through the deciders\n"
            "  explain USER [APP/ENT]  why USER has (or has not) an access: sources, rules,\n"
            "                       expiry; what a request would do (--at TIME)\n"
            "  replay --rules NEW   decide recorded input with the rules in force and NEW;\n"
            "                       print who gains or loses what (exit 1 if anything differs)\n"
            "  shift EVENT ...      publish a shift event (scheduled, started, updated, ended,\n"
            "                       cancelled) on the schedule topic\n"
            "  watch [commands|deadletters|tasks]  follow the engine's output\n"
            "  grants [USER]        live grants in Redis: until when, held by which sources\n"
            "  request APP/ENT ...  ask for access (--duration, --emergency, --wait)\n"
            "  task list|show       open tasks (reviews, provisioning, revocations); one task\n"
            "  task ACTION ID...    act on requests: approve, deny, comment, cancel, escalate,\n"
            "                       duration, reassign, delete, restart, hard-reset,\n"
            "                       change-policy, skip-step, process-now, remind; on\n"
            "                       revocations: confirm, reject; provisioners: provisioned,\n"
            "                       wont-provision, deprovisioned; access reviews: certify,\n"
            "                       revoke (--reason)\n"
            "  escalate ID...       the same as task escalate (make it an emergency request)\n"
            "  revoke USER APP/ENT  propose removing a user's access\n"
            "  keygen ID            create your signing key (0600) and print its public key\n"
            "  campaign list|show|start|close|report ID   access review campaigns\n\n"
            "global options (anywhere on the line; also $SHIFTKEY_<NAME>, as for shiftkeyd):\n"
            "  --schedule-topic, --requests-topic, --results-topic, --commands-topic,\n"
            "  --audit-topic, --deadletter-topic, --tasks-topic NAME   topics renamed for\n"
            "                       this deployment (the daemon's options of the same names)\n\n"
            "exit status: 0 ok, 1 failed (e.g. rules refused), 2 usage error\n");
}

int main(int argc, char **argv)
{
    if (sk_cli_topics_take(&argc, argv) != 0)
        return 2;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("shiftkey %s\n", SK_VERSION);
        return 0;
    }
    if (strcmp(cmd, "rules") == 0)
        return sk_cli_rules(argc - 1, argv + 1);
    if (strcmp(cmd, "explain") == 0)
        return sk_cli_explain(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return sk_cli_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "shift") == 0)
        return sk_cli_shift(argc - 1, argv + 1);
    if (strcmp(cmd, "watch") == 0)
        return sk_cli_watch(argc - 1, argv + 1);
    if (strcmp(cmd, "grants") == 0)
        return sk_cli_grants(argc - 1, argv + 1);
    if (strcmp(cmd, "request") == 0)
        return sk_cli_request(argc - 1, argv + 1);
    if (strcmp(cmd, "task") == 0)
        return sk_cli_task(argc - 1, argv + 1);
    if (strcmp(cmd, "escalate") == 0)
        return sk_cli_escalate(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0)
        return sk_cli_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "revoke") == 0)
        return sk_cli_revoke(argc - 1, argv + 1);
    if (strcmp(cmd, "campaign") == 0)
        return sk_cli_campaign(argc - 1, argv + 1);
    fprintf(stderr, "shiftkey: unknown command '%s' (see shiftkey --help)\n", cmd);
    return 2;
}
