/*
 * cli_sign.c — key files of the CLI user and the signature headers of
 * what the CLI publishes (see cli_sign.h).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/sk.h"
#include "cli/cli_sign.h"
#include "codec/envelope.h"

const char *sk_cli_key_dir(char *buf, size_t len)
{
    const char *d = getenv("SHIFTKEY_KEY_DIR"), *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
    if (d && *d)
        snprintf(buf, len, "%s", d);
    else if (x && *x)
        snprintf(buf, len, "%s/shiftkey/keys", x);
    else if (h && *h)
        snprintf(buf, len, "%s/.config/shiftkey/keys", h);
    else
        return NULL;
    return buf;
}

/* The only "*.key" file of dir into path; 0, or 1 with err. */
static int only_key(const char *dir, char *path, size_t path_len, char *err, size_t err_len)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = 0;
    if (!d) {
        snprintf(err, err_len, "no signing key: %s: %s (create one with `shiftkey keygen YOUR-ID`)",
                 dir, strerror(errno));
        return 1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".key") == 0) {
            if (found++ == 0 &&
                (size_t)snprintf(path, path_len, "%s/%s", dir, de->d_name) >= path_len)
                found = 99; /* a path too long to use: refuse below */
        }
    }
    closedir(d);
    if (found == 1)
        return 0;
    if (found) {
        snprintf(err, err_len, "%d keys in %s: choose one with --as ID", found, dir);
        return 2; /* a usage error: the user must say which */
    } else
        snprintf(err, err_len, "no signing key in %s (create one with `shiftkey keygen YOUR-ID`)",
                 dir);
    return 1;
}

int sk_cli_key_load(const char *as, const char *key_file, sk_signing_key_t *k, char *err,
                    size_t err_len)
{
    char dir[1024], path[1200];
    if (!key_file || !*key_file)
        key_file = getenv("SHIFTKEY_KEY");
    if (key_file && *key_file) {
        snprintf(path, sizeof(path), "%s", key_file);
    } else {
        if (!sk_cli_key_dir(dir, sizeof(dir))) {
            snprintf(err, err_len, "no key directory: set $SHIFTKEY_KEY_DIR or $HOME");
            return 1;
        }
        if (as && *as) {
            if (!sk_id_valid(as, strlen(as)) || strchr(as, '/')) {
                snprintf(err, err_len, "invalid id '%.64s'", as);
                return 1;
            }
            snprintf(path, sizeof(path), "%s/%s.key", dir, as);
        } else {
            int rc = only_key(dir, path, sizeof(path), err, err_len);
            if (rc != 0)
                return rc;
        }
    }
    errno = 0; /* ENOENT below must come from this read, not from an earlier call */
    if (sk_keyfile_read(path, k, err, err_len) != 0) {
        if (as && *as && errno == ENOENT)
            snprintf(err, err_len,
                     "you hold no key for '%.64s' (%s): --as only selects among your own keys", as,
                     path);
        return 1;
    }
    if (as && *as && strcmp(as, k->signer) != 0) {
        snprintf(err, err_len, "%s is the key of '%.64s', not of '%.64s'", path, k->signer, as);
        sk_keyfile_wipe(k);
        return 1;
    }
    return 0;
}

rd_kafka_headers_t *sk_cli_sign_headers(const sk_signing_key_t *k, const char *topic,
                                        const char *key, const void *val, size_t len)
{
    unsigned char env[SK_ENVELOPE_MAX];
    size_t env_len = 0;
    rd_kafka_headers_t *h;
    if (sk_envelope_sign(k, topic, key, key ? strlen(key) : 0, val, len, sk_now_ms(), env,
                         sizeof(env), &env_len) != 0)
        return NULL;
    h = rd_kafka_headers_new(1);
    if (h && rd_kafka_header_add(h, SK_ENVELOPE_HEADER, -1, env, env_len) != 0) {
        rd_kafka_headers_destroy(h);
        return NULL;
    }
    return h;
}

