/*
 * test_store_cluster.c — the store on a real Redis Cluster (store_route.c):
 * six redis-server processes with --cluster-enabled yes joined by
 * `redis-cli --cluster create --cluster-replicas 1` (three masters, a
 * replica each). The router's slot of every partition is the cluster's own
 * (CLUSTER KEYSLOT); each partition's keys land on the master of its slot;
 * pipelined reads and scans span the masters; a slot migrated whole is
 * followed (MOVED), a key already migrated is read through ASK, an apply
 * during a half-done migration waits (TRYAGAIN) and lands once it ends; a
 * CLUSTER FAILOVER (a new master without our scripts) and a killed master
 * (the store pauses, reconnects once the replica took over) lose nothing.
 * The redis-cluster:// address is parsed and refused when malformed.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sk_test.h"
#include "pipeline/store.h"
#include "pipeline/store_route.h"

#define N_NODES 6

static int ports[N_NODES];
static pid_t pids[N_NODES];
static char seeds[256];
static bool up;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A free port whose cluster bus port (+10000) is free too: below the
 * ephemeral range, so port + 10000 stays a port. */
static int free_port(void)
{
    for (int tries = 0; tries < 1000; tries++) {
        int port = 20000 + (int)(((unsigned)rand() ^ (unsigned)getpid()) % 20000);
        if (port_free(port) && port_free(port + 10000))
            return port;
    }
    return -1;
}

/* One command on the node at port; the reply (caller frees) or NULL. */
static redisReply *node(int port, const char *fmt, ...)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = NULL;
    if (c && !c->err) {
        va_list ap;
        va_start(ap, fmt);
        r = redisvCommand(c, fmt, ap);
        va_end(ap);
    }
    if (c)
        redisFree(c);
    return r;
}

/* The integer reply of a command (a string parsed), or -1. */
static long long node_int(int port, const char *fmt, ...)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    long long v = -1;
    if (c && !c->err) {
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(c, fmt, ap);
        va_end(ap);
        if (r && r->type == REDIS_REPLY_INTEGER)
            v = r->integer;
        else if (r && r->type == REDIS_REPLY_STRING)
            v = strtoll(r->str, NULL, 10);
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return v;
}

/*
 * Whether the master on `port` has every write it took (from any client)
 * on a replica: WAIT counts only up to the caller's own last write, so
 * write once (a key of partition p's slot, which that master serves) and
 * WAIT on the same connection; replication is one ordered stream.
 */
static bool replicated(int port, int32_t p)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    bool ok = false;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "SET sk-test-wait:{p%d} 1", (int)p);
        if (r && r->type == REDIS_REPLY_STATUS) {
            freeReplyObject(r);
            r = redisCommand(c, "WAIT 1 5000");
            ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1;
        }
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

/* True when the reply of INFO/CLUSTER INFO on port contains text. */
static bool node_says(int port, const char *cmd, const char *text)
{
    redisReply *r = node(port, cmd);
    bool yes = r && r->type == REDIS_REPLY_STRING && strstr(r->str, text);
    if (r)
        freeReplyObject(r);
    return yes;
}

static bool alive(int i)
{
    return pids[i] > 0;
}

/* The port of the master serving slot (CLUSTER SHARDS is 7.0+; CLUSTER
 * SLOTS is enough), asked of any living node; -1 when none. */
static int owner_port(int slot)
{
    for (int i = 0; i < N_NODES; i++) {
        if (!alive(i))
            continue;
        redisReply *r = node(ports[i], "CLUSTER SLOTS");
        int port = -1;
        for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            redisReply *e = r->element[k];
            if (e->element[0]->integer <= slot && slot <= e->element[1]->integer)
                port = (int)e->element[2]->element[1]->integer;
        }
        if (r)
            freeReplyObject(r);
        if (port > 0)
            return port;
    }
    return -1;
}

