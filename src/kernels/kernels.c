/* kernels.c: the per-type kernel table and the matmul driver. Scalar
 * to_float is bit-exact with ggml for F32..IQ4_NL; from_float is ggml's _ref
 * quantizer (IQ4_NL: what ggml_quantize_chunk runs);
 * vec_dot is the scalar generic one (NULL only for activation-only types). */
#include "kernels/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/blocks.h"
#include "kernels/quant.h"
#include "kernels/simd.h"

static void f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }
static void f32_from_float(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

static void f16_from_float(const float *src, void *dst, int64_t n) {
    owl_half *y = dst;
    for (int64_t i = 0; i < n; i++) y[i] = owl_f32_to_f16(src[i]);
}

static void bf16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *y = dst;
    for (int64_t i = 0; i < n; i++) y[i] = owl_f32_to_bf16(src[i]);
}

/* ggml_vec_dot_f32 (scalar: double accumulator off, plain float sum). */
static void f32_vec_dot(int64_t n, float *s, const void *x, const void *y) {
    const float *a = x, *b = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    *s = sum;
}

/* ggml_vec_dot_f16/bf16 generic: products summed in double (ggml_float). */
static void f16_vec_dot(int64_t n, float *s, const void *x, const void *y) {
    const owl_half *a = x, *b = y;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(owl_f16_to_f32(a[i]) * owl_f16_to_f32(b[i]));
    *s = (float)sum;
}

static void bf16_vec_dot(int64_t n, float *s, const void *x, const void *y) {
    const uint16_t *a = x, *b = y;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(owl_bf16_to_f32(a[i]) * owl_bf16_to_f32(b[i]));
    *s = (float)sum;
}

static const owl_kernel_traits reference_table[] = {
    {OWL_F32, "F32", 1, 4, OWL_F32, f32_to_float, f32_from_float, f32_vec_dot, NULL},
    {OWL_F16, "F16", 1, 2, OWL_F16, owl_f16_to_float, f16_from_float, f16_vec_dot, NULL},
    {OWL_BF16, "BF16", 1, 2, OWL_BF16, owl_bf16_to_float, bf16_from_float, bf16_vec_dot, NULL},
    {OWL_Q4_0, "Q4_0", 32, sizeof(block_q4_0), OWL_Q8_0, owl_q4_0_to_float, owl_q4_0_from_float, owl_vec_dot_q4_0_q8_0, NULL},
    {OWL_Q4_1, "Q4_1", 32, sizeof(block_q4_1), OWL_Q8_1, owl_q4_1_to_float, owl_q4_1_from_float, owl_vec_dot_q4_1_q8_1, NULL},
    {OWL_Q5_0, "Q5_0", 32, sizeof(block_q5_0), OWL_Q8_0, owl_q5_0_to_float, owl_q5_0_from_float, owl_vec_dot_q5_0_q8_0, NULL},
    {OWL_Q5_1, "Q5_1", 32, sizeof(block_q5_1), OWL_Q8_1, owl_q5_1_to_float, owl_q5_1_from_float, owl_vec_dot_q5_1_q8_1, NULL},
    {OWL_Q8_0, "Q8_0", 32, sizeof(block_q8_0), OWL_Q8_0, owl_q8_0_to_float, owl_q8_0_from_float, owl_vec_dot_q8_0_q8_0, NULL},
    {OWL_Q8_1, "Q8_1", 32, sizeof(block_q8_1), OWL_Q8_1, owl_q8_1_to_float, owl_q8_1_from_float, NULL, NULL},
    {OWL_Q2_K, "Q2_K", QK_K, sizeof(block_q2_K), OWL_Q8_K, owl_q2_K_to_float, owl_q2_K_from_float, owl_vec_dot_q2_K_q8_K, NULL},
    {OWL_Q3_K, "Q3_K", QK_K, sizeof(block_q3_K), OWL_Q8_K, owl_q3_K_to_float, owl_q3_K_from_float, owl_vec_dot_q3_K_q8_K, NULL},
    {OWL_Q4_K, "Q4_K", QK_K, sizeof(block_q4_K), OWL_Q8_K, owl_q4_K_to_float, owl_q4_K_from_float, owl_vec_dot_q4_K_q8_K, NULL},
    {OWL_Q5_K, "Q5_K", QK_K, sizeof(block_q5_K), OWL_Q8_K, owl_q5_K_to_float, owl_q5_K_from_float, owl_vec_dot_q5_K_q8_K, NULL},
    {OWL_Q6_K, "Q6_K", QK_K, sizeof(block_q6_K), OWL_Q8_K, owl_q6_K_to_float, owl_q6_K_from_float, owl_vec_dot_q6_K_q8_K, NULL},
    {OWL_Q8_K, "Q8_K", QK_K, sizeof(block_q8_K), OWL_Q8_K, owl_q8_K_to_float, owl_q8_K_from_float, NULL, NULL},
    {OWL_IQ4_NL, "IQ4_NL", 32, sizeof(block_iq4_nl), OWL_Q8_0, owl_iq4_nl_to_float, owl_iq4_nl_from_float, owl_vec_dot_iq4_nl_q8_0, NULL},
};

