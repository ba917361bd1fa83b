/* sk_test.c — the runner behind SK_TEST_MAIN (see sk_test.h). */
#include "sk_test.h"

#include <stdlib.h>
#include <time.h>

extern int sk_test_failures_;

int sk_test_run(const char *suite, const sk_test_case_t *cases, size_t n, int argc, char **argv)
{
    int passed = 0, failed = 0;
    const char *only = argc > 1 ? argv[1] : getenv("SK_TEST_ONLY");
    printf("# %s\n", suite);
    for (size_t i = 0; i < n; i++) {
        if (only && *only && !strstr(cases[i].name, only))
            continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        sk_test_failures_ = 0;
        cases[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (sk_test_failures_ == 0) {
            passed++;
            printf("ok   %s (%.0f ms)\n", cases[i].name, ms);
        } else {
            failed++;
            printf("FAIL %s (%d checks failed)\n", cases[i].name, sk_test_failures_);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
