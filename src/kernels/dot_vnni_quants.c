/* dot_vnni_quants.c: the block-quantized vec_dot kernels for AVX-512 VNNI
 * on 256-bit registers (see dot_x86_quants.inc): dpbusd sums four byte
 * products straight into int32, with no 16-bit intermediate. */
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

#include "kernels/dot_x86_quants.inc"
#endif
