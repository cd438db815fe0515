/* sgemm.h: F32 matrix products C (+)= alpha A B for the training pass, with
 * any strides for A and B (so A or B may be a transposed view: no copies).
 * Packed panels and an FMA register-blocked micro-kernel (AVX2 6x16,
 * AVX-512 6x32), with the plain triple loop beside it as the truth. Each
 * element of C sums over k in one fixed order (k blocks in sequence), so
 * splitting M or N between threads never changes a bit. */
#ifndef OWL_KERNELS_SGEMM_H
#define OWL_KERNELS_SGEMM_H

#include <stdint.h>

/* A(i, k) = A[i * rsa + k * csa], B(k, j) = B[k * rsb + j * csb],
   C(i, j) = C[i * ldc + j]. accumulate 0: C = alpha A B; 1: C += alpha A B. */
void owl_sgemm(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t rsa, int64_t csa, const float *B,
               int64_t rsb, int64_t csb, float *C, int64_t ldc, int accumulate);
void owl_sgemm_ref(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t rsa, int64_t csa,
                   const float *B, int64_t rsb, int64_t csb, float *C, int64_t ldc, int accumulate);
/* "avx512", "avx2" or "scalar" */
const char *owl_sgemm_isa(void);
/* Column blocks a caller splitting N between threads should keep whole. */
#define OWL_SGEMM_NR 32

#endif
