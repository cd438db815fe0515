/* dot_scalar.c: scalar vec_dot of each quantised type against its
 * activation type, the same integer sums and scale order as ggml's generic
 * ggml_vec_dot_*_q8_* (the K-quants sum per lane mod 8 as ggml does). */
#include "kernels/blocks.h"
#include "kernels/quant.h"

void owl_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += ((x[ib].qs[j] & 0x0F) - 8) * y[ib].qs[j];
            sumi1 += ((x[ib].qs[j] >> 4) - 8) * y[ib].qs[j + 16];
        }
        sumf += (float)(sumi0 + sumi1) * OWL_H2F(x[ib].d) * OWL_H2F(y[ib].d);
    }
    *s = sumf;
}

void owl_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += (x[ib].qs[j] & 0x0F) * y[ib].qs[j];
            sumi1 += (x[ib].qs[j] >> 4) * y[ib].qs[j + 16];
        }
        sumf += (OWL_H2F(x[ib].d) * OWL_H2F(y[ib].d)) * (float)(sumi0 + sumi1) + OWL_H2F(x[ib].m) * OWL_H2F(y[ib].s);
    }
    *s = sumf;
}

void owl_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        uint32_t qh;
        memcpy(&qh, x[ib].qh, 4);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            const int xh0 = (int)(((qh >> j) << 4) & 0x10), xh1 = (int)((qh >> (j + 12)) & 0x10);
            sumi0 += (((x[ib].qs[j] & 0x0F) | xh0) - 16) * y[ib].qs[j];
            sumi1 += (((x[ib].qs[j] >> 4) | xh1) - 16) * y[ib].qs[j + 16];
        }
        sumf += (OWL_H2F(x[ib].d) * OWL_H2F(y[ib].d)) * (float)(sumi0 + sumi1);
    }
    *s = sumf;
}

void owl_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        uint32_t qh;
        memcpy(&qh, x[ib].qh, 4);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            const int xh0 = (int)(((qh >> j) << 4) & 0x10), xh1 = (int)((qh >> (j + 12)) & 0x10);
            sumi0 += ((x[ib].qs[j] & 0x0F) | xh0) * y[ib].qs[j];
            sumi1 += ((x[ib].qs[j] >> 4) | xh1) * y[ib].qs[j + 16];
        }
        sumf += (OWL_H2F(x[ib].d) * OWL_H2F(y[ib].d)) * (float)(sumi0 + sumi1) + OWL_H2F(x[ib].m) * OWL_H2F(y[ib].s);
    }
    *s = sumf;
}

void owl_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int sumi = 0;
        for (int j = 0; j < 32; j++) sumi += x[ib].qs[j] * y[ib].qs[j];
        sumf += (float)sumi * (OWL_H2F(x[ib].d) * OWL_H2F(y[ib].d));
    }
    *s = sumf;
}

void owl_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        const float d = OWL_H2F(y[ib].d) * OWL_H2F(x[ib].d);
        int sumi1 = 0, sumi2 = 0;
        for (int j = 0; j < 16; j++) {
            sumi1 += y[ib].qs[j] * owl_kvalues_iq4nl[x[ib].qs[j] & 0xf];
            sumi2 += y[ib].qs[j + 16] * owl_kvalues_iq4nl[x[ib].qs[j] >> 4];
        }
        sumf += d * (float)(sumi1 + sumi2);
    }
    *s = sumf;
}

/* ggml's K-quant lane sums: aux32[l] = sum over i = l mod 8 of
 * scale(i) * q[i] * q8[i], with one scale per `group` values. */
static void lane_sums(const int8_t *q, const int8_t *q8, const int *scales, int group, int32_t aux32[8]) {
    for (int l = 0; l < 8; l++) aux32[l] = 0;
    for (int i = 0; i < QK_K; i++) aux32[i & 7] += scales[i / group] * (q[i] * q8[i]);
}

void owl_vec_dot_q2_K_q8_K(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *sc = x[i].scales;
        int summs = 0;
        for (int j = 0; j < 16; j++) summs += y[i].bsums[j] * (sc[j] >> 4);
        const float dall = y[i].d * OWL_H2F(x[i].d), dmin = y[i].d * OWL_H2F(x[i].dmin);
        int isum = 0, is = 0;
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        for (int k = 0; k < QK_K / 128; k++, q2 += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const int d = sc[is++] & 0xF;
                    int isuml = 0;
                    for (int l = 0; l < 16; l++) isuml += q8[l] * ((q2[l + 16 * half] >> shift) & 3);
                    isum += d * isuml;
                    q8 += 16;
                }
            }
        }
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

