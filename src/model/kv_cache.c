/* kv_cache.c: cell bookkeeping and F16/F32 storage of K and V rows. F16
 * rounding goes through the kernel table's F16 row, so it is ggml's. */
#include "model/kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "kernels/kernels.h"

owl_status owl_kv_init(owl_kv_cache *kv, int type, int64_t n_cells, int64_t n_layer, int64_t k_dim, int64_t v_dim,
                       owl_error *err) {
    memset(kv, 0, sizeof *kv);
    if (type != OWL_KV_F16 && type != OWL_KV_F32 && type != OWL_KV_Q8_0)
        return owl_fail(err, OWL_ERR_USAGE, "KV cache type %d is not F16 (%d), F32 (%d) or Q8_0 (%d)", type, OWL_KV_F16,
                        OWL_KV_F32, OWL_KV_Q8_0);
    if (type == OWL_KV_Q8_0 && (k_dim % 32 || v_dim % 32))
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "a Q8_0 KV cache needs K and V rows in whole blocks of 32 (this model's are %lld and %lld wide)",
                        (long long)k_dim, (long long)v_dim);
    if (n_cells < 1 || n_layer < 1 || k_dim < 1 || v_dim < 0)
        return owl_fail(err, OWL_ERR_USAGE, "KV cache of %lld cells, %lld layers, %lld/%lld wide: empty",
                        (long long)n_cells, (long long)n_layer, (long long)k_dim, (long long)v_dim);
    kv->type = type;
    kv->elem = type == OWL_KV_F16 ? 2 : 4;
    int dtype = type == OWL_KV_F16 ? OWL_F16 : type == OWL_KV_F32 ? OWL_F32 : OWL_Q8_0;
    kv->k_row = owl_row_bytes(dtype, k_dim);
    kv->v_row = owl_row_bytes(dtype, v_dim);
    kv->n_cells = n_cells;
    kv->n_layer = n_layer;
    kv->k_dim = k_dim;
    kv->v_dim = v_dim;
    uint64_t kb, vb, cells;
    if (!owl_mul_u64((uint64_t)n_cells, (uint64_t)n_layer, &cells) || !owl_mul_u64(cells, kv->k_row, &kb) ||
        !owl_mul_u64(cells, kv->v_row, &vb) || kb > (1ull << 40) || vb > (1ull << 40))
        return owl_fail(err, OWL_ERR_NOMEM, "KV cache of %lld cells x %lld layers is too large", (long long)n_cells,
                        (long long)n_layer);
    kv->k = calloc(1, (size_t)kb);
    kv->v = vb ? calloc(1, (size_t)vb) : NULL;
    kv->pos = malloc((size_t)n_cells * sizeof *kv->pos);
    kv->seqs = calloc((size_t)n_cells, sizeof *kv->seqs);
    if (!kv->k || (vb && !kv->v) || !kv->pos || !kv->seqs) {
        owl_kv_free(kv);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory for a KV cache of %llu bytes",
                        (unsigned long long)(kb + vb));
    }
    owl_kv_clear(kv);
    return OWL_OK;
}

void owl_kv_free(owl_kv_cache *kv) {
    free(kv->k);
    free(kv->v);
    free(kv->pos);
    free(kv->seqs);
    memset(kv, 0, sizeof *kv);
}

void owl_kv_clear(owl_kv_cache *kv) {
    for (int64_t i = 0; i < kv->n_cells; i++) kv->pos[i] = -1;
    memset(kv->seqs, 0, (size_t)kv->n_cells * sizeof *kv->seqs);
    kv->used_end = 0;
}

owl_status owl_kv_take(owl_kv_cache *kv, int64_t n, int64_t *cells, owl_error *err) {
    int64_t got = 0;
    for (int64_t i = 0; i < kv->n_cells && got < n; i++)
        if (kv->pos[i] < 0) cells[got++] = i;
    if (got < n)
        return owl_fail(err, OWL_ERR_NOMEM, "KV cache full: %lld tokens need cells but only %lld of %lld are free "
                        "(drop sequences or raise n_ctx)", (long long)n, (long long)got, (long long)kv->n_cells);
    return OWL_OK;
}

