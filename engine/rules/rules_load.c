/*
 * rules_load.c — reading rule files: listing a directory, libcyaml schemas,
 * and turning libcyaml's log output into one clean compiler-style error per
 * file that fails structurally. Checks across files and compilation are in
 * rules_compile.c.
 *
 * Per file: the bytes are read once; the position index (rules_pos.c) is
 * built first, which also catches YAML syntax errors with their exact
 * place; then libcyaml loads the same bytes against the schema. Every field
 * of the schema is optional so that a missing field is a semantic error,
 * collected with all the others, rather than a stop.
 */
#include "rules/rules_pos.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cyaml/cyaml.h>

#define RULES_FILE_MAX (16u * 1024 * 1024)
#define RULES_LOG_MAX  4096

/* ---- schemas ----------------------------------------------------------- */

#define OPT_STR(key, type, member)                                                                 \
    CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_OPTIONAL, type, member, 0, CYAML_UNLIMITED)
#define OPT_SEQ(key, type, member, entry)                                                          \
    CYAML_FIELD_SEQUENCE(key, CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER, type, member, entry, 0,    \
                         CYAML_UNLIMITED)

static const cyaml_schema_value_t string_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

#define OPT_BOOL(key, type, member) CYAML_FIELD_BOOL_PTR(key, CYAML_FLAG_OPTIONAL, type, member)

static const cyaml_schema_field_t request_fields[] = {
    OPT_BOOL("self_service", sk_raw_request_t, self_service),
    OPT_SEQ("requestable_by", sk_raw_request_t, requestable_by, &string_entry),
    OPT_STR("policy", sk_raw_request_t, policy),
    OPT_STR("emergency_policy", sk_raw_request_t, emergency_policy),
    OPT_STR("provisioning", sk_raw_request_t, provisioning),
    OPT_SEQ("provisioners", sk_raw_request_t, provisioners, &string_entry),
    OPT_STR("revocation_policy", sk_raw_request_t, revocation_policy),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t ent_fields[] = {
    OPT_STR("id", sk_raw_ent_t, id),
    OPT_STR("name", sk_raw_ent_t, name),
    OPT_STR("resource", sk_raw_ent_t, resource),
    OPT_STR("permission", sk_raw_ent_t, permission),
    OPT_STR("max_duration", sk_raw_ent_t, max_duration),
    CYAML_FIELD_MAPPING_PTR("request", CYAML_FLAG_OPTIONAL, sk_raw_ent_t, request, request_fields),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t ent_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_ent_t, ent_fields),
};

static const cyaml_schema_field_t app_fields[] = {
    OPT_STR("id", sk_raw_app_t, id),
    OPT_STR("name", sk_raw_app_t, name),
    OPT_STR("owner", sk_raw_app_t, owner),
    OPT_SEQ("entitlements", sk_raw_app_t, entitlements, &ent_entry),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t app_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_app_t, app_fields),
};

static const cyaml_schema_field_t rot_fields[] = {
    OPT_STR("id", sk_raw_rot_t, id),
    OPT_STR("name", sk_raw_rot_t, name),
    OPT_STR("platform", sk_raw_rot_t, platform),
    OPT_STR("external_id", sk_raw_rot_t, external_id),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t rot_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_rot_t, rot_fields),
};

static const cyaml_schema_field_t profile_fields[] = {
    OPT_STR("id", sk_raw_profile_t, id),
    OPT_STR("name", sk_raw_profile_t, name),
    OPT_STR("description", sk_raw_profile_t, description),
    OPT_SEQ("entitlements", sk_raw_profile_t, entitlements, &string_entry),
    CYAML_FIELD_MAPPING_PTR("request", CYAML_FLAG_OPTIONAL, sk_raw_profile_t, request,
                            request_fields),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t profile_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_profile_t, profile_fields),
};

static const cyaml_schema_field_t enroll_fields[] = {
    OPT_STR("id", sk_raw_enroll_t, id),
    OPT_SEQ("rotations", sk_raw_enroll_t, rotations, &string_entry),
    OPT_SEQ("profiles", sk_raw_enroll_t, profiles, &string_entry),
    OPT_STR("grant_before", sk_raw_enroll_t, grant_before),
    OPT_STR("revoke_after", sk_raw_enroll_t, revoke_after),
    CYAML_FIELD_UINT_PTR("max_escalation_level", CYAML_FLAG_OPTIONAL, sk_raw_enroll_t,
                         max_escalation_level),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t enroll_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_enroll_t, enroll_fields),
};

