/*
 * signers.c — lookups over the signers of the rules (see signers.h).
 */
#include <string.h>

#include "rules/signers.h"

#define GROUP_PREFIX "group:"

const sk_signer_t *sk_signers_find(const sk_signers_t *s, const char *id)
{
    if (!s || !id)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->signers[i].id, id) == 0)
            return &s->signers[i];
    return NULL;
}

int sk_signers_may_vouch(const sk_rules_t *rules, const sk_signer_t *signer, const char *actor)
{
    if (!signer || !actor || !*actor)
        return 0;
    /* a signer always acts for itself: a person, or a front that is itself
     * the actor (an automatic provisioner answering as itself) */
    if (strcmp(signer->id, actor) == 0)
        return 1;
    if (!signer->front)
        return 0;
    for (size_t i = 0; i < signer->n_vouches; i++) {
        const char *v = signer->vouches_for[i];
        if (strcmp(v, "everyone") == 0 || strcmp(v, actor) == 0)
            return 1;
        if (strncmp(v, GROUP_PREFIX, strlen(GROUP_PREFIX)) == 0 && rules) {
            const char *g = v + strlen(GROUP_PREFIX);
            /* a provisioner result may name the group itself */
            if (strcmp(g, actor) == 0)
                return 1;
            const sk_person_t *p = sk_rules_person(rules, actor);
            const sk_group_t *grp = sk_rules_group(rules, g);
            if (p && grp && sk_rules_in_group(p, grp))
                return 1;
        }
    }
    return 0;
}

int sk_signers_check_entry(const sk_rules_t *rules, const char *entry, const char **what)
{
    *what = "person";
    if (strcmp(entry, "everyone") == 0)
        return 0;
    if (strncmp(entry, GROUP_PREFIX, strlen(GROUP_PREFIX)) == 0) {
        *what = "group";
        return sk_rules_group(rules, entry + strlen(GROUP_PREFIX)) ? 0 : SK_ENOTFOUND;
    }
    return sk_rules_person(rules, entry) ? 0 : SK_ENOTFOUND;
}