int sk_cli_signer(const char *cmd, const char *as, const char *key_file, sk_signing_key_t *k)
{
    char err[1024];
    int rc;
    if (!as || !*as)
        as = getenv("SHIFTKEY_USER");
    if ((rc = sk_cli_key_load(as, key_file, k, err, sizeof(err))) != 0)
        fprintf(stderr, "%s: %s\n", cmd, err);
    return rc;
}

int sk_cli_kafka_credentials(rd_kafka_conf_t *conf)
{
    const char *path = getenv("SHIFTKEY_KAFKA_CONFIG_FILE");
    char *props[64], err[512];
    size_t n = 0;
    int rc = 0;
    if (!path || !*path)
        return 0;
    if (sk_keyfile_read_settings(path, props, SK_ARRAY_LEN(props), &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "shiftkey: $SHIFTKEY_KAFKA_CONFIG_FILE: %s\n", err);
        rc = 1;
    }
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(props[i], '=');
        *eq = '\0';
        if (rc == 0 && rd_kafka_conf_set(conf, props[i], eq + 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "shiftkey: $SHIFTKEY_KAFKA_CONFIG_FILE: %s: %s\n", props[i], err);
            rc = 1;
        }
        sodium_memzero(eq + 1, strlen(eq + 1));
        free(props[i]);
    }
    return rc;
}

static void keygen_usage(FILE *out)
{
    fprintf(out, "usage: shiftkey keygen ID [--key-dir DIR | --out FILE]\n\n"
                 "Creates an Ed25519 signing key for ID (your person id, or a front's signer id),\n"
                 "writes it 0600 to DIR/ID.key (default: $SHIFTKEY_KEY_DIR, else\n"
                 "$XDG_CONFIG_HOME/shiftkey/keys, else ~/.config/shiftkey/keys) and prints the\n"
                 "public key for the rules' `signers:`. An existing key is never replaced.\n");
}

int sk_cli_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key-dir", 1, 0, 'd'}, {"out", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir_flag = NULL, *out = NULL;
    char dir[1024], path[1200], err[512], b64[SK_KEY_PUBLIC_B64_LEN];
    sk_signing_key_t k;
    int c, rc = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            dir_flag = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            keygen_usage(stdout);
            return 0;
        } else {
            keygen_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        keygen_usage(stderr);
        return 2;
    }
    const char *id = argv[optind];
    if (sk_keyfile_generate(id, NULL, &k) != 0) {
        fprintf(stderr, "shiftkey keygen: invalid id '%s'\n", id);
        return 2;
    }
    if (!out) {
        if (dir_flag)
            snprintf(dir, sizeof(dir), "%s", dir_flag);
        else if (!sk_cli_key_dir(dir, sizeof(dir))) {
            fprintf(stderr, "shiftkey keygen: no key directory: pass --key-dir or set $HOME\n");
            goto out;
        }
        /* the directory is private too */
        char sub[1024];
        for (char *p = dir + 1; *p; p++)
            if (*p == '/') {
                snprintf(sub, sizeof(sub), "%.*s", (int)(p - dir), dir);
                (void)mkdir(sub, 0700);
            }
        (void)mkdir(dir, 0700);
        snprintf(path, sizeof(path), "%s/%s.key", dir, id);
        out = path;
    }
    if (sk_keyfile_write(out, &k, err, sizeof(err)) != 0) {
        fprintf(stderr, "shiftkey keygen: %s\n", err);
        goto out;
    }
    sk_keyfile_public_encode(k.pub, b64);
    printf("%s\n", b64);
    fprintf(stderr,
            "shiftkey keygen: key of '%s' written to %s (keep it private); declare it in the "
            "rules:\n  signers:\n    - id: %s\n      public_keys: [\"%s\"]\n",
            id, out, id, b64);
    rc = 0;
out:
    sk_keyfile_wipe(&k);
    return rc;
}