static int index_of(int port)
{
    for (int i = 0; i < N_NODES; i++)
        if (ports[i] == port)
            return i;
    return -1;
}

static void node_id(int port, char *out, size_t len)
{
    redisReply *r = node(port, "CLUSTER MYID");
    snprintf(out, len, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    if (r)
        freeReplyObject(r);
}

/* The replica of the master at port (a living one), or -1. */
static int replica_of(int port)
{
    char id[64];
    node_id(port, id, sizeof(id));
    for (int i = 0; i < N_NODES; i++) {
        if (!alive(i) || ports[i] == port)
            continue;
        redisReply *r = node(ports[i], "INFO replication");
        char want[80];
        snprintf(want, sizeof(want), "master_port:%d", port);
        bool is = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "role:slave") &&
                  strstr(r->str, want);
        if (r)
            freeReplyObject(r);
        if (is)
            return ports[i];
    }
    return -1;
}

/* Another master than the one at port, or -1. */
static int other_master(int port)
{
    for (int i = 0; i < N_NODES; i++)
        if (alive(i) && ports[i] != port && node_says(ports[i], "INFO replication", "role:master"))
            return ports[i];
    return -1;
}

static bool cluster_ok(void)
{
    for (int i = 0; i < N_NODES; i++)
        if (alive(i) && !node_says(ports[i], "CLUSTER INFO", "cluster_state:ok"))
            return false;
    return true;
}

static bool wait_for(bool (*cond)(void), int ms)
{
    for (int waited = 0; waited < ms; waited += 100) {
        if (cond())
            return true;
        sleep_ms(100);
    }
    return cond();
}

TEST(a_cluster_starts)
{
    char cmd[1024];
    size_t off = 0;
    srand((unsigned)time(NULL));
    for (int i = 0; i < N_NODES; i++) {
        char dir[64], port[16];
        do
            ports[i] = free_port();
        while (i > 0 && index_of(ports[i]) < i); /* not one taken already */
        snprintf(dir, sizeof(dir), "/tmp/sk-test-cluster-%d", ports[i]);
        snprintf(port, sizeof(port), "%d", ports[i]);
        mkdir(dir, 0700);
        char conf[96];
        snprintf(conf, sizeof(conf), "%s/nodes.conf", dir);
        unlink(conf); /* a cluster of an earlier run on this port is no more */
        if ((pids[i] = fork()) == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir",
                   dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                   "--cluster-node-timeout", "3000", "--save", "", "--appendonly", "no",
                   (char *)NULL);
            _exit(127);
        }
    }
    for (int i = 0; i < N_NODES; i++)
        for (int k = 0; k < 100 && node_int(ports[i], "DBSIZE") < 0; k++)
            sleep_ms(50);
    off += (size_t)snprintf(cmd, sizeof(cmd), "redis-cli --cluster create");
    for (int i = 0; i < N_NODES; i++)
        off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, " 127.0.0.1:%d", ports[i]);
    snprintf(cmd + off, sizeof(cmd) - off, " --cluster-replicas 1 --cluster-yes >/dev/null 2>&1");
    CHECK_INT(system(cmd), 0);
    CHECK(wait_for(cluster_ok, 30000));
    /* both replicas of ours attached: CLUSTER FAILOVER needs them in sync */
    for (int i = 0; i < N_NODES; i++)
        for (int k = 0; k < 100; k++) {
            if (node_says(ports[i], "INFO replication", "role:master") ||
                node_says(ports[i], "INFO replication", "master_link_status:up"))
                break;
            sleep_ms(100);
        }
    snprintf(seeds, sizeof(seeds), "redis-cluster://127.0.0.1:%d,127.0.0.1:%d", ports[0], ports[1]);
    up = sk_test_failures_ == 0;
}

