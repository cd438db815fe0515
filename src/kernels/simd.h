/* simd.h: the SIMD kernels (dot_avx2.c, dot_avx512.c, dot_x86_quants.inc)
 * and the CPU probe that picks them. Each is a drop-in vec_dot (see
 * kernels.h) with a scalar twin. */
#ifndef OWL_KERNELS_SIMD_H
#define OWL_KERNELS_SIMD_H

#include <stddef.h>
#include <stdint.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define OWL_HAVE_X86_SIMD 1
#else
#define OWL_HAVE_X86_SIMD 0
#endif

/* 1 when the CPU runs AVX2 with FMA and F16C. */
int owl_cpu_has_avx2(void);
/* 1 when it also runs AVX-512 F/BW/VL with VNNI and BF16. */
int owl_cpu_has_avx512vnni(void);

void owl_vec_dot_f32_avx512(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_f16_avx512(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_bf16_avx512(int64_t n, float *s, const void *x, const void *y);

void owl_vec_dot_f32_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_f16_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_bf16_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q8_0_q8_0_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_0_q8_0_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_1_q8_1_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_0_q8_0_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_1_q8_1_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_iq4_nl_q8_0_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q2_K_q8_K_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q3_K_q8_K_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_K_q8_K_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_K_q8_K_avx2(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q6_K_q8_K_avx2(int64_t n, float *s, const void *x, const void *y);


void owl_vec_dot_q8_0_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_0_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_1_q8_1_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_0_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_1_q8_1_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_iq4_nl_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q2_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q3_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q6_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q8_0_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_0_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_1_q8_1_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_0_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_1_q8_1_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_iq4_nl_q8_0_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q2_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q3_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q4_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q5_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);
void owl_vec_dot_q6_K_q8_K_vnni(int64_t n, float *s, const void *x, const void *y);

void owl_gemm_q8_0_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                        size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy);
void owl_gemm_q4_0_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                        size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy);
/* gemm_vnni_k.c */
void owl_gemm_q4_K_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                        size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy);
void owl_gemm_q5_K_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                        size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy);
void owl_gemm_q6_K_vnni(const void *W, size_t w_row_bytes, int64_t n_in, int64_t r0, int64_t r1, const void *Xq,
                        size_t xq_row_bytes, int64_t n_tok, float *Y, int64_t ldy);

#endif