const owl_kernel_traits *owl_kernels_get_reference(int type) {
    for (size_t i = 0; i < sizeof reference_table / sizeof *reference_table; i++)
        if (reference_table[i].type == type) return &reference_table[i];
    return NULL;
}

/* The fast table: the reference rows with SIMD vec_dot where this CPU has
   them, built once by the CPU probe (the only global state owl keeps). */
#define N_TYPES (sizeof reference_table / sizeof *reference_table)
static owl_kernel_traits fast_table[N_TYPES];
static const char *fast_isa = "scalar";
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;

#if OWL_HAVE_X86_SIMD
typedef struct kernel_choice {
    int type;
    owl_vec_dot_fn fn;
} kernel_choice;

static void choose(const kernel_choice *set, size_t n) {
    for (size_t i = 0; i < N_TYPES; i++)
        for (size_t j = 0; j < n; j++)
            if (fast_table[i].type == set[j].type) fast_table[i].vec_dot = set[j].fn;
}
#endif

static void build_fast_table(void) {
    memcpy(fast_table, reference_table, sizeof fast_table);
    const char *pick = getenv("OWL_KERNELS"); /* "scalar" or "avx2": a narrower set, for A/B runs and tests */
    if ((pick && !strcmp(pick, "scalar")) || !owl_cpu_has_avx2()) return;
#if OWL_HAVE_X86_SIMD
    static const kernel_choice avx2[] = {
        {OWL_F32, owl_vec_dot_f32_avx2},          {OWL_F16, owl_vec_dot_f16_avx2},
        {OWL_BF16, owl_vec_dot_bf16_avx2},        {OWL_Q8_0, owl_vec_dot_q8_0_q8_0_avx2},
        {OWL_Q4_0, owl_vec_dot_q4_0_q8_0_avx2},   {OWL_Q4_1, owl_vec_dot_q4_1_q8_1_avx2},
        {OWL_Q5_0, owl_vec_dot_q5_0_q8_0_avx2},   {OWL_Q5_1, owl_vec_dot_q5_1_q8_1_avx2},
        {OWL_IQ4_NL, owl_vec_dot_iq4_nl_q8_0_avx2}, {OWL_Q2_K, owl_vec_dot_q2_K_q8_K_avx2},
        {OWL_Q3_K, owl_vec_dot_q3_K_q8_K_avx2},   {OWL_Q4_K, owl_vec_dot_q4_K_q8_K_avx2},
        {OWL_Q5_K, owl_vec_dot_q5_K_q8_K_avx2},   {OWL_Q6_K, owl_vec_dot_q6_K_q8_K_avx2},
    };
    static const kernel_choice avx512[] = {
        {OWL_F32, owl_vec_dot_f32_avx512},          {OWL_F16, owl_vec_dot_f16_avx512},
        {OWL_BF16, owl_vec_dot_bf16_avx512},        {OWL_Q8_0, owl_vec_dot_q8_0_q8_0_vnni},
        {OWL_Q4_0, owl_vec_dot_q4_0_q8_0_vnni},     {OWL_Q4_1, owl_vec_dot_q4_1_q8_1_vnni},
        {OWL_Q5_0, owl_vec_dot_q5_0_q8_0_vnni},     {OWL_Q5_1, owl_vec_dot_q5_1_q8_1_vnni},
        {OWL_IQ4_NL, owl_vec_dot_iq4_nl_q8_0_vnni}, {OWL_Q2_K, owl_vec_dot_q2_K_q8_K_vnni},
        {OWL_Q3_K, owl_vec_dot_q3_K_q8_K_vnni},     {OWL_Q4_K, owl_vec_dot_q4_K_q8_K_vnni},
        {OWL_Q5_K, owl_vec_dot_q5_K_q8_K_vnni},     {OWL_Q6_K, owl_vec_dot_q6_K_q8_K_vnni},
    };
    choose(avx2, sizeof avx2 / sizeof avx2[0]);
    fast_isa = "avx2";
    if (owl_cpu_has_avx512vnni() && !(pick && !strcmp(pick, "avx2"))) { /* "avx2" pins that set (A/B runs, tests) */
        choose(avx512, sizeof avx512 / sizeof avx512[0]);
        for (size_t i = 0; i < N_TYPES; i++) { /* tiled kernels for many tokens */
            if (fast_table[i].type == OWL_Q8_0) fast_table[i].gemm = owl_gemm_q8_0_vnni;
            if (fast_table[i].type == OWL_Q4_0) fast_table[i].gemm = owl_gemm_q4_0_vnni;
            if (fast_table[i].type == OWL_Q4_K) fast_table[i].gemm = owl_gemm_q4_K_vnni;
            if (fast_table[i].type == OWL_Q5_K) fast_table[i].gemm = owl_gemm_q5_K_vnni;
            if (fast_table[i].type == OWL_Q6_K) fast_table[i].gemm = owl_gemm_q6_K_vnni;
        }
        fast_isa = "avx512vnni";
    }
#endif
}

