/*
 * sk_test.h — the smallest test harness that does the job: TEST() defines a
 * case, CHECK*() record failures without stopping the case, and
 * SK_TEST_MAIN() runs the cases given and ends with the line
 * "N passed, N failed" that CI reads. Exit status is 1 if any case failed.
 */
#ifndef SK_TEST_H
#define SK_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

extern int sk_test_failures_; /* failures in the running case */

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
            sk_test_failures_++;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a,  \
                    a_, #b, b_);                                                                   \
            sk_test_failures_++;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,    \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                       \
            sk_test_failures_++;                                                                   \
        }                                                                                          \
    } while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,       \
                    h_ ? h_ : "(null)", n_);                                                       \
            sk_test_failures_++;                                                                   \
        }                                                                                          \
    } while (0)

typedef struct sk_test_case {
    const char *name;
    void (*fn)(void);
} sk_test_case_t;

#define SK_TEST_CASE(fn)                                                                           \
    {                                                                                              \
#fn, fn                                                                                    \
    }

int sk_test_run(const char *suite, const sk_test_case_t *cases, size_t n, int argc, char **argv);

#define SK_TEST_MAIN(...)                                                                          \
    int sk_test_failures_;                                                                         \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const sk_test_case_t cases_[] = {__VA_ARGS__};                                      \
        return sk_test_run(__FILE__, cases_, sizeof(cases_) / sizeof(cases_[0]), argc, argv);      \
    }

#endif
