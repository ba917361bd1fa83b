/*
 * target_ldap.c — LDAP groups (libldap). GRANT adds the user's DN to the
 * group's member attribute, REVOKE / expiry removes it. The user's DN is
 * found by a search: user_filter with the principal (RFC 4515-escaped)
 * under user_base, exactly one entry. Adding a value already there and
 * removing one that is not are successes (idempotent by effect).
 *
 * [target] keys:
 *   url                 ldap://host:port/ or ldaps://... (required)
 *   bind_dn             DN the provisioner binds as (required)
 *   bind_password_file  file holding its password (mode 0600), or
 *   bind_password_env   the environment variable holding it
 *   user_base           search base of users (required)
 *   user_filter         with one %s for the principal [(uid=%s)]
 *   member_attr         [member] (groupOfNames); uniqueMember for groupOfUniqueNames
 *   starttls            yes/no [no]
 *
 * groupOfNames needs at least one member: give each group a placeholder
 * member (and list it in reconcile_ignore), or removing the last member
 * fails (objectClassViolation, reported as FAILED).
 */
#define LDAP_DEPRECATED 0
#include <ctype.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

typedef struct ldap_ctx {
    const char *url, *bind_dn, *user_base, *user_filter, *member_attr;
    char password[512];
    bool starttls;
    LDAP *ld;
} ldap_ctx_t;

static void ld_close(ldap_ctx_t *l)
{
    if (l->ld)
        ldap_unbind_ext_s(l->ld, NULL, NULL);
    l->ld = NULL;
}

static void ld_destroy(void *ctx)
{
    ldap_ctx_t *l = ctx;
    if (!l)
        return;
    ld_close(l);
    memset(l->password, 0, sizeof(l->password));
    free(l);
}

static int ld_init(const sk_prov_conf_t *c, void **out)
{
    ldap_ctx_t *l = calloc(1, sizeof(*l));
    int bad = 0;
    if (!l)
        return -1;
    l->url = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "url", NULL);
    l->bind_dn = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "bind_dn", NULL);
    l->user_base = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "user_base", NULL);
    l->user_filter = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "user_filter", "(uid=%s)");
    l->member_attr = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "member_attr", "member");
    static const char *const required[] = {"url", "bind_dn", "user_base"};
    for (size_t i = 0; i < SK_ARRAY_LEN(required); i++)
        if (!sk_prov_conf_get(c, SK_PROV_SEC_TARGET, required[i], NULL)) {
            sk_prov_conf_error(c, 0, "[target]: %s is required", required[i]);
            bad++;
        }
    const char *pct = strstr(l->user_filter, "%s");
    if (!pct || strstr(pct + 2, "%") || strchr(l->user_filter, '%') != pct ||
        l->user_filter[0] != '(') {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "user_filter"),
                           "user_filter '%s': expected an LDAP filter with exactly one %%s",
                           l->user_filter);
        bad++;
    }
    int s =
        sk_prov_secret(c, SK_PROV_SEC_TARGET, "bind_password", l->password, sizeof(l->password));
    if (s == 1)
        sk_prov_conf_error(c, 0, "[target]: bind_password_file or bind_password_env is required");
    if (s != 0 || sk_prov_conf_bool(c, SK_PROV_SEC_TARGET, "starttls", false, &l->starttls) != 0)
        bad++;
    if (bad) {
        ld_destroy(l);
        return -1;
    }
    *out = l;
    return 0;
}

/* Codes that say the server is away or busy: worth trying again. */
static int transient(int code)
{
    return code == LDAP_SERVER_DOWN || code == LDAP_CONNECT_ERROR || code == LDAP_TIMEOUT ||
           code == LDAP_UNAVAILABLE || code == LDAP_BUSY || code == LDAP_TIMELIMIT_EXCEEDED ||
           code == LDAP_OTHER;
}

