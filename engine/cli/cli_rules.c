/*
 * cli_rules.c — `shiftkey rules check|show PATH` (see cli_rules.h). The
 * loader does all the work; this file only prints.
 */
#include "cli/cli_rules.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli_rulestest.h"
#include "rules/rules.h"

static void cli_rules_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey rules check PATH\n"
            "       shiftkey rules show PATH\n"
            "       shiftkey rules test DIR [TESTS...] [-v]\n"
            "\n"
            "PATH is a directory of *.yaml / *.yml rule files (one rule set)\n"
            "or a single rule file. The rule set is checked as a whole: any\n"
            "error refuses it, and every error is printed as\n"
            "file:line:column: message.\n"
            "\n"
            "  check   validate and compile; print counts and the version\n"
            "  show    print each rotation and what being on call in it "
            "grants\n"
            "  test    run test files (default DIR/tests) through the deciders\n"
            "\n"
            "exit status: 0 ok, 1 the rules have errors, 2 usage error\n"
            "reference: rules/README.md\n");
}

/* Formats ms as "1h30m", "15m", "0" into buf. */
static const char *cli_rules_duration(sk_ms_t ms, char *buf, size_t len)
{
    static const struct {
        const char *unit;
        sk_ms_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000},
                 {"s", 1000},     {"ms", 1}};
    size_t used = 0;

    if (ms <= 0) {
        snprintf(buf, len, "0");
        return buf;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < SK_ARRAY_LEN(units) && used < len; i++) {
        sk_ms_t n = ms / units[i].ms;
        if (n == 0)
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%lld%s",
                                 (long long)n, units[i].unit);
        ms -= n * units[i].ms;
    }
    return buf;
}

static void cli_rules_print_check(const sk_rules_t *r)
{
    sk_rules_stats_t st;
    sk_rules_access_stats_t as;

    sk_rules_stats(r, &st);
    sk_rules_access_stats(r, &as);
    printf("ok: %zu files, %zu apps, %zu entitlements, %zu rotations, "
           "%zu profiles, %zu enrollments, %zu people, %zu groups, "
           "%zu policies (version %s)\n",
           st.files, st.apps, st.entitlements, st.rotations, st.profiles,
           st.enrollments, as.people, as.groups, as.policies,
           sk_rules_version(r));
}

static void cli_rules_print_show(const sk_rules_t *r)
{
    char max[32], lead[32], grace[32];

    printf("rules version %s\n", sk_rules_version(r));
    for (size_t i = 0; i < sk_rules_rotation_count(r); i++) {
        const sk_rotation_t *rot = sk_rules_rotation_at(r, i);
        printf("\nrotation %s", rot->id);
        if (*rot->name)
            printf(" (%s)", rot->name);
        if (*rot->platform)
            printf(" [%s%s%s]", rot->platform, *rot->external_id ? " " : "",
                   rot->external_id);
        printf("\n");
        if (rot->n_edges == 0)
            printf("  (no auto-enrollment)\n");
        for (size_t k = 0; k < rot->n_edges; k++) {
            const sk_enrollment_edge_t *e = &rot->edges[k];
            printf("  %-32s max %-6s lead %-6s grace %-6s", e->ent->key,
                   cli_rules_duration(e->ent->max_duration_ms, max,
                                      sizeof(max)),
                   cli_rules_duration(e->grant_before_ms, lead, sizeof(lead)),
                   cli_rules_duration(e->revoke_after_ms, grace,
                                      sizeof(grace)));
            if (e->max_escalation_level)
                printf(" levels<=%d", e->max_escalation_level);
            printf(" via %s/%s\n", e->enrollment, e->profile);
        }
    }
}

int sk_cli_rules(int argc, char **argv)
{
    int rc = 2;
    const char *verb, *path;
    sk_rules_errors_t errs;
    sk_rules_t *rules = NULL;

    sk_rules_errors_init(&errs);
    if (argc >= 2 && strcmp(argv[1], "test") == 0) {
        rc = sk_cli_rules_test(argc - 1, argv + 1);
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
            strcmp(argv[i], "help") == 0) {
            cli_rules_usage(stdout);
            rc = 0;
            goto out;
        }
    }
    if (argc != 3 || (strcmp(argv[1], "check") != 0 &&
                      strcmp(argv[1], "show") != 0)) {
        cli_rules_usage(stderr);
        goto out;
    }
    verb = argv[1];
    path = argv[2];
    rules = sk_rules_load(path, &errs);
    if (!rules) {
        sk_rules_errors_print(&errs, stderr);
        fprintf(stderr, "%zu error%s; rule set refused\n", errs.count,
                errs.count == 1 ? "" : "s");
        rc = 1;
        goto out;
    }
    if (strcmp(verb, "check") == 0)
        cli_rules_print_check(rules);
    else
        cli_rules_print_show(rules);
    rc = 0;
out:
    sk_rules_destroy(rules);
    sk_rules_errors_fini(&errs);
    return rc;
}