static const cyaml_schema_field_t person_fields[] = {
    OPT_STR("id", sk_raw_person_t, id),
    OPT_STR("email", sk_raw_person_t, email),
    OPT_STR("manager", sk_raw_person_t, manager),
    OPT_SEQ("groups", sk_raw_person_t, groups, &string_entry),
    OPT_SEQ("platform_ids", sk_raw_person_t, platform_ids, &string_entry),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t person_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_person_t, person_fields),
};

static const cyaml_schema_field_t group_fields[] = {
    OPT_STR("id", sk_raw_group_t, id),
    OPT_STR("name", sk_raw_group_t, name),
    OPT_SEQ("members", sk_raw_group_t, members, &string_entry),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t group_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_group_t, group_fields),
};

static const cyaml_schema_field_t reviewers_fields[] = {
    OPT_SEQ("users", sk_raw_reviewers_t, users, &string_entry),
    OPT_STR("group", sk_raw_reviewers_t, group),
    OPT_BOOL("manager", sk_raw_reviewers_t, manager),
    OPT_BOOL("app_owner", sk_raw_reviewers_t, app_owner),
    OPT_STR("on_call", sk_raw_reviewers_t, on_call),
    CYAML_FIELD_INT_PTR("approvals", CYAML_FLAG_OPTIONAL, sk_raw_reviewers_t, approvals),
    OPT_BOOL("allow_self_approval", sk_raw_reviewers_t, allow_self_approval),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t step_fields[] = {
    OPT_BOOL("auto_approve", sk_raw_step_t, auto_approve),
    OPT_STR("condition", sk_raw_step_t, condition),
    CYAML_FIELD_MAPPING_PTR("reviewers", CYAML_FLAG_OPTIONAL, sk_raw_step_t, reviewers,
                            reviewers_fields),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t step_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_step_t, step_fields),
};

static const cyaml_schema_field_t policy_fields[] = {
    OPT_STR("id", sk_raw_policy_t, id),
    OPT_STR("name", sk_raw_policy_t, name),
    OPT_STR("description", sk_raw_policy_t, description),
    OPT_SEQ("steps", sk_raw_policy_t, steps, &step_entry),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t policy_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_policy_t, policy_fields),
};

static const cyaml_schema_field_t signer_fields[] = {
    OPT_STR("id", sk_raw_signer_t, id),
    OPT_BOOL("front", sk_raw_signer_t, front),
    OPT_SEQ("public_keys", sk_raw_signer_t, public_keys, &string_entry),
    OPT_SEQ("vouches_for", sk_raw_signer_t, vouches_for, &string_entry),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t signer_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_signer_t, signer_fields),
};

static const cyaml_schema_field_t campaign_scope_fields[] = {
    OPT_SEQ("apps", sk_raw_campaign_scope_t, apps, &string_entry),
    OPT_SEQ("entitlements", sk_raw_campaign_scope_t, entitlements, &string_entry),
    OPT_SEQ("profiles", sk_raw_campaign_scope_t, profiles, &string_entry),
    OPT_SEQ("grants", sk_raw_campaign_scope_t, grants, &string_entry),
    OPT_STR("older_than", sk_raw_campaign_scope_t, older_than),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t campaign_fields[] = {
    OPT_STR("id", sk_raw_campaign_t, id),
    OPT_STR("name", sk_raw_campaign_t, name),
    OPT_SEQ("owners", sk_raw_campaign_t, owners, &string_entry),
    CYAML_FIELD_MAPPING_PTR("scope", CYAML_FLAG_OPTIONAL, sk_raw_campaign_t, scope,
                            campaign_scope_fields),
    CYAML_FIELD_MAPPING_PTR("reviewers", CYAML_FLAG_OPTIONAL, sk_raw_campaign_t, reviewers,
                            reviewers_fields),
    OPT_STR("start", sk_raw_campaign_t, start),
    OPT_STR("due_after", sk_raw_campaign_t, due_after),
    OPT_STR("grace", sk_raw_campaign_t, grace),
    OPT_STR("every", sk_raw_campaign_t, every),
    OPT_STR("end_action", sk_raw_campaign_t, end_action),
    OPT_STR("slack_channel", sk_raw_campaign_t, slack_channel),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t campaign_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, sk_raw_campaign_t, campaign_fields),
};

