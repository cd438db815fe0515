/* kernels.c: the type table and the matmul driver. (Bootstrap: F32 only;
 * the quantized types, F16/BF16 and the SIMD paths follow.) */
#include "kernels/kernels.h"

#include <string.h>

static void f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

static void f32_vec_dot(int64_t n, float *s, const void *x, const void *y) {
    const float *a = x, *b = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    *s = sum;
}

static const owl_kernel_traits reference_table[] = {
    {OWL_F32, "F32", 1, 4, OWL_F32, f32_to_float, (owl_from_float_fn)f32_to_float, f32_vec_dot},
};

const owl_kernel_traits *owl_kernels_get_reference(int type) {
    for (size_t i = 0; i < sizeof reference_table / sizeof *reference_table; i++)
        if (reference_table[i].type == type) return &reference_table[i];
    return NULL;
}

const owl_kernel_traits *owl_kernels_get(int type) { return owl_kernels_get_reference(type); }

size_t owl_row_bytes(int type, int64_t n) {
    const owl_kernel_traits *k = owl_kernels_get_reference(type);
    if (!k || n < 0 || n % k->block_size) return 0;
    return (size_t)(n / k->block_size) * k->type_size;
}

void owl_matmul_rows(const owl_kernel_traits *k, const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0,
                     int64_t r1, const void *Xq, size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy) {
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t r = r0; r < r1; r++)
            k->vec_dot(n_in, &Y[t * ldy + r], (const char *)W + r * w_row_bytes, (const char *)Xq + t * xq_row_bytes);
}

const char *owl_kernels_isa(void) { return "scalar"; }
