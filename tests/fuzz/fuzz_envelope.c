/*
 * fuzz_envelope.c — sk_envelope_parse() (the "sk-sig" header of signed
 * requests and provisioning results, attacker-controlled bytes) and
 * sk_envelope_verify() on what it accepts.
 *
 * Every input is refused with a reason, or parses to an envelope that
 * re-serialises to exactly the input bytes (version 1, a valid signer id,
 * the length the format says); verifying it against a fixed key over the
 * input itself never crashes and never succeeds (nobody can forge that
 * key's signature), and a signature made for the parsed signer and time
 * verifies.
 */
#include <string.h>

#include "codec/envelope.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_envelope_t env, env2;
    char reason[256] = "";
    unsigned char again[SK_ENVELOPE_MAX];
    unsigned char seed[SK_KEY_SEED_LEN];
    sk_signing_key_t k;
    size_t n, len = 0;
    int rc;

    rc = sk_envelope_parse(data, size, &env, reason, sizeof reason);
    if (rc != 0) {
        FUZZ_CHECK(rc == SK_EPARSE, "rc %d", rc);
        FUZZ_CHECK(reason[0] != '\0', "refused without a reason");
        return 0;
    }
    n = strlen(env.signer);
    FUZZ_CHECK(n >= 1 && n <= SK_ENVELOPE_SIGNER_MAX && sk_id_valid(env.signer, n), "signer");
    FUZZ_CHECK(size == 2 + n + 8 + SK_ENVELOPE_SIG_LEN, "size %zu for signer of %zu", size, n);
    FUZZ_CHECK(data[0] == SK_ENVELOPE_VERSION && data[1] == n, "header bytes");
    FUZZ_CHECK(memcmp(data + 2, env.signer, n) == 0, "signer bytes");
    FUZZ_CHECK(memcmp(data + 2 + n + 8, env.sig, SK_ENVELOPE_SIG_LEN) == 0, "signature bytes");

    memset(seed, 0x5a, sizeof seed);
    FUZZ_CHECK(sk_keyfile_generate(env.signer, seed, &k) == 0, "keygen");
    FUZZ_CHECK(sk_envelope_verify(&env, k.pub, "t", data, size, data, size) == SK_EINVAL,
               "a fuzzed signature verified");
    /* signing the same (signer, time) gives an envelope of the same shape */
    rc = sk_envelope_sign(&k, "t", data, size, data, size, env.issued_at_ms, again, sizeof again,
                          &len);
    FUZZ_CHECK(rc == 0 && len == size, "sign rc %d len %zu", rc, len);
    FUZZ_CHECK(memcmp(again, data, 2 + n + 8) == 0, "signed prefix differs");
    FUZZ_CHECK(sk_envelope_parse(again, len, &env2, reason, sizeof reason) == 0, "reparse");
    FUZZ_CHECK(env2.issued_at_ms == env.issued_at_ms, "time");
    FUZZ_CHECK(sk_envelope_verify(&env2, k.pub, "t", data, size, data, size) == 0, "verify");
    sk_keyfile_wipe(&k);
    return 0;
}
