/* blocks.h: ggml's quantised block layouts (ggml-common.h) as typed structs,
 * and the F16/BF16 scalar conversions, bit for bit as ggml computes them.
 * Internal to src/kernels. */
#ifndef OWL_KERNELS_BLOCKS_H
#define OWL_KERNELS_BLOCKS_H

#include <stdint.h>
#include <string.h>

typedef uint16_t owl_half;
#define QK_K 256
#define K_SCALE_SIZE 12

typedef struct { owl_half d; uint8_t qs[16]; } block_q4_0;
typedef struct { owl_half d, m; uint8_t qs[16]; } block_q4_1;
typedef struct { owl_half d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;
typedef struct { owl_half d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;
typedef struct { owl_half d; int8_t qs[32]; } block_q8_0;
typedef struct { owl_half d, s; int8_t qs[32]; } block_q8_1;
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; owl_half d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; owl_half d; } block_q3_K;
typedef struct { owl_half d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } block_q4_K;
typedef struct { owl_half d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; owl_half d; } block_q6_K;
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;
typedef struct { owl_half d; uint8_t qs[16]; } block_iq4_nl;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl");

static inline float owl_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t owl_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* ggml's portable FP16->FP32 (exact for every value, NaN payloads kept). */
static inline float owl_f16_to_f32(owl_half h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = 0xE0u << 23;
    const float normalized = owl_bits_f32((two_w >> 4) + exp_offset) * 0x1.0p-112f;
    const uint32_t magic_mask = 126u << 23;
    const float denormalized = owl_bits_f32((two_w >> 17) | magic_mask) - 0.5f;
    const uint32_t denorm_cutoff = 1u << 27;
    return owl_bits_f32(sign | (two_w < denorm_cutoff ? owl_f32_bits(denormalized) : owl_f32_bits(normalized)));
}

/* ggml's portable FP32->FP16: round to nearest even, NaN -> 0x7E00. */
static inline owl_half owl_f32_to_f16(float f) {
    float base = (__builtin_fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
    const uint32_t w = owl_f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = owl_bits_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = owl_f32_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (owl_half)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

static inline float owl_bf16_to_f32(uint16_t h) { return owl_bits_f32((uint32_t)h << 16); }

/* ggml_compute_fp32_to_bf16: NaNs are quietened, the rest rounds to nearest even. */
static inline uint16_t owl_f32_to_bf16(float f) {
    const uint32_t u = owl_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

#define OWL_H2F(x) owl_f16_to_f32(x)

extern const int8_t owl_kvalues_iq4nl[16];

/* dequant.c */
void owl_f16_to_float(const void *src, float *dst, int64_t n);
void owl_bf16_to_float(const void *src, float *dst, int64_t n);
void owl_q4_0_to_float(const void *src, float *dst, int64_t n);
void owl_q4_1_to_float(const void *src, float *dst, int64_t n);
void owl_q5_0_to_float(const void *src, float *dst, int64_t n);
void owl_q5_1_to_float(const void *src, float *dst, int64_t n);
void owl_q8_0_to_float(const void *src, float *dst, int64_t n);
void owl_q8_1_to_float(const void *src, float *dst, int64_t n);
void owl_q2_K_to_float(const void *src, float *dst, int64_t n);
void owl_q3_K_to_float(const void *src, float *dst, int64_t n);
void owl_q4_K_to_float(const void *src, float *dst, int64_t n);
void owl_q5_K_to_float(const void *src, float *dst, int64_t n);
void owl_q6_K_to_float(const void *src, float *dst, int64_t n);
void owl_q8_K_to_float(const void *src, float *dst, int64_t n);
void owl_iq4_nl_to_float(const void *src, float *dst, int64_t n);

#endif
