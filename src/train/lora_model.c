/* lora_model.c: forward and backward of the Llama family (GQA, RoPE, RMSNorm,
 * SwiGLU; Mistral, Qwen2 biases and Qwen3's per-head q/k norms) with LoRA on
 * chosen linear maps and the base frozen. The backward pass mirrors the
 * forward one block at a time in reverse. Parallel loops split work so each
 * output value is summed by one thread in a fixed order: the gradients are
 * bit-identical whatever the number of threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "model/layers.h"
#include "train/lora_model.h"
#include "train/ops.h"
#include "train/rng.h"
#include "train/train_kernels.h"
#include "kernels/sgemm.h"

const char *const owl_lora_slot_names[LORA_N_SLOTS] = {"q", "k", "v", "o", "gate", "up", "down"};


/* ---- frozen base rows ------------------------------------------------------ */

/* Row r of a base matrix as floats: the mapping itself for F32, else
   dequantized into tmp. */
static const float *base_row(const owl_linear *L, int64_t r, float *tmp) {
    const uint8_t *src = L->data + (size_t)r * L->row_bytes;
    if (L->q80_scales) { /* llama2.c int8: per-group scales of the flattened matrix */
        const int8_t *w = (const int8_t *)L->data + r * L->n_in;
        for (int64_t i = 0; i < L->n_in; i++) tmp[i] = (float)w[i] * L->q80_scales[(r * L->n_in + i) / L->q80_group];
        return tmp;
    }
    if (L->dtype == OWL_F32 && ((uintptr_t)src & 3) == 0) return (const float *)src;
    L->k->to_float(src, tmp, L->n_in);
    return tmp;
}

/* Rows of a base matrix as a float tile: the mapping itself for aligned F32
   (no copy), else dequantized into tile, only over columns [c0, c1) (whole
   quant blocks). Returns the tile and its row stride. */
static const float *base_rows(const owl_linear *L, int64_t r0, int64_t nr, int64_t c0, int64_t c1, float *tile,
                              int64_t *stride) {
    const uint8_t *src = L->data + (size_t)r0 * L->row_bytes;
    if (L->dtype == OWL_F32 && !L->q80_scales && ((uintptr_t)src & 3) == 0) {
        *stride = L->n_in;
        return (const float *)src + c0;
    }
    int64_t w = c1 - c0;
    *stride = w;
    for (int64_t k = 0; k < nr; k++) {
        int64_t r = r0 + k;
        float *dst = tile + k * w;
        if (L->q80_scales) {
            const int8_t *q = (const int8_t *)L->data + r * L->n_in;
            for (int64_t i = c0; i < c1; i++) dst[i - c0] = (float)q[i] * L->q80_scales[(r * L->n_in + i) / L->q80_group];
        } else {
            L->k->to_float(L->data + (size_t)r * L->row_bytes + (size_t)(c0 / L->k->block_size) * L->k->type_size, dst, w);
        }
    }
    return tile;
}

/* Rows of the base (or columns of its input) handled per tile: a multiple of
   the GEMM's column blocks, so any split between threads gives the same bits. */
#define TILE_ROWS OWL_SGEMM_NR

typedef struct mm_ctx {
    lora_model *lm;
    const owl_linear *L;
    const float *x;  /* T x n_in */
    const float *dy; /* T x n_out */
    float *y, *dx;
    int64_t T, bs;   /* tokens; column granule (quant block, at least TILE_ROWS) */
} mm_ctx;

#define FWD_ROWS (4 * TILE_ROWS) /* dequantized rows per forward tile */
static float *thread_tile(lora_model *lm, int thread) { return lm->bwd_tile + (int64_t)thread * FWD_ROWS * lm->bwd_tile_w; }

/* y[:, rows] = x W[rows]^T (+ b): one product over the thread's rows for F32
   (x is packed once), FWD_ROWS dequantized rows at a time otherwise. */
static void base_forward_rows(void *ctx, int64_t b0, int64_t b1, int thread) {
    mm_ctx *c = ctx;
    const owl_linear *L = c->L;
    float *tile = thread_tile(c->lm, thread);
    int64_t end = b1 * TILE_ROWS < L->n_out ? b1 * TILE_ROWS : L->n_out;
    int plain = L->dtype == OWL_F32 && !L->q80_scales && ((uintptr_t)L->data & 3) == 0;
    for (int64_t r0 = b0 * TILE_ROWS; r0 < end; r0 += FWD_ROWS) {
        int64_t nr = plain ? end - r0 : (end - r0 < FWD_ROWS ? end - r0 : FWD_ROWS), ld;
        const float *w = base_rows(L, r0, nr, 0, L->n_in, tile, &ld);
        owl_sgemm(c->T, nr, L->n_in, 1.0f, c->x, L->n_in, 1, w, 1, ld, c->y + r0, L->n_out, 0);
        if (L->bias)
            for (int64_t t = 0; t < c->T; t++)
                for (int64_t r = r0; r < r0 + nr; r++) c->y[t * L->n_out + r] += L->bias[r];
        if (plain) break;
    }
}

