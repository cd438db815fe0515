/* sgemm.c: the blocked F32 GEMM (Goto's layout, as BLIS and OpenBLAS do
 * it): for each NC-wide column block and KC-deep slice, B is packed into
 * NR-wide panels and A into MR-tall panels, and a register-blocked micro
 * kernel computes MR x NR tiles of C with FMAs. Panels live on the stack
 * (about 510 KB), so threads need no shared scratch. */
#include <stdlib.h>
#include <string.h>

#include "kernels/sgemm.h"
#include "kernels/simd.h"

#define MR 6
#define KC 256
#define MC 252 /* 42 panels of MR: training sequences up to 252 tokens pack A once per KC slice */
#define NC 256
#define NR_MAX 32

void owl_sgemm_ref(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t rsa, int64_t csa,
                   const float *B, int64_t rsb, int64_t csb, float *C, int64_t ldc, int accumulate) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            float s = 0;
            for (int64_t k = 0; k < K; k++) s += A[i * rsa + k * csa] * B[k * rsb + j * csb];
            C[i * ldc + j] = (accumulate ? C[i * ldc + j] : 0.0f) + alpha * s;
        }
}

/* tile = alpha * acc (already multiplied by the kernel), added to C or stored */
static void store_tile(const float *tile, int64_t nr_full, float *c, int64_t ldc, int load, int64_t mr, int64_t nr) {
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nr; j++) c[i * ldc + j] = load ? c[i * ldc + j] + tile[i * nr_full + j] : tile[i * nr_full + j];
}

typedef void (*micro_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha, int load,
                         int64_t mr, int64_t nr);

/* The portable micro kernel (no SIMD on this CPU, or OWL_KERNELS=scalar). */
static void micro_scalar(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha, int load,
                         int64_t mr, int64_t nr) {
    float acc[MR * 16] = {0};
    for (int64_t k = 0; k < kc; k++)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < 16; j++) acc[i * 16 + j] += a[k * MR + i] * b[k * 16 + j];
    for (int i = 0; i < MR * 16; i++) acc[i] *= alpha;
    store_tile(acc, 16, c, ldc, load, mr, nr);
}

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static void micro_avx2(int64_t kc, const float *a, const float *b, float *c,
                                                         int64_t ldc, float alpha, int load, int64_t mr, int64_t nr) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < kc; k++, a += MR, b += 16) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), x;
        x = _mm256_broadcast_ss(a + 0), c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1), c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2), c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3), c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4), c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5), c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 va = _mm256_set1_ps(alpha);
    __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (mr == MR && nr == 16) {
        for (int i = 0; i < MR; i++)
            for (int h = 0; h < 2; h++) {
                __m256 v = _mm256_mul_ps(va, acc[i][h]);
                float *ci = c + i * ldc + 8 * h;
                _mm256_storeu_ps(ci, load ? _mm256_add_ps(_mm256_loadu_ps(ci), v) : v);
            }
        return;
    }
    _Alignas(32) float tile[MR * 16];
    for (int i = 0; i < MR; i++)
        for (int h = 0; h < 2; h++) _mm256_store_ps(tile + i * 16 + 8 * h, _mm256_mul_ps(va, acc[i][h]));
    store_tile(tile, 16, c, ldc, load, mr, nr);
}

__attribute__((target("avx512f"))) static void micro_avx512(int64_t kc, const float *a, const float *b, float *c,
                                                          int64_t ldc, float alpha, int load, int64_t mr, int64_t nr) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++, a += MR, b += 32) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        for (int i = 0; i < MR; i++) {
            __m512 x = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha);
    if (mr == MR && nr == 32) {
        for (int i = 0; i < MR; i++)
            for (int h = 0; h < 2; h++) {
                __m512 v = _mm512_mul_ps(va, acc[i][h]);
                float *ci = c + i * ldc + 16 * h;
                _mm512_storeu_ps(ci, load ? _mm512_add_ps(_mm512_loadu_ps(ci), v) : v);
            }
        return;
    }
    _Alignas(64) float tile[MR * 32];
    for (int i = 0; i < MR; i++)
        for (int h = 0; h < 2; h++) _mm512_store_ps(tile + i * 32 + 16 * h, _mm512_mul_ps(va, acc[i][h]));
    store_tile(tile, 32, c, ldc, load, mr, nr);
}
#endif

typedef struct sgemm_kernel {
    micro_fn micro;
    int nr;
    const char *name;
} sgemm_kernel;

/* A SIMD kernel is used only after it reproduces the portable one on a
   fixed tile (full and partial), so a CPU or compiler quirk falls back to a
   slower path instead of wrong numbers. */