static const cyaml_schema_field_t doc_fields[] = {
    OPT_SEQ("apps", sk_raw_doc_t, apps, &app_entry),
    OPT_SEQ("rotations", sk_raw_doc_t, rotations, &rot_entry),
    OPT_SEQ("profiles", sk_raw_doc_t, profiles, &profile_entry),
    OPT_SEQ("enrollments", sk_raw_doc_t, enrollments, &enroll_entry),
    OPT_SEQ("people", sk_raw_doc_t, people, &person_entry),
    OPT_SEQ("groups", sk_raw_doc_t, groups, &group_entry),
    OPT_SEQ("policies", sk_raw_doc_t, policies, &policy_entry),
    OPT_STR("identity", sk_raw_doc_t, identity),
    OPT_STR("signing_window", sk_raw_doc_t, signing_window),
    OPT_STR("provisioning_retry", sk_raw_doc_t, provisioning_retry),
    OPT_SEQ("signers", sk_raw_doc_t, signers, &signer_entry),
    OPT_SEQ("campaigns", sk_raw_doc_t, campaigns, &campaign_entry),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t doc_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, sk_raw_doc_t, doc_fields),
};

/* What a mapping is called in messages ("unknown key 'x' in app"). */
static const char *load_mapping_name(const cyaml_schema_field_t *fields)
{
    if (fields == ent_fields)
        return "entitlement";
    if (fields == app_fields)
        return "app";
    if (fields == rot_fields)
        return "rotation";
    if (fields == profile_fields)
        return "profile";
    if (fields == enroll_fields)
        return "enrollment";
    if (fields == request_fields)
        return "request";
    if (fields == person_fields)
        return "person";
    if (fields == group_fields)
        return "group";
    if (fields == reviewers_fields)
        return "reviewers";
    if (fields == step_fields)
        return "policy step";
    if (fields == policy_fields)
        return "policy";
    if (fields == signer_fields)
        return "signer";
    if (fields == campaign_fields)
        return "campaign";
    if (fields == campaign_scope_fields)
        return "campaign scope";
    return "rule file (top level)";
}

/* ---- libcyaml log capture ---------------------------------------------- */

/* Everything libcyaml logged during one load, as text lines. */
typedef struct load_log {
    char text[RULES_LOG_MAX];
    size_t len;
} load_log_t;

static void load_log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
    load_log_t *log = ctx;
    int n;

    if (level < CYAML_LOG_ERROR || log->len >= sizeof(log->text) - 1)
        return;
    n = vsnprintf(log->text + log->len, sizeof(log->text) - log->len, fmt, args);
    if (n > 0)
        log->len += (size_t)n;
    if (log->len >= sizeof(log->text))
        log->len = sizeof(log->text) - 1;
}

/* ---- from libcyaml's log to one error ---------------------------------- */

/* The failing node, reconstructed from the backtrace. */
typedef struct load_where {
    char path[512];                      /* position-index path */
    const cyaml_schema_value_t *schema;  /* schema of the failing node */
    const cyaml_schema_field_t *mapping; /* fields of the innermost mapping */
    const char *field;                   /* innermost field name, or NULL */
    unsigned entry;                      /* innermost entry (1-based), or 0 */
    sk_pos_t logged;                     /* innermost position libcyaml gave */
} load_where_t;

/* Applies one backtrace frame, outermost first. */
static void load_where_frame(load_where_t *w, const char *line)
{
    char name[128];
    unsigned n;
    size_t l, c;
    size_t plen = strlen(w->path);

    if (sscanf(line, " in mapping field '%127[^']' (line: %zu, column: %zu)", name, &l, &c) == 3) {
        const cyaml_schema_field_t *f = NULL;
        if (w->schema && w->schema->type == CYAML_MAPPING) {
            w->mapping = w->schema->mapping.fields;
            for (f = w->mapping; f->key && strcmp(f->key, name) != 0; f++)
                ;
        }
        w->schema = f && f->key ? &f->value : NULL;
        if (w->schema && w->schema->type == CYAML_MAPPING)
            w->mapping = w->schema->mapping.fields; /* e.g. request: */
        w->field = f && f->key ? f->key : NULL;
        w->entry = 0;
        snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s", plen ? "." : "", name);
    } else if (sscanf(line, " in sequence entry '%u' (line: %zu, column: %zu)", &n, &l, &c) == 3) {
        if (w->schema && w->schema->type == CYAML_SEQUENCE)
            w->schema = w->schema->sequence.entry;
        else
            w->schema = NULL;
        if (w->schema && w->schema->type == CYAML_MAPPING)
            w->mapping = w->schema->mapping.fields;
        w->entry = n;
        snprintf(w->path + plen, sizeof(w->path) - plen, "[%u]", n > 0 ? n - 1 : 0);
    } else if (sscanf(line, " in mapping (line: %zu, column: %zu)", &l, &c) != 2) {
        return;
    }
    w->logged.line = (int)l;
    w->logged.col = (int)c;
}