/* Work items per thread chunk so that a chunk is worth waking a thread for
   (about 256K multiply-adds): small models run their small products on one. */
static int64_t grain_for(int64_t work_per_item) {
    int64_t g = (1 << 18) / (work_per_item > 0 ? work_per_item : 1);
    return g > 1 ? g : 1;
}

/* y = W x (+ b) */
static void base_forward(lora_model *lm, const owl_linear *L, const float *x, int64_t T, float *y) {
    mm_ctx c = {lm, L, x, NULL, y, NULL, T, 1};
    int64_t blocks = (L->n_out + TILE_ROWS - 1) / TILE_ROWS;
    owl_pool_for(lm->pool, blocks, grain_for(TILE_ROWS * L->n_in * T), base_forward_rows, &c);
}

/* dx[:, cols] += dy W[:, cols]: each thread owns a range of input columns
   and sums every row of W into it, TILE_ROWS rows at a time in row order;
   a quantized W is dequantized only over those columns. */
static void base_backward_cols(void *ctx, int64_t g0, int64_t g1, int thread) {
    mm_ctx *c = ctx;
    const owl_linear *L = c->L;
    int64_t c0 = g0 * c->bs, c1 = g1 * c->bs < L->n_in ? g1 * c->bs : L->n_in;
    float *tile = thread_tile(c->lm, thread);
    if (L->dtype == OWL_F32 && !L->q80_scales && ((uintptr_t)L->data & 3) == 0) { /* one product over all rows */
        owl_sgemm(c->T, c1 - c0, L->n_out, 1.0f, c->dy, L->n_out, 1, (const float *)L->data + c0, L->n_in, 1, c->dx + c0,
                  L->n_in, 1);
        return;
    }
    for (int64_t r0 = 0; r0 < L->n_out; r0 += TILE_ROWS) {
        int64_t nr = L->n_out - r0 < TILE_ROWS ? L->n_out - r0 : TILE_ROWS, ld;
        const float *w = base_rows(L, r0, nr, c0, c1, tile, &ld);
        owl_sgemm(c->T, c1 - c0, nr, 1.0f, c->dy + r0, L->n_out, 1, w, ld, 1, c->dx + c0, L->n_in, 1);
    }
}

static void base_backward(lora_model *lm, const owl_linear *L, const float *dy, int64_t T, float *dx) {
    int64_t bs = L->k && !L->q80_scales ? L->k->block_size : 1;
    if (bs < TILE_ROWS) bs = TILE_ROWS; /* quant blocks are 32 or 256: multiples of the GEMM's column blocks */
    mm_ctx c = {lm, L, NULL, dy, NULL, dx, T, bs};
    int64_t groups = (L->n_in + bs - 1) / bs;
    owl_pool_for(lm->pool, groups, grain_for(bs * L->n_out * T), base_backward_cols, &c);
}

/* ---- LoRA ------------------------------------------------------------------ */

/* PEFT's dropout on the adapter's input: kept values scaled by 1/(1-p). The
   mask is a hash of (sequence key, slot, element), so backward recomputes it
   and a resumed run draws the same masks. */
static float drop(const lora_model *lm, int64_t slot, int64_t t, int64_t i, int64_t n_in) {
    if (lm->dropout <= 0) return 1.0f;
    uint64_t h = owl_rng_hash(owl_rng_hash(lm->dropout_key, (uint64_t)slot), (uint64_t)(t * n_in + i));
    return owl_rng_unit(h) < lm->dropout ? 0.0f : 1.0f / (1.0f - lm->dropout);
}

/* The adapter's input with dropout applied (T x n_in), or x itself. */
static const float *dropped(lora_model *lm, int64_t si, const float *x, int64_t T, int64_t n) {
    if (lm->dropout <= 0) return x;
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < n; i++) lm->xd[t * n + i] = x[t * n + i] * drop(lm, si, t, i, n);
    return lm->xd;
}

