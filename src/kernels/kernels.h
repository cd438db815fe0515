/* kernels.h: the per-type weight kernels, one table row per ggml type
 * (ggml's type_traits_cpu[] is the model). The forward pass, quantize,
 * convert and training all reach weights only through this table.
 *
 * Conventions: a weight matrix is n_out rows of n_in elements stored in its
 * type (ne = {n_in, n_out}); activations are converted once per matmul into
 * the row's vec_dot_type (F32 for F32 weights, F16 for F16, BF16 for BF16,
 * Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for the
 * K-quants), exactly as ggml's CPU backend does, so that owl's rounding
 * matches llama.cpp's. */
#ifndef OWL_KERNELS_H
#define OWL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"

/* n is always a multiple of block_size. */
typedef void (*owl_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*owl_from_float_fn)(const float *src, void *dst, int64_t n);
/* *s = dot(x, y) over n elements; x is a row of the weight type, y a row of
 * its vec_dot_type. */
typedef void (*owl_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);

/* Y[t*ldy + r] = dot(W row r, Xq row t) for r in [r0, r1), t in [0, n_tok):
 * a tiled kernel, giving exactly the results of vec_dot row by row. */
typedef void (*owl_gemm_fn)(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                            size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy);

typedef struct owl_kernel_traits {
    int type;                     /* OWL_F32, OWL_Q4_0, ... */
    const char *name;
    int64_t block_size;           /* elements per block */
    size_t type_size;             /* bytes per block */
    int vec_dot_type;             /* the activation type vec_dot takes */
    owl_to_float_fn to_float;     /* bit-exact with ggml's to_float */
    owl_from_float_fn from_float; /* ggml's reference quantizer for this type */
    owl_vec_dot_fn vec_dot;       /* fastest path this CPU supports */
    owl_gemm_fn gemm;             /* many tokens at once, or NULL (then vec_dot per row and token) */
} owl_kernel_traits;

/* Kernels for weights of `type` on this CPU (chosen once by CPU feature
 * detection), or NULL when owl has no kernels for it. */
const owl_kernel_traits *owl_kernels_get(int type);
/* The plain scalar versions: the truth the fast ones are tested against. */
const owl_kernel_traits *owl_kernels_get_reference(int type);

/* Bytes of one row of n elements of `type`; 0 if n is not a whole number
 * of blocks or the type is unknown. */
size_t owl_row_bytes(int type, int64_t n);

/* Y[t*ldy + r] = dot(W row r, X row t) for r in [r0, r1), t in [0, n_tok).
 * W: n_out rows of w_row_bytes; Xq: n_tok activation rows already in
 * k->vec_dot_type, xq_row_bytes apart. Threads split [r0, r1) among
 * themselves; the result is the same whatever the split. */
void owl_matmul_rows(const owl_kernel_traits *k, const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0,
                     int64_t r1, const void *Xq, size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy);

/* Converts activations to `type` (a vec_dot_type) as llama.cpp's CPU backend
 * does before a matmul: for Q8_0/Q8_1 its x86 SIMD rounding, which differs
 * from the reference quantizer on ties; otherwise from_float. */
void owl_quantize_activations(int type, const float *x, void *dst, int64_t n);

/* Which SIMD paths the CPU probe chose ("avx512vnni", "avx2", "scalar"). */
const char *owl_kernels_isa(void);

#endif