/* A bound connection, or an LDAP error code with msg set. */
static int ld_connect(ldap_ctx_t *l, char *msg, size_t len)
{
    int v3 = LDAP_VERSION3, code;
    struct timeval tv = {.tv_sec = 5};
    struct berval cred = {.bv_val = l->password, .bv_len = strlen(l->password)};
    if (l->ld)
        return LDAP_SUCCESS;
    if ((code = ldap_initialize(&l->ld, l->url)) != LDAP_SUCCESS)
        goto fail;
    ldap_set_option(l->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(l->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(l->ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(l->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    if (l->starttls && (code = ldap_start_tls_s(l->ld, NULL, NULL)) != LDAP_SUCCESS)
        goto fail;
    code = ldap_sasl_bind_s(l->ld, l->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    if (code == LDAP_SUCCESS)
        return LDAP_SUCCESS;
fail:
    snprintf(msg, len, "LDAP %s as %s: %s", l->url, l->bind_dn, ldap_err2string(code));
    ld_close(l);
    return code;
}

static int to_rc(int code)
{
    return transient(code) ? SK_EAGAIN : SK_EINVAL;
}

/* Appends s to the filter buffer, RFC 4515-escaped. */
static void escape(char *out, size_t len, const char *s)
{
    size_t k = strlen(out);
    for (; *s && k + 4 < len; s++) {
        if (strchr("*()\\", *s) || (unsigned char)*s < 0x20)
            k += (size_t)snprintf(out + k, len - k, "\\%02x", (unsigned char)*s);
        else
            out[k++] = *s;
    }
    out[k] = '\0';
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/*
 * The DN of principal into dn (lower case). 0; SK_ENOTFOUND when no entry
 * matches; SK_EINVAL (several, bad filter), SK_EAGAIN (server away).
 */
static int find_dn(ldap_ctx_t *l, const char *principal, char *dn, size_t dn_len, char *msg,
                   size_t len)
{
    char filter[1024];
    const char *pct = strstr(l->user_filter, "%s");
    char *attrs[] = {LDAP_NO_ATTRS, NULL};
    LDAPMessage *res = NULL;
    int code, rc;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((code = ld_connect(l, msg, len)) != LDAP_SUCCESS)
            return to_rc(code);
        snprintf(filter, sizeof(filter), "%.*s", (int)(pct - l->user_filter), l->user_filter);
        escape(filter, sizeof(filter), principal);
        snprintf(filter + strlen(filter), sizeof(filter) - strlen(filter), "%s", pct + 2);
        code = ldap_search_ext_s(l->ld, l->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL,
                                 NULL, NULL, 2, &res);
        if (!transient(code) || attempt)
            break;
        ldap_msgfree(res);
        res = NULL;
        ld_close(l); /* the server went away: once more on a new connection */
    }
    int n = code == LDAP_SUCCESS || code == LDAP_SIZELIMIT_EXCEEDED ? ldap_count_entries(l->ld, res)
                                                                    : -1;
    if (n == 1) {
        char *d = ldap_get_dn(l->ld, ldap_first_entry(l->ld, res));
        snprintf(dn, dn_len, "%s", d ? d : "");
        lower(dn);
        ldap_memfree(d);
        rc = d ? 0 : SK_EAGAIN;
    } else if (n == 0 || code == LDAP_NO_SUCH_OBJECT) {
        snprintf(msg, len, "no entry %s under %s", filter, l->user_base);
        rc = SK_ENOTFOUND;
    } else if (n > 1) {
        snprintf(msg, len, "several entries match %s under %s", filter, l->user_base);
        rc = SK_EINVAL;
    } else {
        snprintf(msg, len, "LDAP search %s: %s", filter, ldap_err2string(code));
        rc = to_rc(code);
    }
    ldap_msgfree(res);
    return rc;
}

/* Adds or deletes one member value; 0 also when already so. */
static int modify(ldap_ctx_t *l, int op, const char *group, const char *dn, char *msg, size_t len)
{
    char *vals[] = {(char *)dn, NULL};
    LDAPMod mod = {.mod_op = op, .mod_type = (char *)l->member_attr, .mod_values = vals};
    LDAPMod *mods[] = {&mod, NULL};
    int code = LDAP_OTHER;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((code = ld_connect(l, msg, len)) != LDAP_SUCCESS)
            return to_rc(code);
        code = ldap_modify_ext_s(l->ld, group, mods, NULL, NULL);
        if (!transient(code))
            break;
        ld_close(l);
    }
    if (code == LDAP_SUCCESS || (op == LDAP_MOD_ADD && code == LDAP_TYPE_OR_VALUE_EXISTS) ||
        (op == LDAP_MOD_DELETE && code == LDAP_NO_SUCH_ATTRIBUTE))
        return 0;
    snprintf(msg, len, "LDAP %s %s %s %s: %s", op == LDAP_MOD_ADD ? "add" : "remove", dn,
             op == LDAP_MOD_ADD ? "to" : "from", group, ldap_err2string(code));
    return to_rc(code);
}

static int ld_grant(void *ctx, const sk_prov_op_t *op, char *member, size_t member_len, char *msg,
                    size_t msg_len)
{
    ldap_ctx_t *l = ctx;
    char dn[1024];
    int rc = find_dn(l, op->principal, dn, sizeof(dn), msg, msg_len);
    if (rc == SK_ENOTFOUND)
        return SK_EINVAL; /* the user is not in the directory */
    if (rc == 0 && (rc = modify(l, LDAP_MOD_ADD, op->object, dn, msg, msg_len)) == 0)
        snprintf(member, member_len, "%s", dn);
    return rc;
}

static int ld_revoke(void *ctx, const sk_prov_op_t *op, char *msg, size_t msg_len)
{
    ldap_ctx_t *l = ctx;
    char dn[1024];
    if (op->member) {
        snprintf(dn, sizeof(dn), "%s", op->member);
    } else {
        int rc = find_dn(l, op->principal, dn, sizeof(dn), msg, msg_len);
        if (rc == SK_ENOTFOUND)
            return 0; /* no such user: member of nothing */
        if (rc)
            return rc;
    }
    return modify(l, LDAP_MOD_DELETE, op->object, dn, msg, msg_len);
}

static int ld_list(void *ctx, const char *object, sk_prov_names_t *out, char *msg, size_t len)
{
    ldap_ctx_t *l = ctx;
    char *attrs[] = {(char *)l->member_attr, NULL};
    LDAPMessage *res = NULL;
    int code = ld_connect(l, msg, len), rc = 0;
    if (code != LDAP_SUCCESS)
        return to_rc(code);
    code = ldap_search_ext_s(l->ld, object, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
                             NULL, NULL, 1, &res);
    LDAPMessage *e = code == LDAP_SUCCESS ? ldap_first_entry(l->ld, res) : NULL;
    if (!e) {
        snprintf(msg, len, "LDAP read of %s: %s", object, ldap_err2string(code));
        rc = code == LDAP_SUCCESS ? SK_EINVAL : to_rc(code);
        if (transient(code))
            ld_close(l);
        goto out;
    }
    struct berval **vals = ldap_get_values_len(l->ld, e, l->member_attr);
    for (size_t i = 0; vals && vals[i]; i++) {
        char v[1024];
        snprintf(v, sizeof(v), "%.*s", (int)vals[i]->bv_len, vals[i]->bv_val);
        lower(v);
        if (sk_prov_names_add(out, v) != 0)
            rc = SK_EAGAIN;
    }
    ldap_value_free_len(vals);
out:
    ldap_msgfree(res);
    return rc;
}

static int ld_check(void *ctx, const sk_prov_conf_t *c, const char *const *objects,
                    const int *lines, size_t n)
{
    ldap_ctx_t *l = ctx;
    char msg[1024];
    int bad = 0;
    if (ld_connect(l, msg, sizeof(msg)) != LDAP_SUCCESS) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "url"), "%s", msg);
        return -1;
    }
    const char *dns[64];
    int dn_lines[64];
    size_t k = 0;
    dns[k] = l->user_base;
    dn_lines[k++] = sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "user_base");
    for (size_t i = 0; i < n && k < SK_ARRAY_LEN(dns); i++, k++) {
        dns[k] = objects[i];
        dn_lines[k] = lines[i];
    }
    for (size_t i = 0; i < k; i++) {
        LDAPDN parsed = NULL;
        LDAPMessage *res = NULL;
        char *attrs[] = {LDAP_NO_ATTRS, NULL};
        if (ldap_str2dn(dns[i], &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
            sk_prov_conf_error(c, dn_lines[i], "'%s' is not a DN", dns[i]);
            bad++;
            continue;
        }
        ldap_dnfree(parsed);
        int code = ldap_search_ext_s(l->ld, dns[i], LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0,
                                     NULL, NULL, NULL, 1, &res);
        if (code != LDAP_SUCCESS) {
            sk_prov_conf_error(c, dn_lines[i], "'%s': %s", dns[i], ldap_err2string(code));
            bad++;
        }
        ldap_msgfree(res);
    }
    return bad ? -1 : 0;
}

const sk_prov_target_t sk_prov_target_ldap = {.type = "ldap",
                                              .init = ld_init,
                                              .check = ld_check,
                                              .grant = ld_grant,
                                              .revoke = ld_revoke,
                                              .list = ld_list,
                                              .destroy = ld_destroy};
