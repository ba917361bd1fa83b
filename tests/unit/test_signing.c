/*
 * test_signing.c — the pieces of signed actions: murmur2 partitioning
 * (Java's test vectors), the "sk-sig" envelope (round trip, every altered
 * field refused, malformed envelopes refused), key files (0600, refused when
 * others may read them), the signer rules, and sk_identity_check's verdicts.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/keyfile.h"
#include "base/log.h"
#include "base/keyhash.h"
#include "codec/envelope.h"
#include "decide/identity.h"
#include "rules/signers.h"
#include "sk_test.h"

/* Kafka's UtilsTest.testMurmur2 vectors (Java int results). */
TEST(murmur2_matches_java)
{
    static const struct {
        const char *key;
        int32_t java;
    } v[] = {{"21", -973932308},
             {"foobar", -790332482},
             {"a-little-bit-long-string", -985981536},
             {"a-little-bit-longer-string", -1486304829},
             {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
             {"abc", 479470107}};
    for (size_t i = 0; i < SK_ARRAY_LEN(v); i++)
        CHECK_INT((int32_t)sk_keyhash_murmur2(v[i].key, strlen(v[i].key)), v[i].java);
}

TEST(partition_for_key_is_positive_modulo)
{
    /* "21" hashes negative: Java masks the sign bit before the modulo */
    uint32_t h = sk_keyhash_murmur2("21", 2);
    CHECK_INT(sk_keyhash_partition("21", 2, 7), (int32_t)((h & 0x7fffffff) % 7));
    CHECK_INT(sk_keyhash_partition("21", 2, 1), 0);
    CHECK_INT(sk_keyhash_partition("21", 2, 0), -1);
    for (int n = 1; n < 50; n++) {
        int32_t p = sk_keyhash_partition("carol@example.com", 17, n);
        CHECK(p >= 0 && p < n);
    }
}

static void key_for(const char *signer, unsigned char fill, sk_signing_key_t *k)
{
    unsigned char seed[SK_KEY_SEED_LEN];
    memset(seed, fill, sizeof(seed));
    CHECK_INT(sk_keyfile_generate(signer, seed, k), 0);
}

TEST(envelope_round_trip_and_every_field_bound)
{
    sk_signing_key_t k;
    sk_envelope_t env;
    unsigned char buf[SK_ENVELOPE_MAX];
    size_t len = 0;
    const char *val = "\0\0\0\x03\xedpayload";
    key_for("carol@example.com", 7, &k);
    CHECK_INT(sk_envelope_sign(&k, "shiftkey.requests.v1", "bob", 3, val, 12, 1700000000123, buf,
                               sizeof(buf), &len),
              0);
    CHECK_INT(len, 74 + strlen("carol@example.com"));
    CHECK_INT(buf[0], 1);
    CHECK_INT(buf[1], strlen("carol@example.com"));
    CHECK_INT(sk_envelope_parse(buf, len, &env, NULL, 0), 0);
    CHECK_STR(env.signer, "carol@example.com");
    CHECK_INT(env.issued_at_ms, 1700000000123);
    CHECK_INT(sk_envelope_verify(&env, k.pub, "shiftkey.requests.v1", "bob", 3, val, 12), 0);
    /* another topic, key, value, time or signer id: refused */
    CHECK_INT(
        sk_envelope_verify(&env, k.pub, "shiftkey.provisioning.results.v1", "bob", 3, val, 12),
        SK_EINVAL);
    CHECK_INT(sk_envelope_verify(&env, k.pub, "shiftkey.requests.v1", "bob2", 4, val, 12),
              SK_EINVAL);
    CHECK_INT(sk_envelope_verify(&env, k.pub, "shiftkey.requests.v1", "bob", 3, val, 11),
              SK_EINVAL);
    sk_envelope_t t = env;
    t.issued_at_ms++;
    CHECK_INT(sk_envelope_verify(&t, k.pub, "shiftkey.requests.v1", "bob", 3, val, 12), SK_EINVAL);
    t = env;
    t.signer[0] = 'd';
    CHECK_INT(sk_envelope_verify(&t, k.pub, "shiftkey.requests.v1", "bob", 3, val, 12), SK_EINVAL);
    t = env;
    t.sig[10] ^= 1;
    CHECK_INT(sk_envelope_verify(&t, k.pub, "shiftkey.requests.v1", "bob", 3, val, 12), SK_EINVAL);
    /* another key */
    sk_signing_key_t other;
    key_for("carol@example.com", 8, &other);
    CHECK_INT(sk_envelope_verify(&env, other.pub, "shiftkey.requests.v1", "bob", 3, val, 12),
              SK_EINVAL);
}

TEST(envelope_parse_refuses_malformed)
{
    sk_signing_key_t k;
    sk_envelope_t env;
    unsigned char buf[SK_ENVELOPE_MAX + 1];
    size_t len = 0;
    char why[256];
    key_for("a", 1, &k);
    CHECK_INT(sk_envelope_sign(&k, "t", NULL, 0, "", 0, 1, buf, sizeof(buf), &len), 0);
    CHECK_INT(len, 75);
    CHECK_INT(sk_envelope_parse(NULL, 0, &env, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "too short");
    CHECK_INT(sk_envelope_parse(buf, len - 1, &env, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "expected 75");
    CHECK_INT(sk_envelope_parse(buf, len + 1, &env, why, sizeof(why)), SK_EPARSE);
    buf[0] = 2;
    CHECK_INT(sk_envelope_parse(buf, len, &env, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "version 2");
    buf[0] = 1;
    buf[2] = ' ';
    CHECK_INT(sk_envelope_parse(buf, len, &env, why, sizeof(why)), SK_EPARSE);
    CHECK_CONTAINS(why, "invalid signer");
    buf[2] = 'a';
    buf[1] = 0;
    CHECK_INT(sk_envelope_parse(buf, len, &env, why, sizeof(why)), SK_EPARSE);
    buf[1] = 1;
    CHECK_INT(sk_envelope_parse(buf, len, &env, why, sizeof(why)), 0);
    /* a signer id too long to sign, or out buffer too small */
    CHECK_INT(sk_envelope_sign(&k, "t", NULL, 0, "", 0, 1, buf, 74, &len), SK_EINVAL);
}

TEST(keyfile_written_0600_read_back_and_refused_when_open)
{
    char dir[] = "/tmp/sk-keys-XXXXXX", path[128], err[256];
    sk_signing_key_t k, r;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/dave.key", dir);
    CHECK_INT(sk_keyfile_generate("dave@example.com", NULL, &k), 0);
    CHECK_INT(sk_keyfile_write(path, &k, err, sizeof(err)), 0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(sk_keyfile_read(path, &r, err, sizeof(err)), 0);
    CHECK_STR(r.signer, "dave@example.com");
    CHECK(memcmp(r.pub, k.pub, sizeof(k.pub)) == 0);
    CHECK(memcmp(r.secret, k.secret, sizeof(k.secret)) == 0);
    /* never replaced */
    CHECK_INT(sk_keyfile_write(path, &k, err, sizeof(err)), SK_EINVAL);
    CHECK_CONTAINS(err, "exists");
    /* readable by anyone: refused, with the fix; writable by the group too */
    CHECK_INT(chmod(path, 0644), 0);
    CHECK_INT(sk_keyfile_read(path, &r, err, sizeof(err)), SK_EINVAL);
    CHECK_CONTAINS(err, "chmod 600");
    CHECK_INT(chmod(path, 0660), 0);
    CHECK_INT(sk_keyfile_check_private(path, err, sizeof(err)), SK_EINVAL);
    /* group read (a Kubernetes secret mounted 0440 for the fsGroup) is allowed */
    CHECK_INT(chmod(path, 0440), 0);
    CHECK_INT(sk_keyfile_check_private(path, err, sizeof(err)), 0);
    CHECK_INT(chmod(path, 0604), 0);
    CHECK_INT(sk_keyfile_check_private(path, err, sizeof(err)), SK_EINVAL);
    CHECK_INT(chmod(path, 0600), 0);
    CHECK_INT(sk_keyfile_check_private(path, err, sizeof(err)), 0);
    /* garbage */
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/bad.key", dir);
    FILE *f = fopen(bad, "w");
    fputs("shiftkey-ed25519-v1 x c2hvcnQ=\n", f);
    fclose(f);
    chmod(bad, 0600);
    CHECK_INT(sk_keyfile_read(bad, &r, err, sizeof(err)), SK_EINVAL);
    CHECK_CONTAINS(err, "32 bytes");
    unlink(bad);
    unlink(path);
    rmdir(dir);
}

TEST(public_key_base64)
{
    sk_signing_key_t k;
    char b64[SK_KEY_PUBLIC_B64_LEN];
    unsigned char pub[SK_KEY_PUBLIC_LEN];
    key_for("x", 3, &k);
    sk_keyfile_public_encode(k.pub, b64);
    CHECK_INT(strlen(b64), 44);
    CHECK_INT(sk_keyfile_public_decode(b64, pub), 0);
    CHECK(memcmp(pub, k.pub, sizeof(pub)) == 0);
    CHECK_INT(sk_keyfile_public_decode("c2hvcnQ=", pub), SK_EINVAL);
    CHECK_INT(sk_keyfile_public_decode("not base64!", pub), SK_EINVAL);
    b64[43] = '\0';
    CHECK_INT(sk_keyfile_public_decode(b64, pub), SK_EINVAL);
}

/* ---- signer rules and verification ---- */

static sk_rules_t *load_rules(void)
{
    sk_rules_errors_t errs;
    sk_rules_errors_init(&errs);
    sk_rules_t *r = sk_rules_load("tests/rules/requests", &errs);
    if (!r)
        sk_rules_errors_print(&errs, stderr);
    sk_rules_errors_fini(&errs);
    return r;
}

/* tests/lib/sk_sign_fx.c's derivation, repeated so this unit test stays
 * free of the fixture: seed = BLAKE2b-256(signer). */
static void sk_fx_test_key_local(const char *signer, sk_signing_key_t *k)
{
    unsigned char seed[SK_KEY_SEED_LEN];
    (void)sk_keyfile_init();
    crypto_generichash(seed, sizeof(seed), (const unsigned char *)signer, strlen(signer), NULL, 0);
    CHECK_INT(sk_keyfile_generate(signer, seed, k), 0);
}

static sk_signing_key_t k_bob, k_slack, k_prov;
static unsigned char keys_bob[1][SK_KEY_PUBLIC_LEN], keys_slack[2][SK_KEY_PUBLIC_LEN],
    keys_prov[1][SK_KEY_PUBLIC_LEN];
static const char *const slack_vouch[] = {"ann", "group:eng"};
static const char *const prov_vouch[] = {"group:prov"};
static sk_signer_t signer_list[3];
static sk_signers_t signers;

static void setup_signers(sk_identity_mode_t mode)
{
    sk_signing_key_t old;
    key_for("bob", 11, &k_bob);
    key_for("slack", 12, &k_slack);
    key_for("slack", 13, &old);
    key_for("prov-bot", 14, &k_prov);
    memcpy(keys_bob[0], k_bob.pub, SK_KEY_PUBLIC_LEN);
    memcpy(keys_slack[0], old.pub, SK_KEY_PUBLIC_LEN); /* rotated: the old one first */
    memcpy(keys_slack[1], k_slack.pub, SK_KEY_PUBLIC_LEN);
    memcpy(keys_prov[0], k_prov.pub, SK_KEY_PUBLIC_LEN);
    signer_list[0] = (sk_signer_t){"bob", false, 1, keys_bob, 0, NULL};
    signer_list[1] = (sk_signer_t){"slack", true, 2, keys_slack, 2, slack_vouch};
    signer_list[2] = (sk_signer_t){"prov-bot", true, 1, keys_prov, 1, prov_vouch};
    signers = (sk_signers_t){mode, SK_SIGNING_WINDOW_DEFAULT_MS, 3, signer_list};
}

TEST(signers_may_vouch)
{
    sk_rules_t *r = load_rules();
    CHECK(r != NULL);
    setup_signers(SK_IDENTITY_SIGNED);
    CHECK(sk_signers_find(&signers, "slack") == &signer_list[1]);
    CHECK(sk_signers_find(&signers, "nobody") == NULL);
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[0], "bob"), 1);
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[0], "ann"), 0);
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[1], "ann"), 1);  /* named */
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[1], "carl"), 1); /* in eng */
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[1], "root"), 0); /* the admin: not in its set */
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[1], ""), 0);
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[2], "pat"), 1);
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[2], "prov"), 1);
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[2], "ann"), 0);
    /* a front acts for itself: an automatic provisioner answering as itself */
    CHECK_INT(sk_signers_may_vouch(r, &signer_list[2], "prov-bot"), 1);
    const char *what;
    CHECK_INT(sk_signers_check_entry(r, "group:eng", &what), 0);
    CHECK_INT(sk_signers_check_entry(r, "group:nope", &what), SK_ENOTFOUND);
    CHECK_STR(what, "group");
    CHECK_INT(sk_signers_check_entry(r, "zed", &what), SK_ENOTFOUND);
    CHECK_STR(what, "person");
    CHECK_INT(sk_signers_check_entry(r, "everyone", &what), 0);
    sk_rules_destroy(r);
}

