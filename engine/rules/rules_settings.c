/*
 * rules_settings.c — compiles the top-level settings of the rule set that
 * belong to no section (rules/README.md, "Settings"):
 *
 *   provisioning_retry: 1m     (default 1m; > 0, at most 1h; one file sets it)
 *
 * the wait before the first retry of a command an automatic provisioner
 * answered FAILED (retryable); decide doubles it per retry
 * (sk_decide_retry_delay, decide/followups.h).
 */
#include <string.h>

#include "rules/rules_access.h"

#define MAX_RETRY_MS (3600LL * 1000)

void sk_ac_settings(ac_t *c)
{
    int retry_fi = -1;
    c->a->retry_base_ms = SK_PROVISIONING_RETRY_DEFAULT_MS;
    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        if (!d || !d->provisioning_retry)
            continue;
        sk_pos_t at = sk_ac_pos(c, fi, "provisioning_retry");
        sk_ms_t r = 0;
        if (retry_fi >= 0)
            sk_ac_error(c, fi, at, "provisioning_retry is set twice (first in %s)",
                        c->files[retry_fi].path);
        else if (sk_duration_parse(d->provisioning_retry, &r) != 0 || r <= 0 || r > MAX_RETRY_MS)
            sk_ac_error(c, fi, at,
                        "bad provisioning_retry '%s': a duration greater than 0 and at most 1h, "
                        "e.g. 1m",
                        d->provisioning_retry);
        else
            c->a->retry_base_ms = r;
        retry_fi = (int)fi;
    }
}

sk_ms_t sk_rules_provisioning_retry(const sk_rules_t *rules)
{
    return rules && rules->access ? rules->access->retry_base_ms : SK_PROVISIONING_RETRY_DEFAULT_MS;
}