void owl_vec_dot_q3_K_q8_K(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    const uint32_t kmask1 = 0x03030303u, kmask2 = 0x0f0f0f0fu;
    float sums[8] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t aux8[QK_K];
        int8_t *a = aux8;
        const uint8_t *q3 = x[i].qs, *hm = x[i].hmask;
        uint8_t m = 1;
        for (int j = 0; j < QK_K; j += 128, q3 += 32)
            for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1), a += 32)
                for (int l = 0; l < 32; l++)
                    a[l] = (int8_t)(((q3[l] >> shift) & 3) - (hm[l] & m ? 0 : 4));
        uint32_t aux[4];
        memcpy(aux, x[i].scales, 12);
        const uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        int8_t sc8[16];
        memcpy(sc8, aux, 16);
        int scales[16];
        for (int j = 0; j < 16; j++) scales[j] = sc8[j] - 32;
        int32_t aux32[8];
        lane_sums(aux8, y[i].qs, scales, 16, aux32);
        const float d = OWL_H2F(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)aux32[l];
    }
    float sumf = 0;
    for (int l = 0; l < 8; l++) sumf += sums[l];
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

/* Q4_K and Q5_K share everything but the fifth bit. */
static void dot_q45_K(int64_t n, float *s, const void *vx, const void *vy, int five) {
    const block_q8_K *y = vy;
    const size_t bsize = five ? sizeof(block_q5_K) : sizeof(block_q4_K);
    float sums[8] = {0}, sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *blk = (const uint8_t *)vx + (size_t)i * bsize;
        owl_half hd, hdmin;
        memcpy(&hd, blk, 2);
        memcpy(&hdmin, blk + 2, 2);
        const uint8_t *scb = blk + 4;
        const uint8_t *qh = five ? blk + 16 : NULL;
        const uint8_t *q4 = five ? blk + 48 : blk + 16;
        int8_t aux8[QK_K];
        for (int j = 0; j < QK_K / 64; j++, q4 += 32)
            for (int l = 0; l < 32; l++) {
                aux8[64 * j + l] = (int8_t)((q4[l] & 0xF) + (five && (qh[l] >> (2 * j) & 1) ? 16 : 0));
                aux8[64 * j + 32 + l] = (int8_t)((q4[l] >> 4) + (five && (qh[l] >> (2 * j + 1) & 1) ? 16 : 0));
            }
        int scales[8], mins[8];
        for (int j = 0; j < 8; j++) scale_min_k4(j, scb, &scales[j], &mins[j]);
        int sumi = 0;
        for (int j = 0; j < QK_K / 16; j++) sumi += y[i].bsums[j] * mins[j / 2];
        int32_t aux32[8];
        lane_sums(aux8, y[i].qs, scales, 32, aux32);
        const float d = OWL_H2F(hd) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)aux32[l];
        const float dmin = OWL_H2F(hdmin) * y[i].d;
        sumf -= dmin * (float)sumi;
    }
    for (int l = 0; l < 8; l++) sumf += sums[l];
    *s = sumf;
}

void owl_vec_dot_q4_K_q8_K(int64_t n, float *s, const void *x, const void *y) { dot_q45_K(n, s, x, y, 0); }
void owl_vec_dot_q5_K_q8_K(int64_t n, float *s, const void *x, const void *y) { dot_q45_K(n, s, x, y, 1); }

void owl_vec_dot_q6_K_q8_K(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t aux8[QK_K];
        int8_t *a = aux8;
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        for (int j = 0; j < QK_K; j += 128, a += 128, ql += 64, qh += 32)
            for (int l = 0; l < 32; l++) {
                a[l + 0] = (int8_t)((int8_t)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                a[l + 32] = (int8_t)((int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                a[l + 64] = (int8_t)((int8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                a[l + 96] = (int8_t)((int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        int scales[16];
        for (int j = 0; j < 16; j++) scales[j] = x[i].scales[j];
        int32_t aux32[8];
        lane_sums(aux8, y[i].qs, scales, 16, aux32);
        const float d = OWL_H2F(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)aux32[l];
    }
    float sumf = 0;
    for (int l = 0; l < 8; l++) sumf += sums[l];
    *s = sumf;
}