static sk_identity_verdict_t verdict_of(const sk_rules_t *r, const sk_signing_key_t *k,
                                        const char *actor, sk_ms_t signed_at, sk_ms_t occurred,
                                        sk_ms_t now, int tamper, char *signer_out)
{
    unsigned char env[SK_ENVELOPE_MAX];
    size_t len = 0;
    const char *val = "value-bytes";
    sk_identity_result_t res;
    if (k)
        CHECK_INT(sk_envelope_sign(k, "req", "bob", 3, val, strlen(val), signed_at, env,
                                   sizeof(env), &len),
                  0);
    if (tamper == 1)
        env[len - 1] ^= 0x80;
    sk_identity_input_t in = {.topic = "req",
                              .key = "bob",
                              .key_len = 3,
                              .value = val,
                              .value_len = strlen(val) - (tamper == 2),
                              .envelope = k ? env : NULL,
                              .envelope_len = len,
                              .n_envelopes = k ? 1 : 0,
                              .actor = actor,
                              .occurred_at_ms = occurred,
                              .now_ms = now};
    CHECK_INT(sk_identity_check(&signers, r, &in, &res), 0);
    if (signer_out)
        strcpy(signer_out, res.signer);
    return res.verdict;
}

TEST(identity_verdicts)
{
    sk_rules_t *r = load_rules();
    sk_signing_key_t stranger, forged;
    const sk_ms_t now = 1800000000000;
    char who[256];
    setup_signers(SK_IDENTITY_SIGNED);
    key_for("eve", 20, &stranger);
    key_for("bob", 21, &forged); /* claims to be bob, another key */
    CHECK_INT(verdict_of(r, &k_bob, "bob", now, now, now, 0, who), SK_IDENTITY_OK);
    CHECK_STR(who, "bob");
    CHECK_INT(verdict_of(r, NULL, "bob", now, now, now, 0, NULL), SK_IDENTITY_UNSIGNED);
    CHECK_INT(verdict_of(r, &forged, "bob", now, now, now, 0, NULL), SK_IDENTITY_BAD_SIGNATURE);
    CHECK_INT(verdict_of(r, &k_bob, "bob", now, now, now, 1, NULL), SK_IDENTITY_BAD_SIGNATURE);
    CHECK_INT(verdict_of(r, &k_bob, "bob", now, now, now, 2, NULL), SK_IDENTITY_BAD_SIGNATURE);
    CHECK_INT(verdict_of(r, &stranger, "eve", now, now, now, 0, who), SK_IDENTITY_UNKNOWN_SIGNER);
    CHECK_STR(who, "eve");
    CHECK_INT(verdict_of(r, &k_bob, "ann", now, now, now, 0, NULL), SK_IDENTITY_NOT_ALLOWED);
    CHECK_INT(verdict_of(r, &k_slack, "carl", now, now, now, 0, NULL), SK_IDENTITY_OK);
    CHECK_INT(verdict_of(r, &k_slack, "root", now, now, now, 0, NULL), SK_IDENTITY_NOT_ALLOWED);
    /* the window: both the signing time and occurred_at */
    const sk_ms_t w = SK_SIGNING_WINDOW_DEFAULT_MS;
    CHECK_INT(verdict_of(r, &k_bob, "bob", now - w, now, now, 0, NULL), SK_IDENTITY_OK);
    CHECK_INT(verdict_of(r, &k_bob, "bob", now - w - 1, now, now, 0, NULL),
              SK_IDENTITY_OUT_OF_WINDOW);
    CHECK_INT(verdict_of(r, &k_bob, "bob", now, now + w + 1, now, 0, NULL),
              SK_IDENTITY_OUT_OF_WINDOW);
    CHECK_INT(verdict_of(r, &k_bob, "bob", now - 86400000, now - 86400000, now, 0, NULL),
              SK_IDENTITY_OUT_OF_WINDOW);
    /* demo mode accepts unsigned records, but still refuses forged ones */
    setup_signers(SK_IDENTITY_UNSIGNED_DEMO);
    CHECK_INT(verdict_of(r, NULL, "bob", now, now, now, 0, NULL), SK_IDENTITY_UNSIGNED_OK);
    CHECK_INT(verdict_of(r, &forged, "bob", now, now, now, 0, NULL), SK_IDENTITY_BAD_SIGNATURE);
    sk_rules_destroy(r);
}