/* y += scale B (A xd): u = xd A^T is kept for backward. */
static void lora_forward(lora_model *lm, int64_t si, const float *x, int64_t T, float *y) {
    lora_slot *s = &lm->slots[si];
    if (!s->base) return;
    int64_t R = lm->rank, n = s->n_in, no = s->n_out;
    const float *A = lm->params + s->off_a, *B = lm->params + s->off_b;
    const float *xd = dropped(lm, si, x, T, n);
    owl_sgemm(T, R, n, 1.0f, xd, n, 1, A, 1, n, s->u, R, 0);
    owl_sgemm(T, no, R, lm->scale, s->u, R, 1, B, 1, R, y, no, 1);
}

/* gB += scale dy^T u; du = scale dy B; gA += du^T xd; dx += drop * (du A). */
static void lora_backward(lora_model *lm, int64_t si, const float *dy, const float *x, int64_t T, float *dx) {
    lora_slot *s = &lm->slots[si];
    if (!s->base) return;
    int64_t R = lm->rank, n = s->n_in, no = s->n_out;
    const float *A = lm->params + s->off_a, *B = lm->params + s->off_b;
    float *gA = lm->grads + s->off_a, *gB = lm->grads + s->off_b, *du = lm->du;
    owl_sgemm(no, R, T, lm->scale, dy, 1, no, s->u, R, 1, gB, R, 1);
    owl_sgemm(T, R, no, lm->scale, dy, no, 1, B, R, 1, du, R, 0);
    const float *xd = dropped(lm, si, x, T, n);
    owl_sgemm(R, n, T, 1.0f, du, 1, R, xd, n, 1, gA, n, 1);
    if (lm->dropout <= 0) {
        owl_sgemm(T, n, R, 1.0f, du, R, 1, A, n, 1, dx, n, 1);
        return;
    }
    owl_sgemm(T, n, R, 1.0f, du, R, 1, A, n, 1, lm->xd, n, 0); /* xd is free again: A^T du per token */
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < n; i++) dx[t * n + i] += lm->xd[t * n + i] * drop(lm, si, t, i, n);
}

static const owl_linear *slot_linear(const owl_layer *L, int s) {
    const owl_linear *v[LORA_N_SLOTS] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
    return v[s];
}

/* A linear map of layer l with its adapter: y = W x + b + scale B A x. */
static void linear(lora_model *lm, int64_t l, int slot, const float *x, int64_t T, float *y) {
    base_forward(lm, slot_linear(&lm->w.layers[l], slot), x, T, y);
    lora_forward(lm, l * LORA_N_SLOTS + slot, x, T, y);
}

static void linear_backward(lora_model *lm, int64_t l, int slot, const float *dy, const float *x, int64_t T, float *dx) {
    base_backward(lm, slot_linear(&lm->w.layers[l], slot), dy, T, dx);
    lora_backward(lm, l * LORA_N_SLOTS + slot, dy, x, T, dx);
}

/* ---- attention over heads ---------------------------------------------------- */

typedef struct attn_ctx {
    lora_model *lm;
    lora_layer_acts *a;
    const int32_t *doc;
    int64_t T;
} attn_ctx;

static void attn_heads(void *ctx, int64_t h0, int64_t h1, int thread) {
    (void)thread;
    attn_ctx *c = ctx;
    const owl_dims *d = &c->lm->d;
    int64_t hd = d->head_dim_k, group = d->n_head / d->n_head_kv, T = c->T;
    for (int64_t h = h0; h < h1; h++) {
        int64_t kvh = h / group;
        attention_train_forward(c->a->att + h * hd, c->a->p + h * T * T, c->a->q + h * hd, c->a->k + kvh * hd,
                                c->a->v + kvh * hd, T, hd, d->q_dim, d->kv_dim_k, d->q_dim, c->doc, d->attn_scale);
    }
}

/* One thread per key/value head: dk and dv of that head collect the
   contributions of its query heads in order. */
static void attn_heads_backward(void *ctx, int64_t g0, int64_t g1, int thread) {
    attn_ctx *c = ctx;
    lora_model *lm = c->lm;
    const owl_dims *d = &lm->d;
    int64_t hd = d->head_dim_k, group = d->n_head / d->n_head_kv, T = c->T;
    for (int64_t kvh = g0; kvh < g1; kvh++)
        for (int64_t h = kvh * group; h < (kvh + 1) * group; h++)
            attention_train_backward(lm->dq + h * hd, lm->dk + kvh * hd, lm->dv + kvh * hd, lm->datt + h * hd,
                                     c->a->p + h * T * T, c->a->q + h * hd, c->a->k + kvh * hd, c->a->v + kvh * hd, T, hd,
                                     d->q_dim, d->kv_dim_k, d->q_dim, d->attn_scale, lm->dp + (int64_t)thread * T);
}