/* "a string", "a sequence", ... for an expected schema type. */
static const char *load_type_name(const cyaml_schema_value_t *s)
{
    if (!s)
        return "another type";
    switch (s->type) {
    case CYAML_STRING: return "a string";
    case CYAML_UINT: return "a non-negative integer";
    case CYAML_INT: return "an integer";
    case CYAML_BOOL: return "true or false";
    case CYAML_SEQUENCE: return "a sequence";
    case CYAML_MAPPING: return "a mapping";
    default: return "another type";
    }
}

/* "a sequence", ... for a libyaml event name as libcyaml logs it. */
static const char *load_event_name(const char *ev)
{
    if (strncmp(ev, "SEQUENCE", 8) == 0)
        return "a sequence";
    if (strncmp(ev, "MAPPING", 7) == 0)
        return "a mapping";
    if (strncmp(ev, "SCALAR", 6) == 0)
        return "a scalar";
    if (strncmp(ev, "ALIAS", 5) == 0)
        return "an alias";
    return "nothing";
}

/* How the failing node is called in a message: 'max_duration', entry 2 of
 * 'rotations', or the document. */
static void load_node_name(const load_where_t *w, char *buf, size_t len)
{
    const char *dot = strrchr(w->path, '.');
    const char *last = dot ? dot + 1 : w->path;

    if (w->path[0] == '\0') {
        snprintf(buf, len, "the document");
    } else if (w->entry) {
        int flen = (int)strcspn(last, "[");
        snprintf(buf, len, "entry %u of '%.*s'", w->entry, flen, last);
    } else {
        snprintf(buf, len, "'%s'", last);
    }
}