TEST(identity_refuses_two_envelopes_and_garbage)
{
    sk_identity_result_t res;
    setup_signers(SK_IDENTITY_SIGNED);
    sk_identity_input_t in = {.topic = "req",
                              .value = "v",
                              .value_len = 1,
                              .envelope = "xx",
                              .envelope_len = 2,
                              .n_envelopes = 1,
                              .actor = "bob",
                              .now_ms = 1};
    CHECK_INT(sk_identity_check(&signers, NULL, &in, &res), 0);
    CHECK_INT(res.verdict, SK_IDENTITY_MALFORMED);
    in.n_envelopes = 2;
    CHECK_INT(sk_identity_check(&signers, NULL, &in, &res), 0);
    CHECK_INT(res.verdict, SK_IDENTITY_MALFORMED);
    CHECK_CONTAINS(res.reason, "2 sk-sig headers");
}

/* The loader: signers of tests/rules/requests, and every signer error. */
TEST(rules_signers_loaded)
{
    sk_rules_t *r = load_rules();
    sk_signing_key_t k;
    const sk_signers_t *s = sk_rules_signers(r);
    CHECK(s != NULL);
    CHECK_INT(s->mode, SK_IDENTITY_SIGNED);
    CHECK_INT(s->window_ms, 5 * 60 * 1000);
    CHECK_INT(s->n, 8);
    const sk_signer_t *front = sk_signers_find(s, "fx-front");
    CHECK(front && front->front && front->n_keys == 1);
    /* the key in the YAML is the C test key: both come from the same seed */
    sk_fx_test_key_local("fx-front", &k);
    CHECK(front && memcmp(front->keys[0], k.pub, SK_KEY_PUBLIC_LEN) == 0);
    const sk_signer_t *ann = sk_signers_find(s, "ann");
    CHECK(ann && !ann->front);
    CHECK_INT(sk_signers_may_vouch(r, sk_signers_find(s, "fx-slack"), "carl"), 1);
    sk_rules_destroy(r);
}

