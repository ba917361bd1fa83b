/*
 * driver.c — the regression runner of the fuzz targets, linked instead of
 * libFuzzer into the sanitizer build (build/test/bin/fuzz/). Runs
 * LLVMFuzzerTestOneInput once on every file given as an argument or found
 * (recursively, hidden files skipped) under a directory given as an
 * argument, each input in a child process, so a crash, a sanitizer report
 * or a leak (LeakSanitizer runs when the child exits) fails that input
 * only. Ends with "N passed, N failed"; exit status 0 only when none failed.
 *
 *   fuzz_x [-v] PATH...    -v: name every input, not only the failed ones
 *
 * SK_FUZZ_NOFORK=1 runs the inputs in-process (for a debugger).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_common.h"

/* libFuzzer's optional hook; a target may define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct run_stats {
    int passed;
    int failed;
    int verbose;
    int nofork;
} run_stats_t;

/* Reads a whole file into an exactly sized malloc'd buffer (so ASan sees
 * any read past its end). Returns 0, or -1 with errno set. */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    int rc = -1;
    if (!fp)
        return -1;
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc(n ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n)
        goto out;
    *out = buf;
    *out_len = (size_t)n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(fp);
    return rc;
}

/* Runs one input in-process; only returns when it did not crash. */
static void run_input(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (read_file(path, &buf, &len) != 0) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
}

static void run_one(run_stats_t *st, const char *path)
{
    int status = 0, ok;
    if (st->nofork) {
        run_input(path);
        ok = 1;
    } else {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("driver: fork");
            exit(2);
        }
        if (pid == 0) {
            run_input(path);
            exit(0); /* LeakSanitizer checks this input's leaks here */
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    if (ok) {
        st->passed++;
        if (st->verbose)
            printf("ok   %s\n", path);
    } else {
        st->failed++;
        if (WIFSIGNALED(status))
            printf("FAIL %s (signal %d)\n", path, WTERMSIG(status));
        else
            printf("FAIL %s (exit %d)\n", path, WEXITSTATUS(status));
    }
    fflush(stdout);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file under path (sorted, recursive). */
static void run_path(run_stats_t *st, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        printf("FAIL %s (%s)\n", path, strerror(errno));
        st->failed++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        run_one(st, path);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        printf("FAIL %s (%s)\n", path, strerror(errno));
        st->failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                perror("driver");
                exit(2);
            }
            names = grown;
        }
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            perror("driver");
            exit(2);
        }
        snprintf(names[n], len, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        run_path(st, names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    run_stats_t st = {0};
    const char *nofork = getenv("SK_FUZZ_NOFORK");
    st.nofork = nofork && *nofork && strcmp(nofork, "0") != 0;
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            st.verbose = 1;
        else
            run_path(&st, argv[i]);
    }
    printf("%d passed, %d failed\n", st.passed, st.failed);
    return st.failed ? 1 : 0;
}
