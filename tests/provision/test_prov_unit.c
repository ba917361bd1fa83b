/*
 * test_prov_unit.c — the provisioner's pieces without Kafka or servers:
 * the configuration file (errors as file:line), secrets (0600 files or the
 * environment), the state file (round trip, atomic replace, another
 * provisioner's file refused, old command ids forgotten), the exec
 * target's exit-status protocol and the grant/revoke shared by the exec and
 * webhook targets.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prov.h"
#include "sk_test.h"

static char dir[] = "/tmp/sk-prov-unit-XXXXXX";

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
    return p;
}

/* stderr of the calls between begin and end, into a buffer */
static int saved_fd = -1;
static void capture_begin(void)
{
    fflush(stderr);
    saved_fd = dup(2);
    int fd = open(path_of("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
}

static const char *capture_end(void)
{
    static char buf[8192];
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    FILE *f = fopen(path_of("stderr.txt"), "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

TEST(conf_sections_values_and_comments)
{
    sk_prov_conf_t c;
    const char *p = write_file("ok.conf",
                               "# a comment\nprovisioner = prov-pg   # trailing comment\n"
                               "type=postgres\n\n[target]\nconninfo = host=db#1 port=5432\n"
                               "[entitlements]\npg/analyst = analyst\n[users]\n"
                               "alice@example.com = alice\n",
                               0600);
    CHECK_INT(sk_prov_conf_load(p, &c), 0);
    CHECK_STR(sk_prov_conf_get(&c, SK_PROV_SEC_TOP, "provisioner", NULL), "prov-pg");
    CHECK_STR(sk_prov_conf_get(&c, SK_PROV_SEC_TOP, "type", NULL), "postgres");
    CHECK_STR(sk_prov_conf_get(&c, SK_PROV_SEC_TARGET, "conninfo", NULL), "host=db#1 port=5432");
    CHECK_STR(sk_prov_conf_get(&c, SK_PROV_SEC_ENTITLEMENTS, "pg/analyst", NULL), "analyst");
    CHECK_STR(sk_prov_conf_get(&c, SK_PROV_SEC_USERS, "alice@example.com", NULL), "alice");
    CHECK(sk_prov_conf_get(&c, SK_PROV_SEC_TOP, "conninfo", NULL) == NULL);
    CHECK_INT(sk_prov_conf_line(&c, SK_PROV_SEC_TARGET, "conninfo"), 6);
    capture_begin();
    int unused = sk_prov_conf_unused(&c, SK_PROV_SEC_TOP);
    const char *err = capture_end();
    CHECK_INT(unused, 0);
    CHECK_STR(err, "");
    sk_prov_conf_fini(&c);
}

TEST(conf_errors_name_file_and_line)
{
    sk_prov_conf_t c;
    const char *p = write_file("bad.conf",
                               "provisioner = a\nprovisioner = b\n[targets]\nno equals sign\n"
                               "[target]\n = value\nurl = x\nspare = 1\n",
                               0600);
    capture_begin();
    int rc = sk_prov_conf_load(p, &c);
    const char *err = capture_end();
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(err, "bad.conf:2: 'provisioner' set twice (first on line 1)");
    CHECK_CONTAINS(err, "bad.conf:3: unknown section [targets]");
    CHECK_CONTAINS(err, "bad.conf:4: expected key = value, got 'no equals sign'");
    CHECK_CONTAINS(err, "bad.conf:6: missing key before '='");
    p = write_file("spare.conf", "[target]\nurl = x\nspare = 1\n", 0600);
    CHECK_INT(sk_prov_conf_load(p, &c), 0);
    sk_prov_conf_get(&c, SK_PROV_SEC_TARGET, "url", NULL);
    capture_begin();
    int n = sk_prov_conf_unused(&c, SK_PROV_SEC_TARGET);
    err = capture_end();
    CHECK_INT(n, 1);
    CHECK_CONTAINS(err, "spare.conf:3: unknown key 'spare' in [target]");
    sk_prov_conf_fini(&c);
}

TEST(secrets_from_0600_files_or_the_environment)
{
    sk_prov_conf_t c;
    char buf[64];
    write_file("ok.secret", "s3cret\n", 0600);
    write_file("loose.secret", "s3cret\n", 0604);
    write_file("group.secret", "s3cret\n", 0440);
    char text[1024];
    snprintf(text, sizeof(text),
             "[target]\npassword_file = %s\nkey_file = %s\ntoken_env = SK_PROV_UNIT_TOKEN\n"
             "unset_env = SK_PROV_UNIT_UNSET\ngroup_file = %s\n",
             path_of("ok.secret"), path_of("loose.secret"), path_of("group.secret"));
    CHECK_INT(sk_prov_conf_load(write_file("s.conf", text, 0600), &c), 0);
    CHECK_INT(sk_prov_secret(&c, SK_PROV_SEC_TARGET, "password", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "s3cret");
    capture_begin();
    int rc = sk_prov_secret(&c, SK_PROV_SEC_TARGET, "key", buf, sizeof(buf));
    const char *err = capture_end();
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(err, "s.conf:3: key_file");
    CHECK_CONTAINS(err, "readable by others (mode 604); chmod 600 it");
    setenv("SK_PROV_UNIT_TOKEN", "from-env", 1);
    CHECK_INT(sk_prov_secret(&c, SK_PROV_SEC_TARGET, "token", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "from-env");
    capture_begin();
    rc = sk_prov_secret(&c, SK_PROV_SEC_TARGET, "unset", buf, sizeof(buf));
    err = capture_end();
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(err, "$SK_PROV_UNIT_UNSET is not set");
    CHECK_INT(sk_prov_secret(&c, SK_PROV_SEC_TARGET, "absent", buf, sizeof(buf)), 1);
    CHECK_INT(sk_prov_secret(&c, SK_PROV_SEC_TARGET, "group", buf, sizeof(buf)), 0); /* 0440 */
    sk_prov_conf_fini(&c);
}

TEST(state_file_round_trip)
{
    sk_prov_state_t st, back;
    const char *p = path_of("prov.state");
    sk_ms_t now = 1800000000000LL;
    unlink(p);
    CHECK_INT(sk_prov_state_load(&st, p, "prov-pg"), 0); /* missing file: empty */
    CHECK_INT(st.n_grants, 0);
    CHECK_INT(sk_prov_state_set_grant(&st, "alice@example.com", "pg/analyst", "alice",
                                      "0123456789abcdef0123456789abcdef", now + 1000),
              0);
    CHECK_INT(sk_prov_state_set_grant(&st, "bob@example.com", "dir/oncall",
                                      "uid=bob,ou=people,dc=example,dc=com",
                                      "fedcba9876543210fedcba9876543210", now + 2000),
              0);
    CHECK_INT(sk_prov_state_set_grant(&st, "alice@example.com", "pg/analyst", "alice",
                                      "11111111111111111111111111111111", now + 5000),
              0); /* an EXTEND updates in place */
    CHECK_INT(
        sk_prov_state_add_done(&st, "0123456789abcdef0123456789abcdef", SK_PROV_PROVISIONED, now),
        0);
    CHECK_INT(sk_prov_state_add_done(&st, "22222222222222222222222222222222", SK_PROV_DEPROVISIONED,
                                     now - SK_PROV_DONE_KEEP_MS - 1),
              0);
    CHECK_INT(sk_prov_state_save(&st, now), 0);
    struct stat sb;
    CHECK_INT(stat(p, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0600);
    CHECK(access(path_of("prov.state.tmp"), F_OK) != 0);
    CHECK_INT(sk_prov_state_load(&back, p, "prov-pg"), 0);
    CHECK_INT(back.n_grants, 2);
    sk_prov_grant_t *g = sk_prov_state_grant(&back, "alice@example.com", "pg/analyst");
    CHECK(g != NULL);
    if (g) {
        CHECK_INT(g->expires_at_ms, now + 5000);
        CHECK_STR(g->command_id, "11111111111111111111111111111111");
        CHECK_STR(g->member, "alice");
    }
    g = sk_prov_state_grant(&back, "bob@example.com", "dir/oncall");
    CHECK(g && strcmp(g->member, "uid=bob,ou=people,dc=example,dc=com") == 0);
    CHECK(sk_prov_state_done(&back, "0123456789abcdef0123456789abcdef") != NULL);
    CHECK(sk_prov_state_done(&back, "22222222222222222222222222222222") == NULL); /* too old */
    sk_prov_state_drop_grant(&back, "alice@example.com", "pg/analyst");
    CHECK_INT(back.n_grants, 1);
    CHECK(sk_prov_state_grant(&back, "bob@example.com", "dir/oncall") != NULL);
    sk_prov_state_fini(&back);
    capture_begin();
    int rc = sk_prov_state_load(&back, p, "prov-ldap");
    const char *err = capture_end();
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(err, "not the state file of provisioner 'prov-ldap'");
    write_file("bad.state", "shiftkey-provision\t1\tprov-pg\nG\tonly\tthree\n", 0600);
    capture_begin();
    rc = sk_prov_state_load(&back, path_of("bad.state"), "prov-pg");
    err = capture_end();
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(err, "bad.state:2: malformed line");
    sk_prov_state_fini(&st);
}

/* The exec target's protocol: exit 0 done, 75 retry, 3 won't, else failed. */
TEST(exec_target_exit_statuses)
{
    sk_prov_conf_t c;
    void *ctx = NULL;
    char text[1024], member[256], msg[512];
    write_file("target.sh",
               "#!/bin/sh\necho \"$SHIFTKEY_ACTION $SHIFTKEY_APP $SHIFTKEY_ENTITLEMENT "
               "$SHIFTKEY_PRINCIPAL $SHIFTKEY_OBJECT $SHIFTKEY_CAUSE\"\n"
               "case \"$SHIFTKEY_PRINCIPAL\" in retry) exit 75;; wont) exit 3;; bad) exit 9;; "
               "slow) sleep 5;; esac\n",
               0700);
    snprintf(text, sizeof(text), "[target]\ncommand = %s\ntimeout = 1s\n", path_of("target.sh"));
    CHECK_INT(sk_prov_conf_load(write_file("exec.conf", text, 0600), &c), 0);
    CHECK_INT(sk_prov_target_exec.init(&c, &ctx), 0);
    CHECK_INT(sk_prov_target_exec.check(ctx, &c, NULL, NULL, 0), 0);
    sk_prov_op_t op = {.action = "GRANT",
                       .command_id = "0123456789abcdef0123456789abcdef",
                       .user = "alice@example.com",
                       .principal = "alice",
                       .ent = "sh/run",
                       .object = "runners",
                       .expires_at_ms = 1};
    CHECK_INT(sk_prov_target_exec.grant(ctx, &op, member, sizeof(member), msg, sizeof(msg)), 0);
    CHECK_STR(msg, "GRANT sh sh/run alice runners command");
    CHECK_STR(member, "alice");
    op.action = "EXPIRE";
    CHECK_INT(sk_prov_target_exec.revoke(ctx, &op, msg, sizeof(msg)), 0);
    CHECK_STR(msg, "REVOKE sh sh/run alice runners expiry");
    op.action = "GRANT";
    op.principal = "retry";
    CHECK_INT(sk_prov_target_exec.grant(ctx, &op, member, sizeof(member), msg, sizeof(msg)),
              SK_EAGAIN);
    CHECK_CONTAINS(msg, "exited 75");
    op.principal = "wont";
    CHECK_INT(sk_prov_target_exec.grant(ctx, &op, member, sizeof(member), msg, sizeof(msg)),
              SK_PROV_WONT);
    /* a revoke answered "won't" failed: access is never kept that way */
    CHECK_INT(sk_prov_target_exec.revoke(ctx, &op, msg, sizeof(msg)), SK_EINVAL);
    op.principal = "bad";
    CHECK_INT(sk_prov_target_exec.grant(ctx, &op, member, sizeof(member), msg, sizeof(msg)),
              SK_EINVAL);
    op.principal = "slow";
    CHECK_INT(sk_prov_target_exec.grant(ctx, &op, member, sizeof(member), msg, sizeof(msg)),
              SK_EAGAIN);
    CHECK_CONTAINS(msg, "killed after 1000 ms");
    sk_prov_target_exec.destroy(ctx);
    sk_prov_conf_fini(&c);
}

/* A send (prov.h) that answers *ctx and records what it was asked. */
static char sent_action[16];
static int fake_send(void *ctx, const sk_prov_op_t *op, const char *action, char *msg, size_t len)
{
    snprintf(sent_action, sizeof(sent_action), "%s", action);
    snprintf(msg, len, "asked %s for %s", action, op->principal);
    return *(int *)ctx;
}

/* The grant and revoke of the targets that hand operations over (exec,
 * webhook): one copy of what their answers mean. */
TEST(send_targets_grant_and_revoke)
{
    sk_prov_op_t op = {.action = "EXTEND", .principal = "alice", .ent = "a/b", .object = "o"};
    char member[64], msg[128];
    int answer = 0;
    strcpy(member, "-");
    CHECK_INT(sk_prov_send_grant(fake_send, &answer, &op, member, sizeof(member), msg, sizeof(msg)),
              0);
    CHECK_STR(sent_action, "EXTEND");
    CHECK_STR(member, "alice");
    CHECK_STR(msg, "asked EXTEND for alice");
    answer = SK_PROV_WONT;
    strcpy(member, "-");
    CHECK_INT(sk_prov_send_grant(fake_send, &answer, &op, member, sizeof(member), msg, sizeof(msg)),
              SK_PROV_WONT);
    CHECK_STR(member, "-"); /* not granted: no member */
    CHECK_INT(sk_prov_send_revoke(fake_send, &answer, &op, msg, sizeof(msg)), SK_EINVAL);
    CHECK_STR(sent_action, "REVOKE");
    answer = SK_EAGAIN;
    CHECK_INT(sk_prov_send_revoke(fake_send, &answer, &op, msg, sizeof(msg)), SK_EAGAIN);
    answer = 0;
    CHECK_INT(sk_prov_send_revoke(fake_send, &answer, &op, msg, sizeof(msg)), 0);
}

static int setup(void)
{
    return mkdtemp(dir) ? 0 : -1;
}

static void cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int sk_test_failures_;
int main(int argc, char **argv)
{
    static const sk_test_case_t cases[] = {SK_TEST_CASE(conf_sections_values_and_comments),
                                           SK_TEST_CASE(conf_errors_name_file_and_line),
                                           SK_TEST_CASE(secrets_from_0600_files_or_the_environment),
                                           SK_TEST_CASE(state_file_round_trip),
                                           SK_TEST_CASE(exec_target_exit_statuses),
                                           SK_TEST_CASE(send_targets_grant_and_revoke)};
    if (setup() != 0)
        return 1;
    int rc = sk_test_run(__FILE__, cases, SK_ARRAY_LEN(cases), argc, argv);
    cleanup();
    return rc;
}
