/* gemm_vnni.c: matrix x many-token products for Q8_0 and Q4_0 weights with
 * AVX-512 VNNI, in tiles of 4 weight rows x 4 tokens: each weight block is
 * unpacked once for 4 tokens and each activation block loaded once for 4
 * rows, 16 accumulators in registers. The weights go in as unsigned bytes
 * (Q4_0: q + 8, Q8_0: q + 128) and the offset times the activations' lane
 * sums comes back off, so every int32 lane is the same integer as in the
 * per-row kernels, and the float steps are the same too: the results equal
 * owl_vec_dot_*_vnni bit for bit (the tests check it). Edges fall back to
 * that per-row kernel. */
#include <stdint.h>
#include <string.h>

#include "kernels/blocks.h"
#include "kernels/simd.h"

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
enum { TR = 4, TT = 4 };
/* the tile's loops must unroll so that its 16 accumulators live in registers */
#define UNROLL _Pragma("GCC unroll 4")

TARGET static inline float h2f(owl_half h) { return _cvtsh_ss(h); }

TARGET static float hsum_ps(__m256 v) { /* as dot_x86_quants.inc sums its accumulator */
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* one weight block as unsigned bytes, and its scale */
TARGET static inline __m256i unpack_q8_0(const block_q8_0 *b, float *d) {
    *d = h2f(b->d);
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs), _mm256_set1_epi8((char)0x80));
}
TARGET static inline __m256i unpack_q4_0(const block_q4_0 *b, float *d) {
    *d = h2f(b->d);
    const __m128i v = _mm_loadu_si128((const __m128i *)b->qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

#define TILE_KERNEL(NAME, WBLOCK, UNPACK, OFFSET, ROWDOT)                                                                  \
    TARGET void NAME(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,           \
                     size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {                                          \
        const int64_t nb = n_in / 32;                                                                                      \
        const __m256i off = _mm256_set1_epi8((char)(OFFSET));                                                              \
        int64_t r = r0;                                                                                                    \
        for (; r + TR <= r1; r += TR) {                                                                                    \
            int64_t t = 0;                                                                                                 \
            for (; t + TT <= n_tok; t += TT) {                                                                             \
                __m256 acc[TR][TT];                                                                                        \
                UNROLL for (int i = 0; i < TR; i++)                                                                               \
                    UNROLL for (int j = 0; j < TT; j++) acc[i][j] = _mm256_setzero_ps();                                          \
                for (int64_t ib = 0; ib < nb; ib++) {                                                                      \
                    __m256i w[TR], y[TT], ys[TT];                                                                          \
                    float dx[TR], dy[TT];                                                                                  \
                    UNROLL for (int i = 0; i < TR; i++)                                                                           \
                        w[i] = UNPACK((const WBLOCK *)((const char *)W + (size_t)(r + i) * w_row_bytes) + ib, &dx[i]);    \
                    UNROLL for (int j = 0; j < TT; j++) {                                                                         \
                        const block_q8_0 *yb = (const block_q8_0 *)((const char *)Xq + (size_t)(t + j) * xq_row_bytes) + ib; \
                        y[j] = _mm256_loadu_si256((const __m256i *)yb->qs);                                                \
                        ys[j] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), off, y[j]);                                    \
                        dy[j] = h2f(yb->d);                                                                                \
                    }                                                                                                      \
                    __m256 dyv[TT]; /* the same float products dx * dy as the per-row kernel, made in vectors */    \
                    UNROLL for (int j = 0; j < TT; j++) dyv[j] = _mm256_set1_ps(dy[j]);                                           \
                    UNROLL for (int i = 0; i < TR; i++) {                                                                         \
                        const __m256 dxv = _mm256_set1_ps(dx[i]);                                                          \
                        UNROLL for (int j = 0; j < TT; j++) {                                                                     \
                            const __m256i lane = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), w[i], y[j]), ys[j]); \
                            acc[i][j] = _mm256_fmadd_ps(_mm256_mul_ps(dxv, dyv[j]), _mm256_cvtepi32_ps(lane), acc[i][j]);   \
                        }                                                                                                  \
                    }                                                                                                      \
                }                                                                                                          \
                UNROLL for (int i = 0; i < TR; i++)                                                                               \
                    UNROLL for (int j = 0; j < TT; j++) Y[(t + j) * ldy + r + i] = hsum_ps(acc[i][j]);                            \
            }                                                                                                              \
            for (; t < n_tok; t++)                                                                                         \
                UNROLL for (int i = 0; i < TR; i++)                                                                               \
                    ROWDOT(n_in, &Y[t * ldy + r + i], (const char *)W + (size_t)(r + i) * w_row_bytes,                     \
                           (const char *)Xq + (size_t)t * xq_row_bytes);                                                   \
        }                                                                                                                  \
        for (; r < r1; r++)                                                                                                \
            for (int64_t t = 0; t < n_tok; t++)                                                                            \
                ROWDOT(n_in, &Y[t * ldy + r], (const char *)W + (size_t)r * w_row_bytes, (const char *)Xq + (size_t)t * xq_row_bytes); \
    }

TILE_KERNEL(owl_gemm_q8_0_vnni, block_q8_0, unpack_q8_0, 0x80, owl_vec_dot_q8_0_q8_0_vnni)
TILE_KERNEL(owl_gemm_q4_0_vnni, block_q4_0, unpack_q4_0, 8, owl_vec_dot_q4_0_q8_0_vnni)
#endif
