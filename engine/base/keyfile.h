/*
 * keyfile.h — Ed25519 signing keys (libsodium) and the files that hold
 * secrets: signing keys, and credential files such as Kafka's SASL settings.
 *
 * A key file is one line of text, written 0600 and refused when its mode
 * lets others (the world) read it or anyone but the owner change it (group
 * read is allowed: Kubernetes mounts secrets 0440 for the pod's fsGroup):
 *
 *   shiftkey-ed25519-v1 <signer id> <base64 of the 32-byte seed>
 *
 * Public keys, as written in the rules (`signers:`) and printed by
 * `shiftkey keygen`, are the 32-byte Ed25519 public key in standard base64
 * (44 characters with the '=' padding). Private keys never go in the rules.
 */
#ifndef SK_KEYFILE_H
#define SK_KEYFILE_H

#include <stddef.h>

#define SK_KEY_PUBLIC_LEN     32
#define SK_KEY_SEED_LEN       32
#define SK_KEY_SECRET_LEN     64
#define SK_KEY_SIGNER_MAX     255
#define SK_KEY_PUBLIC_B64_LEN 45 /* 44 characters and the NUL */
#define SK_KEY_MAGIC          "shiftkey-ed25519-v1"

/* A signing key in memory. The secret is the libsodium form (seed then
 * public key); wipe with sk_keyfile_wipe() when done. */
typedef struct sk_signing_key {
    char signer[SK_KEY_SIGNER_MAX + 1];
    unsigned char secret[SK_KEY_SECRET_LEN];
    unsigned char pub[SK_KEY_PUBLIC_LEN];
} sk_signing_key_t;

/*
 * sk_keyfile_init — initialises libsodium once (idempotent, thread-safe as
 * libsodium's sodium_init). 0, or SK_EIO when the library cannot start.
 * Every function below calls it.
 */
int sk_keyfile_init(void);

/*
 * sk_keyfile_generate — a new random key for signer (a valid id, at most
 * SK_KEY_SIGNER_MAX bytes). 0 or SK_EINVAL / SK_EIO. When seed is not NULL
 * the key is derived from those SK_KEY_SEED_LEN bytes instead (tests).
 */
int sk_keyfile_generate(const char *signer, const unsigned char *seed, sk_signing_key_t *k);

/*
 * sk_keyfile_write — writes k to a new file at path with mode 0600; refuses
 * to replace an existing file (SK_EINVAL, "exists"). 0, SK_EINVAL or
 * SK_EIO with a readable message in err.
 */
int sk_keyfile_write(const char *path, const sk_signing_key_t *k, char *err, size_t err_len);

/*
 * sk_keyfile_read — reads a key file. Refuses (SK_EINVAL) a file that is
 * not a regular file, whose mode is more open than 0640, or
 * whose content is not one key line; SK_EIO when it cannot be read.
 * err names the path and the reason. *k is wiped on error.
 */
int sk_keyfile_read(const char *path, sk_signing_key_t *k, char *err, size_t err_len);

/*
 * sk_keyfile_check_private — 0 if path is a regular file that the world
 * may not read and only its owner may change (mode at most 0640);
 * SK_EINVAL (too open: the
 * message says `chmod 600 PATH`), SK_EIO (cannot stat) with err. For every
 * file holding a secret: key files, credential files.
 */
int sk_keyfile_check_private(const char *path, char *err, size_t err_len);

/*
 * sk_keyfile_read_settings — reads a credentials file of librdkafka
 * settings, one `name=value` a line (blank lines and lines starting with
 * '#' skipped; e.g. sasl.password=...), after sk_keyfile_check_private.
 * Appends each line as a new heap string to props (at most max in all,
 * *n counts them); the caller frees each. 0, or SK_EINVAL / SK_EIO with
 * err naming the path (and the line: "creds:3: expected NAME=VALUE").
 */
int sk_keyfile_read_settings(const char *path, char **props, size_t max, size_t *n, char *err,
                             size_t err_len);

/* Base64 (standard, padded) of a public key into out (>= SK_KEY_PUBLIC_B64_LEN). */
void sk_keyfile_public_encode(const unsigned char pub[SK_KEY_PUBLIC_LEN], char *out);

/* Decodes a base64 public key (exactly 32 bytes, surrounding spaces not
 * allowed). 0 or SK_EINVAL. */
int sk_keyfile_public_decode(const char *b64, unsigned char pub[SK_KEY_PUBLIC_LEN]);

/* Overwrites the secret in k (sodium_memzero). */
void sk_keyfile_wipe(sk_signing_key_t *k);

#endif