/* Lists the keys a mapping accepts: "id, name, owner, entitlements". */
static void load_key_list(const cyaml_schema_field_t *fields, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (const cyaml_schema_field_t *f = fields; f && f->key; f++) {
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", f->key);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

/* Error for "Unexpected key: K". */
static int load_unknown_key(const sk_rules_file_t *f, const load_where_t *w, const char *key,
                            sk_rules_errors_t *errs)
{
    const char *cands[16];
    size_t n = 0;
    const char *hint;
    char keys[256];
    const cyaml_schema_field_t *fields = w->mapping ? w->mapping : doc_fields;
    sk_pos_t at = sk_pos_index_at(&f->pos, 1, "%s%s%s", w->path, w->path[0] ? "." : "", key);

    if (at.line == 0)
        at = w->logged;
    for (const cyaml_schema_field_t *fl = fields; fl->key && n < 16; fl++)
        cands[n++] = fl->key;
    hint = sk_rules_suggest(key, cands, n);
    if (hint)
        return sk_rules_errors_add(errs, f->path, at.line, at.col,
                                   "unknown key '%s' in %s (did you mean "
                                   "'%s'?)",
                                   key, load_mapping_name(fields), hint);
    load_key_list(fields, keys, sizeof(keys));
    return sk_rules_errors_add(errs, f->path, at.line, at.col,
                               "unknown key '%s' in %s (expected one of: %s)", key,
                               load_mapping_name(fields), keys);
}

/*
 * Turns what libcyaml logged for file f (and its error code) into one
 * error. Returns 0 or SK_ENOMEM.
 */
static int load_translate(const sk_rules_file_t *f, const char *logtext, cyaml_err_t err,
                          sk_rules_errors_t *errs)
{
    char msg[512] = "";
    char what[600];
    char arg[256];
    const char *frames[32];
    size_t n_frames = 0;
    load_where_t w;
    sk_pos_t at;
    char *text = strdup(logtext);
    int rc = SK_ENOMEM;

    if (!text)
        goto out;
    memset(&w, 0, sizeof(w));
    w.schema = &doc_schema;
    w.mapping = doc_fields;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "  in ", 5) == 0) {
            if (n_frames < SK_ARRAY_LEN(frames))
                frames[n_frames++] = line;
        } else if (strncmp(line, "Load: ", 6) == 0 && msg[0] == '\0' &&
                   strcmp(line, "Load: Backtrace:") != 0) {
            snprintf(msg, sizeof(msg), "%s", line + 6);
        }
    }
    while (n_frames > 0) /* the backtrace is innermost first */
        load_where_frame(&w, frames[--n_frames]);
    load_node_name(&w, what, sizeof(what));
    at = sk_pos_index_at(&f->pos, 0, "%s", w.path);
    if (at.line == 0)
        at = w.logged;

    if (sscanf(msg, "Unexpected key: %255[^\n]", arg) == 1) {
        rc = load_unknown_key(f, &w, arg, errs);
    } else if (sscanf(msg, "Mapping field already seen: %255[^\n]", arg) == 1) {
        sk_pos_t dup = sk_pos_index_at(&f->pos, 1, "%s#dup", w.path);
        sk_pos_t first = sk_pos_index_at(&f->pos, 1, "%s", w.path);
        if (dup.line == 0)
            dup = at;
        rc = sk_rules_errors_add(errs, f->path, dup.line, dup.col,
                                 "duplicate key '%s' in %s (first at "
                                 "%d:%d)",
                                 arg, load_mapping_name(w.mapping), first.line, first.col);
    } else if (strncmp(msg, "Expecting ", 10) == 0) {
        const char *got = strstr(msg, "got event: ");
        rc = sk_rules_errors_add(errs, f->path, at.line, at.col,
                                 "wrong type for %s: expected %s%s, got %s", what,
                                 load_type_name(w.schema),
                                 w.path[0] ? ""
                                           : " (keys: apps, rotations, "
                                             "profiles, enrollments, "
                                             "people, groups, policies)",
                                 load_event_name(got ? got + 11 : ""));
    } else if (strncmp(msg, "Invalid ", 8) == 0 &&
               sscanf(strstr(msg, "value: ") ? strstr(msg, "value: ") : "", "value: '%255[^']'",
                      arg) == 1) {
        rc = sk_rules_errors_add(errs, f->path, at.line, at.col,
                                 "bad value '%s' for %s: expected %s", arg, what,
                                 load_type_name(w.schema));
    } else if (err == CYAML_ERR_ALIAS) {
        sk_pos_t al = f->pos.first_alias.line ? f->pos.first_alias : at;
        rc = sk_rules_errors_add(errs, f->path, al.line, al.col,
                                 "YAML aliases are not allowed in rule files");
    } else {
        rc = sk_rules_errors_add(errs, f->path, at.line, at.col, "%s%s%s",
                                 msg[0] ? msg : cyaml_strerror(err), w.path[0] ? " in " : "", what);
    }
out:
    free(text);
    return rc;
}

/* ---- files ------------------------------------------------------------- */

static int load_is_rule_file(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '.')
        return 0;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int load_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Lists the rule files of `path` (a directory or a single file) into
 * *out (malloc'd array of malloc'd paths, sorted). Returns 0, or an error
 * code after adding an error that names the path.
 */
