/* gemm_vnni_k.c: matrix x many-token products for Q4_K, Q5_K and Q6_K
 * weights with AVX-512 VNNI, in tiles of 4 weight rows x 4 tokens. Each
 * superblock of 4 rows is unpacked once (to unsigned bytes and per-32-byte
 * scale vectors) and serves every token; dpbusd makes the 4-byte lane sums
 * and dpwssd scales them into int32 (a lane sum fits 16 bits: at most
 * 4 x 63 x 128), so each superblock's integer is the one the per-row kernel
 * (dot_x86_quants.inc) gets, and the float steps are the same in the same
 * order: the results equal owl_vec_dot_q*_K_q8_K_vnni bit for bit. */
/* clang would fuse a*b + c into FMAs (gcc does not in C11 mode): the per-row
   and tiled kernels must round alike */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/blocks.h"
#include "kernels/simd.h"

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define UNROLL _Pragma("GCC unroll 4")
enum { TR = 4, TT = 4 };

/* One row's superblock, unpacked: q holds the 256 values as unsigned bytes
   in the activations' order, scv[c] the scale of each int32 lane of chunk c
   (bytes 64c..64c+63) as a 16-bit value with a zero high half, mn the 16
   group minimums (Q4_K/Q5_K) or scales (Q6_K, for its -32 offset). */
typedef struct kunp {
    uint8_t q[QK_K];
    __m512i scv[4];
    __m256i mn;
    float d, dmin;
} kunp;

TARGET static inline float h2f(owl_half h) { return _cvtsh_ss(h); }

static void scale_min_k4(int j, const uint8_t *q, int *d, int *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

TARGET static void unpack_q45_K(const uint8_t *blk, int five, kunp *u) {
    const __m256i low = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    owl_half hd, hdmin;
    memcpy(&hd, blk, 2);
    memcpy(&hdmin, blk + 2, 2);
    u->d = h2f(hd);
    u->dmin = h2f(hdmin);
    const uint8_t *q4 = five ? blk + 48 : blk + 16;
    const __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(q4 + 32 * j));
        __m256i a = _mm256_and_si256(v, low), b = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
        if (five) {
            a = _mm256_or_si256(a, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));
            b = _mm256_or_si256(b, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4));
        }
        _mm256_storeu_si256((__m256i *)(u->q + 64 * j), a);
        _mm256_storeu_si256((__m256i *)(u->q + 64 * j + 32), b);
    }
    int16_t mn[16];
    int d[8];
    for (int j = 0; j < 8; j++) {
        int m;
        scale_min_k4(j, blk + 4, &d[j], &m);
        mn[2 * j] = mn[2 * j + 1] = (int16_t)m;
    }
    for (int c = 0; c < 4; c++)
        u->scv[c] = _mm512_inserti64x4(_mm512_set1_epi32(d[2 * c]), _mm256_set1_epi32(d[2 * c + 1]), 1);
    u->mn = _mm256_loadu_si256((const __m256i *)mn);
}

TARGET static void unpack_q6_K(const block_q6_K *x, kunp *u) {
    const __m256i low = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    u->d = h2f(x->d);
    u->dmin = 0;
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = x->ql + 64 * h, *qhp = x->qh + 32 * h;
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)qhp);
        const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4);
        const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4);
        const __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4);
        const __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4);
        uint8_t *a = u->q + 128 * h;
        _mm256_storeu_si256((__m256i *)a, _mm256_or_si256(_mm256_and_si256(l0, low), h0));
        _mm256_storeu_si256((__m256i *)(a + 32), _mm256_or_si256(_mm256_and_si256(l1, low), h1));
        _mm256_storeu_si256((__m256i *)(a + 64), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low), h2));
        _mm256_storeu_si256((__m256i *)(a + 96), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low), h3));
    }
    int16_t sc[16];
    for (int g = 0; g < 16; g++) sc[g] = x->scales[g];
    for (int c = 0; c < 4; c++)
        u->scv[c] = _mm512_set_epi32(
            (uint16_t)sc[4 * c + 3], (uint16_t)sc[4 * c + 3], (uint16_t)sc[4 * c + 3], (uint16_t)sc[4 * c + 3],
            (uint16_t)sc[4 * c + 2], (uint16_t)sc[4 * c + 2], (uint16_t)sc[4 * c + 2], (uint16_t)sc[4 * c + 2],
            (uint16_t)sc[4 * c + 1], (uint16_t)sc[4 * c + 1], (uint16_t)sc[4 * c + 1], (uint16_t)sc[4 * c + 1],
            (uint16_t)sc[4 * c], (uint16_t)sc[4 * c], (uint16_t)sc[4 * c], (uint16_t)sc[4 * c]);
    u->mn = _mm256_loadu_si256((const __m256i *)sc);
}

