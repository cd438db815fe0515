/* test_kernels.c: the weight-type kernels against ggml's own output in
 * ../shared/reference/dequant (bit for bit), exhaustive F16/BF16
 * conversions, and the fast paths against the scalar reference. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "harness.h"
#include "kernels/blocks.h"
#include "kernels/kernels.h"

static void *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static const struct { int type; const char *file; } dequant_cases[] = {
    {OWL_F16, "f16"},   {OWL_BF16, "bf16"}, {OWL_Q8_0, "q8_0"}, {OWL_Q4_0, "q4_0"}, {OWL_Q4_1, "q4_1"},
    {OWL_Q5_0, "q5_0"}, {OWL_Q5_1, "q5_1"}, {OWL_Q2_K, "q2_K"}, {OWL_Q3_K, "q3_K"}, {OWL_Q4_K, "q4_K"},
    {OWL_Q5_K, "q5_K"}, {OWL_Q6_K, "q6_K"}, {OWL_IQ4_NL, "iq4_nl"},
};
#define N_CASES (sizeof dequant_cases / sizeof *dequant_cases)

/* to_float of <prefix><type>.bin must equal <prefix><type>.f32 bit for bit. */
static void check_dequant(const char *prefix) {
    for (size_t c = 0; c < N_CASES; c++) {
        char rel[256];
        size_t nb, nf;
        snprintf(rel, sizeof rel, "reference/dequant/%s%s.bin", prefix, dequant_cases[c].file);
        uint8_t *bin = read_all(shared_path(rel), &nb);
        snprintf(rel, sizeof rel, "reference/dequant/%s%s.f32", prefix, dequant_cases[c].file);
        uint32_t *want = read_all(shared_path(rel), &nf);
        CHECK(bin && want, "%s%s: reference missing", prefix, dequant_cases[c].file);
        const owl_kernel_traits *k = owl_kernels_get_reference(dequant_cases[c].type);
        CHECK(k != NULL, "%s", dequant_cases[c].file);
        if (bin && want && k) {
            int64_t n = (int64_t)(nf / 4);
            CHECK(owl_row_bytes(k->type, n) == nb, "%s%s: %zu bytes for %lld values", prefix, dequant_cases[c].file,
                  nb, (long long)n);
            if (owl_row_bytes(k->type, n) == nb) {
                uint32_t *got = malloc(nf);
                k->to_float(bin, (float *)got, n);
                int64_t bad = 0, first = -1;
                for (int64_t i = 0; i < n; i++)
                    if (got[i] != want[i] && bad++ == 0) first = i;
                CHECK(bad == 0, "%s%s: %lld of %lld differ, first at %lld (%08x vs %08x)", prefix,
                      dequant_cases[c].file, (long long)bad, (long long)n, (long long)first,
                      first >= 0 ? got[first] : 0, first >= 0 ? want[first] : 0);
                free(got);
            }
        }
        free(bin);
        free(want);
    }
}

static void test_dequant_models(void) { check_dequant(""); }
static void test_dequant_synth(void) { check_dequant("synth_"); }

/* Every half round-trips through float exactly (NaNs become ggml's 0x7E00
 * with the sign kept); every bf16 likewise (NaNs get the quiet bit). */
