/* quant.h: the scalar quantizers (quant.c) and vec_dots (dot_scalar.c),
 * internal to src/kernels; kernels.c puts them in the table. */
#ifndef OWL_KERNELS_QUANT_H
#define OWL_KERNELS_QUANT_H

#include <stdint.h>

void owl_q4_0_from_float(const float *x, void *y, int64_t n);
void owl_q4_1_from_float(const float *x, void *y, int64_t n);
void owl_q5_0_from_float(const float *x, void *y, int64_t n);
void owl_q5_1_from_float(const float *x, void *y, int64_t n);
void owl_q8_0_from_float(const float *x, void *y, int64_t n);
void owl_q8_1_from_float(const float *x, void *y, int64_t n);
/* ggml's x86 activation quantizers (127/amax, round to nearest even). */
void owl_q8_0_quantize_act(const float *x, void *y, int64_t n);
void owl_q8_1_quantize_act(const float *x, void *y, int64_t n);
void owl_q8_K_from_float(const float *x, void *y, int64_t n);
/* quant_k.c: ggml's quantize_row_q{2..6}_K_ref. */
void owl_q2_K_from_float(const float *x, void *y, int64_t n);
void owl_q3_K_from_float(const float *x, void *y, int64_t n);
void owl_q4_K_from_float(const float *x, void *y, int64_t n);
void owl_q5_K_from_float(const float *x, void *y, int64_t n);
void owl_q6_K_from_float(const float *x, void *y, int64_t n);
/* quant_k.c: ggml's IQ4_NL quantizer as ggml_quantize_chunk runs it. */
void owl_iq4_nl_from_float(const float *x, void *y, int64_t n);

void owl_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q2_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q3_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q6_K_q8_K(int64_t n, float *s, const void *x, const void *y);

#endif
