/* store_config.c — where Redis is and how to log in (see store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/store.h"

int sk_store_config_address(sk_store_config_t *cfg, const char *address, char *host_buf,
                            size_t host_len)
{
    static const char cluster[] = "redis-cluster://";
    if (strncmp(address, cluster, sizeof(cluster) - 1) == 0) {
        /* every seed is HOST:PORT (port given); the first one names the store */
        const char *seeds = address + sizeof(cluster) - 1;
        for (const char *s = seeds; s == seeds || *s; s += *s == ',') {
            char one[300], scratch[256];
            sk_store_config_t c = {0};
            size_t len = strcspn(s, ",");
            if (len == 0 || len >= sizeof(one))
                return SK_EINVAL;
            memcpy(one, s, len);
            one[len] = '\0';
            s += len;
            if (!strchr(one, ':') || strncmp(one, "unix:", 5) == 0 ||
                sk_store_config_address(&c, one, scratch, sizeof(scratch)) != 0 ||
                (*s == ',' && s[1] == '\0'))
                return SK_EINVAL;
        }
        char first[300];
        size_t len = strcspn(seeds, ",");
        memcpy(first, seeds, len);
        first[len] = '\0';
        if (sk_store_config_address(cfg, first, host_buf, host_len) != 0)
            return SK_EINVAL;
        cfg->cluster = seeds;
        return 0;
    }
    if (strncmp(address, "unix:", 5) == 0) {
        cfg->unix_path = address + 5;
        return *cfg->unix_path ? 0 : SK_EINVAL;
    }
    const char *colon = strrchr(address, ':');
    size_t hl = colon ? (size_t)(colon - address) : strlen(address);
    long port = 6379;
    if (colon) {
        char *end;
        port = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0')
            return SK_EINVAL;
    }
    if (hl == 0 || hl >= host_len || port < 1 || port > 65535)
        return SK_EINVAL;
    memcpy(host_buf, address, hl);
    host_buf[hl] = '\0';
    cfg->host = host_buf;
    cfg->port = (int)port;
    return 0;
}

char *sk_store_password(const char *file)
{
    char buf[512];
    if (!file) {
        const char *env = getenv("SHIFTKEY_REDIS_PASSWORD");
        return env && *env ? strdup(env) : NULL;
    }
    FILE *f = fopen(file, "r");
    if (!f || !fgets(buf, sizeof(buf), f)) {
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}