/* the 8 lane totals of v[0..7], in order (integer adds: exact in any order) */
TARGET static inline __m256i hsum8(const __m256i *v) {
    const __m256i h1 = _mm256_hadd_epi32(v[0], v[1]), h2 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i h3 = _mm256_hadd_epi32(v[4], v[5]), h4 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i g1 = _mm256_hadd_epi32(h1, h2), g2 = _mm256_hadd_epi32(h3, h4);
    return _mm256_add_epi32(_mm256_permute2x128_si256(g1, g2, 0x20), _mm256_permute2x128_si256(g1, g2, 0x31));
}

/* nr rows (u) x nt tokens (y) of one superblock, added to the 16 float
   lanes of *yacc (lane 4i + j: row i, token j): the per-row kernel's float
   steps, sumf += d*yd*isum (- dmin*yd*msum), as separate vector multiplies
   and adds (no fused multiply-add), so each lane rounds as the scalar does. */
__attribute__((always_inline)) TARGET static inline void tile_sb(const kunp *u, int nr, const block_q8_K *const *y,
                                                                  int nt, int six, __m512 *yacc) {
    __m512i accz[TR * TT];
    __m256i acc[TR * TT], mac[TR * TT];
    UNROLL for (int k = 0; k < TR * TT; k++) accz[k] = _mm512_setzero_si512(), mac[k] = _mm256_setzero_si256();
    UNROLL for (int c = 0; c < 4; c++) {
        __m512i yv[TT];
        UNROLL for (int j = 0; j < TT; j++) yv[j] = _mm512_loadu_si512(y[j]->qs + 64 * c); /* y[j >= nt] is valid */
        UNROLL for (int i = 0; i < TR; i++) {
            if (i >= nr) break;
            const __m512i w = _mm512_loadu_si512(u[i].q + 64 * c), sc = u[i].scv[c];
            UNROLL for (int j = 0; j < TT; j++) if (j < nt) {
                const __m512i dp = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, yv[j]);
                accz[i * TT + j] = _mm512_dpwssd_epi32(accz[i * TT + j], dp, sc);
            }
        }
    }
    UNROLL for (int k = 0; k < TR * TT; k++)
        acc[k] = _mm256_add_epi32(_mm512_castsi512_si256(accz[k]), _mm512_extracti64x4_epi64(accz[k], 1));
    UNROLL for (int i = 0; i < TR; i++) {
        if (i >= nr) break;
        UNROLL for (int j = 0; j < TT; j++) if (j < nt)
            mac[i * TT + j] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[j]->bsums), u[i].mn);
    }
    __m512i is = _mm512_inserti64x4(_mm512_castsi256_si512(hsum8(acc)), hsum8(acc + 8), 1);
    const __m512i ms = _mm512_inserti64x4(_mm512_castsi256_si512(hsum8(mac)), hsum8(mac + 8), 1);
    float d[TR], dm[TR];
    for (int i = 0; i < TR; i++) d[i] = i < nr ? u[i].d : 0.0f, dm[i] = i < nr ? u[i].dmin : 0.0f;
    const __m512i rowi = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512 dv = _mm512_permutexvar_ps(rowi, _mm512_castps128_ps512(_mm_loadu_ps(d)));
    const __m512 yd = _mm512_broadcast_f32x4(_mm_set_ps(y[3]->d, y[2]->d, y[1]->d, y[0]->d));
    if (six) {
        is = _mm512_sub_epi32(is, _mm512_slli_epi32(ms, 5));
        *yacc = _mm512_add_ps(*yacc, _mm512_mul_ps(_mm512_mul_ps(dv, yd), _mm512_cvtepi32_ps(is)));
    } else {
        const __m512 dmv = _mm512_permutexvar_ps(rowi, _mm512_castps128_ps512(_mm_loadu_ps(dm)));
        const __m512 a = _mm512_mul_ps(_mm512_mul_ps(dv, yd), _mm512_cvtepi32_ps(is));
        const __m512 b = _mm512_mul_ps(_mm512_mul_ps(dmv, yd), _mm512_cvtepi32_ps(ms));
        *yacc = _mm512_add_ps(*yacc, _mm512_sub_ps(a, b));
    }
}

