/* harness.h: a minimal test harness. Each test binary calls RUN(fn) for its
 * tests; CHECK records a failure with file:line and goes on. main() ends with
 * DONE(), which prints "NAME: N passed, N failed" and sets the exit status. */
#ifndef OWL_TEST_HARNESS_H
#define OWL_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int harness_passed, harness_failed, harness_current_failed;
static const char *harness_current;

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            harness_current_failed++;                                                     \
            fprintf(stderr, "FAIL %s (%s:%d): %s: ", harness_current, __FILE__, __LINE__, #cond); \
            fprintf(stderr, " " __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                          \
        }                                                                                 \
    } while (0)

#define RUN(fn)                                                   \
    do {                                                          \
        harness_current = #fn;                                    \
        harness_current_failed = 0;                               \
        fn();                                                     \
        if (harness_current_failed) harness_failed++;             \
        else harness_passed++;                                    \
        if (getenv("OWL_TEST_VERBOSE"))                           \
            fprintf(stderr, "%s %s\n", harness_current_failed ? "FAIL" : "ok", #fn); \
    } while (0)

#define DONE(name)                                                                 \
    do {                                                                           \
        printf("%s: %d passed, %d failed\n", name, harness_passed, harness_failed); \
        return harness_failed ? 1 : 0;                                             \
    } while (0)

/* ../shared, found from the repository root (tests run there) or OWL_SHARED.
 * Missing ground truth is a failure, never a skip. */
static inline const char *shared_dir(void) {
    const char *env = getenv("OWL_SHARED");
    const char *dir = env && *env ? env : "../shared";
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/README.md", dir);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "FATAL: ground truth not found at %s (set OWL_SHARED or run from the repo root)\n", dir);
        exit(3);
    }
    return dir;
}

static inline const char *shared_path(const char *rel) {
    static char buf[8][4096];
    static int k;
    char *b = buf[k++ & 7];
    snprintf(b, 4096, "%s/%s", shared_dir(), rel);
    return b;
}

#endif