static void test_half_exhaustive(void) {
    int bad16 = 0, badbf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = owl_f16_to_f32((owl_half)h);
        int is_nan = (h & 0x7C00) == 0x7C00 && (h & 0x03FF);
        uint16_t back = owl_f32_to_f16(f);
        uint16_t want = is_nan ? (uint16_t)((h & 0x8000) | 0x7E00) : (uint16_t)h;
        if (back != want) bad16++;
        float g = owl_bf16_to_f32((uint16_t)h);
        int bnan = (h & 0x7F80) == 0x7F80 && (h & 0x7F);
        uint16_t bb = owl_f32_to_bf16(g);
        if (bb != (bnan ? (uint16_t)(h | 64) : (uint16_t)h)) badbf++;
    }
    CHECK(bad16 == 0, "%d f16 values do not round-trip", bad16);
    CHECK(badbf == 0, "%d bf16 values do not round-trip", badbf);
    /* Rounding: halfway between two halves goes to the even one. */
    CHECK(owl_f32_to_f16(1.0f + 0x1.0p-11f) == 0x3C00, "tie to even down");
    CHECK(owl_f32_to_f16(1.0f + 3 * 0x1.0p-11f) == 0x3C02, "tie to even up");
    CHECK(owl_f32_to_f16(65520.0f) == 0x7C00, "overflow to inf");
    CHECK(owl_f32_to_f16(0x1.0p-25f) == 0x0000, "smallest tie to zero");
    CHECK(owl_f32_to_f16(0x1.8p-25f) == 0x0001, "above tie rounds up");
    CHECK(owl_f32_to_bf16(1.0f + 0x1.0p-8f) == 0x3F80, "bf16 tie to even");
}


/* from_float of synth_input.f32 must equal ggml's synth_<type>.bin byte for
 * byte (ggml_quantize_chunk without imatrix: the _ref quantizers), for every
 * type: all 13 (IQ4_NL as ggml_quantize_chunk runs it). */
static void test_quantize_synth(void) {
    size_t nin;
    float *in = read_all(shared_path("reference/dequant/synth_input.f32"), &nin);
    CHECK(in != NULL, "synth_input.f32 missing");
    if (!in) return;
    int done = 0;
    for (size_t c = 0; c < N_CASES; c++) {
        const owl_kernel_traits *k = owl_kernels_get_reference(dequant_cases[c].type);
        if (!k || !k->from_float) continue;
        char rel[256];
        size_t nb;
        snprintf(rel, sizeof rel, "reference/dequant/synth_%s.bin", dequant_cases[c].file);
        uint8_t *want = read_all(shared_path(rel), &nb);
        int64_t n = (int64_t)(nin / 4);
        CHECK(want && owl_row_bytes(k->type, n) == nb, "%s", rel);
        if (want && owl_row_bytes(k->type, n) == nb) {
            uint8_t *got = calloc(1, nb);
            k->from_float(in, got, n);
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < nb; i++)
                if (got[i] != want[i] && bad++ == 0) first = i;
            CHECK(bad == 0, "%s: %zu bytes differ, first at %zu", dequant_cases[c].file, bad, first);
            free(got);
            done++;
        }
        free(want);
    }
    CHECK(done == 13, "quantizers checked: %d", done);
    free(in);
}

