/* test_store_config.c — Redis addresses and passwords as operators give them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk_test.h"
#include "pipeline/store.h"

TEST(addresses_parse_or_are_refused)
{
    char host[64];
    sk_store_config_t c = {0};
    CHECK_INT(sk_store_config_address(&c, "10.0.0.5:6380", host, sizeof(host)), 0);
    CHECK_STR(c.host, "10.0.0.5");
    CHECK_INT(c.port, 6380);
    c = (sk_store_config_t){0};
    CHECK_INT(sk_store_config_address(&c, "redis.internal", host, sizeof(host)), 0);
    CHECK_STR(c.host, "redis.internal");
    CHECK_INT(c.port, 6379);
    c = (sk_store_config_t){0};
    CHECK_INT(sk_store_config_address(&c, "unix:/run/redis.sock", host, sizeof(host)), 0);
    CHECK_STR(c.unix_path, "/run/redis.sock");
    static const char *const bad[] = {":6379", "h:0", "h:65536", "h:", "h:12x", "unix:"};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        c = (sk_store_config_t){0};
        CHECK_INT(sk_store_config_address(&c, bad[i], host, sizeof(host)), SK_EINVAL);
    }
    CHECK_INT(sk_store_config_address(&c, "a-very-long-host-name:1", host, 8), SK_EINVAL);
}

TEST(password_comes_from_a_file_or_the_environment)
{
    char path[] = "/tmp/sk-pw-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("s3cret\n", f);
    fclose(f);
    char *pw = sk_store_password(path);
    CHECK_STR(pw, "s3cret");
    free(pw);
    CHECK(sk_store_password("/nonexistent/pw") == NULL);
    setenv("SHIFTKEY_REDIS_PASSWORD", "from-env", 1);
    pw = sk_store_password(NULL);
    CHECK_STR(pw, "from-env");
    free(pw);
    unsetenv("SHIFTKEY_REDIS_PASSWORD");
    CHECK(sk_store_password(NULL) == NULL);
    unlink(path);
}

SK_TEST_MAIN(SK_TEST_CASE(addresses_parse_or_are_refused),
             SK_TEST_CASE(password_comes_from_a_file_or_the_environment))