void owl_kv_assign(owl_kv_cache *kv, int64_t cell, int64_t pos, int seq) {
    kv->pos[cell] = pos;
    kv->seqs[cell] = 1ull << seq;
    if (cell + 1 > kv->used_end) kv->used_end = cell + 1;
}

static void *row(const owl_kv_cache *kv, void *base, size_t row_bytes, int64_t layer, int64_t cell) {
    return (char *)base + ((size_t)layer * (size_t)kv->n_cells + (size_t)cell) * row_bytes;
}

/* F16 through ggml's conversion, Q8_0 as ggml's CPU copy quantizes it */
static void store(const owl_kv_cache *kv, void *dst, const float *src, int64_t n) {
    if (kv->type == OWL_KV_F32) memcpy(dst, src, (size_t)n * sizeof(float));
    else if (kv->type == OWL_KV_F16) owl_kernels_get(OWL_F16)->from_float(src, dst, n);
    else owl_quantize_activations(OWL_Q8_0, src, dst, n);
}

static void load(const owl_kv_cache *kv, const void *src, float *dst, int64_t n) {
    if (kv->type == OWL_KV_F32) memcpy(dst, src, (size_t)n * sizeof(float));
    else owl_kernels_get(kv->type == OWL_KV_F16 ? OWL_F16 : OWL_Q8_0)->to_float(src, dst, n);
}

void owl_kv_write(owl_kv_cache *kv, int64_t layer, int64_t cell, const float *k, const float *v) {
    store(kv, row(kv, kv->k, kv->k_row, layer, cell), k, kv->k_dim);
    if (kv->v_dim) store(kv, row(kv, kv->v, kv->v_row, layer, cell), v, kv->v_dim);
}

void owl_kv_read_k(const owl_kv_cache *kv, int64_t layer, int64_t cell, float *out) {
    load(kv, row(kv, kv->k, kv->k_row, layer, cell), out, kv->k_dim);
}

void owl_kv_read_v(const owl_kv_cache *kv, int64_t layer, int64_t cell, float *out) {
    load(kv, row(kv, kv->v, kv->v_row, layer, cell), out, kv->v_dim);
}

static int in_range(int64_t pos, int64_t p0, int64_t p1) { return pos >= p0 && (p1 < 0 || pos < p1); }

static void shrink(owl_kv_cache *kv) {
    while (kv->used_end > 0 && kv->pos[kv->used_end - 1] < 0) kv->used_end--;
}

void owl_kv_seq_drop(owl_kv_cache *kv, int seq, int64_t p0, int64_t p1) {
    for (int64_t i = 0; i < kv->used_end; i++) {
        if (kv->pos[i] < 0 || !(kv->seqs[i] >> seq & 1) || !in_range(kv->pos[i], p0, p1)) continue;
        kv->seqs[i] &= ~(1ull << seq);
        if (!kv->seqs[i]) kv->pos[i] = -1;
    }
    shrink(kv);
}

void owl_kv_seq_copy(owl_kv_cache *kv, int src, int dst, int64_t p0, int64_t p1) {
    if (src == dst) return;
    for (int64_t i = 0; i < kv->used_end; i++)
        if (kv->pos[i] >= 0 && (kv->seqs[i] >> src & 1) && in_range(kv->pos[i], p0, p1)) kv->seqs[i] |= 1ull << dst;
}

int64_t owl_kv_seq_pos_max(const owl_kv_cache *kv, int seq) {
    int64_t best = -1;
    for (int64_t i = 0; i < kv->used_end; i++)
        if (kv->pos[i] > best && (kv->seqs[i] >> seq & 1)) best = kv->pos[i];
    return best;
}
