/* train_kernels.h: the two vector loops the training pass spends its time
 * in: dot products (the engine's F32 vec_dot) and y += a x, each with the
 * plain scalar version beside it. The SIMD axpy multiplies and adds without
 * fusing, so it gives the scalar loop's results bit for bit. */
#ifndef OWL_TRAIN_TRAIN_KERNELS_H
#define OWL_TRAIN_TRAIN_KERNELS_H

#include <stdint.h>

float tk_dot(const float *a, const float *b, int64_t n);
float tk_dot_ref(const float *a, const float *b, int64_t n);
void tk_axpy(float *y, float a, const float *x, int64_t n);
void tk_axpy_ref(float *y, float a, const float *x, int64_t n);
/* Which path tk_axpy takes: "avx512", "avx2" or "scalar". */
const char *tk_isa(void);

#endif
