/* dot_avx2_quants.c: AVX2 vec_dot for Q4_1, Q5_0, Q5_1, IQ4_NL and the
 * K-quants (Q2_K..Q6_K). The K-quants unpack each 256-value superblock to
 * unsigned bytes, then one kernel takes the 16-value-group dot products with
 * their scales in exact integer arithmetic (maddubs, then madd by the
 * scales); offsets (Q3_K's -4, Q6_K's -32) and minimums come from the
 * activations' block sums. Scalar twins: dot_scalar.c. */
#include <stdint.h>
#include <string.h>

#include "kernels/blocks.h"
#include "kernels/simd.h"

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* F16C's exact half -> float, instead of the portable bit manipulation */
AVX2 static inline float h2f(owl_half h) { return _cvtsh_ss(h); }

AVX2 static float hsum_ps(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

AVX2 static int32_t hsum_i32(__m256i v) {
    __m128i lo = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0x4E));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0xB1));
    return _mm_cvtsi128_si32(lo);
}

/* 16 packed bytes -> 32: element i < 16 is the low nibble of byte i, element
   16 + i its high nibble (the Q4/Q5 block layout). */
AVX2 static __m256i nibbles(const uint8_t *p) {
    const __m128i v = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

/* 32 bits -> 32 bytes, 0xFF where the bit is set. */
AVX2 static __m256i bits_to_bytes(const uint8_t *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/* unsigned x signed bytes: 8 int32 lane sums */
AVX2 static __m256i dot_u8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }

/* signed x signed bytes (|x| * sign(x) y) */
AVX2 static __m256i dot_s8(__m256i x, __m256i y) { return dot_u8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x)); }

AVX2 void owl_vec_dot_q4_1_q8_1_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        const __m256 d = _mm256_set1_ps(h2f(x[ib].d) * h2f(y[ib].d));
        const __m256i p = dot_u8(nibbles(x[ib].qs), _mm256_loadu_si256((const __m256i *)y[ib].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
        summs += h2f(x[ib].m) * h2f(y[ib].s);
    }
    *s = hsum_ps(acc) + summs;
}

AVX2 void owl_vec_dot_q5_0_q8_0_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 32; ib++) {
        /* value = nibble | (bit << 4), minus 16: OR 0xF0 where the bit is clear */
        const __m256i hi = _mm256_andnot_si256(bits_to_bytes(x[ib].qh), _mm256_set1_epi8((char)0xF0));
        const __m256i q = _mm256_or_si256(nibbles(x[ib].qs), hi);
        const __m256 d = _mm256_set1_ps(h2f(x[ib].d) * h2f(y[ib].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_s8(q, _mm256_loadu_si256((const __m256i *)y[ib].qs))), acc);
    }
    *s = hsum_ps(acc);
}

AVX2 void owl_vec_dot_q5_1_q8_1_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        const __m256i hi = _mm256_and_si256(bits_to_bytes(x[ib].qh), _mm256_set1_epi8(0x10));
        const __m256i q = _mm256_or_si256(nibbles(x[ib].qs), hi);
        const __m256 d = _mm256_set1_ps(h2f(x[ib].d) * h2f(y[ib].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_u8(q, _mm256_loadu_si256((const __m256i *)y[ib].qs))), acc);
        summs += h2f(x[ib].m) * h2f(y[ib].s);
    }
    *s = hsum_ps(acc) + summs;
}

AVX2 void owl_vec_dot_iq4_nl_q8_0_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    const __m128i t = _mm_loadu_si128((const __m128i *)owl_kvalues_iq4nl);
    const __m256i table = _mm256_set_m128i(t, t);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 32; ib++) {
        const __m256i q = _mm256_shuffle_epi8(table, nibbles(x[ib].qs));
        const __m256 d = _mm256_set1_ps(h2f(y[ib].d) * h2f(x[ib].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_s8(q, _mm256_loadu_si256((const __m256i *)y[ib].qs))), acc);
    }
    *s = hsum_ps(acc);
}

/* ---- K-quants ------------------------------------------------------------ */

/* sum over the 16 groups g of 16 values: sc[g] * (qu . q8 over g), exactly. */
AVX2 static int32_t dot_groups16(const uint8_t *qu, const int8_t *q8, const int16_t *sc) {
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < 8; c++) {
        const __m256i p16 = _mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(qu + 32 * c)),
                                                 _mm256_loadu_si256((const __m256i *)(q8 + 32 * c)));
        const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[2 * c + 1]), _mm_set1_epi16(sc[2 * c]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, scv));
    }
    return hsum_i32(acc);
}

/* sum over groups of sc[g] * bsums[g]: what an offset of 1 per value costs */
static int32_t scaled_bsums(const int16_t *bsums, const int16_t *sc) {
    int32_t s = 0;
    for (int g = 0; g < 16; g++) s += (int32_t)bsums[g] * sc[g];
    return s;
}