/* ---- the model --------------------------------------------------------------- */

static void rope_rows(lora_model *lm, const owl_layer *L, const int32_t *pos, int64_t T) {
    for (int64_t t = 0; t < T; t++)
        rope_cache(lm->rope_cs + t * lm->d.n_rot, pos ? pos[t] : t, lm->d.n_rot, &L->rope);
}

static void qk_heads_forward(const lora_model *lm, const owl_normw *nw, float *x, float *pre, float *rstd,
                             int64_t n_heads, int64_t T) {
    int64_t hd = lm->d.head_dim_k;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < n_heads; h++) {
            float *v = x + (t * n_heads + h) * hd;
            memcpy(pre + (t * n_heads + h) * hd, v, (size_t)hd * sizeof(float));
            rmsnorm_train_forward(v, rstd + t * n_heads + h, v, nw->w + (nw->stride ? h * nw->stride : 0), hd, lm->d.eps);
        }
}

static void qk_heads_backward(const lora_model *lm, const owl_normw *nw, float *dx, const float *pre,
                              const float *rstd, int64_t n_heads, int64_t T, float *tmp) {
    int64_t hd = lm->d.head_dim_k;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < n_heads; h++) {
            float *g = dx + (t * n_heads + h) * hd;
            memset(tmp, 0, (size_t)hd * sizeof(float));
            rmsnorm_train_backward(tmp, g, pre + (t * n_heads + h) * hd, nw->w + (nw->stride ? h * nw->stride : 0),
                                   rstd[t * n_heads + h], hd);
            memcpy(g, tmp, (size_t)hd * sizeof(float));
        }
}

static void forward_layers(lora_model *lm, const int32_t *tokens, const int32_t *pos, const int32_t *doc, int64_t T) {
    const owl_dims *d = &lm->d;
    int64_t n = d->n_embd, ff = d->n_ff;
    float *x = lm->xf;
    for (int64_t t = 0; t < T; t++) {
        const float *e = base_row(&lm->w.tok_embd, tokens[t], lm->row_tmp);
        memcpy(x + t * n, e, (size_t)n * sizeof(float));
    }
    for (int64_t l = 0; l < d->n_layer; l++) {
        const owl_layer *L = &lm->w.layers[l];
        lora_layer_acts *a = &lm->acts[l];
        memcpy(a->x0, x, (size_t)(T * n) * sizeof(float));
        for (int64_t t = 0; t < T; t++) rmsnorm_train_forward(a->h1 + t * n, a->r1 + t, x + t * n, L->attn_norm.w, n, d->eps);
        linear(lm, l, LORA_Q, a->h1, T, a->q);
        linear(lm, l, LORA_K, a->h1, T, a->k);
        linear(lm, l, LORA_V, a->h1, T, a->v);
        if (L->q_norm.w) qk_heads_forward(lm, &L->q_norm, a->q, a->qn, a->rq, d->n_head, T);
        if (L->k_norm.w) qk_heads_forward(lm, &L->k_norm, a->k, a->kn, a->rk, d->n_head_kv, T);
        if (L->rope.use) {
            rope_rows(lm, L, pos, T);
            for (int64_t t = 0; t < T; t++) {
                const float *cs = lm->rope_cs + t * d->n_rot;
                for (int64_t h = 0; h < d->n_head; h++) rope_train_forward(a->q + t * d->q_dim + h * d->head_dim_k, cs, d->n_rot, d->rope_style);
                for (int64_t h = 0; h < d->n_head_kv; h++) rope_train_forward(a->k + t * d->kv_dim_k + h * d->head_dim_k, cs, d->n_rot, d->rope_style);
            }
        }
        attn_ctx ac = {lm, a, doc, T};
        owl_pool_for(lm->pool, d->n_head, grain_for(T * T * d->head_dim_k), attn_heads, &ac);
        linear(lm, l, LORA_O, a->att, T, lm->da);
        for (int64_t i = 0; i < T * n; i++) x[i] += lm->da[i];
        memcpy(a->x1, x, (size_t)(T * n) * sizeof(float));
        for (int64_t t = 0; t < T; t++) rmsnorm_train_forward(a->h2 + t * n, a->r2 + t, x + t * n, L->ffn_norm.w, n, d->eps);
        linear(lm, l, LORA_GATE, a->h2, T, a->g);
        linear(lm, l, LORA_UP, a->h2, T, a->up);
        swiglu_train_forward(a->act, a->g, a->up, T * ff);
        linear(lm, l, LORA_DOWN, a->act, T, lm->da);
        for (int64_t i = 0; i < T * n; i++) x[i] += lm->da[i];
    }
    for (int64_t t = 0; t < T; t++) rmsnorm_train_forward(lm->hf + t * n, lm->rf + t, x + t * n, lm->w.output_norm.w, n, d->eps);
}

