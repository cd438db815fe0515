/* dot_avx2_quants.c: the block-quantized vec_dot kernels for AVX2 (see
 * dot_x86_quants.inc): byte products through maddubs, then madd. */
#include <stdint.h>
#include <string.h>

#include "kernels/blocks.h"
#include "kernels/simd.h"

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define KNAME(t) owl_vec_dot_##t##_avx2

/* F16C's exact half -> float, instead of the portable bit manipulation */
TARGET static inline float h2f(owl_half h) { return _cvtsh_ss(h); }

TARGET static __m256i dot_u8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }

/* pair sums stay below 2^15 for every type's value range, so maddubs never saturates */
TARGET static __m256i group_acc(__m256i acc, __m256i u, __m256i s, int16_t sa, int16_t sb) {
    const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sb), _mm_set1_epi16(sa));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scv));
}

#include "kernels/dot_x86_quants.inc"
#endif
