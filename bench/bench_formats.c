/* bench_formats.c: how fast owl opens models (parse + describe, zero-copy)
 * and hashes files. Reports the median of repeated runs. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "owl.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_open(const char *path, int reps) {
    double t[64];
    for (int i = 0; i < reps; i++) {
        owl_error err;
        owl_model *m = NULL;
        double t0 = now();
        if (owl_model_open(path, &m, &err) != OWL_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            exit(1);
        }
        t[i] = now() - t0;
        owl_model_close(m);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

int main(void) {
    const char *shared = getenv("OWL_SHARED") ? getenv("OWL_SHARED") : "../shared";
    static const char *const files[] = {
        "models/stories260K/stories260K.gguf", "vocab/ggml-vocab-deepseek-llm.gguf",
        "models/llama-2-tiny-random/llama-2-tiny-random.gguf", "reference/dtype_q4_k_m/model.gguf",
    };
    printf("bench_formats: open (parse + describe), median of 21\n");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", shared, files[i]);
        printf("  %-52s %8.3f ms\n", files[i], 1e3 * median_open(path, 21));
    }
    char path[1024], hex[65];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-deepseek-llm.gguf", shared);
    owl_error err;
    double t0 = now();
    int reps = 20;
    for (int i = 0; i < reps; i++)
        if (owl_sha256_file(path, hex, NULL, NULL, &err) != OWL_OK) return 1;
    double dt = now() - t0;
    printf("  sha256 (OpenSSL, streamed, page cache): %.0f MB/s\n", reps * 3970167.0 / dt / 1e6);
    return 0;
}
