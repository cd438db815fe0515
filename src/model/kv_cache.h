/* kv_cache.h: the key/value cache shared by all sequences, as llama.cpp's
 * unified cache: n_cells cells, each holding one position's K and V rows for
 * every layer, the position, and the set of sequences that see it. Cells are
 * taken from a free list; a query of sequence s at position p sees the cells
 * of s with pos <= p (and within the sliding window on window layers). */
#ifndef OWL_MODEL_KV_CACHE_H
#define OWL_MODEL_KV_CACHE_H

#include <stdint.h>

#include "owl.h"

#define OWL_KV_MAX_SEQ 64 /* sequences are bits of a 64-bit mask */

typedef struct owl_kv_cache {
    int type;          /* OWL_KV_F16, OWL_KV_F32 or OWL_KV_Q8_0 */
    int64_t n_cells, n_layer;
    int64_t k_dim, v_dim; /* floats per cell per layer; v_dim 0: V is the first part of K (MLA) */
    size_t elem;       /* bytes per element (F16, F32) */
    size_t k_row, v_row; /* bytes of one cell's K / V row in one layer */
    void *k, *v;       /* [layer][cell][k_dim] and [layer][cell][v_dim] */
    int64_t *pos;      /* per cell; -1 when free */
    uint64_t *seqs;    /* per cell: bit s set if sequence s sees it */
    int64_t used_end;  /* cells at or past it are all free */
} owl_kv_cache;

owl_status owl_kv_init(owl_kv_cache *kv, int type, int64_t n_cells, int64_t n_layer, int64_t k_dim, int64_t v_dim,
                       owl_error *err);
void owl_kv_free(owl_kv_cache *kv);
void owl_kv_clear(owl_kv_cache *kv);

/* Takes n free cells (lowest first) into cells[]; OWL_ERR_NOMEM if fewer are free. */
owl_status owl_kv_take(owl_kv_cache *kv, int64_t n, int64_t *cells, owl_error *err);
/* Marks a taken cell as position pos of sequence seq. */
void owl_kv_assign(owl_kv_cache *kv, int64_t cell, int64_t pos, int seq);

/* Writes / reads one cell's rows of layer l (floats in, floats out). */
void owl_kv_write(owl_kv_cache *kv, int64_t layer, int64_t cell, const float *k, const float *v);
void owl_kv_read_k(const owl_kv_cache *kv, int64_t layer, int64_t cell, float *out);
void owl_kv_read_v(const owl_kv_cache *kv, int64_t layer, int64_t cell, float *out);

/* Sequence edits over positions [p0, p1) (p1 < 0: to the end). */
void owl_kv_seq_drop(owl_kv_cache *kv, int seq, int64_t p0, int64_t p1);
void owl_kv_seq_copy(owl_kv_cache *kv, int src, int dst, int64_t p0, int64_t p1);
/* Largest position of seq in the cache, -1 if none. */
int64_t owl_kv_seq_pos_max(const owl_kv_cache *kv, int seq);

#endif
