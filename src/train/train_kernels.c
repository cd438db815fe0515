/* train_kernels.c: tk_dot and tk_axpy, dispatched once on the CPU probe
 * (OWL_KERNELS=scalar pins the plain loops, as for the engine's kernels). */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/simd.h"
#include "train/train_kernels.h"

float tk_dot_ref(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void tk_axpy_ref(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>

__attribute__((target("avx512f"))) static void axpy_avx512(float *y, float a, const float *x, int64_t n) {
    __m512 va = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_mul_ps(va, _mm512_loadu_ps(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

__attribute__((target("avx2"))) static void axpy_avx2(float *y, float a, const float *x, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, _mm256_loadu_ps(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}
#endif

typedef void (*axpy_fn)(float *, float, const float *, int64_t);

static axpy_fn pick_axpy(const char **name) {
    const char *pin = getenv("OWL_KERNELS");
    *name = "scalar";
    if (pin && !strcmp(pin, "scalar")) return tk_axpy_ref;
#if OWL_HAVE_X86_SIMD
    if (owl_cpu_has_avx512vnni() && !(pin && !strcmp(pin, "avx2"))) {
        *name = "avx512";
        return axpy_avx512;
    }
    if (owl_cpu_has_avx2()) {
        *name = "avx2";
        return axpy_avx2;
    }
#endif
    return tk_axpy_ref;
}

static axpy_fn axpy_impl;
static const char *axpy_name;
static owl_vec_dot_fn dot_impl;

/* The probe's answer never changes, so racing first calls store the same values. */
static void init(void) {
    if (axpy_impl) return;
    const owl_kernel_traits *k = owl_kernels_get(OWL_F32);
    dot_impl = k ? k->vec_dot : NULL;
    axpy_impl = pick_axpy(&axpy_name);
}

float tk_dot(const float *a, const float *b, int64_t n) {
    init();
    if (!dot_impl) return tk_dot_ref(a, b, n);
    float s;
    dot_impl(n, &s, a, b);
    return s;
}

void tk_axpy(float *y, float a, const float *x, int64_t n) {
    init();
    axpy_impl(y, a, x, n);
}

const char *tk_isa(void) {
    init();
    return axpy_name;
}
