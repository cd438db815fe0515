/* test_sgemm.c: the blocked F32 GEMM against its triple loop over many
 * shapes (tails of every block size), strides (A and B plain or transposed),
 * alpha and accumulate; and bit-identical results when N is split between
 * callers at multiples of OWL_SGEMM_NR, as threads split it. */
#include <math.h>
#include <stdint.h>

#include "harness.h"
#include "kernels/sgemm.h"

static uint64_t st = 88172645463325252ull;
static float frand(void) {
    st ^= st << 13, st ^= st >> 7, st ^= st << 17;
    return (float)((st >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void test_matches_reference(void) {
    static const int64_t dims[] = {1, 2, 5, 6, 7, 13, 16, 17, 31, 32, 33, 64, 71, 72, 73, 100, 255, 256, 257, 300};
    int n_dims = (int)(sizeof dims / sizeof dims[0]), cases = 0, bad = 0;
    double worst = 0;
    for (int a = 0; a < n_dims; a += 2)
        for (int b = 1; b < n_dims; b += 3)
            for (int c = 0; c < n_dims; c += 4)
                for (int layout = 0; layout < 4; layout++) {
                    int64_t M = dims[a], N = dims[b], K = dims[c];
                    float *A = malloc((size_t)(M * K) * sizeof(float)), *B = malloc((size_t)(K * N) * sizeof(float));
                    float *C1 = malloc((size_t)(M * N) * sizeof(float)), *C2 = malloc((size_t)(M * N) * sizeof(float));
                    for (int64_t i = 0; i < M * K; i++) A[i] = frand();
                    for (int64_t i = 0; i < K * N; i++) B[i] = frand();
                    for (int64_t i = 0; i < M * N; i++) C1[i] = C2[i] = frand();
                    int ta = layout & 1, tb = layout >> 1, acc = (a + b + c) & 1;
                    int64_t rsa = ta ? 1 : K, csa = ta ? M : 1, rsb = tb ? 1 : N, csb = tb ? K : 1;
                    float alpha = layout == 3 ? -0.5f : 1.0f;
                    owl_sgemm(M, N, K, alpha, A, rsa, csa, B, rsb, csb, C1, N, acc);
                    owl_sgemm_ref(M, N, K, alpha, A, rsa, csa, B, rsb, csb, C2, N, acc);
                    for (int64_t i = 0; i < M * N; i++) {
                        double e = fabs((double)C1[i] - C2[i]) / (1e-4 * sqrt((double)K) + 1e-5);
                        if (e > worst) worst = e;
                        bad += e > 1.0;
                    }
                    cases++;
                    free(A), free(B), free(C1), free(C2);
                }
    CHECK(bad == 0, "%d elements off (worst %.2f of tolerance)", bad, worst);
    printf("sgemm (%s) vs triple loop: %d shape/layout cases, worst %.3f of tolerance (1e-4 sqrt(K))\n", owl_sgemm_isa(),
           cases, worst);
}

static void test_split_is_bit_identical(void) {
    int64_t M = 37, N = 3 * OWL_SGEMM_NR + 11, K = 300;
    float *A = malloc((size_t)(M * K) * sizeof(float)), *B = malloc((size_t)(K * N) * sizeof(float));
    float *C1 = calloc((size_t)(M * N), sizeof(float)), *C2 = calloc((size_t)(M * N), sizeof(float));
    for (int64_t i = 0; i < M * K; i++) A[i] = frand();
    for (int64_t i = 0; i < K * N; i++) B[i] = frand();
    owl_sgemm(M, N, K, 1.0f, A, K, 1, B, N, 1, C1, N, 0);
    int64_t cut = 2 * OWL_SGEMM_NR;
    owl_sgemm(M, cut, K, 1.0f, A, K, 1, B, N, 1, C2, N, 0);
    owl_sgemm(M, N - cut, K, 1.0f, A, K, 1, B + cut, N, 1, C2 + cut, N, 0);
    CHECK(!memcmp(C1, C2, (size_t)(M * N) * sizeof(float)), "split at %lld changes bits", (long long)cut);
    /* K = 0 and accumulate = 0 clears C */
    owl_sgemm(M, N, 0, 1.0f, A, K, 1, B, N, 1, C2, N, 0);
    int zero = 1;
    for (int64_t i = 0; i < M * N; i++) zero &= C2[i] == 0;
    CHECK(zero, "K = 0 without accumulate leaves C = 0");
    free(A), free(B), free(C1), free(C2);
}

int main(void) {
    RUN(test_matches_reference);
    RUN(test_split_is_bit_identical);
    DONE("test_sgemm");
}