static sk_store_t *cluster_store(void)
{
    sk_store_config_t cfg = {0};
    char host[64];
    if (sk_store_config_address(&cfg, seeds, host, sizeof(host)) != 0)
        return NULL;
    sk_store_t *s = sk_store_new(&cfg);
    if (s && sk_store_connect(s) != 0) {
        fprintf(stderr, "  connect: %s\n", sk_store_last_error(s));
        sk_store_destroy(s);
        return NULL;
    }
    return s;
}

TEST(the_address_names_the_seeds)
{
    sk_store_config_t cfg = {0};
    char host[64];
    CHECK_INT(sk_store_config_address(&cfg, "redis-cluster://10.0.0.1:7000,10.0.0.2:7001", host,
                                      sizeof(host)),
              0);
    CHECK_STR(cfg.cluster, "10.0.0.1:7000,10.0.0.2:7001");
    CHECK_STR(cfg.host, "10.0.0.1");
    CHECK_INT(cfg.port, 7000);
    static const char *const bad[] = {"redis-cluster://",
                                      "redis-cluster://10.0.0.1",
                                      "redis-cluster://10.0.0.1:7000,",
                                      "redis-cluster://10.0.0.1:7000,,10.0.0.2:7001",
                                      "redis-cluster://10.0.0.1:0",
                                      "redis-cluster://10.0.0.1:7000,10.0.0.2:x",
                                      "redis-cluster://unix:/tmp/r.sock"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sk_store_config_t c = {0};
        if (sk_store_config_address(&c, bad[i], host, sizeof(host)) != SK_EINVAL) {
            fprintf(stderr, "  accepted: %s\n", bad[i]);
            sk_test_failures_++;
        }
    }
}