static int load_errors(const char *yaml, char *first, size_t len)
{
    char dir[] = "/tmp/sk-rules-XXXXXX", path[64];
    sk_rules_errors_t errs;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/r.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs("people:\n  - id: ann\n    groups: [eng]\ngroups:\n  - id: eng\n", f);
    fputs(yaml, f);
    fclose(f);
    sk_rules_errors_init(&errs);
    sk_rules_t *r = sk_rules_load(dir, &errs);
    int n = (int)errs.count;
    snprintf(first, len, "%s", n ? errs.items[0].message : "");
    if (n)
        fprintf(stderr, "    (%s:%d:%d: %s)\n", "r.yaml", errs.items[0].line, errs.items[0].column,
                errs.items[0].message);
    sk_rules_errors_fini(&errs);
    sk_rules_destroy(r);
    unlink(path);
    rmdir(dir);
    return n;
}

TEST(rules_signer_errors)
{
    char m[512];
    const char *key = "jm/sMRVxSEoqqHcE7rxXUwqFZODuRHLUQMLLWIXLwWY=";
    char y[1024];
    CHECK_INT(load_errors("identity: unsigned-demo\n", m, sizeof(m)), 0);
    CHECK_INT(load_errors("identity: trust-me\n", m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "bad identity 'trust-me'");
    CHECK_INT(load_errors("signing_window: 0\n", m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "bad signing_window");
    snprintf(y, sizeof(y), "signers:\n  - id: zed\n    public_keys: [\"%s\"]\n", key);
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "unknown person 'zed' as signer");
    snprintf(y, sizeof(y), "signers:\n  - id: ann\n    public_keys: [\"c2hvcnQ=\"]\n");
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "bad public key of signer 'ann'");
    snprintf(y, sizeof(y), "signers:\n  - id: ann\n");
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "no public_keys");
    snprintf(y, sizeof(y), "signers:\n  - id: slack\n    front: true\n    public_keys: [\"%s\"]\n",
             key);
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "vouches for nobody");
    snprintf(y, sizeof(y),
             "signers:\n  - id: slack\n    front: true\n    public_keys: [\"%s\"]\n"
             "    vouches_for: [group:engg]\n",
             key);
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "unknown group 'engg'");
    CHECK_CONTAINS(m, "did you mean 'eng'");
    snprintf(y, sizeof(y),
             "signers:\n  - id: ann\n    public_keys: [\"%s\"]\n    vouches_for: [everyone]\n",
             key);
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "needs front: true");
    snprintf(y, sizeof(y),
             "signers:\n  - id: ann\n    public_keys: [\"%s\"]\n  - id: ann\n"
             "    public_keys: [\"%s\"]\n",
             key, key);
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "duplicate signer 'ann'");
    snprintf(y, sizeof(y),
             "signers:\n  - id: ann\n    front: true\n    public_keys: [\"%s\"]\n"
             "    vouches_for: [everyone]\n",
             key);
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "front 'ann' has the id of a person");
    snprintf(y, sizeof(y), "signers:\n  - id: ann\n    public_key: [\"%s\"]\n", key);
    CHECK_INT(load_errors(y, m, sizeof(m)), 1);
    CHECK_CONTAINS(m, "unknown key 'public_key' in signer");
}

