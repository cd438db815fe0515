/* bench_kernels.c: matrix-vector speed of each weight type's vec_dot, the
 * scalar reference beside the fast path this CPU selected, as GB/s of weight
 * bytes read (the figure that bounds generation speed). A 4096 x 4096 matrix
 * (larger than the caches), one activation row, best of 5. Then the prompt
 * case: a 2048 x 2048 matrix times 64 tokens, GOP/s, the scalar per-row loop
 * beside the fast path (the tiled kernel where the type has one). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double gbps(const owl_kernel_traits *k, const void *w, size_t wb, int64_t n, int64_t rows, const void *xq, float *y) {
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        owl_matmul_rows(k, w, wb, n, 0, rows, xq, 0, 1, y, rows);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return (double)wb * (double)rows / best / 1e9;
}

static double best_time(const owl_kernel_traits *k, const void *w, size_t wb, int64_t n, int64_t rows, const void *xq,
                        size_t xb, int64_t toks, float *y, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        owl_matmul_rows(k, w, wb, n, 0, rows, xq, xb, toks, y, rows);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

/* random blocks with finite scales: every block's f16 fields zeroed, then
   given a small scale (Q6_K keeps its d last, the others first) */
static void fill_blocks(const owl_kernel_traits *r, uint8_t *w, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)(i * 2654435761u >> 13);
    if (r->block_size == 1) return;
    for (size_t bo = 0; bo + r->type_size <= bytes; bo += r->type_size) {
        size_t at = r->type == OWL_Q6_K ? r->type_size - 2 : 0;
        w[bo + at] = 0x00, w[bo + at + 1] = 0x20; /* 2^-7 */
        if (r->type == OWL_Q4_K || r->type == OWL_Q5_K || r->type == OWL_Q2_K) w[bo + 2] = 0x00, w[bo + 3] = 0x20;
    }
}

static void bench_prompt(void) {
    static const int types[] = {OWL_Q8_0, OWL_Q4_0, OWL_Q4_K, OWL_Q5_K, OWL_Q6_K};
    const int64_t n = 2048, rows = 2048, toks = 64;
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)(rows * toks) * 4);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    printf("\nkernels (%s): matrix x %lld tokens, %lld x %lld, GOP/s (1 thread)\n", owl_kernels_isa(), (long long)toks,
           (long long)rows, (long long)n);
    printf("%-8s %10s %10s %8s %s\n", "type", "scalar", "fast", "speedup", "path");
    for (size_t c = 0; c < sizeof types / sizeof types[0]; c++) {
        const owl_kernel_traits *k = owl_kernels_get(types[c]), *r = owl_kernels_get_reference(types[c]);
        const owl_kernel_traits *kq = owl_kernels_get_reference(r->vec_dot_type);
        size_t wb = owl_row_bytes(r->type, n), xb = owl_row_bytes(kq->type, n);
        uint8_t *w = malloc(wb * (size_t)rows), *xq = malloc(xb * (size_t)toks);
        fill_blocks(r, w, wb * (size_t)rows);
        for (int64_t t = 0; t < toks; t++) kq->from_float(x, xq + (size_t)t * xb, n);
        const double ops = 2.0 * (double)n * (double)rows * (double)toks;
        double s = ops / best_time(r, w, wb, n, rows, xq, xb, toks, y, 2) / 1e9;
        double f = ops / best_time(k, w, wb, n, rows, xq, xb, toks, y, 5) / 1e9;
        printf("%-8s %10.2f %10.2f %7.1fx %s\n", r->name, s, f, f / s, k->gemm ? "tiled" : "per row");
        free(w);
        free(xq);
    }
    free(x);
    free(y);
}

int main(void) {
    static const int types[] = {OWL_F32, OWL_F16, OWL_BF16, OWL_Q8_0, OWL_Q4_0, OWL_Q4_1, OWL_Q5_0, OWL_Q5_1,
                                OWL_Q2_K, OWL_Q3_K, OWL_Q4_K, OWL_Q5_K, OWL_Q6_K, OWL_IQ4_NL};
    const int64_t n = 4096, rows = 4096;
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)rows * 4);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    printf("kernels (%s): matrix-vector %lld x %lld, GB/s of weights (1 thread)\n", owl_kernels_isa(), (long long)rows,
           (long long)n);
    printf("%-8s %10s %10s %8s\n", "type", "scalar", "fast", "speedup");
    for (size_t c = 0; c < sizeof types / sizeof types[0]; c++) {
        const owl_kernel_traits *k = owl_kernels_get(types[c]), *r = owl_kernels_get_reference(types[c]);
        const owl_kernel_traits *kq = owl_kernels_get_reference(r->vec_dot_type);
        size_t wb = owl_row_bytes(r->type, n), xb = owl_row_bytes(kq->type, n);
        uint8_t *w = malloc(wb * (size_t)rows), *xq = malloc(xb);
        for (size_t i = 0; i < wb * (size_t)rows; i++) w[i] = (uint8_t)(i * 2654435761u >> 13);
        if (r->block_size > 1) /* finite f16 scales: zero the first two bytes of every block */
            for (size_t bo = 0; bo < wb * (size_t)rows; bo += r->type_size) memset(w + bo, 0, 2);
        kq->from_float(x, xq, n);
        double s = gbps(r, w, wb, n, rows, xq, y), f = gbps(k, w, wb, n, rows, xq, y);
        printf("%-8s %10.2f %10.2f %7.1fx\n", r->name, s, f, f / s);
        free(w);
        free(xq);
    }
    free(x);
    free(y);
    bench_prompt();
    return 0;
}