static void backward_layers(lora_model *lm, const int32_t *pos, int64_t T) {
    const owl_dims *d = &lm->d;
    int64_t n = d->n_embd, ff = d->n_ff;
    float *dx = lm->dx;
    memset(dx, 0, (size_t)(T * n) * sizeof(float));
    for (int64_t t = 0; t < T; t++)
        rmsnorm_train_backward(dx + t * n, lm->dh + t * n, lm->xf + t * n, lm->w.output_norm.w, lm->rf[t], n);
    for (int64_t l = d->n_layer - 1; l >= 0; l--) {
        const owl_layer *L = &lm->w.layers[l];
        lora_layer_acts *a = &lm->acts[l];
        /* x2 = x1 + down(swiglu(gate(h2), up(h2))) */
        memset(lm->dact, 0, (size_t)(T * ff) * sizeof(float));
        linear_backward(lm, l, LORA_DOWN, dx, a->act, T, lm->dact);
        memset(lm->dg, 0, (size_t)(T * ff) * sizeof(float));
        memset(lm->dup, 0, (size_t)(T * ff) * sizeof(float));
        swiglu_train_backward(lm->dg, lm->dup, lm->dact, a->g, a->up, T * ff);
        memset(lm->dh, 0, (size_t)(T * n) * sizeof(float));
        linear_backward(lm, l, LORA_GATE, lm->dg, a->h2, T, lm->dh);
        linear_backward(lm, l, LORA_UP, lm->dup, a->h2, T, lm->dh);
        for (int64_t t = 0; t < T; t++) rmsnorm_train_backward(dx + t * n, lm->dh + t * n, a->x1 + t * n, L->ffn_norm.w, a->r2[t], n);
        /* x1 = x0 + o(attention(rope(q(h1)), rope(k(h1)), v(h1))) */
        memset(lm->datt, 0, (size_t)(T * d->q_dim) * sizeof(float));
        linear_backward(lm, l, LORA_O, dx, a->att, T, lm->datt);
        memset(lm->dq, 0, (size_t)(T * d->q_dim) * sizeof(float));
        memset(lm->dk, 0, (size_t)(T * d->kv_dim_k) * sizeof(float));
        memset(lm->dv, 0, (size_t)(T * d->kv_dim_v) * sizeof(float));
        attn_ctx ac = {lm, a, NULL, T};
        owl_pool_for(lm->pool, d->n_head_kv, grain_for(T * T * d->head_dim_k * (d->n_head / d->n_head_kv) * 2), attn_heads_backward, &ac);
        if (L->rope.use) {
            rope_rows(lm, L, pos, T);
            for (int64_t t = 0; t < T; t++) {
                const float *cs = lm->rope_cs + t * d->n_rot;
                for (int64_t h = 0; h < d->n_head; h++) rope_train_backward(lm->dq + t * d->q_dim + h * d->head_dim_k, cs, d->n_rot, d->rope_style);
                for (int64_t h = 0; h < d->n_head_kv; h++) rope_train_backward(lm->dk + t * d->kv_dim_k + h * d->head_dim_k, cs, d->n_rot, d->rope_style);
            }
        }
        if (L->q_norm.w) qk_heads_backward(lm, &L->q_norm, lm->dq, a->qn, a->rq, d->n_head, T, lm->row_tmp);
        if (L->k_norm.w) qk_heads_backward(lm, &L->k_norm, lm->dk, a->kn, a->rk, d->n_head_kv, T, lm->row_tmp);
        memset(lm->dh, 0, (size_t)(T * n) * sizeof(float));
        linear_backward(lm, l, LORA_Q, lm->dq, a->h1, T, lm->dh);
        linear_backward(lm, l, LORA_K, lm->dk, a->h1, T, lm->dh);
        linear_backward(lm, l, LORA_V, lm->dv, a->h1, T, lm->dh);
        for (int64_t t = 0; t < T; t++) rmsnorm_train_backward(dx + t * n, lm->dh + t * n, a->x0 + t * n, L->attn_norm.w, a->r1[t], n);
    }
}

