/* vnni_pairs.h: two Q8_0/Q4_0 blocks in one 512-bit register (block ib in
 * lanes 0-7, ib + 1 in lanes 8-15; a missing second block is zeros), shared
 * by the per-row kernels and the tiles of gemm_vnni.c so that both make the
 * same float operations in the same order and agree bit for bit. Weights go
 * in as unsigned bytes (Q4_0: q + 8, Q8_0: q + 128); the caller takes the
 * offset times the activations' sums back off. Include after TARGET and h2f. */
#ifndef OWL_KERNELS_VNNI_PAIRS_H
#define OWL_KERNELS_VNNI_PAIRS_H

TARGET static inline __m512i pair_join(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* [d0 x 8, d1 x 8] as floats from the halves at words w0 and w1 of v */
TARGET static inline __m512 pair_scales(__m512i v, short w0, short w1) {
    const __m256i idx = _mm256_set_epi16(w1, w1, w1, w1, w1, w1, w1, w1, w0, w0, w0, w0, w0, w0, w0, w0);
    return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(_mm512_castsi256_si512(idx), v)));
}

TARGET static inline __m256i unpack1_q4_0(const block_q4_0 *b) {
    const __m128i v = _mm_loadu_si128((const __m128i *)b->qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

/* [d0 x 8, d1 x 8] */
TARGET static inline __m512 pair_ps(float d0, float d1) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(d0)), _mm256_castps_pd(_mm256_set1_ps(d1)), 1));
}

/* two Q4_0 blocks: the nibbles as 64 unsigned bytes, low nibbles of a block first */
TARGET static inline __m512i pair_unpack_q4_0(const block_q4_0 *b, int two, __m512 *d) {
    *d = pair_ps(h2f(b[0].d), two ? h2f(b[1].d) : 0.0f);
    return pair_join(unpack1_q4_0(b), two ? unpack1_q4_0(b + 1) : _mm256_setzero_si256());
}

TARGET static inline __m512i pair_unpack_q8_0(const block_q8_0 *b, int two, __m512 *d) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const __m256i lo = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b[0].qs), flip);
    /* a missing block is zeros, not 0x80s: they cancel against zero activations */
    const __m256i hi = two ? _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b[1].qs), flip) : _mm256_setzero_si256();
    *d = pair_ps(h2f(b[0].d), two ? h2f(b[1].d) : 0.0f);
    return pair_join(lo, hi);
}

/* activations: the signed bytes of two Q8_0 blocks (34 bytes each: d, 32 bytes) */
TARGET static inline __m512i pair_load_q8(const block_q8_0 *b, int two, __m512 *d) {
    if (!two) {
        *d = _mm512_maskz_mov_ps(0x00FF, _mm512_set1_ps(h2f(b[0].d)));
        return pair_join(_mm256_loadu_si256((const __m256i *)b[0].qs), _mm256_setzero_si256());
    }
    const __m512i a = _mm512_loadu_si512(b);                    /* bytes 0..63 */
    const __m512i c = _mm512_maskz_loadu_epi8(0xF, (const char *)b + 64); /* bytes 64..67 */
    /* words 1..16: block 0's bytes; 18..33 (32, 33 in c): block 1's */
    const __m512i idx = _mm512_set_epi16(33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
                                         16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    *d = pair_scales(a, 0, 17);
    return _mm512_permutex2var_epi16(a, idx, c);
}

/* the two halves added, then the 8 lanes as the 256-bit kernels sum them */
TARGET static inline float pair_hsum(__m512 acc) {
    __m256 v = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

#endif