AVX2 void owl_vec_dot_q2_K_q8_K_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t qu[QK_K] __attribute__((aligned(32)));
        for (int k = 0; k < 2; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * k));
            for (int sh = 0; sh < 4; sh++)
                _mm256_store_si256((__m256i *)(qu + 128 * k + 32 * sh), _mm256_and_si256(_mm256_srli_epi16(v, 2 * sh), m3));
        }
        int16_t sc[16], mins[16];
        for (int g = 0; g < 16; g++) sc[g] = x[i].scales[g] & 0xF, mins[g] = x[i].scales[g] >> 4;
        const float dall = y[i].d * h2f(x[i].d), dmin = y[i].d * h2f(x[i].dmin);
        sumf += dall * (float)dot_groups16(qu, y[i].qs, sc) - dmin * (float)scaled_bsums(y[i].bsums, mins);
    }
    *s = sumf;
}

AVX2 void owl_vec_dot_q3_K_q8_K_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    const uint32_t kmask1 = 0x03030303u, kmask2 = 0x0f0f0f0fu;
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t qu[QK_K] __attribute__((aligned(32)));
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        int bit = 0;
        for (int k = 0; k < 2; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * k));
            for (int sh = 0; sh < 4; sh++, bit++) {
                /* q + 4 * hbit: 0..7, the value plus the offset 4 */
                const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(v, 2 * sh), m3);
                const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, bit), one), 2);
                _mm256_store_si256((__m256i *)(qu + 128 * k + 32 * sh), _mm256_or_si256(lo, hb));
            }
        }
        uint32_t aux[4];
        memcpy(aux, x[i].scales, 12);
        const uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        int8_t sc8[16];
        memcpy(sc8, aux, 16);
        int16_t sc[16];
        for (int g = 0; g < 16; g++) sc[g] = (int16_t)(sc8[g] - 32);
        const int32_t isum = dot_groups16(qu, y[i].qs, sc) - 4 * scaled_bsums(y[i].bsums, sc);
        sumf += h2f(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}

static void scale_min_k4(int j, const uint8_t *q, int *d, int *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

AVX2 static void dot_q45_K_avx2(int64_t n, float *s, const void *vx, const void *vy, int five) {
    const block_q8_K *y = vy;
    const size_t bsize = five ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const __m256i low = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *blk = (const uint8_t *)vx + (size_t)i * bsize;
        owl_half hd, hdmin;
        memcpy(&hd, blk, 2);
        memcpy(&hdmin, blk + 2, 2);
        const uint8_t *q4 = five ? blk + 48 : blk + 16;
        const __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
        uint8_t qu[QK_K] __attribute__((aligned(32)));
        for (int j = 0; j < 4; j++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(q4 + 32 * j));
            __m256i a = _mm256_and_si256(v, low), b = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            if (five) {
                a = _mm256_or_si256(a, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));
                b = _mm256_or_si256(b, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4));
            }
            _mm256_store_si256((__m256i *)(qu + 64 * j), a);
            _mm256_store_si256((__m256i *)(qu + 64 * j + 32), b);
        }
        int16_t sc[16], mn[16];
        for (int j = 0; j < 8; j++) {
            int d, m;
            scale_min_k4(j, blk + 4, &d, &m);
            sc[2 * j] = sc[2 * j + 1] = (int16_t)d;
            mn[2 * j] = mn[2 * j + 1] = (int16_t)m;
        }
        sumf += h2f(hd) * y[i].d * (float)dot_groups16(qu, y[i].qs, sc) -
                h2f(hdmin) * y[i].d * (float)scaled_bsums(y[i].bsums, mn);
    }
    *s = sumf;
}

AVX2 void owl_vec_dot_q4_K_q8_K_avx2(int64_t n, float *s, const void *x, const void *y) { dot_q45_K_avx2(n, s, x, y, 0); }
AVX2 void owl_vec_dot_q5_K_q8_K_avx2(int64_t n, float *s, const void *x, const void *y) { dot_q45_K_avx2(n, s, x, y, 1); }

AVX2 void owl_vec_dot_q6_K_q8_K_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i low = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t qu[QK_K] __attribute__((aligned(32)));
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[i].ql + 64 * h, *qhp = x[i].qh + 32 * h;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)qhp);
            const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4);
            const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4);
            const __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4);
            const __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4);
            uint8_t *a = qu + 128 * h;
            _mm256_store_si256((__m256i *)a, _mm256_or_si256(_mm256_and_si256(l0, low), h0));
            _mm256_store_si256((__m256i *)(a + 32), _mm256_or_si256(_mm256_and_si256(l1, low), h1));
            _mm256_store_si256((__m256i *)(a + 64), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low), h2));
            _mm256_store_si256((__m256i *)(a + 96), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low), h3));
        }
        int16_t sc[16];
        for (int g = 0; g < 16; g++) sc[g] = x[i].scales[g];
        const int32_t isum = dot_groups16(qu, y[i].qs, sc) - 32 * scaled_bsums(y[i].bsums, sc);
        sumf += h2f(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}
#endif