const owl_kernel_traits *owl_kernels_get(int type) {
    pthread_once(&fast_once, build_fast_table);
    for (size_t i = 0; i < N_TYPES; i++)
        if (fast_table[i].type == type) return &fast_table[i];
    return NULL;
}

size_t owl_row_bytes(int type, int64_t n) {
    const owl_kernel_traits *k = owl_kernels_get_reference(type);
    if (!k || n < 0 || n % k->block_size) return 0;
    return (size_t)(n / k->block_size) * k->type_size;
}

void owl_matmul_rows(const owl_kernel_traits *k, const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0,
                     int64_t r1, const void *Xq, size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {
    if (k->gemm && n_tok >= 4) {
        k->gemm(W, w_row_bytes, n_in, r0, r1, Xq, xq_row_bytes, n_tok, Y, ldy);
        return;
    }
    /* a few weight rows stay in L1 while every token's activations stream by:
       the weights are read from memory once per batch, not once per token */
    enum { ROWS = 4 };
    for (int64_t rb = r0; rb < r1; rb += ROWS) {
        int64_t re = rb + ROWS < r1 ? rb + ROWS : r1;
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t r = rb; r < re; r++)
                k->vec_dot(n_in, &Y[t * ldy + r], (const char *)W + r * w_row_bytes, (const char *)Xq + t * xq_row_bytes);
    }
}

void owl_quantize_activations(int type, const float *x, void *dst, int64_t n) {
    if (type == OWL_Q8_0) owl_q8_0_quantize_act(x, dst, n);
    else if (type == OWL_Q8_1) owl_q8_1_quantize_act(x, dst, n);
    else owl_kernels_get(type)->from_float(x, dst, n);
}

const char *owl_kernels_isa(void) {
    pthread_once(&fast_once, build_fast_table);
    return fast_isa;
}
