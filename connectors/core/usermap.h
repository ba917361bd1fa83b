/*
 * usermap.h — platform users → directory ids (the `user` of schedule
 * events and the Kafka key).
 *
 * File: one mapping per line, `KEY=ID` or YAML-style `KEY: ID`; blank lines
 * and `#` comments are skipped; values may be quoted. KEY is an e-mail
 * address (matched case-insensitively) or a platform user id (PagerDuty
 * `PXXXXXX`, Opsgenie user id, ...; matched exactly). Without a file, or
 * for a user the file does not name, the id is the user's e-mail address in
 * lower case.
 */
#ifndef SK_CONN_USERMAP_H
#define SK_CONN_USERMAP_H

#include <stddef.h>

typedef struct sk_conn_usermap sk_conn_usermap_t;

/* Loads path (NULL = no file: every user maps to its e-mail). NULL on error,
 * with "users.map:4: expected KEY=ID or KEY: ID" in err. */
sk_conn_usermap_t *sk_conn_usermap_new(const char *path, char *err, size_t errlen);
void sk_conn_usermap_destroy(sk_conn_usermap_t *m);

/*
 * sk_conn_usermap_resolve — the directory id of a platform user: the entry
 * for platform_id, else the entry for email, else email lower-cased. Writes
 * into buf and returns it, or NULL when the user has neither a mapping nor
 * an e-mail address.
 */
const char *sk_conn_usermap_resolve(const sk_conn_usermap_t *m, const char *platform_id,
                                    const char *email, char *buf, size_t len);

/* Number of entries (for the start-up log line). */
size_t sk_conn_usermap_size(const sk_conn_usermap_t *m);

#endif
