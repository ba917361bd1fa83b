/*
 * resp.h — one Redis command written as RESP straight into one reused,
 * growing buffer (the bytes hiredis' redisFormatCommandArgv would produce
 * for the same arguments), to be handed to hiredis whole with
 * redisAppendFormattedCommand: no argv[] of small strings, no second
 * formatting pass. What the apply call (store_apply.c) is built with.
 *
 * Use: sk_resp_begin(&b, argc); then exactly argc of sk_resp_arg /
 * sk_resp_str / sk_resp_i64 / sk_resp_arg_open; cmd = sk_resp_end(&b, &len).
 * A failed allocation is remembered and makes sk_resp_end return NULL, so
 * the appends need no checks.
 */
#ifndef SK_RESP_H
#define SK_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sk_resp {
    char *buf;       /* owned (malloc); kept across commands */
    size_t len, cap; /* bytes written, bytes allocated */
    size_t argc, n;  /* arguments announced by begin, arguments written */
    bool failed;     /* an allocation failed: end returns NULL */
} sk_resp_t;

/* An empty builder (no allocation yet). */
void sk_resp_init(sk_resp_t *b);

/* Frees the buffer; b may be initialised again. */
void sk_resp_fini(sk_resp_t *b);

/* A buffer larger than this is freed at the next begin, not kept. */
#define SK_RESP_KEEP (8u << 20)

/* Starts a command of argc arguments, dropping what the buffer held (its
 * memory is kept up to SK_RESP_KEEP). */
void sk_resp_begin(sk_resp_t *b, size_t argc);

/* Appends an argument of n bytes (binary, may be 0). */
void sk_resp_arg(sk_resp_t *b, const void *p, size_t n);

/* Appends the NUL-terminated s as an argument. */
void sk_resp_str(sk_resp_t *b, const char *s);

/* Appends v in decimal ("%" PRId64) as an argument. */
void sk_resp_i64(sk_resp_t *b, int64_t v);

/* Appends an argument of n bytes the caller writes at the pointer returned
 * (valid until the next append), or NULL when an allocation failed. */
void *sk_resp_arg_open(sk_resp_t *b, size_t n);

/* The command: *len bytes at the pointer returned, owned by b and valid
 * until its next begin or fini; NULL when an allocation failed or the
 * number of arguments written is not the one begin announced. */
const char *sk_resp_end(sk_resp_t *b, size_t *len);

#endif
