/*
 * prov.h — the provisioner runtime and its targets (issue 14).
 *
 * A provisioner consumes shiftkey.commands.v1, applies the commands of the
 * apps it serves to one target (a PostgreSQL server, an LDAP directory, a
 * webhook, a local program) and answers each on
 * shiftkey.provisioning.results.v1. The runtime (runtime.c) owns Kafka, the
 * state file (state.c), local expiry and reconciliation; a target is a small
 * struct of callbacks (sk_prov_target_t, as Fluent Bit's outputs) that only
 * knows how to add and remove one membership on its system.
 *
 * Configuration is one file (config.c): a top section, a [target] section
 * read by the target, [entitlements] (app/entitlement = target object) and
 * [users] (user id = principal on the target). Errors read like a
 * compiler's: "prov.conf:12: unknown key 'conninf' in [target]".
 */
#ifndef SK_PROV_H
#define SK_PROV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/sk.h"
#include "codec/event.h"

/* ---- configuration (config.c) ---- */

typedef enum sk_prov_section {
    SK_PROV_SEC_TOP = 0,
    SK_PROV_SEC_TARGET,
    SK_PROV_SEC_ENTITLEMENTS,
    SK_PROV_SEC_USERS,
    SK_PROV_SEC_COUNT
} sk_prov_section_t;

/* One "key = value" line; strings point into the conf's text. */
typedef struct sk_prov_kv {
    sk_prov_section_t section;
    const char *key, *value;
    int line;
    bool used; /* set by whoever reads it: unused keys are reported */
} sk_prov_kv_t;

typedef struct sk_prov_conf {
    const char *path;
    char *text; /* owned: the file, cut into the kv strings */
    sk_prov_kv_t *kv;
    size_t n_kv;
} sk_prov_conf_t;

/*
 * sk_prov_conf_load — reads and parses path into *c. Lines are "key =
 * value", "[section]", blank, or comments ("#" at the start or after a
 * blank). Returns 0, or -1 after printing every error as "path:line: why".
 * On success the caller owns c (sk_prov_conf_fini).
 */
int sk_prov_conf_load(const char *path, sk_prov_conf_t *c);
void sk_prov_conf_fini(sk_prov_conf_t *c);

/* The value of key in section (marked used), or def when absent. */
const char *sk_prov_conf_get(const sk_prov_conf_t *c, sk_prov_section_t s, const char *key,
                             const char *def);

/* The line of key in section, 0 when absent (for error messages). */
int sk_prov_conf_line(const sk_prov_conf_t *c, sk_prov_section_t s, const char *key);

