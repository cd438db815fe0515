/* dot_vnni_quants.c: the block-quantized vec_dot kernels for AVX-512 VNNI
 * on 256-bit registers (see dot_x86_quants.inc): dpbusd sums four byte
 * products straight into int32, with no 16-bit intermediate. Q8_0 and Q4_0,
 * the types generation speed is judged on, take two blocks per 512-bit step
 * (see vnni_pairs.h): one float accumulator per block pair halves the chain
 * of dependent FMAs that bounded them. */
/* clang would fuse a*b + c into FMAs (gcc does not in C11 mode): the per-row
   and tiled kernels must round alike */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdint.h>
#include <string.h>

#include "kernels/blocks.h"
#include "kernels/simd.h"

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define KNAME(t) owl_vec_dot_##t##_vnni

TARGET static inline float h2f(owl_half h) { return _cvtsh_ss(h); }

TARGET static __m256i dot_u8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

TARGET static __m256i group_acc(__m256i acc, __m256i u, __m256i s, int16_t sa, int16_t sb) {
    const __m256i scv = _mm256_set_m128i(_mm_set1_epi32(sb), _mm_set1_epi32(sa));
    return _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s), scv));
}

#define OWL_OWN_Q4_0_Q8_0
#define OWL_OWN_Q4_K_Q6_K
#include "kernels/dot_x86_quants.inc"

/* Q4_K and Q6_K on 512-bit registers, straight from the packed bits: 64
   values per dpbusd, and dpwssd multiplies each 4-byte lane sum (at most
   4 x 63 x 128, so it fits 16 bits) by its group's scale. The integers and
   the float steps are those of dot_x86_quants.inc's generic K kernels, so
   the results are the same bit for bit (and the tiled gemm_vnni_k.c's). */
TARGET static inline int32_t hsum256_i32(__m256i v) { return hsum_i32(v); }

TARGET void owl_vec_dot_q4_K_q8_K_vnni(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const __m512i low = _mm512_set1_epi8(0x0F);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint32_t u[3];
        memcpy(u, x[i].scales, 12);
        /* the 8 six-bit scales and mins as bytes (get_scale_min_k4, four at a time) */
        const uint32_t sc_lo = u[0] & 0x3f3f3f3fu, mn_lo = u[1] & 0x3f3f3f3fu;
        const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
        const uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
        const __m512i s32 = _mm512_cvtepu8_epi32(_mm_cvtsi64_si128((long long)(sc_lo | (uint64_t)sc_hi << 32)));
        __m512i acc = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m512i w = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1), low);
            const __m512i dp = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512(y[i].qs + 64 * j));
            const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi32(2 * j), _mm256_set1_epi32(2 * j + 1), 1);
            acc = _mm512_dpwssd_epi32(acc, dp, _mm512_permutexvar_epi32(idx, s32));
        }
        const __m128i m8 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)(mn_lo | (uint64_t)mn_hi << 32)));
        const __m256i mn = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
        const int32_t isum = _mm512_reduce_add_epi32(acc);
        const int32_t mb = hsum256_i32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[i].bsums), mn));
        sumf += h2f(x[i].d) * y[i].d * (float)isum - h2f(x[i].dmin) * y[i].d * (float)mb;
    }
    *s = sumf;
}

TARGET void owl_vec_dot_q6_K_q8_K_vnni(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const __m512i low = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m512i s32 = _mm512_and_si512(_mm512_cvtepi8_epi32(sc8), _mm512_set1_epi32(0xFFFF));
        __m512i acc = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            const __m512i l = _mm512_loadu_si512(x[i].ql + 64 * h);
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            const __m512i q2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            const __m512i w0 = _mm512_or_si512(_mm512_and_si512(l, low), _mm512_slli_epi16(_mm512_and_si512(q2, m3), 4));
            const __m512i w1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low),
                                               _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(q2, 4), m3), 4));
            for (int k = 0; k < 2; k++) {
                const int g = 8 * h + 4 * k; /* the first of the four groups of 16 in this register */
                const __m512i dp = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k ? w1 : w0,
                                                       _mm512_loadu_si512(y[i].qs + 128 * h + 64 * k));
                const __m512i idx = _mm512_set_epi32(g + 3, g + 3, g + 3, g + 3, g + 2, g + 2, g + 2, g + 2, g + 1, g + 1,
                                                     g + 1, g + 1, g, g, g, g);
                acc = _mm512_dpwssd_epi32(acc, dp, _mm512_permutexvar_epi32(idx, s32));
            }
        }
        const int32_t ob = hsum256_i32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[i].bsums), _mm256_cvtepi8_epi16(sc8)));
        const int32_t isum = _mm512_reduce_add_epi32(acc) - 32 * ob;
        sumf += h2f(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}

#include "kernels/vnni_pairs.h"

/* one weight type's pair kernel: UNPACK gives two blocks as unsigned bytes
   (the type's OFFSET added), whose products with the activations lose
   OFFSET x the activations' sums again */
#define PAIR_KERNEL(NAME, WBLOCK, UNPACK, OFFSET)                                                           \
    TARGET void NAME(int64_t n, float *s, const void *vx, const void *vy) {                                 \
        const WBLOCK *x = vx;                                                                               \
        const block_q8_0 *y = vy;                                                                           \
        const __m512i off = _mm512_set1_epi8((char)(OFFSET));                                               \
        __m512 acc = _mm512_setzero_ps();                                                                   \
        for (int64_t ib = 0; ib < n / 32; ib += 2) {                                                        \
            const int two = ib + 1 < n / 32;                                                                \
            __m512 dx, dy;                                                                                  \
            const __m512i w = UNPACK(x + ib, two, &dx), yy = pair_load_q8(y + ib, two, &dy);                \
            const __m512i lane = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w, yy),       \
                                                  _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, yy));    \
            acc = _mm512_fmadd_ps(_mm512_mul_ps(dx, dy), _mm512_cvtepi32_ps(lane), acc);                    \
        }                                                                                                   \
        *s = pair_hsum(acc);                                                                                \
    }

PAIR_KERNEL(owl_vec_dot_q8_0_q8_0_vnni, block_q8_0, pair_unpack_q8_0, 0x80)
PAIR_KERNEL(owl_vec_dot_q4_0_q8_0_vnni, block_q4_0, pair_unpack_q4_0, 8)
#endif
