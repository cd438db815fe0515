/* dot_vnni_quants.c: the block-quantized vec_dot kernels for AVX-512 VNNI
 * on 256-bit registers (see dot_x86_quants.inc): dpbusd sums four byte
 * products straight into int32, with no 16-bit intermediate. Q8_0 and Q4_0,
 * the types generation speed is judged on, take two blocks per 512-bit step
 * (see vnni_pairs.h): one float accumulator per block pair halves the chain
 * of dependent FMAs that bounded them. */
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
#include "kernels/dot_x86_quants.inc"
#include "kernels/vnni_pairs.h"

TARGET void owl_vec_dot_q8_0_q8_0_vnni(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q8_0 *x = vx, *y = vy;
    __m512 acc = _mm512_setzero_ps();
    const __m512i off = _mm512_set1_epi8((char)0x80);
    for (int64_t ib = 0; ib < n / 32; ib += 2) {
        const int two = ib + 1 < n / 32;
        __m512 dx, dy;
        const __m512i w = pair_unpack_q8_0(x + ib, two, &dx), yy = pair_load_q8(y + ib, two, &dy);
        const __m512i lane = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w, yy),
                                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, yy));
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dx, dy), _mm512_cvtepi32_ps(lane), acc);
    }
    *s = pair_hsum(acc);
}

TARGET void owl_vec_dot_q4_0_q8_0_vnni(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    __m512 acc = _mm512_setzero_ps();
    const __m512i off = _mm512_set1_epi8(8);
    for (int64_t ib = 0; ib < n / 32; ib += 2) {
        const int two = ib + 1 < n / 32;
        __m512 dx, dy;
        const __m512i w = pair_unpack_q4_0(x + ib, two, &dx), yy = pair_load_q8(y + ib, two, &dy);
        const __m512i lane = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w, yy),
                                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, yy));
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dx, dy), _mm512_cvtepi32_ps(lane), acc);
    }
    *s = pair_hsum(acc);
}
#endif
