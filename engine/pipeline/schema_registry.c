/*
 * schema_registry.c — writer schemas from a directory and from an HTTP
 * schema registry (see schema_registry.h). libcurl for HTTP, jansson for
 * the registry's JSON answer ({"schema": "<the schema as a string>"}).
 */
#include "pipeline/schema_registry.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"

#define FILE_MAX (1024 * 1024)

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= FILE_MAX &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The id of a file named ID.avsc or ID_anything.avsc; -1 for other names. */
static long file_id(const char *name)
{
    size_t n = strlen(name), d = strspn(name, "0123456789");
    if (n < 6 || strcmp(name + n - 5, ".avsc") != 0 || d == 0 || d > 9 ||
        (name[d] != '_' && name[d] != '.'))
        return -1;
    return strtol(name, NULL, 10);
}

static int load_one(sk_codec_t *codec, const char *path, long id, size_t *refused)
{
    char why[512];
    char *json = read_file(path);
    if (!json) {
        SK_WARN("schema %s: cannot read it", path);
        (*refused)++;
        return 0;
    }
    int rc = sk_codec_add_writer(codec, (int32_t)id, json, why, sizeof(why));
    free(json);
    if (rc == SK_ENOMEM)
        return rc;
    if (rc) {
        SK_WARN("schema %s: %s; its records will be dead letters", path, why);
        (*refused)++;
    }
    return 0;
}

int sk_schema_dir_load(sk_codec_t *codec, const char *dir, size_t *refused, char *err,
                       size_t err_len)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    *refused = 0;
    if (!d) {
        snprintf(err, err_len, "schema directory %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            DIR *sub = opendir(path);
            struct dirent *se;
            while (sub && (se = readdir(sub)) != NULL) {
                long id = file_id(se->d_name);
                char p2[4096 + 256];
                if (id < 0)
                    continue;
                snprintf(p2, sizeof(p2), "%s/%s", path, se->d_name);
                if (load_one(codec, p2, id, refused) != 0)
                    break;
                n++;
            }
            if (sub)
                closedir(sub);
        } else if (file_id(de->d_name) >= 0) {
            if (load_one(codec, path, file_id(de->d_name), refused) != 0)
                break;
            n++;
        }
    }
    closedir(d);
    return n;
}

struct sk_schema_registry {
    char *base;
    CURL *curl;
};

sk_schema_registry_t *sk_schema_registry_new(const char *base_url)
{
    sk_schema_registry_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    size_t n = strlen(base_url);
    while (n && base_url[n - 1] == '/')
        n--;
    if (!(r->base = strndup(base_url, n)) || !(r->curl = curl_easy_init())) {
        sk_schema_registry_destroy(r);
        return NULL;
    }
    return r;
}

void sk_schema_registry_destroy(sk_schema_registry_t *r)
{
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    free(r->base);
    free(r);
}

typedef struct body {
    char *p;
    size_t len;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    body_t *b = ctx;
    size_t n = size * nmemb;
    if (b->len + n > FILE_MAX)
        return 0; /* too big: abort the transfer */
    char *p = realloc(b->p, b->len + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, data, n);
    b->p = p;
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

int sk_schema_registry_lookup(void *ctx, int32_t id, char **json, char *reason, size_t reason_len)
{
    sk_schema_registry_t *r = ctx;
    char url[2048];
    body_t b = {0};
    long status = 0;
    int rc = SK_EIO;
    json_t *doc = NULL;
    snprintf(url, sizeof(url), "%s/schemas/ids/%" PRId32, r->base, id);
    curl_easy_reset(r->curl);
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(r->curl);
    if (cc != CURLE_OK) {
        snprintf(reason, reason_len, "GET %s/schemas/ids/%" PRId32 ": %s", r->base, id,
                 curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 404) {
        snprintf(reason, reason_len, "404 %.200s", b.p ? b.p : "");
        rc = SK_ENOTFOUND;
        goto out;
    }
    json_error_t jerr;
    const char *schema;
    if (status != 200 || !b.p || !(doc = json_loads(b.p, 0, &jerr)) ||
        !(schema = json_string_value(json_object_get(doc, "schema")))) {
        snprintf(reason, reason_len, "GET %s/schemas/ids/%" PRId32 ": HTTP %ld, not a schema",
                 r->base, id, status);
        goto out;
    }
    if (!(*json = strdup(schema))) {
        rc = SK_ENOMEM;
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    free(b.p);
    return rc;
}

int sk_engine_schemas_open(sk_engine_t *e, const sk_engine_config_t *cfg, char *err, size_t err_len)
{
    size_t refused = 0;
    if (cfg->schema_dir && *cfg->schema_dir) {
        int n = sk_schema_dir_load(e->codec, cfg->schema_dir, &refused, err, err_len);
        if (n < 0)
            return SK_EINVAL;
        SK_INFO("schemas: %d writer schema%s from %s (%zu refused)", n, n == 1 ? "" : "s",
                cfg->schema_dir, refused);
    }
    if (cfg->schema_registry && *cfg->schema_registry) {
        if (strncmp(cfg->schema_registry, "http://", 7) != 0 &&
            strncmp(cfg->schema_registry, "https://", 8) != 0) {
            snprintf(err, err_len, "--schema-registry '%s': an http:// or https:// URL",
                     cfg->schema_registry);
            return SK_EINVAL;
        }
        if (!(e->registry = sk_schema_registry_new(cfg->schema_registry))) {
            snprintf(err, err_len, "out of memory");
            return SK_EINVAL;
        }
        sk_codec_set_lookup(e->codec, sk_schema_registry_lookup, e->registry);
        SK_INFO("schemas: unknown schema ids are looked up in the schema registry");
    }
    return 0;
}
