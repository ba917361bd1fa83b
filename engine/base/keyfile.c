/*
 * keyfile.c — Ed25519 keys (libsodium) and secret files. See keyfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/keyfile.h"
#include "base/sk.h"

int sk_keyfile_init(void)
{
    return sodium_init() < 0 ? SK_EIO : 0;
}

int sk_keyfile_generate(const char *signer, const unsigned char *seed, sk_signing_key_t *k)
{
    unsigned char rnd[SK_KEY_SEED_LEN];
    size_t n = signer ? strlen(signer) : 0;
    int rc = SK_EINVAL;

    memset(k, 0, sizeof(*k));
    if (sk_keyfile_init() != 0)
        return SK_EIO;
    if (n == 0 || n > SK_KEY_SIGNER_MAX || !sk_id_valid(signer, n))
        goto out;
    if (!seed) {
        randombytes_buf(rnd, sizeof(rnd));
        seed = rnd;
    }
    if (crypto_sign_seed_keypair(k->pub, k->secret, seed) != 0) {
        rc = SK_EIO;
        goto out;
    }
    memcpy(k->signer, signer, n + 1);
    rc = 0;
out:
    sodium_memzero(rnd, sizeof(rnd));
    return rc;
}

int sk_keyfile_check_private(const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return SK_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file", path);
        return SK_EINVAL;
    }
    /* group read stays allowed: Kubernetes mounts secrets 0440 for the
     * pod's fsGroup; others, and anyone but the owner writing, are refused */
    if (st.st_mode & (S_IRWXO | S_IWGRP | S_IXGRP)) {
        snprintf(err, err_len,
                 "%s: holds a secret but its mode %03o lets others read or change it; run "
                 "`chmod 600 %s`",
                 path, (unsigned)(st.st_mode & 0777), path);
        return SK_EINVAL;
    }
    return 0;
}

int sk_keyfile_write(const char *path, const sk_signing_key_t *k, char *err, size_t err_len)
{
    char line[SK_KEY_SIGNER_MAX + 128];
    char b64[64];
    int fd = -1, rc = SK_EIO;
    size_t len;

    if (sk_keyfile_init() != 0) {
        snprintf(err, err_len, "libsodium cannot start");
        return SK_EIO;
    }
    sodium_bin2base64(b64, sizeof(b64), k->secret, SK_KEY_SEED_LEN, sodium_base64_VARIANT_ORIGINAL);
    len = (size_t)snprintf(line, sizeof(line), "%s %s %s\n", SK_KEY_MAGIC, k->signer, b64);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path,
                 errno == EEXIST ? "exists; not replacing a key (remove it first)"
                                 : strerror(errno));
        rc = errno == EEXIST ? SK_EINVAL : SK_EIO;
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || write(fd, line, len) != (ssize_t)len || fsync(fd) != 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        rc = SK_EIO;
    }
    sodium_memzero(line, sizeof(line));
    sodium_memzero(b64, sizeof(b64));
    return rc;
}

int sk_keyfile_read(const char *path, sk_signing_key_t *k, char *err, size_t err_len)
{
    char buf[1024];
    char magic[32], signer[SK_KEY_SIGNER_MAX + 1], b64[128];
    unsigned char seed[64];
    size_t seed_len = 0, n = 0;
    FILE *f = NULL;
    int rc;

    memset(k, 0, sizeof(*k));
    if ((rc = sk_keyfile_check_private(path, err, err_len)) != 0)
        goto out;
    rc = SK_EIO;
    if (!(f = fopen(path, "re"))) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    rc = SK_EINVAL;
    if (n == sizeof(buf) - 1 || sscanf(buf, "%31s %255s %127s", magic, signer, b64) != 3 ||
        strcmp(magic, SK_KEY_MAGIC) != 0) {
        snprintf(err, err_len, "%s: not a shiftkey key file (expected '%s SIGNER SEED')", path,
                 SK_KEY_MAGIC);
        goto out;
    }
    if (sodium_base642bin(seed, sizeof(seed), b64, strlen(b64), NULL, &seed_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        seed_len != SK_KEY_SEED_LEN) {
        snprintf(err, err_len, "%s: the key is not 32 bytes of base64", path);
        goto out;
    }
    if ((rc = sk_keyfile_generate(signer, seed, k)) != 0) {
        snprintf(err, err_len, "%s: invalid signer id '%.64s'", path, signer);
        goto out;
    }
out:
    if (f)
        fclose(f);
    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(b64, sizeof(b64));
    sodium_memzero(seed, sizeof(seed));
    if (rc != 0)
        sodium_memzero(k, sizeof(*k));
    return rc;
}

void sk_keyfile_public_encode(const unsigned char pub[SK_KEY_PUBLIC_LEN], char *out)
{
    sodium_bin2base64(out, SK_KEY_PUBLIC_B64_LEN, pub, SK_KEY_PUBLIC_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
}

int sk_keyfile_public_decode(const char *b64, unsigned char pub[SK_KEY_PUBLIC_LEN])
{
    unsigned char tmp[48];
    size_t len = 0;
    const char *end = NULL;
    if (!b64 || sk_keyfile_init() != 0)
        return SK_EINVAL;
    if (sodium_base642bin(tmp, sizeof(tmp), b64, strlen(b64), NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *end != '\0' || len != SK_KEY_PUBLIC_LEN)
        return SK_EINVAL;
    memcpy(pub, tmp, SK_KEY_PUBLIC_LEN);
    return 0;
}

void sk_keyfile_wipe(sk_signing_key_t *k)
{
    sodium_memzero(k, sizeof(*k));
}

int sk_keyfile_read_settings(const char *path, char **props, size_t max, size_t *n, char *err,
                             size_t err_len)
{
    char line[4096];
    FILE *f = NULL;
    int rc, lineno = 0;

    if ((rc = sk_keyfile_check_private(path, err, err_len)) != 0)
        goto out;
    rc = SK_EIO;
    if (!(f = fopen(path, "re"))) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
    while (fgets(line, sizeof(line), f)) {
        char *s = line, *eq;
        lineno++;
        s[strcspn(s, "\r\n")] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        if (!(eq = strchr(s, '=')) || eq == s) {
            snprintf(err, err_len, "%s:%d: expected NAME=VALUE", path, lineno);
            rc = SK_EINVAL;
            break;
        }
        if (*n >= max) {
            snprintf(err, err_len, "%s:%d: too many settings (at most %zu)", path, lineno, max);
            rc = SK_EINVAL;
            break;
        }
        if (!(props[*n] = strdup(s))) {
            rc = SK_ENOMEM;
            break;
        }
        (*n)++;
    }
out:
    if (f)
        fclose(f);
    sodium_memzero(line, sizeof(line));
    return rc;
}