double lora_model_sequence(lora_model *lm, const int32_t *tokens, const int32_t *targets, const float *weights,
                           const int32_t *pos, const int32_t *doc, int64_t T, int backward) {
    const owl_dims *d = &lm->d;
    int64_t n = d->n_embd, V = d->n_vocab;
    forward_layers(lm, tokens, pos, doc, T);
    /* the loss, logit_chunk scored rows at a time: the T x n_vocab logits are never held */
    if (backward) memset(lm->dh, 0, (size_t)(T * n) * sizeof(float));
    double loss = 0;
    int64_t *rows = lm->logit_rows, CH = lm->logit_chunk;
    float *gather = lm->dq, *ggrad = lm->datt; /* free until backward; n_embd <= q_dim checked at creation */
    for (int64_t t0 = 0; t0 < T;) {
        int64_t k = 0;
        for (; t0 < T && k < CH; t0++)
            if (weights[t0] != 0) rows[k++] = t0;
        if (!k) continue;
        for (int64_t i = 0; i < k; i++) memcpy(gather + i * n, lm->hf + rows[i] * n, (size_t)n * sizeof(float));
        base_forward(lm, &lm->w.output, gather, k, lm->logits);
        for (int64_t i = 0; i < k; i++)
            loss += (double)weights[rows[i]] * cross_entropy_forward_backward(backward ? lm->dlogits + i * V : NULL,
                                                                           lm->logits + i * V, V, targets[rows[i]],
                                                                           weights[rows[i]]);
        if (!backward) continue;
        memset(ggrad, 0, (size_t)(k * n) * sizeof(float));
        base_backward(lm, &lm->w.output, lm->dlogits, k, ggrad);
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = 0; j < n; j++) lm->dh[rows[i] * n + j] += ggrad[i * n + j];
    }
    if (backward) backward_layers(lm, pos, T);
    return loss;
}

void lora_model_logits(lora_model *lm, const int32_t *tokens, int64_t T, float *out) {
    forward_layers(lm, tokens, NULL, NULL, T);
    base_forward(lm, &lm->w.output, lm->hf, T, out);
}

/* ---- construction ------------------------------------------------------------ */

/* What training runs through today; anything else is refused by name. */
static owl_status check_trainable(const lora_model *lm, owl_error *err) {
    const owl_arch *a = lm->arch;
    const owl_dims *d = &lm->d;
    const owl_model *m = lm->m;
    const char *why = NULL;
    if (a->norm != OWL_NORM_RMS) why = "LayerNorm";
    else if (a->ffn != OWL_FFN_SWIGLU) why = "a GELU feed-forward";
    else if (a->residual != OWL_RESID_SEQUENTIAL) why = "a parallel residual";
    else if (a->flags) why = "its architecture flags (post-norms, embedding scale, ALiBi, MLA, ...)";
    else if (a->qk_norm != OWL_QK_NORM_NONE && a->qk_norm != OWL_QK_NORM_HEAD) why = "its q/k norm kind";
    else if (d->n_expert > 0) why = "mixture-of-experts layers";
    else if (d->head_dim_k != d->head_dim_v) why = "different key and value head sizes";
    else if (m->hx.attn_softcap > 0 || m->hx.final_softcap > 0 || (m->hx.logit_scale != 0 && m->hx.logit_scale != 1))
        why = "soft-capping or logit scaling";
    for (int64_t l = 0; !why && l < d->n_layer; l++) {
        const owl_layer *L = &lm->w.layers[l];
        if (L->qkv.name) why = "a fused QKV projection";
        else if (!L->gate.name) why = "a fused gate|up projection";
        else if (L->is_swa || L->chunk || L->temp_tune) why = "sliding-window or chunked attention";
        else if (!L->attn_norm.w || !L->ffn_norm.w) why = "missing pre-norms";
    }
    if (why)
        return owl_fail(err, OWL_ERR_UNSUPPORTED,
                        "fine-tuning %s models is not supported yet (%s); training runs the Llama family (Llama, "
                        "Mistral, Qwen2, Qwen3) today", m->info.family ? m->info.family : "?", why);
    return OWL_OK;
}

static void *zalloc(size_t *total, int64_t n, int *fail) {
    if (n < 1) n = 1;
    size_t bytes = (size_t)n * sizeof(float);
    *total += bytes;
    void *p = calloc((size_t)n, sizeof(float));
    if (!p) *fail = 1;
    return p;
}