/* Prints "path:line: message" (or "path: message" when line is 0) on stderr. */
void sk_prov_conf_error(const sk_prov_conf_t *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports every key of section s nobody read; returns how many. */
int sk_prov_conf_unused(const sk_prov_conf_t *c, sk_prov_section_t s);

/* Parses "yes/no/true/false/1/0" of key (default def); -1 after printing an error. */
int sk_prov_conf_bool(const sk_prov_conf_t *c, sk_prov_section_t s, const char *key, bool def,
                      bool *out);

/*
 * sk_prov_secret — reads a secret: from the file named by key `<name>_file`
 * of section s (first line, newline removed; refused when the file is
 * readable or writable by group or others), else from the environment
 * variable named by key `<name>_env`. Never from argv or the config file
 * itself. Returns 0 with buf filled; 1 when neither key is set (no secret);
 * -1 after printing "path:line: why".
 */
int sk_prov_secret(const sk_prov_conf_t *c, sk_prov_section_t s, const char *name, char *buf,
                   size_t len);

/* ---- targets ---- */

/* What a target is asked to do, for one user and one object. */
typedef struct sk_prov_op {
    const char *action;     /* "GRANT", "EXTEND", "REVOKE", "EXPIRE" or "RECONCILE" */
    const char *command_id; /* the command answered; "" for a reconciliation */
    const char *user;       /* shiftkey user id; "" for a stray member */
    const char *principal;  /* the user as the target names it ([users], else the id) */
    const char *member;     /* the target's own member id recorded at grant time, or NULL */
    const char *ent;        /* "app/entitlement" */
    const char *object;     /* what [entitlements] maps ent to (role, group DN, ...) */
    sk_ms_t expires_at_ms;
    const sk_command_t *cmd; /* the command itself; NULL for expiry and reconciliation */
} sk_prov_op_t;

/* A list of member ids, each malloc'ed. */
typedef struct sk_prov_names {
    char **v;
    size_t n, cap;
} sk_prov_names_t;

int sk_prov_names_add(sk_prov_names_t *l, const char *s);
void sk_prov_names_fini(sk_prov_names_t *l);

/* grant's positive answer: the target refuses for good (WONT_PROVISION). */
#define SK_PROV_WONT 1

/*
 * The callbacks of a target. Return codes of grant/revoke: 0 done (also
 * when it already was: idempotent by effect); SK_EAGAIN not done, may work
 * later (server down): FAILED retryable; SK_EINVAL not done and will not
 * work as configured: FAILED; SK_PROV_WONT (grant only): WONT_PROVISION.
 * msg receives one readable sentence either way (may stay empty on 0).
 */
typedef struct sk_prov_target {
    const char *type; /* "postgres", "ldap", "webhook", "exec" */
    /* Reads the [target] keys; prints "path:line: why" and returns -1 on error. */
    int (*init)(const sk_prov_conf_t *c, void **ctx);
    /* At start: the server answers and every object of objects exists
     * (lines: where each is configured). 0, or -1 after printing why. */
    int (*check)(void *ctx, const sk_prov_conf_t *c, const char *const *objects, const int *lines,
                 size_t n);
    /* Adds op->principal to op->object; member receives the target's id of
     * the member (a role name, a DN) for reconciliation and revoke. */
    int (*grant)(void *ctx, const sk_prov_op_t *op, char *member, size_t member_len, char *msg,
                 size_t msg_len);
    /* Removes op->member (when set) or op->principal from op->object. */
    int (*revoke)(void *ctx, const sk_prov_op_t *op, char *msg, size_t msg_len);
    /* The members object has now (ids as grant returns them); NULL when the
     * target cannot list (no reconciliation). 0, or SK_EAGAIN / SK_EINVAL. */
    int (*list)(void *ctx, const char *object, sk_prov_names_t *out, char *msg, size_t msg_len);
    void (*destroy)(void *ctx);
} sk_prov_target_t;

/*
 * sk_prov_send_fn — the one call of a target that hands an operation over
 * (exec: a program; webhook: an HTTP endpoint): op as `action` (GRANT,
 * EXTEND or REVOKE). Returns as grant does; msg filled.
 */
typedef int (*sk_prov_send_fn)(void *ctx, const sk_prov_op_t *op, const char *action, char *msg,
                               size_t msg_len);

/*
 * The grant and revoke of such a target (target_send.c): grant sends
 * op->action and names op->principal the member when done; revoke sends
 * REVOKE, and an answer "won't" is a failure (SK_EINVAL), since access is
 * never kept because a target refused to take it away.
 */
int sk_prov_send_grant(sk_prov_send_fn send, void *ctx, const sk_prov_op_t *op, char *member,
                       size_t member_len, char *msg, size_t msg_len);
int sk_prov_send_revoke(sk_prov_send_fn send, void *ctx, const sk_prov_op_t *op, char *msg,
                        size_t msg_len);

extern const sk_prov_target_t sk_prov_target_pg;
extern const sk_prov_target_t sk_prov_target_ldap;
extern const sk_prov_target_t sk_prov_target_webhook;
extern const sk_prov_target_t sk_prov_target_exec;

/* ---- the state file (state.c) ---- */

/* One membership the provisioner gave and has not taken back. */
typedef struct sk_prov_grant {
    char *user, *ent, *member; /* owned */
    char command_id[33];       /* the GRANT or EXTEND that set expires_at */
    sk_ms_t expires_at_ms;
    sk_ms_t retry_at_ms; /* in memory only: next try of a failed local expiry */
    bool missing_logged; /* in memory only: reconciliation said it is gone from the target */
} sk_prov_grant_t;

/* A command answered for good (de-duplication by command id). */
typedef struct sk_prov_done {
    char command_id[33];
    sk_provisioning_status_t result;
    sk_ms_t at_ms;
} sk_prov_done_t;

typedef struct sk_prov_state {
    char *path, *provisioner; /* owned */
    sk_prov_grant_t *grants;
    size_t n_grants, cap_grants;
    sk_prov_done_t *done;
    size_t n_done, cap_done;
} sk_prov_state_t;

/* How long answered command ids are remembered. */
#define SK_PROV_DONE_KEEP_MS (7LL * 24 * 3600 * 1000)

/*
 * sk_prov_state_load — reads path (a missing file is an empty state) for
 * provisioner. Returns 0, or -1 after printing why (unreadable, another
 * provisioner's file, a malformed line: "path:line: why").
 */
int sk_prov_state_load(sk_prov_state_t *st, const char *path, const char *provisioner);
void sk_prov_state_fini(sk_prov_state_t *st);

/*
 * sk_prov_state_save — writes the whole state to a temporary file, fsyncs
 * it and renames it over path (and fsyncs the directory): a crash leaves the
 * old or the new file, never a mix. Drops done ids older than
 * SK_PROV_DONE_KEEP_MS before now. 0 or SK_EIO (errno-based reason logged).
 */
int sk_prov_state_save(sk_prov_state_t *st, sk_ms_t now);

sk_prov_grant_t *sk_prov_state_grant(sk_prov_state_t *st, const char *user, const char *ent);

/* Sets (adds or updates) the grant of (user, ent). 0 or SK_ENOMEM. */
int sk_prov_state_set_grant(sk_prov_state_t *st, const char *user, const char *ent,
                            const char *member, const char *command_id, sk_ms_t expires_at_ms);

/* Removes the grant of (user, ent), if any. */
void sk_prov_state_drop_grant(sk_prov_state_t *st, const char *user, const char *ent);

const sk_prov_done_t *sk_prov_state_done(const sk_prov_state_t *st, const char *command_id);
int sk_prov_state_add_done(sk_prov_state_t *st, const char *command_id,
                           sk_provisioning_status_t result, sk_ms_t at_ms);

/* ---- the runtime (runtime.c) ---- */

typedef struct sk_prov_opts {
    const char *prog;
    const char *brokers;
    const char *group;
    const char *commands_topic, *results_topic;
    const char *const *kafka_props; /* "name=value" */
    size_t n_kafka_props;
    const char *metrics_addr; /* "127.0.0.1:9464", or NULL */
    bool check_only;          /* --check: load, check the target, exit */
} sk_prov_opts_t;

/*
 * sk_prov_run — runs the provisioner of config file conf_path until
 * SIGTERM/SIGINT. Returns the exit status: 0 stopped; 1 cannot start (bad
 * configuration, target unreachable or lacking an object, state file
 * unreadable, Kafka client not creatable).
 */
int sk_prov_run(const sk_prov_opts_t *o, const char *conf_path);

#endif
