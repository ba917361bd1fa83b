/*
 * target_exec.c — the escape hatch: a configured program does the work. It
 * runs once per GRANT, EXTEND, REVOKE, local expiry or reconciliation
 * removal, with the command's fields in its environment (never in argv),
 * stdout and stderr captured (the first line becomes the result's message).
 *
 * Exit status: 0 done (also when it already was); 75 (EX_TEMPFAIL) not
 * done, try again later (FAILED retryable); 3 refused for good
 * (WONT_PROVISION, GRANT only); anything else FAILED. A program still
 * running after `timeout` is killed: FAILED retryable.
 *
 * [target] keys:
 *   command      absolute path of the program (required)
 *   timeout      duration [30s]
 *   secret_file / secret_env   optional secret, passed as $SHIFTKEY_SECRET
 *
 * Environment: SHIFTKEY_ACTION (GRANT, EXTEND or REVOKE), SHIFTKEY_CAUSE
 * (command, expiry or reconcile), SHIFTKEY_COMMAND_ID, SHIFTKEY_USER,
 * SHIFTKEY_PRINCIPAL, SHIFTKEY_MEMBER, SHIFTKEY_ENTITLEMENT (app/ent),
 * SHIFTKEY_OBJECT, SHIFTKEY_RESOURCE, SHIFTKEY_PERMISSION,
 * SHIFTKEY_EXPIRES_AT (ms), SHIFTKEY_REASON, PATH.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/duration.h"
#include "prov.h"

#define EXIT_RETRY 75
#define EXIT_WONT  3

typedef struct exec_ctx {
    const char *command;
    sk_ms_t timeout_ms;
    char secret[1024];
    bool has_secret;
} exec_ctx_t;

static void exec_destroy(void *ctx)
{
    exec_ctx_t *x = ctx;
    if (x)
        memset(x->secret, 0, sizeof(x->secret));
    free(x);
}

static int exec_init(const sk_prov_conf_t *c, void **out)
{
    exec_ctx_t *x = calloc(1, sizeof(*x));
    const char *t;
    int s;
    if (!x)
        return -1;
    x->command = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "command", NULL);
    t = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "timeout", "30s");
    if (!x->command || x->command[0] != '/') {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "command"),
                           "[target]: command: the absolute path of the program is required");
        goto fail;
    }
    if (sk_duration_parse(t, &x->timeout_ms) != 0 || x->timeout_ms < 1000) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "timeout"),
                           "timeout '%s': expected a duration of at least 1s", t);
        goto fail;
    }
    if ((s = sk_prov_secret(c, SK_PROV_SEC_TARGET, "secret", x->secret, sizeof(x->secret))) < 0)
        goto fail;
    x->has_secret = s == 0;
    *out = x;
    return 0;
fail:
    exec_destroy(x);
    return -1;
}

static int exec_check(void *ctx, const sk_prov_conf_t *c, const char *const *objects,
                      const int *lines, size_t n)
{
    exec_ctx_t *x = ctx;
    (void)objects, (void)lines, (void)n;
    if (access(x->command, X_OK) != 0) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "command"), "%s: %s",
                           x->command, strerror(errno));
        return -1;
    }
    return 0;
}

/* Appends SHIFTKEY_<k>=<v> to env. */
static void env_add(char (*env)[1200], int *n, const char *k, const char *v)
{
    snprintf(env[*n], sizeof(env[0]), "SHIFTKEY_%s=%s", k, v ? v : "");
    (*n)++;
}