static int load_list(const char *path, char ***out, size_t *n_out, sk_rules_errors_t *errs)
{
    int rc = 0;
    struct stat st;
    DIR *dir = NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    size_t plen = strlen(path);
    const char *sep = plen && path[plen - 1] == '/' ? "" : "/";

    if (stat(path, &st) != 0) {
        rc = SK_EIO;
        sk_rules_errors_add(errs, path, 0, 0, "cannot read rules: %s", strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        names = calloc(1, sizeof(*names));
        if (!names || !(names[0] = strdup(path))) {
            rc = SK_ENOMEM;
            goto out;
        }
        n = 1;
        goto out;
    }
    dir = opendir(path);
    if (!dir) {
        rc = SK_EIO;
        sk_rules_errors_add(errs, path, 0, 0, "cannot read rules: %s", strerror(errno));
        goto out;
    }
    while ((de = readdir(dir)) != NULL) {
        if (!load_is_rule_file(de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (!nn) {
                rc = SK_ENOMEM;
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        if (asprintf(&names[n], "%s%s%s", path, sep, de->d_name) < 0) {
            rc = SK_ENOMEM;
            goto out;
        }
        n++;
    }
    if (n == 0) {
        rc = SK_ENOTFOUND;
        sk_rules_errors_add(errs, path, 0, 0, "no rule files (*.yaml, *.yml) in directory");
        goto out;
    }
    qsort(names, n, sizeof(*names), load_cmp_names);
out:
    if (dir)
        closedir(dir);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        names = NULL;
        n = 0;
    }
    *out = names;
    *n_out = n;
    return rc;
}

/* Reads the whole file f->path into f->text. Returns 0 or an error code
 * after adding an error. */
static int load_read(sk_rules_file_t *f, sk_rules_errors_t *errs)
{
    int rc = 0;
    FILE *fp = fopen(f->path, "rb");
    long size;

    if (!fp) {
        rc = SK_EIO;
        sk_rules_errors_add(errs, f->path, 0, 0, "cannot read: %s", strerror(errno));
        goto out;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rc = SK_EIO;
        sk_rules_errors_add(errs, f->path, 0, 0, "cannot read: %s", strerror(errno));
        goto out;
    }
    if ((unsigned long)size > RULES_FILE_MAX) {
        rc = SK_EINVAL;
        sk_rules_errors_add(errs, f->path, 0, 0, "file too large (%ld bytes, limit %u)", size,
                            RULES_FILE_MAX);
        goto out;
    }
    f->text = malloc((size_t)size + 1);
    if (!f->text) {
        rc = SK_ENOMEM;
        goto out;
    }
    f->len = fread(f->text, 1, (size_t)size, fp);
    if (f->len != (size_t)size || ferror(fp)) {
        rc = SK_EIO;
        sk_rules_errors_add(errs, f->path, 0, 0, "cannot read: short read");
        goto out;
    }
    f->text[f->len] = '\0';
out:
    if (fp)
        fclose(fp);
    return rc;
}

/* Loads one file: read, index, schema. Marks it failed on any error. */
static void load_file(sk_rules_file_t *f, const cyaml_config_t *base, sk_rules_errors_t *errs)
{
    load_log_t log;
    cyaml_config_t cfg = *base;
    cyaml_err_t err;
    int rc;

    f->failed = 1;
    if (load_read(f, errs) != 0)
        return;
    rc = sk_pos_index_build(&f->pos, f->text, f->len);
    if (rc == SK_EPARSE) {
        sk_rules_errors_add(errs, f->path, f->pos.err_pos.line, f->pos.err_pos.col, "%s",
                            f->pos.err_msg);
        return;
    }
    if (rc) {
        sk_rules_errors_add(errs, f->path, 0, 0, "%s", sk_strerror(rc));
        return;
    }
    if (f->pos.second_doc.line) {
        /* libcyaml reads only the first document: refuse the rest loudly */
        sk_rules_errors_add(errs, f->path, f->pos.second_doc.line, f->pos.second_doc.col,
                            "a second YAML document ('---') is not allowed: "
                            "one rule file holds one document");
        return;
    }
    log.len = 0;
    log.text[0] = '\0';
    cfg.log_ctx = &log;
    err = cyaml_load_data(f->text, f->len, &cfg, &doc_schema, (cyaml_data_t **)&f->doc, NULL);
    if (err != CYAML_OK) {
        f->doc = NULL;
        load_translate(f, log.text, err, errs);
        return;
    }
    f->failed = 0;
}

sk_rules_t *sk_rules_load(const char *path, sk_rules_errors_t *errs)
{
    sk_rules_t *rules = NULL;
    char **names = NULL;
    size_t n = 0;
    sk_rules_file_t *files = NULL;
    int structural = 0;
    size_t errs_before;
    cyaml_config_t cfg = {
        .log_fn = load_log_fn,
        .mem_fn = cyaml_mem,
        .log_level = CYAML_LOG_ERROR,
        .flags = CYAML_CFG_NO_ALIAS,
    };

    if (!path || !errs)
        return NULL;
    errs_before = errs->count;
    if (load_list(path, &names, &n, errs) != 0)
        goto out;
    files = calloc(n, sizeof(*files));
    if (!files) {
        sk_rules_errors_add(errs, path, 0, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        files[i].path = names[i];
        names[i] = NULL; /* now owned by files[i] */
        load_file(&files[i], &cfg, errs);
        structural |= files[i].failed;
    }
    rules = sk_rules_compile(files, n, structural, errs);
    if (rules && errs->count > errs_before) {
        sk_rules_destroy(rules);
        rules = NULL;
    }
out:
    for (size_t i = 0; files && i < n; i++) {
        if (files[i].doc)
            cyaml_free(&cfg, &doc_schema, files[i].doc, 0);
        if (files[i].text)
            sk_pos_index_fini(&files[i].pos);
        free(files[i].text);
        free(files[i].path);
    }
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    free(files);
    sk_rules_errors_sort(errs);
    return rules;
}