typedef void (*rowdot_fn)(int64_t n, float *s, const void *x, const void *y);

/* type: 4, 5 or 6. A tile of 4 rows has all its superblocks unpacked first
   (n_in / 256 x 4 x 832 bytes: L2-sized), then every tile of 4 tokens runs
   over them with its 16 sums in one register. */
TARGET static void gemm_k(int type, const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1,
                          const void *Xq, size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {
    const int64_t nb = n_in / QK_K;
    const size_t bsize = type == 4 ? sizeof(block_q4_K) : type == 5 ? sizeof(block_q5_K) : sizeof(block_q6_K);
    kunp *u = nb > 0 ? aligned_alloc(64, (size_t)nb * TR * sizeof(kunp)) : NULL;
    if (!u) { /* no memory for the unpacked tile: the per-row kernel, same results */
        const rowdot_fn dot = type == 4 ? owl_vec_dot_q4_K_q8_K_vnni : type == 5 ? owl_vec_dot_q5_K_q8_K_vnni
                                                                             : owl_vec_dot_q6_K_q8_K_vnni;
        for (int64_t r = r0; r < r1; r++)
            for (int64_t t = 0; t < n_tok; t++)
                dot(n_in, &Y[t * ldy + r], (const char *)W + (size_t)r * w_row_bytes, (const char *)Xq + (size_t)t * xq_row_bytes);
        return;
    }
    for (int64_t r = r0; r < r1; r += TR) {
        const int nr = r1 - r < TR ? (int)(r1 - r) : TR;
        for (int64_t ib = 0; ib < nb; ib++)
            for (int i = 0; i < nr; i++) {
                const uint8_t *blk = (const uint8_t *)W + (size_t)(r + i) * w_row_bytes + (size_t)ib * bsize;
                if (type == 6) unpack_q6_K((const block_q6_K *)blk, &u[ib * TR + i]);
                else unpack_q45_K(blk, type == 5, &u[ib * TR + i]);
            }
        for (int64_t t = 0; t < n_tok; t += TT) {
            const int nt = n_tok - t < TT ? (int)(n_tok - t) : TT;
            __m512 yacc = _mm512_setzero_ps();
            for (int64_t ib = 0; ib < nb; ib++) {
                const block_q8_K *y[TT];
                for (int j = 0; j < TT; j++)
                    y[j] = (const block_q8_K *)((const char *)Xq + (size_t)(t + (j < nt ? j : 0)) * xq_row_bytes) + ib;
                if (nr == TR && nt == TT) tile_sb(&u[ib * TR], TR, y, TT, type == 6, &yacc);
                else tile_sb(&u[ib * TR], nr, y, nt, type == 6, &yacc);
            }
            float out[TR * TT];
            _mm512_storeu_ps(out, yacc);
            for (int i = 0; i < nr; i++)
                for (int j = 0; j < nt; j++) Y[(t + j) * ldy + r + i] = out[i * TT + j];
        }
    }
    free(u);
}

TARGET void owl_gemm_q4_K_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                               size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {
    gemm_k(4, W, w_row_bytes, n_in, r0, r1, Xq, xq_row_bytes, n_tok, Y, ldy);
}
TARGET void owl_gemm_q5_K_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                               size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {
    gemm_k(5, W, w_row_bytes, n_in, r0, r1, Xq, xq_row_bytes, n_tok, Y, ldy);
}
TARGET void owl_gemm_q6_K_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                               size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {
    gemm_k(6, W, w_row_bytes, n_in, r0, r1, Xq, xq_row_bytes, n_tok, Y, ldy);
}
#endif
