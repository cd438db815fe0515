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

#include "kernels/vnni_pairs.h"

/* per tile: two blocks at a time (vnni_pairs.h), 16 accumulators of 16 lanes */
#define TILE_KERNEL(NAME, WBLOCK, UNPACK, OFFSET, ROWDOT)                                                                  \
    TARGET void NAME(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,           \
                     size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {                                          \
        const int64_t nb = n_in / 32;                                                                                      \
        const __m512i off = _mm512_set1_epi8((char)(OFFSET));                                                              \
        int64_t r = r0;                                                                                                    \
        for (; r + TR <= r1; r += TR) {                                                                                    \
            int64_t t = 0;                                                                                                 \
            for (; t + TT <= n_tok; t += TT) {                                                                             \
                __m512 acc[TR][TT];                                                                                        \
                UNROLL for (int i = 0; i < TR; i++)                                                                        \
                    UNROLL for (int j = 0; j < TT; j++) acc[i][j] = _mm512_setzero_ps();                                   \
                for (int64_t ib = 0; ib < nb; ib += 2) {                                                                   \
                    const int two = ib + 1 < nb;                                                                           \
                    __m512i w[TR], y[TT], ys[TT];                                                                          \
                    __m512 dxv[TR], dyv[TT];                                                                               \
                    UNROLL for (int i = 0; i < TR; i++) {                                                                  \
                        w[i] = UNPACK((const WBLOCK *)((const char *)W + (size_t)(r + i) * w_row_bytes) + ib, two, &dxv[i]); \
                    }                                                                                                      \
                    UNROLL for (int j = 0; j < TT; j++) {                                                                  \
                        y[j] = pair_load_q8((const block_q8_0 *)((const char *)Xq + (size_t)(t + j) * xq_row_bytes) + ib, two, &dyv[j]); \
                        ys[j] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, y[j]);                                    \
                    }                                                                                                      \
                    UNROLL for (int i = 0; i < TR; i++)                                                                    \
                        UNROLL for (int j = 0; j < TT; j++) {                                                              \
                            const __m512i lane = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w[i], y[j]), ys[j]); \
                            acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(dxv[i], dyv[j]), _mm512_cvtepi32_ps(lane), acc[i][j]); \
                        }                                                                                                  \
                }                                                                                                          \
                UNROLL for (int i = 0; i < TR; i++)                                                                        \
                    UNROLL for (int j = 0; j < TT; j++) Y[(t + j) * ldy + r + i] = pair_hsum(acc[i][j]);                   \
            }                                                                                                              \
            for (; t < n_tok; t++)                                                                                         \
                UNROLL for (int i = 0; i < TR; i++)                                                                        \
                    ROWDOT(n_in, &Y[t * ldy + r + i], (const char *)W + (size_t)(r + i) * w_row_bytes,                     \
                           (const char *)Xq + (size_t)t * xq_row_bytes);                                                   \
        }                                                                                                                  \
        for (; r < r1; r++)                                                                                                \
            for (int64_t t = 0; t < n_tok; t++)                                                                            \
                ROWDOT(n_in, &Y[t * ldy + r], (const char *)W + (size_t)r * w_row_bytes, (const char *)Xq + (size_t)t * xq_row_bytes); \
    }

TILE_KERNEL(owl_gemm_q8_0_vnni, block_q8_0, pair_unpack_q8_0, 0x80, owl_vec_dot_q8_0_q8_0_vnni)
TILE_KERNEL(owl_gemm_q4_0_vnni, block_q4_0, pair_unpack_q4_0, 8, owl_vec_dot_q4_0_q8_0_vnni)
#endif
