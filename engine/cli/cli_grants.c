/*
 * cli_grants.c — `shiftkey grants [USER]`: who has what, until when, and
 * which sources hold it, read from the engine's Redis state.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_shift.h"
#include "decide/state.h"
#include "pipeline/load.h"
#include "pipeline/store.h"

static void grants_usage(FILE *out)
{
    fprintf(
        out,
        "usage: shiftkey grants [USER] [--redis HOST:PORT|unix:PATH|redis-cluster://HOST:PORT,...]\n"
        "                      [--redis-prefix P] [-o json]\n\n"
        "Lists the live grants in the engine's Redis: user, entitlement, expiry, and every\n"
        "source holding it (a shift, a request). The password comes from\n"
        "$SHIFTKEY_REDIS_PASSWORD or --redis-password-file; the user from --redis-user.\n"
        "Exit status: 0 listed (also when empty), 1 Redis unreachable, 2 usage error.\n");
}

static int cmp_src(const void *a, const void *b)
{
    const sk_grant_source_t *x = a, *y = b;
    int c = strcmp(x->ent_key, y->ent_key);
    return c ? c : strcmp(x->id, y->id);
}

static int cmp_idx(const void *a, const void *b, void *users)
{
    const char **u = users;
    return strcmp(u[*(const size_t *)a], u[*(const size_t *)b]);
}

static void print_sources(const sk_user_state_t *st, int json, sk_ms_t now, int *first)
{
    char t[40];
    sk_grant_source_t *src = st->sources;
    qsort(src, st->n_sources, sizeof(*src), cmp_src);
    for (size_t i = 0; i < st->n_sources; i++) {
        const sk_grant_source_t *g = &src[i];
        if (json) {
            printf("%s{\"user\":", *first ? "" : ",\n");
            sk_cli_json_str(stdout, st->user);
            printf(",\"entitlement\":");
            sk_cli_json_str(stdout, g->ent_key);
            printf(",\"source\":");
            sk_cli_json_str(stdout, sk_source_kind_name(g->kind));
            printf(",\"id\":");
            sk_cli_json_str(stdout, g->id);
            printf(",\"rotation\":");
            sk_cli_json_str(stdout, g->rotation);
            if (g->expires_ms == SK_MS_NONE) /* found outside shiftkey: no expiry */
                printf(",\"expires_at\":null}");
            else
                printf(",\"expires_at\":%" PRId64 "}", g->expires_ms);
            *first = 0;
        } else if (g->expires_ms == SK_MS_NONE) {
            printf("%-28s %-28s %-10s %-28s no expiry (found outside shiftkey)\n", st->user,
                   g->ent_key, sk_source_kind_name(g->kind), g->id);
        } else {
            printf("%-28s %-28s %-10s %-28s until %s (%+" PRId64 " s)\n", st->user, g->ent_key,
                   sk_source_kind_name(g->kind), g->id, sk_ms_format(g->expires_ms, t, sizeof(t)),
                   (g->expires_ms - now) / 1000);
        }
    }
}

int sk_cli_grants(int argc, char **argv)
{
    static const struct option longopts[] = {{"redis", 1, 0, 'r'},
                                             {"redis-prefix", 1, 0, 'p'},
                                             {"redis-user", 1, 0, 'u'},
                                             {"redis-password-file", 1, 0, 'P'},
                                             {"output", 1, 0, 'o'},
                                             {"help", 0, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *redis = getenv("SHIFTKEY_REDIS"), *prefix = "sk", *ruser = NULL, *pwfile = NULL;
    int json = 0, c, rc = 1;
    char host[256];
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': redis = optarg; break;
        case 'p': prefix = optarg; break;
        case 'u': ruser = optarg; break;
        case 'P': pwfile = optarg; break;
        case 'o': json = strcmp(optarg, "json") == 0; break;
        case 'h': grants_usage(stdout); return 0;
        default: grants_usage(stderr); return 2;
        }
    }
    const char *user = optind < argc ? argv[optind] : NULL;
    sk_store_config_t cfg = {.prefix = prefix, .user = ruser, .timeout_ms = 5000};
    redis = redis && *redis ? redis : "127.0.0.1:6379";
    if (sk_store_config_address(&cfg, redis, host, sizeof(host)) != 0) {
        fprintf(stderr,
                "shiftkey grants: --redis '%s': use HOST:PORT, unix:PATH or "
                "redis-cluster://HOST:PORT,...\n",
                redis);
        return 2;
    }
    char *password = sk_store_password(pwfile);
    if (pwfile && !password) {
        fprintf(stderr, "shiftkey grants: cannot read the Redis password from %s\n", pwfile);
        return 2;
    }
    cfg.password = password;
    sk_store_t *store = sk_store_new(&cfg);
    sk_arena_t a;
    sk_arena_init(&a, 65536);
    int32_t *parts = NULL;
    const char **users = NULL;
    size_t n = 0;
    if (!store || sk_store_connect(store) != 0) {
        fprintf(stderr, "shiftkey grants: %s (is the engine's Redis at %s?)\n",
                store ? sk_store_last_error(store) : "out of memory", redis);
        goto out;
    }
    if (sk_store_scan_users(store, user, &a, &parts, &users, &n) != 0) {
        fprintf(stderr, "shiftkey grants: %s\n", sk_store_last_error(store));
        goto out;
    }
    sk_user_state_t *states = sk_arena_calloc(&a, n + 1, sizeof(*states));
    size_t *order = sk_arena_calloc(&a, n + 1, sizeof(*order));
    if (!states || !order || (n && sk_load_users(store, n, parts, users, &a, states))) {
        fprintf(stderr, "shiftkey grants: %s\n", sk_store_last_error(store));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof(*order), cmp_idx, users);
    int first = 1;
    sk_ms_t now = sk_now_ms();
    if (json)
        printf("[");
    else
        printf("%-28s %-28s %-10s %-28s %s\n", "USER", "ENTITLEMENT", "SOURCE", "ID", "EXPIRES");
    for (size_t i = 0; i < n; i++)
        print_sources(&states[order[i]], json, now, &first);
    if (json)
        printf("]\n");
    rc = 0;
out:
    sk_arena_fini(&a);
    sk_store_destroy(store);
    free(password);
    return rc;
}
