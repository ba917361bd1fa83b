/*
 * bench_rules.c — generated rule sets: the benchmark's own (200 rotations,
 * 500 profiles) and a large one (10,000 profiles, 1,000 rotations) whose
 * load + compile time is measured.
 *
 * Shape: `apps` apps of `ents_per_app` entitlements; profile j holds one or
 * two entitlements; rotation r is enrolled (one enrollment each) in the
 * profiles r, r + rotations, r + 2 * rotations, ... below `profiles`, with
 * grant_before 15m and revoke_after 0 (an ENDED shift revokes at once, and
 * a grant's timer fires at the shift end).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bench.h"
#include "rules/rules.h"

static FILE *open_in(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        perror(path);
    return f;
}

int bench_rules_write(const char *dir, int apps, int ents_per_app, int rotations, int profiles)
{
    int n_ents = apps * ents_per_app, rc = -1;
    FILE *f = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        perror(dir);
        return -1;
    }
    if (!(f = open_in(dir, "apps.yaml")))
        goto out;
    fprintf(f, "apps:\n");
    for (int a = 0; a < apps; a++) {
        fprintf(f, "  - id: app%03d\n    name: Application %d\n    entitlements:\n", a, a);
        for (int e = 0; e < ents_per_app; e++)
            fprintf(f,
                    "      - id: ent%02d\n        resource: \"arn:aws:iam::%012d:role/R%d\"\n"
                    "        permission: assume-role\n        max_duration: 12h\n",
                    e, a, e);
    }
    fclose(f);
    if (!(f = open_in(dir, "rotations.yaml")))
        goto out;
    fprintf(f, "rotations:\n");
    for (int r = 0; r < rotations; r++)
        fprintf(f, "  - id: rot-%04d\n    platform: pagerduty\n    external_id: P%06d\n", r, r);
    fclose(f);
    if (!(f = open_in(dir, "profiles.yaml")))
        goto out;
    fprintf(f, "profiles:\n");
    for (int p = 0; p < profiles; p++) {
        int e1 = (p * 7) % n_ents, e2 = (p * 7 + 1) % n_ents;
        fprintf(f, "  - id: prof-%05d\n    entitlements: [app%03d/ent%02d", p, e1 / ents_per_app,
                e1 % ents_per_app);
        if (p % 2 == 0)
            fprintf(f, ", app%03d/ent%02d", e2 / ents_per_app, e2 % ents_per_app);
        fprintf(f, "]\n");
    }
    fclose(f);
    if (!(f = open_in(dir, "enrollments.yaml")))
        goto out;
    fprintf(f, "enrollments:\n");
    for (int r = 0; r < rotations; r++) {
        fprintf(f, "  - id: enr-%04d\n    rotations: [rot-%04d]\n    profiles: [", r, r);
        for (int p = r, first = 1; p < profiles; p += rotations, first = 0)
            fprintf(f, "%sprof-%05d", first ? "" : ", ", p);
        fprintf(f, "]\n    grant_before: 15m\n    revoke_after: 0\n");
    }
    fclose(f);
    f = NULL;
    rc = 0;
out:
    return rc;
}

int bench_rules_compile(const bench_env_t *env, bench_results_t *res)
{
    char dir[512];
    int profiles = env->quick ? 1000 : 10000, rotations = env->quick ? 100 : 1000;
    int apps = env->quick ? 20 : 200; /* 8 entitlements each */
    snprintf(dir, sizeof(dir), "%s/rules-large", env->tmp_dir);
    if (bench_rules_write(dir, apps, 8, rotations, profiles) != 0)
        return -1;
    int runs = env->quick ? 1 : 3;
    double best = 1e9;
    for (int i = 0; i < runs; i++) {
        sk_rules_errors_t errs;
        sk_rules_errors_init(&errs);
        double t0 = bench_now_s();
        sk_rules_t *r = sk_rules_load(dir, &errs);
        double dt = bench_now_s() - t0;
        if (!r) {
            sk_rules_errors_print(&errs, stderr);
            sk_rules_errors_fini(&errs);
            return -1;
        }
        sk_rules_destroy(r);
        sk_rules_errors_fini(&errs);
        if (dt < best)
            best = dt;
    }
    res->rules_profiles = (size_t)profiles;
    res->rules_rotations = (size_t)rotations;
    res->rules_compile_s = best;
    return 0;
}