/* Runs the program for op as action; returns 0, SK_EAGAIN, SK_EINVAL or SK_PROV_WONT. */
static int run(void *ctx, const sk_prov_op_t *op, const char *action, char *msg, size_t len)
{
    exec_ctx_t *x = ctx;
    char env[16][1200], exp[32], out[4096];
    char *envp[17];
    const char *slash = strchr(op->ent, '/');
    const char *cause = strcmp(op->action, "EXPIRE") == 0      ? "expiry"
                        : strcmp(op->action, "RECONCILE") == 0 ? "reconcile"
                                                               : "command";
    int fds[2], n = 0, status = 0, rc;
    size_t got = 0;
    snprintf(exp, sizeof(exp), "%lld", (long long)op->expires_at_ms);
    env_add(env, &n, "ACTION", action);
    env_add(env, &n, "CAUSE", cause);
    env_add(env, &n, "COMMAND_ID", op->command_id);
    env_add(env, &n, "USER", op->user);
    env_add(env, &n, "PRINCIPAL", op->principal);
    env_add(env, &n, "MEMBER", op->member ? op->member : op->principal);
    env_add(env, &n, "APP", slash ? "" : op->ent);
    env_add(env, &n, "ENTITLEMENT", op->ent);
    env_add(env, &n, "OBJECT", op->object);
    env_add(env, &n, "RESOURCE", op->cmd ? op->cmd->resource : "");
    env_add(env, &n, "PERMISSION", op->cmd ? op->cmd->permission : "");
    env_add(env, &n, "EXPIRES_AT", exp);
    env_add(env, &n, "REASON", op->cmd ? op->cmd->reason : cause);
    if (x->has_secret)
        env_add(env, &n, "SECRET", x->secret);
    if (slash)
        snprintf(env[6], sizeof(env[6]), "SHIFTKEY_APP=%.*s", (int)(slash - op->ent), op->ent);
    snprintf(env[n++], sizeof(env[0]), "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    for (int i = 0; i < n; i++)
        envp[i] = env[i];
    envp[n] = NULL;
    if (pipe(fds) != 0) {
        snprintf(msg, len, "pipe: %s", strerror(errno));
        return SK_EAGAIN;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(msg, len, "fork: %s", strerror(errno));
        return SK_EAGAIN;
    }
    if (pid == 0) {
        char *argv[] = {(char *)x->command, NULL};
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        closefrom(3); /* no Kafka or database sockets in the program */
        execve(x->command, argv, envp);
        _exit(127);
    }
    close(fds[1]);
    sk_ms_t deadline = sk_now_ms() + x->timeout_ms;
    bool timed_out = false;
    for (;;) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        sk_ms_t left = deadline - sk_now_ms();
        if (left <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
            continue;
        ssize_t r = read(fds[0], out + got, got < sizeof(out) - 1 ? sizeof(out) - 1 - got : 0);
        if (r <= 0 && (r == 0 || errno != EINTR))
            break; /* EOF, or output beyond what we keep: stop reading */
        got += (size_t)r;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    out[got] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (timed_out) {
        snprintf(msg, len, "%s killed after %lld ms", x->command, (long long)x->timeout_ms);
        return SK_EAGAIN;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    rc = code == 0            ? 0
         : code == EXIT_RETRY ? SK_EAGAIN
         : code == EXIT_WONT  ? SK_PROV_WONT
                              : SK_EINVAL;
    if (code == 0)
        snprintf(msg, len, "%s", out);
    else
        snprintf(msg, len, "%s exited %d%s%s", x->command, code, *out ? ": " : "", out);
    return rc;
}

static int exec_grant(void *ctx, const sk_prov_op_t *op, char *member, size_t member_len, char *msg,
                      size_t msg_len)
{
    return sk_prov_send_grant(run, ctx, op, member, member_len, msg, msg_len);
}

static int exec_revoke(void *ctx, const sk_prov_op_t *op, char *msg, size_t msg_len)
{
    return sk_prov_send_revoke(run, ctx, op, msg, msg_len);
}

const sk_prov_target_t sk_prov_target_exec = {.type = "exec",
                                              .init = exec_init,
                                              .check = exec_check,
                                              .grant = exec_grant,
                                              .revoke = exec_revoke,
                                              .list = NULL,
                                              .destroy = exec_destroy};