owl_status lora_model_new(const owl_model *m, const lora_config *c, int64_t T, int n_threads, lora_model **out,
                          owl_error *err) {
    *out = NULL;
    if (c->rank < 1 || c->rank > 4096) return owl_fail(err, OWL_ERR_USAGE, "LoRA rank must be 1..4096, not %lld", (long long)c->rank);
    if (T < 2 || T > 65536) return owl_fail(err, OWL_ERR_USAGE, "sequence length must be 2..65536, not %lld", (long long)T);
    if (!(c->dropout >= 0 && c->dropout < 1)) return owl_fail(err, OWL_ERR_USAGE, "LoRA dropout must be in [0, 1)");
    if (!c->targets) return owl_fail(err, OWL_ERR_USAGE, "no LoRA target modules chosen");
    const owl_arch *arch = owl_arch_find(m->info.family);
    if (!arch) return owl_fail(err, OWL_ERR_UNSUPPORTED, "owl cannot run the %s family", m->info.family ? m->info.family : "?");
    lora_model *lm = calloc(1, sizeof *lm);
    if (!lm) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    lm->m = m;
    lm->arch = arch;
    lm->T = T;
    lm->rank = c->rank;
    lm->dropout = (float)c->dropout;
    lm->scale = (float)(c->alpha / (c->use_rslora ? sqrt((double)c->rank) : (double)c->rank));
    owl_status st = owl_weights_bind(m, arch, T, &lm->d, &lm->w, err);
    if (st) {
        free(lm);
        return st;
    }
    if ((st = check_trainable(lm, err))) {
        lora_model_free(lm);
        return st;
    }
    const owl_dims *d = &lm->d;
    if (!(lm->pool = owl_pool_new(n_threads > 0 ? n_threads : 1))) {
        lora_model_free(lm);
        return owl_fail(err, OWL_ERR_NOMEM, "cannot start %d threads", n_threads);
    }
    int64_t n = d->n_embd, ff = d->n_ff, R = c->rank;
    size_t total = 0;
    int fail = 0;
    lm->slots = calloc((size_t)(d->n_layer * LORA_N_SLOTS), sizeof *lm->slots);
    lm->acts = calloc((size_t)d->n_layer, sizeof *lm->acts);
    if (!lm->slots || !lm->acts) fail = 1;
    int64_t np = 0, max_in = 0;
    for (int64_t l = 0; !fail && l < d->n_layer; l++)
        for (int s = 0; s < LORA_N_SLOTS; s++) {
            lora_slot *sl = &lm->slots[l * LORA_N_SLOTS + s];
            if (!(c->targets & (1u << s))) continue;
            const owl_linear *L = slot_linear(&lm->w.layers[l], s);
            sl->base = L;
            sl->n_in = L->n_in;
            sl->n_out = L->n_out;
            snprintf(sl->target, sizeof sl->target, "%s", L->name);
            sl->off_a = np;
            np += R * L->n_in;
            sl->off_b = np;
            np += L->n_out * R;
            if (L->n_in > max_in) max_in = L->n_in;
            sl->u = zalloc(&total, T * R, &fail);
        }
    lm->n_params = np;
    lm->params = zalloc(&total, np, &fail);
    lm->grads = zalloc(&total, np, &fail);
    for (int64_t l = 0; !fail && l < d->n_layer; l++) {
        lora_layer_acts *a = &lm->acts[l];
        a->x0 = zalloc(&total, T * n, &fail);
        a->h1 = zalloc(&total, T * n, &fail);
        a->r1 = zalloc(&total, T, &fail);
        a->q = zalloc(&total, T * d->q_dim, &fail);
        a->k = zalloc(&total, T * d->kv_dim_k, &fail);
        a->v = zalloc(&total, T * d->kv_dim_v, &fail);
        if (lm->w.layers[l].q_norm.w) {
            a->qn = zalloc(&total, T * d->q_dim, &fail);
            a->rq = zalloc(&total, T * d->n_head, &fail);
        }
        if (lm->w.layers[l].k_norm.w) {
            a->kn = zalloc(&total, T * d->kv_dim_k, &fail);
            a->rk = zalloc(&total, T * d->n_head_kv, &fail);
        }
        a->p = zalloc(&total, d->n_head * T * T, &fail);
        a->att = zalloc(&total, T * d->q_dim, &fail);
        a->x1 = zalloc(&total, T * n, &fail);
        a->h2 = zalloc(&total, T * n, &fail);
        a->r2 = zalloc(&total, T, &fail);
        a->g = zalloc(&total, T * ff, &fail);
        a->up = zalloc(&total, T * ff, &fail);
        a->act = zalloc(&total, T * ff, &fail);
    }
    int64_t wide = n > ff ? n : ff;
    if (d->q_dim > wide) wide = d->q_dim;
    /* scored rows go through the output layer in chunks: as many as 64 MiB of
       logits allow, so its weights are packed once per chunk, not per few rows */
    lm->logit_chunk = (16ll << 20) / d->n_vocab;
    if (lm->logit_chunk > T) lm->logit_chunk = T;
    if (lm->logit_chunk < 16) lm->logit_chunk = 16;
    lm->logit_rows = calloc((size_t)lm->logit_chunk, sizeof *lm->logit_rows);
    if (!lm->logit_rows) fail = 1;
    int64_t gw = lm->logit_chunk * n > T * d->q_dim ? lm->logit_chunk * n : T * d->q_dim; /* dq / datt double as gather rows */
    lm->xf = zalloc(&total, T * n, &fail);
    lm->hf = zalloc(&total, T * n, &fail);
    lm->rf = zalloc(&total, T, &fail);
    lm->logits = zalloc(&total, lm->logit_chunk * d->n_vocab, &fail);
    lm->dlogits = zalloc(&total, lm->logit_chunk * d->n_vocab, &fail);
    lm->dx = zalloc(&total, T * n, &fail);
    lm->dh = zalloc(&total, T * n, &fail);
    lm->da = zalloc(&total, T * n, &fail);
    lm->dq = zalloc(&total, gw, &fail);
    lm->datt = zalloc(&total, gw, &fail);
    lm->dk = zalloc(&total, T * d->kv_dim_k, &fail);
    lm->dv = zalloc(&total, T * d->kv_dim_v, &fail);
    lm->dg = zalloc(&total, T * ff, &fail);
    lm->dup = zalloc(&total, T * ff, &fail);
    lm->dact = zalloc(&total, T * ff, &fail);
    lm->du = zalloc(&total, T * R, &fail);
    lm->rope_cs = zalloc(&total, T * (d->n_rot + 2), &fail);
    lm->dp = zalloc(&total, (int64_t)owl_pool_threads(lm->pool) * T, &fail);
    lm->row_tmp = zalloc(&total, (int64_t)owl_pool_threads(lm->pool) * wide * 2, &fail);
    lm->bwd_tile_w = wide + 256;
    lm->bwd_tile = zalloc(&total, (int64_t)owl_pool_threads(lm->pool) * FWD_ROWS * lm->bwd_tile_w, &fail);
    lm->xd = zalloc(&total, c->dropout > 0 ? T * wide : 1, &fail);
    tk_isa(); /* the kernels are chosen here, before any thread calls them */
    owl_sgemm_isa();
    if (fail) {
        lora_model_free(lm);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory for training buffers (%zu bytes at sequence length %lld)",
                        total, (long long)T);
    }
    /* PEFT's initialisation: A ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(n_in), 1/sqrt(n_in)), B = 0 */
    for (int64_t i = 0; i < d->n_layer * LORA_N_SLOTS; i++) {
        lora_slot *sl = &lm->slots[i];
        if (!sl->base) continue;
        float bound = 1.0f / sqrtf((float)sl->n_in);
        uint64_t key = owl_rng_hash(c->seed, (uint64_t)i + 1);
        for (int64_t j = 0; j < R * sl->n_in; j++)
            lm->params[sl->off_a + j] = (2.0f * owl_rng_unit(owl_rng_hash(key, (uint64_t)j)) - 1.0f) * bound;
    }
    *out = lm;
    return OWL_OK;
}

void lora_model_free(lora_model *lm) {
    if (!lm) return;
    if (lm->slots)
        for (int64_t i = 0; i < lm->d.n_layer * LORA_N_SLOTS; i++) free(lm->slots[i].u);
    if (lm->acts)
        for (int64_t l = 0; l < lm->d.n_layer; l++) {
            lora_layer_acts *a = &lm->acts[l];
            float *v[] = {a->x0, a->h1, a->r1, a->q, a->k, a->v, a->qn, a->kn, a->rq, a->rk, a->p, a->att, a->x1, a->h2, a->r2, a->g, a->up, a->act};
            for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) free(v[i]);
        }
    float *v[] = {lm->params, lm->grads, lm->xf, lm->hf, lm->rf, lm->logits, lm->dlogits, lm->dx, lm->dh, lm->da, lm->dq,
                  lm->datt, lm->dk, lm->dv, lm->dg, lm->dup, lm->dact, lm->du, lm->rope_cs, lm->dp, lm->row_tmp, lm->bwd_tile, lm->xd};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) free(v[i]);
    free(lm->slots);
    free(lm->acts);
    free(lm->logit_rows);
    owl_pool_free(lm->pool);
    owl_weights_free(&lm->w);
    free(lm);
}
