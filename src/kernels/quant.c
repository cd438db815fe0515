/* quant.c: ggml's reference quantizers (quantize_row_*_ref, no imatrix) for
 * the 32-wide types and the Q8_K activation type; the K-quants are in
 * quant_k.c. IQ4_NL's search is not here yet. */
#include <math.h>

#include "kernels/blocks.h"
#include "kernels/quant.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* ggml's nearest_int: round half to even via the 1.5*2^23 trick. */
static inline int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

void owl_q4_0_from_float(const float *x, void *dst, int64_t n) {
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -8, id = d ? 1.0f / d : 0.0f;
        y[i].d = owl_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            const uint8_t xi0 = (uint8_t)MIN(15, (int8_t)(x[j] * id + 8.5f));
            const uint8_t xi1 = (uint8_t)MIN(15, (int8_t)(x[16 + j] * id + 8.5f));
            y[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

void owl_q4_1_from_float(const float *x, void *dst, int64_t n) {
    block_q4_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float min = INFINITY, max = -INFINITY;
        for (int j = 0; j < 32; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 15, id = d ? 1.0f / d : 0.0f;
        y[i].d = owl_f32_to_f16(d);
        y[i].m = owl_f32_to_f16(min);
        for (int j = 0; j < 16; j++) {
            const uint8_t xi0 = (uint8_t)MIN(15, (int8_t)((x[j] - min) * id + 0.5f));
            const uint8_t xi1 = (uint8_t)MIN(15, (int8_t)((x[16 + j] - min) * id + 0.5f));
            y[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

void owl_q5_0_from_float(const float *x, void *dst, int64_t n) {
    block_q5_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -16, id = d ? 1.0f / d : 0.0f;
        y[i].d = owl_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            const uint8_t xi0 = (uint8_t)MIN(31, (int8_t)(x[j] * id + 16.5f));
            const uint8_t xi1 = (uint8_t)MIN(31, (int8_t)(x[16 + j] * id + 16.5f));
            y[i].qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << j;
            qh |= ((xi1 & 0x10u) >> 4) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void owl_q5_1_from_float(const float *x, void *dst, int64_t n) {
    block_q5_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float min = INFINITY, max = -INFINITY;
        for (int j = 0; j < 32; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31, id = d ? 1.0f / d : 0.0f;
        y[i].d = owl_f32_to_f16(d);
        y[i].m = owl_f32_to_f16(min);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            const uint8_t xi0 = (uint8_t)((x[j] - min) * id + 0.5f);
            const uint8_t xi1 = (uint8_t)((x[16 + j] - min) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << j;
            qh |= ((xi1 & 0x10u) >> 4) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

/* One block of 32 as Q8_0/Q8_1 hold it: returns d, fills qs, *sum = their sum.
   ggml's reference quantizer (the truth for quantizing weights) scales by
   1/d and rounds half away from zero; its x86 SIMD quantize_row_q8_0/q8_1,
   which llama.cpp runs on activations here (simd = 1), scale by 127/amax
   and round to nearest even. */
static float q8_block(const float *x, int8_t *qs, int simd, int *sum) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.f;
    const float id = simd ? (amax != 0.0f ? 127.f / amax : 0.0f) : (d ? 1.0f / d : 0.0f);
    *sum = 0;
    for (int j = 0; j < 32; j++) {
        qs[j] = (int8_t)(simd ? nearbyintf(x[j] * id) : roundf(x[j] * id));
        *sum += qs[j];
    }
    return d;
}

static void q8_0_rows(const float *x, void *dst, int64_t n, int simd) {
    block_q8_0 *y = dst;
    int sum;
    for (int64_t i = 0; i < n / 32; i++, x += 32) y[i].d = owl_f32_to_f16(q8_block(x, y[i].qs, simd, &sum));
}

static void q8_1_rows(const float *x, void *dst, int64_t n, int simd) {
    block_q8_1 *y = dst;
    int sum;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        const float d = q8_block(x, y[i].qs, simd, &sum);
        y[i].d = owl_f32_to_f16(d);
        y[i].s = owl_f32_to_f16((float)sum * d);
    }
}

void owl_q8_0_from_float(const float *x, void *dst, int64_t n) { q8_0_rows(x, dst, n, 0); }
void owl_q8_1_from_float(const float *x, void *dst, int64_t n) { q8_1_rows(x, dst, n, 0); }
void owl_q8_0_quantize_act(const float *x, void *dst, int64_t n) { q8_0_rows(x, dst, n, 1); }
void owl_q8_1_quantize_act(const float *x, void *dst, int64_t n) { q8_1_rows(x, dst, n, 1); }

void owl_q8_K_from_float(const float *x, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) y[i].qs[j] = (int8_t)MIN(127, nearest_int(iscale * x[j]));
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}