/* Free text cannot forge a log line. */
TEST(log_lines_escape_free_text)
{
    char out[128];
    sk_log_escape("ok\n2026-12-01T00:00:00.000Z INFO  GRANT mallory", out, sizeof(out));
    CHECK_STR(out, "ok\\x0a2026-12-01T00:00:00.000Z INFO  GRANT mallory");
    sk_log_escape("a\\x0ab\r\t\x7f", out, sizeof(out));
    CHECK_STR(out, "a\\\\x0ab\\x0d\\x09\\x7f");
    CHECK_INT(sk_log_escape("\n\n\n\n", out, 8), 0 + 4); /* truncated, whole escapes only */
    CHECK_STR(out, "\\x0a");
}

SK_TEST_MAIN(SK_TEST_CASE(log_lines_escape_free_text), SK_TEST_CASE(rules_signers_loaded),
             SK_TEST_CASE(rules_signer_errors), SK_TEST_CASE(murmur2_matches_java),
             SK_TEST_CASE(partition_for_key_is_positive_modulo),
             SK_TEST_CASE(envelope_round_trip_and_every_field_bound),
             SK_TEST_CASE(envelope_parse_refuses_malformed),
             SK_TEST_CASE(keyfile_written_0600_read_back_and_refused_when_open),
             SK_TEST_CASE(public_key_base64), SK_TEST_CASE(signers_may_vouch),
             SK_TEST_CASE(identity_verdicts),
             SK_TEST_CASE(identity_refuses_two_envelopes_and_garbage))
