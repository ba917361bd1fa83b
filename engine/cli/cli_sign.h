/*
 * cli_sign.h — the CLI's signing keys: `shiftkey keygen`, and the key the
 * CLI signs each request and provisioning result with (README.md, "Signed
 * actions"). The user's keys are files `<dir>/<signer id>.key` (0600) in
 * $SHIFTKEY_KEY_DIR, else $XDG_CONFIG_HOME/shiftkey/keys, else
 * ~/.config/shiftkey/keys; `--key FILE` (or $SHIFTKEY_KEY) names one file.
 * `--as` only selects among the keys held: nobody can act as someone whose
 * private key they do not have.
 */
#ifndef SK_CLI_SIGN_H
#define SK_CLI_SIGN_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "base/keyfile.h"

/* The key directory (see above) into buf; NULL when no home is known. */
const char *sk_cli_key_dir(char *buf, size_t len);

/*
 * sk_cli_key_load — the key to sign with: key_file (or $SHIFTKEY_KEY) when
 * set, whose signer must be `as` when `as` is given; else `<dir>/<as>.key`;
 * else the only key of the directory. 0; 2 with the reason in err when the
 * directory holds several keys and none was chosen (a usage error); 1 for
 * the rest (no key, a key file others may read, another signer's key, ...).
 */
int sk_cli_key_load(const char *as, const char *key_file, sk_signing_key_t *k, char *err,
                    size_t err_len);

/*
 * sk_cli_sign_headers — Kafka headers carrying the "sk-sig" envelope of
 * (topic, key, value) signed by k now. The caller owns the result (hand it
 * to rd_kafka_producev with RD_KAFKA_V_HEADERS, which takes it over on
 * success). NULL when signing failed.
 */
rd_kafka_headers_t *sk_cli_sign_headers(const sk_signing_key_t *k, const char *topic,
                                        const char *key, const void *val, size_t len);

/*
 * sk_cli_signer — the key the CLI acts with: selected by `as` (--as), else
 * $SHIFTKEY_USER, else the only key held (sk_cli_key_load, key_file from
 * --key). The actor of every event is k->signer. 0, or sk_cli_key_load's
 * 1 or 2 (an exit code) with the reason on stderr prefixed by `cmd`.
 */
int sk_cli_signer(const char *cmd, const char *as, const char *key_file, sk_signing_key_t *k);

/*
 * sk_cli_kafka_credentials — sets on conf the librdkafka settings of the
 * file $SHIFTKEY_KAFKA_CONFIG_FILE (NAME=VALUE lines: SASL, TLS), refused
 * when others may read it; nothing when the variable is unset. 0, or 1
 * with the reason on stderr. Credentials never on the command line.
 */
int sk_cli_kafka_credentials(rd_kafka_conf_t *conf);

/* `shiftkey keygen ID [--key-dir DIR | --out FILE]`: exit code 0, 1, 2. */
int sk_cli_keygen(int argc, char **argv);

#endif