/* Scalar vec_dot against a double-precision dot of the dequantised rows. */
static void test_vec_dot_vs_dequant(void) {
    srand(7);
    for (size_t c = 0; c < N_CASES; c++) {
        const owl_kernel_traits *k = owl_kernels_get_reference(dequant_cases[c].type);
        const owl_kernel_traits *kq = owl_kernels_get_reference(k->vec_dot_type);
        int64_t n = k->block_size == 1 ? 512 : 1024;
        float *a = malloc(n * 4), *b = malloc(n * 4), *da = malloc(n * 4), *db = malloc(n * 4);
        for (int64_t i = 0; i < n; i++) {
            a[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
            b[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
        }
        uint8_t *qa = malloc(owl_row_bytes(k->type, n)), *qb = malloc(owl_row_bytes(kq->type, n));
        if (k->from_float) k->from_float(a, qa, n);
        if (!k->from_float) for (size_t i = 0; i < owl_row_bytes(k->type, n); i++) qa[i] = (uint8_t)rand();
        if (k->type == OWL_Q2_K || k->type == OWL_Q3_K || k->type == OWL_Q4_K || k->type == OWL_Q5_K || k->type == OWL_Q6_K)
            for (int64_t bi = 0; bi < n / 256; bi++) { /* sane f16 scales */
                size_t off = (size_t)bi * k->type_size;
                owl_half h = owl_f32_to_f16(0.01f);
                if (k->type == OWL_Q4_K || k->type == OWL_Q5_K) { memcpy(qa + off, &h, 2); memcpy(qa + off + 2, &h, 2); }
                else if (k->type == OWL_Q2_K) { memcpy(qa + off + 80, &h, 2); memcpy(qa + off + 82, &h, 2); }
                else memcpy(qa + off + k->type_size - 2, &h, 2);
            }
        if (k->type == OWL_IQ4_NL)
            for (int64_t bi = 0; bi < n / 32; bi++) { owl_half h = owl_f32_to_f16(0.01f); memcpy(qa + bi * 18, &h, 2); }
        kq->from_float(b, qb, n);
        k->to_float(qa, da, n);
        kq->to_float(qb, db, n);
        double want = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) { want += (double)da[i] * db[i]; mag += fabs((double)da[i] * db[i]); }
        float got;
        k->vec_dot(n, &got, qa, qb);
        CHECK(fabs(got - want) <= 1e-4 * mag + 1e-6, "%s: %g vs %g", k->name, got, want);
        free(a); free(b); free(da); free(db); free(qa); free(qb);
    }
}

/* Every fast vec_dot and matmul against the scalar reference over random
   shapes (odd lengths and tails for the one-element types, 1..40 blocks for
   the block types), on real quantized data. */
static void test_fast_vs_reference(void) {
    static const int types[] = {OWL_F32, OWL_F16, OWL_BF16, OWL_Q8_0, OWL_Q4_0, OWL_Q4_1, OWL_Q5_0, OWL_Q5_1, OWL_IQ4_NL,
                                OWL_Q2_K, OWL_Q3_K, OWL_Q4_K, OWL_Q5_K, OWL_Q6_K};
    srand(11);
    int fast = 0, shapes = 0;
    double worst = 0;
    for (size_t c = 0; c < sizeof types / sizeof types[0]; c++) {
        const owl_kernel_traits *k = owl_kernels_get(types[c]), *r = owl_kernels_get_reference(types[c]);
        const owl_kernel_traits *kq = owl_kernels_get_reference(r->vec_dot_type);
        CHECK(k && r && kq, "type %d has kernels", types[c]);
        if (!k || !r || !kq) continue;
        fast += k->vec_dot != r->vec_dot;
        for (int trial = 0; trial < 40; trial++, shapes++) {
            int64_t blocks = 1 + rand() % 40, n = r->block_size == 1 ? 1 + rand() % 700 : blocks * r->block_size;
            int64_t rows = 1 + rand() % 9, toks = 1 + rand() % 9;
            size_t wb = owl_row_bytes(r->type, n), xb = owl_row_bytes(kq->type, n);
            uint8_t *w = malloc(wb * (size_t)rows), *xq = malloc(xb * (size_t)toks);
            float *x = malloc((size_t)n * 4), *y0 = malloc((size_t)(rows * toks) * 4), *y1 = malloc((size_t)(rows * toks) * 4);
            for (int64_t rr = 0; rr < rows; rr++) {
                for (int64_t i = 0; i < n; i++) x[i] = (float)((double)rand() / RAND_MAX - 0.5) * (rr + 1);
                if (r->from_float) r->from_float(x, w + rr * wb, n);
                else for (size_t i = 0; i < wb; i++) w[rr * wb + i] = (uint8_t)rand();
                if (!r->from_float && r->block_size > 1) /* tame random scales: f16 0.01 where the block keeps d */
                    for (size_t bo = 0; bo < wb; bo += r->type_size) {
                        owl_half h = owl_f32_to_f16(0.01f);
                        size_t at = r->type == OWL_Q2_K ? 80 : (r->type == OWL_Q4_K || r->type == OWL_Q5_K) ? 0
                                  : r->type == OWL_IQ4_NL ? 0 : r->type_size - 2;
                        memcpy(w + rr * wb + bo + at, &h, 2);
                        if (r->type == OWL_Q4_K || r->type == OWL_Q5_K || r->type == OWL_Q2_K) memcpy(w + rr * wb + bo + at + 2, &h, 2);
                    }
            }
            for (int64_t t = 0; t < toks; t++) {
                for (int64_t i = 0; i < n; i++) x[i] = (float)((double)rand() / RAND_MAX - 0.5);
                kq->from_float(x, xq + t * xb, n);
            }
            owl_matmul_rows(r, w, wb, n, 0, rows, xq, xb, toks, y0, rows);
            owl_matmul_rows(k, w, wb, n, 0, rows, xq, xb, toks, y1, rows);
            for (int64_t i = 0; i < rows * toks; i++) {
                double d = fabs((double)y0[i] - y1[i]), tol = 1e-5 * (fabs(y0[i]) + sqrt((double)n)) + 1e-6;
                if (d > worst) worst = d;
                CHECK(d <= tol, "%s n=%lld: fast %.9g, scalar %.9g", r->name, (long long)n, y1[i], y0[i]);
            }
            free(w); free(xq); free(x); free(y0); free(y1);
        }
    }
    printf("fast kernels (%s): %d types, %d shapes, max |fast - scalar| %.3g\n", owl_kernels_isa(), fast, shapes, worst);
    if (strcmp(owl_kernels_isa(), "scalar")) CHECK(fast == 14, "%s paths for every weight type: %d", owl_kernels_isa(), fast);
}

/* The tiled kernels give exactly what the per-row kernel gives, for every
   tile edge (rows and tokens not multiples of 4). */
static void test_gemm_bit_identical(void) {
    static const int types[] = {OWL_Q8_0, OWL_Q4_0, OWL_Q4_K, OWL_Q5_K, OWL_Q6_K};
    srand(5);
    int checked = 0;
    for (size_t c = 0; c < sizeof types / sizeof *types; c++) {
        const owl_kernel_traits *k = owl_kernels_get(types[c]), *kq = owl_kernels_get_reference(k->vec_dot_type);
        if (!k->gemm) continue; /* this CPU has no tiled kernel for it */
        for (int trial = 0; trial < 30; trial++) {
            int64_t n = k->block_size * (1 + rand() % (k->block_size == 32 ? 20 : 6)), rows = 1 + rand() % 13,
                    toks = 4 + rand() % 11;
            size_t wb = owl_row_bytes(k->type, n), xb = owl_row_bytes(k->vec_dot_type, n);
            uint8_t *w = malloc(wb * (size_t)rows), *xq = malloc(xb * (size_t)toks);
            float *x = malloc((size_t)n * 4), *y0 = malloc((size_t)(rows * toks) * 4), *y1 = malloc((size_t)(rows * toks) * 4);
            for (int64_t r = 0; r < rows; r++) {
                for (int64_t i = 0; i < n; i++) x[i] = (float)((double)rand() / RAND_MAX - 0.5) * (float)(r + 1);
                owl_kernels_get_reference(k->type)->from_float(x, w + r * wb, n);
            }
            for (int64_t t = 0; t < toks; t++) {
                for (int64_t i = 0; i < n; i++) x[i] = (float)((double)rand() / RAND_MAX - 0.5);
                kq->from_float(x, xq + t * xb, n);
            }
            owl_matmul_rows(k, w, wb, n, 0, rows, xq, xb, toks, y0, rows); /* takes the tiled path */
            for (int64_t t = 0; t < toks; t++)
                for (int64_t r = 0; r < rows; r++) k->vec_dot(n, &y1[t * rows + r], w + r * wb, xq + t * xb);
            CHECK(!memcmp(y0, y1, (size_t)(rows * toks) * 4), "%s %lld x %lld x %lld: tiled differs from per-row", k->name,
                  (long long)rows, (long long)n, (long long)toks);
            checked++;
            free(w); free(xq); free(x); free(y0); free(y1);
        }
    }
    printf("tiled kernels: %d shapes bit-identical to the per-row kernels\n", checked);
}

int main(void) {
    RUN(test_dequant_models);
    RUN(test_dequant_synth);
    RUN(test_half_exhaustive);
    RUN(test_quantize_synth);
    RUN(test_vec_dot_vs_dequant);
    RUN(test_fast_vs_reference);
    RUN(test_gemm_bit_identical);
    DONE("test_kernels");
}