#if OWL_HAVE_X86_SIMD
static int kernel_agrees(micro_fn f, int nr) {
    _Alignas(64) float a[MR * 8], b[32 * 8];
    float c1[MR * 32], c2[MR * 32];
    for (int i = 0; i < MR * 8; i++) a[i] = (float)((i * 7) % 11) - 5.0f;
    for (int i = 0; i < 32 * 8; i++) b[i] = (float)((i * 5) % 13) - 6.0f;
    _Alignas(64) float bs[16 * 8]; /* the scalar kernel reads 16-wide panels */
    for (int part = 0; part < 2; part++) {
        int mr = part ? 4 : MR, n = part ? nr - 3 : nr;
        for (int i = 0; i < MR * 32; i++) c1[i] = c2[i] = (float)(i % 3);
        f(8, a, b, c1, 32, 0.5f, 1, mr, n);
        for (int h = 0; h < nr; h += 16) {
            for (int k = 0; k < 8; k++)
                for (int j = 0; j < 16; j++) bs[k * 16 + j] = b[k * nr + h + j];
            int w = n - h < 16 ? n - h : 16;
            if (w > 0) micro_scalar(8, a, bs, c2 + h, 32, 0.5f, 1, mr, w);
        }
        if (memcmp(c1, c2, sizeof c1) != 0) return 0; /* small integers: exact in any order */
    }
    return 1;
}
#endif

static sgemm_kernel pick(void) {
    const char *pin = getenv("OWL_KERNELS");
    sgemm_kernel k = {micro_scalar, 16, "scalar"};
    if (pin && !strcmp(pin, "scalar")) return k;
#if OWL_HAVE_X86_SIMD
    if (owl_cpu_has_avx512vnni() && !(pin && !strcmp(pin, "avx2")) && kernel_agrees(micro_avx512, 32))
        return (sgemm_kernel){micro_avx512, 32, "avx512"};
    if (owl_cpu_has_avx2() && kernel_agrees(micro_avx2, 16)) return (sgemm_kernel){micro_avx2, 16, "avx2"};
#endif
    return k;
}

/* Chosen once; owl_sgemm_isa() is called before threads use the kernel. */
static sgemm_kernel chosen;

static const sgemm_kernel *kernel(void) {
    if (!chosen.micro) chosen = pick();
    return &chosen;
}

const char *owl_sgemm_isa(void) { return kernel()->name; }

/* B panels: NR columns each, k-major, zero past the last column. The loops
   follow whichever of B's strides is 1, so reads are sequential. */
static void pack_b(float *bp, const float *B, int64_t rsb, int64_t csb, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                   int64_t NR) {
    int64_t full = nc / NR * NR;
    if (csb == 1) {
        for (int64_t k = 0; k < kc; k++) {
            const float *row = B + (k0 + k) * rsb + j0;
            for (int64_t jr = 0; jr < full; jr += NR) {
                float *p = bp + jr * kc + k * NR;
                for (int64_t j = 0; j < NR; j++) p[j] = row[jr + j];
            }
        }
    } else {
        for (int64_t jr = 0; jr < full; jr += NR)
            for (int64_t j = 0; j < NR; j++) {
                const float *col = B + k0 * rsb + (j0 + jr + j) * csb;
                float *p = bp + jr * kc + j;
                for (int64_t k = 0; k < kc; k++) p[k * NR] = col[k * rsb];
            }
    }
    if (full < nc) {
        float *p = bp + full * kc;
        for (int64_t k = 0; k < kc; k++)
            for (int64_t j = 0; j < NR; j++) p[k * NR + j] = full + j < nc ? B[(k0 + k) * rsb + (j0 + full + j) * csb] : 0.0f;
    }
}

/* A panels: MR rows each, k-major, zero past the last row. */
static void pack_a(float *ap, const float *A, int64_t rsa, int64_t csa, int64_t i0, int64_t mc, int64_t k0, int64_t kc) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
        float *p = ap + ir * kc;
        int64_t rows = mc - ir < MR ? mc - ir : MR;
        if (rows < MR) memset(p, 0, (size_t)(kc * MR) * sizeof(float));
        if (csa == 1) {
            for (int64_t i = 0; i < rows; i++) {
                const float *row = A + (i0 + ir + i) * rsa + k0;
                for (int64_t k = 0; k < kc; k++) p[k * MR + i] = row[k];
            }
        } else {
            for (int64_t k = 0; k < kc; k++)
                for (int64_t i = 0; i < rows; i++) p[k * MR + i] = A[(i0 + ir + i) * rsa + (k0 + k) * csa];
        }
    }
}

void owl_sgemm(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t rsa, int64_t csa, const float *B,
               int64_t rsb, int64_t csb, float *C, int64_t ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    const sgemm_kernel *kn = kernel();
    const int64_t NR = kn->nr;
    _Alignas(64) float bp[KC * NC];
    _Alignas(64) float ap[MC * KC];
    /* k slices outermost: every element of C sums its slices in order whatever M and N blocking */
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        int load = accumulate || k0 > 0;
        for (int64_t i0 = 0; i0 < M; i0 += MC) {
            int64_t mc = M - i0 < MC ? M - i0 : MC;
            pack_a(ap, A, rsa, csa, i0, mc, k0, kc);
            for (int64_t j0 = 0; j0 < N; j0 += NC) {
                int64_t nc = N - j0 < NC ? N - j0 : NC;
                pack_b(bp, B, rsb, csb, k0, kc, j0, nc, NR);
                for (int64_t jr = 0; jr < nc; jr += NR)
                    for (int64_t ir = 0; ir < mc; ir += MR)
                        kn->micro(kc, ap + ir * kc, bp + jr * kc, C + (i0 + ir) * ldc + j0 + jr, ldc, alpha, load,
                                  mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR);
            }
        }
    }
}