TEST(slots_are_the_clusters_own)
{
    CHECK_INT(sk_route_keyslot("123456789", 9), 12739); /* CRC16 check value 0x31C3 */
    CHECK_INT(sk_route_keyslot("{user1}.a", 9), sk_route_keyslot("user1", 5));
    CHECK_INT(sk_route_keyslot("a{}b", 4), sk_route_keyslot("a{}b", 4));
    if (!up)
        return;
    for (int32_t p = 0; p < 256; p++) {
        long long want = node_int(ports[0], "CLUSTER KEYSLOT sk:{p%d}:users", (int)p);
        if (sk_route_partition_slot(p) != want) {
            fprintf(stderr, "  partition %d: slot %d, the cluster says %lld\n", (int)p,
                    sk_route_partition_slot(p), want);
            sk_test_failures_++;
        }
    }
    const char *keys[] = {"{}x", "a{b}c", "{{x}}", "plain", "sk:{p12}:oncall"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        CHECK_INT(sk_route_keyslot(keys[i], strlen(keys[i])),
                  node_int(ports[0], "CLUSTER KEYSLOT %s", keys[i]));
}

/* One apply for `user` in partition p: sets field=value, stages `out`. */
static int apply_one(sk_store_t *s, int32_t p, int64_t epoch, int64_t offset, const char *user,
                     const char *value, const char *out, bool *applied)
{
    sk_store_field_t set = {"g:x S 1", 7, value, strlen(value)};
    sk_outbox_entry_t e = {SK_OUT_COMMANDS, user, strlen(user), out, strlen(out)};
    sk_arena_t a;
    void *packed = NULL;
    size_t len = 0;
    sk_arena_init(&a, 1024);
    if (sk_state_pack(&a, &set, 1, SK_MS_NONE, &packed, &len) != 0) {
        sk_arena_fini(&a);
        return SK_ENOMEM;
    }
    sk_store_writes_t w = {.partition = p,
                           .epoch = epoch,
                           .topic = "in",
                           .offset = offset,
                           .user = user,
                           .value_op = SK_STORE_VALUE_SET,
                           .value = packed,
                           .value_len = len,
                           .next_wake_ms = 1234,
                           .n_out = 1,
                           .out = &e};
    int rc = sk_store_apply(s, &w, applied);
    sk_arena_fini(&a);
    return rc;
}

static int64_t epochs[8];

TEST(b_each_partition_lands_on_its_slots_master)
{
    if (!up)
        return;
    sk_store_t *s = cluster_store();
    CHECK(s != NULL);
    if (!s)
        return;
    int masters_used[N_NODES] = {0};
    for (int32_t p = 0; p < 8; p++) {
        char user[16];
        bool applied = false;
        snprintf(user, sizeof(user), "u%d", (int)p);
        CHECK_INT(sk_store_claim(s, p, &epochs[p]), 0);
        CHECK_INT(apply_one(s, p, epochs[p], 1, user, "1", "out-1", &applied), 0);
        CHECK(applied);
        int owner = owner_port(sk_route_partition_slot(p));
        CHECK_INT(node_int(owner, "HEXISTS sk:{p%d}:users %s", (int)p, user), 1);
        CHECK_INT(node_int(owner, "LLEN sk:{p%d}:outbox", (int)p), 1);
        if (index_of(owner) >= 0)
            masters_used[index_of(owner)] = 1;
    }
    int n_used = 0;
    for (int i = 0; i < N_NODES; i++)
        n_used += masters_used[i];
    CHECK_INT(n_used, 3); /* p0..p7 span the three masters */

    /* pipelined reads and scans span the masters */
    int32_t parts[8];
    const char *users[8];
    char names[8][16];
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_store_value_t h[8];
    for (int32_t p = 0; p < 8; p++) {
        parts[p] = p;
        snprintf(names[p], sizeof(names[p]), "u%d", (int)p);
        users[p] = names[p];
    }
    CHECK_INT(sk_store_read_users(s, 8, parts, users, &a, h), 0);
    for (int p = 0; p < 8; p++) {
        sk_packed_field_t *f = NULL;
        size_t nf = 0;
        CHECK(h[p].len > 0 && sk_state_unpack(&a, h[p].bytes, h[p].len, &f, &nf, NULL) == 0);
        CHECK_INT(nf, 1);
    }
    int32_t *sp;
    const char **su;
    size_t n = 0;
    CHECK_INT(sk_store_scan_users(s, NULL, &a, &sp, &su, &n), 0);
    CHECK_INT(n, 8);
    int rcs[8];
    int64_t floors[8] = {0};
    CHECK_INT(sk_store_check_many(s, 8, parts, epochs, floors, rcs), 0);
    for (int p = 0; p < 8; p++)
        CHECK_INT(rcs[p], 0);
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

/* Moves slot from src to dst: all of its keys, or (keys_only) only the
 * given key, leaving the slot MIGRATING/IMPORTING. */
static void migrate(int slot, int src, int dst, const char *only_key)
{
    char src_id[64], dst_id[64];
    node_id(src, src_id, sizeof(src_id));
    node_id(dst, dst_id, sizeof(dst_id));
    freeReplyObject(node(dst, "CLUSTER SETSLOT %d IMPORTING %s", slot, src_id));
    freeReplyObject(node(src, "CLUSTER SETSLOT %d MIGRATING %s", slot, dst_id));
    if (only_key) {
        freeReplyObject(node(src, "MIGRATE 127.0.0.1 %d %s 0 5000", dst, only_key));
        return;
    }
    for (;;) {
        redisReply *keys = node(src, "CLUSTER GETKEYSINSLOT %d 100", slot);
        size_t n = keys && keys->type == REDIS_REPLY_ARRAY ? keys->elements : 0;
        for (size_t i = 0; i < n; i++)
            freeReplyObject(
                node(src, "MIGRATE 127.0.0.1 %d %s 0 5000", dst, keys->element[i]->str));
        if (keys)
            freeReplyObject(keys);
        if (n == 0)
            break;
    }
}

/* Ends a migration: every master is told the slot's new owner. */
static void settle(int slot, int dst)
{
    char dst_id[64];
    node_id(dst, dst_id, sizeof(dst_id));
    for (int i = 0; i < N_NODES; i++)
        if (alive(i) && node_says(ports[i], "INFO replication", "role:master"))
            freeReplyObject(node(ports[i], "CLUSTER SETSLOT %d NODE %s", slot, dst_id));
}

TEST(c_a_migrated_slot_is_followed)
{
    if (!up)
        return;
    sk_store_t *s = cluster_store();
    CHECK(s != NULL);
    if (!s)
        return;
    int slot = sk_route_partition_slot(3);
    int src = owner_port(slot), dst = other_master(src);
    migrate(slot, src, dst, NULL);
    settle(slot, dst);
    bool applied = false;
    CHECK_INT(apply_one(s, 3, epochs[3], 2, "u3", "2", "out-2", &applied), 0); /* MOVED */
    CHECK(applied);
    CHECK_INT(node_int(dst, "LLEN sk:{p3}:outbox"), 2);
    CHECK_INT(node_int(src, "CLUSTER COUNTKEYSINSLOT %d", slot), 0);
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_outbox_entry_t *out;
    size_t n = 0;
    CHECK_INT(sk_store_outbox_read(s, 3, 10, &a, &out, &n), 0);
    CHECK_INT(n, 2);
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

typedef struct {
    sk_store_t *s;
    int rc;
    bool applied;
} apply_arg_t;

static void *apply_in_thread(void *p)
{
    apply_arg_t *a = p;
    a->rc = apply_one(a->s, 7, epochs[7], 2, "u7", "2", "out-2", &a->applied);
    return NULL;
}

TEST(d_a_half_migrated_slot_is_read_through_ask_and_written_after_it)
{
    if (!up)
        return;
    sk_store_t *s = cluster_store();
    CHECK(s != NULL);
    if (!s)
        return;
    int slot = sk_route_partition_slot(7);
    int src = owner_port(slot), dst = other_master(src);
    migrate(slot, src, dst, "sk:{p7}:outbox"); /* the outbox only: ASK for it */
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_outbox_entry_t *out;
    size_t n = 0;
    CHECK_INT(sk_store_outbox_read(s, 7, 10, &a, &out, &n), 0);
    CHECK_INT(n, 1);
    int64_t off = -2;
    CHECK_INT(sk_store_applied_offset(s, 7, "in", &off), 0); /* still on the source */
    CHECK_INT(off, 1);
    /* an apply touches keys on both sides (TRYAGAIN): it waits, and lands
     * once the migration is done */
    apply_arg_t arg = {.s = s};
    pthread_t t;
    pthread_create(&t, NULL, apply_in_thread, &arg);
    sleep_ms(400);
    CHECK_INT(node_int(src, "HGET sk:{p7}:offsets in"), 1); /* not yet applied */
    migrate(slot, src, dst, NULL);
    settle(slot, dst);
    pthread_join(t, NULL);
    CHECK_INT(arg.rc, 0);
    CHECK(arg.applied);
    CHECK_INT(node_int(dst, "LLEN sk:{p7}:outbox"), 2);
    CHECK_INT(node_int(dst, "HGET sk:{p7}:offsets in"), 2);
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

TEST(d2_an_apply_whose_keys_all_migrated_follows_ask)
{
    if (!up)
        return;
    sk_store_t *s = cluster_store();
    CHECK(s != NULL);
    if (!s)
        return;
    int slot = sk_route_partition_slot(6);
    int src = owner_port(slot), dst = other_master(src);
    migrate(slot, src, dst, NULL); /* every key moved, the slot not yet handed over */
    CHECK_INT(node_int(src, "CLUSTER COUNTKEYSINSLOT %d", slot), 0);
    bool applied = false;
    /* the source answers ASK; the target runs it after ASKING (it holds every key) */
    CHECK_INT(apply_one(s, 6, epochs[6], 2, "u6", "2", "out-2", &applied), 0);
    CHECK(applied);
    CHECK_INT(owner_port(slot), src); /* still the source's: no MOVED helped */
    settle(slot, dst);
    CHECK_INT(node_int(dst, "HGET sk:{p6}:offsets in"), 2);
    CHECK_INT(node_int(dst, "LLEN sk:{p6}:outbox"), 2);
    sk_store_destroy(s);
}

static int failed_over;
static bool new_master_up(void)
{
    return node_says(failed_over, "INFO replication", "role:master");
}

TEST(e_a_failover_loses_nothing)
{
    if (!up)
        return;
    sk_store_t *s = cluster_store();
    CHECK(s != NULL);
    if (!s)
        return;
    int old = owner_port(sk_route_partition_slot(0));
    failed_over = replica_of(old);
    CHECK(failed_over > 0);
    redisReply *r = node(failed_over, "CLUSTER FAILOVER");
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    if (r)
        freeReplyObject(r);
    CHECK(wait_for(new_master_up, 10000));
    CHECK(wait_for(cluster_ok, 10000));
    /* the old master answers MOVED; the new one has no scripts (NOSCRIPT) */
    bool applied = false;
    CHECK_INT(apply_one(s, 0, epochs[0], 2, "u0", "2", "out-2", &applied), 0);
    CHECK(applied);
    CHECK_INT(node_int(failed_over, "LLEN sk:{p0}:outbox"), 2);
    CHECK_INT(sk_store_outbox_trim(s, 0, epochs[0], 0, 1), 0);
    CHECK_INT(node_int(failed_over, "LLEN sk:{p0}:outbox"), 1);
    sk_store_destroy(s);
}

TEST(f_a_killed_master_pauses_then_its_replica_serves)
{
    if (!up)
        return;
    sk_store_t *s = cluster_store();
    CHECK(s != NULL);
    if (!s)
        return;
    int victim = owner_port(sk_route_partition_slot(2));
    failed_over = replica_of(victim);
    CHECK(failed_over > 0);
    CHECK(replicated(victim, 2)); /* the replica has it all */
    int i = index_of(victim);
    kill(pids[i], SIGKILL);
    waitpid(pids[i], NULL, 0);
    pids[i] = 0;
    bool applied = false;
    int rc = apply_one(s, 2, epochs[2], 2, "u2", "2", "out-2", &applied);
    CHECK_INT(rc, SK_EIO); /* fail closed: paused, not skipped */
    CHECK(!applied);
    CHECK(!sk_store_connected(s));
    int tries = 0;
    while (sk_store_connect(s) != 0 && tries++ < 300)
        sleep_ms(100); /* until the replica took over (node timeout 3 s) */
    CHECK(sk_store_connected(s));
    CHECK(new_master_up());
    CHECK_INT(apply_one(s, 2, epochs[2], 2, "u2", "2", "out-2", &applied), 0);
    CHECK(applied);
    CHECK_INT(node_int(failed_over, "LLEN sk:{p2}:outbox"), 2);
    sk_store_destroy(s);
}

TEST(z_cluster_stops)
{
    for (int i = 0; i < N_NODES; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGTERM);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
}

SK_TEST_MAIN(SK_TEST_CASE(a_cluster_starts), SK_TEST_CASE(the_address_names_the_seeds),
             SK_TEST_CASE(slots_are_the_clusters_own),
             SK_TEST_CASE(b_each_partition_lands_on_its_slots_master),
             SK_TEST_CASE(c_a_migrated_slot_is_followed),
             SK_TEST_CASE(d_a_half_migrated_slot_is_read_through_ask_and_written_after_it),
             SK_TEST_CASE(d2_an_apply_whose_keys_all_migrated_follows_ask),
             SK_TEST_CASE(e_a_failover_loses_nothing),
             SK_TEST_CASE(f_a_killed_master_pauses_then_its_replica_serves),
             SK_TEST_CASE(z_cluster_stops))
