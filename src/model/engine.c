/* engine.c: the public inference API. owl_engine_new checks and binds the
 * weights, then plans every buffer once (llama2.c's malloc_run_state);
 * owl_engine_decode validates a batch completely before it touches the KV
 * cache, so a rejected batch leaves the engine as it was. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/error.h"
#include "model/engine.h"
#include "model/lora.h"

#define MAX_CTX (1ll << 22)
#define MAX_BATCH (1ll << 16)

owl_engine_params owl_engine_default_params(void) {
    owl_engine_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static void *buf(size_t *total, int64_t n, size_t elem, int *fail) {
    if (n < 1) n = 1;
    size_t bytes = (size_t)n * elem;
    *total += bytes;
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) *fail = 1;
    else memset(p, 0, bytes);
    return p;
}

static int64_t max3(int64_t a, int64_t b, int64_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

static owl_status plan_state(owl_engine *e, owl_error *err) {
    const owl_dims *d = &e->d;
    owl_state *s = &e->s;
    int64_t B = e->p.n_batch, C = e->kv.n_cells, T = e->p.n_threads, n = d->n_embd;
    int64_t ff = max3(d->n_ff, d->n_ff_exp, 1);
    for (int64_t l = 0; l < d->n_layer; l++)
        if (e->w.layers[l].down_shexp.name && e->w.layers[l].down_shexp.n_in > ff) ff = e->w.layers[l].down_shexp.n_in;
    size_t total = 0;
    int fail = 0;
    s->x = buf(&total, B * n, 4, &fail);
    s->h = buf(&total, B * n, 4, &fail);
    s->h2 = buf(&total, B * n, 4, &fail);
    s->a = buf(&total, B * n, 4, &fail);
    s->f = buf(&total, B * n, 4, &fail);
    s->q = buf(&total, B * d->q_dim, 4, &fail);
    s->k = buf(&total, B * d->kv_dim_k, 4, &fail);
    s->v = buf(&total, B * d->kv_dim_v, 4, &fail);
    s->qkv = buf(&total, B * (d->q_dim + d->kv_dim_k + d->kv_dim_v), 4, &fail);
    s->att = buf(&total, B * d->n_head * d->head_dim_v, 4, &fail);
    s->att2 = buf(&total, B * d->n_head * d->mla_v, 4, &fail);
    s->qa = buf(&total, B * d->q_lora, 4, &fail);
    s->kva = buf(&total, B * (d->kv_lora + d->n_rot), 4, &fail);
    s->qabs = buf(&total, B * d->n_head * (d->kv_lora + d->n_rot), 4, &fail);
    s->gate = buf(&total, B * 2 * ff, 4, &fail);
    s->up = buf(&total, B * 2 * ff, 4, &fail);
    s->gin = buf(&total, n, 4, &fail);
    s->gout = buf(&total, n, 4, &fail);
    s->router = buf(&total, B * d->n_expert, 4, &fail);
    s->sel = buf(&total, B * d->n_expert_used, 8, &fail);
    s->sel_w = buf(&total, B * d->n_expert_used, 4, &fail);
    s->moe_out = buf(&total, B * n, 4, &fail);
    s->xq = buf(&total, B * e->w.max_xq_row_bytes, 1, &fail);
    s->rope = buf(&total, d->n_rot + 2, 4, &fail);
    s->cells = buf(&total, B, 8, &fail);
    s->pos = buf(&total, B, 8, &fail);
    s->seq = buf(&total, B, 4, &fail);
    s->kf = buf(&total, C * e->kv.k_dim, 4, &fail);
    s->vf = buf(&total, C * (e->kv.v_dim ? e->kv.v_dim : 1), 4, &fail);
    s->scores = buf(&total, T * C, 4, &fail);
    s->vis_cells = buf(&total, T * C, 8, &fail);
    s->vis_pos = buf(&total, T * C, 8, &fail);
    e->logits = buf(&total, B * d->n_vocab, 4, &fail);
    e->logit_row = buf(&total, B, 8, &fail);
    e->want_last = buf(&total, B, 1, &fail);
    if (fail) return owl_fail(err, OWL_ERR_NOMEM, "out of memory for the engine's buffers (%zu bytes)", total);
    return OWL_OK;
}

static void free_state(owl_engine *e) {
    owl_state *s = &e->s;
    void *p[] = {s->x, s->h, s->h2, s->a, s->f, s->q, s->k, s->v, s->qkv, s->att, s->att2, s->qa, s->kva, s->qabs, s->gate, s->up, s->gin, s->gout,
                 s->router, s->sel, s->sel_w, s->moe_out, s->xq, s->rope, s->cells, s->pos, s->seq, s->kf, s->vf,
                 s->scores, s->vis_cells, s->vis_pos, e->logits, e->logit_row, e->want_last};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
}

owl_status owl_engine_new(const owl_model *m, const owl_engine_params *pp, owl_engine **out, owl_error *err) {
    if (!m || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_engine_new: model and out must not be NULL");
    *out = NULL;
    owl_engine_params p = pp ? *pp : owl_engine_default_params();
    const char *path = m->info.n_files ? m->info.files[0].path : "model";
    const owl_arch *a = owl_arch_find(m->info.family);
    if (!a)
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: owl cannot run the '%s' architecture yet", path,
                        m->info.family ? m->info.family : "unknown");
    if (p.n_threads < 0 || p.n_threads > 1024) return owl_fail(err, OWL_ERR_USAGE, "n_threads %d: expected 0..1024", p.n_threads);
    if (p.n_threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        p.n_threads = c > 0 && c <= 1024 ? (int)c : 1;
    }
    if (p.n_seq_max < 0 || p.n_seq_max > OWL_KV_MAX_SEQ)
        return owl_fail(err, OWL_ERR_USAGE, "n_seq_max %d: expected 0..%d", p.n_seq_max, OWL_KV_MAX_SEQ);
    if (p.n_seq_max == 0) p.n_seq_max = 1;
    if (p.kv_type != OWL_KV_F16 && p.kv_type != OWL_KV_F32 && p.kv_type != OWL_KV_Q8_0)
        return owl_fail(err, OWL_ERR_USAGE, "kv_type %d: expected OWL_KV_F16, OWL_KV_F32 or OWL_KV_Q8_0", p.kv_type);
    if (p.n_ctx < 0 || p.n_ctx > MAX_CTX) return owl_fail(err, OWL_ERR_USAGE, "n_ctx %lld: expected 0..%lld", (long long)p.n_ctx, MAX_CTX);
    if (p.n_ctx == 0) p.n_ctx = m->info.hp.n_ctx_train > 0 && m->info.hp.n_ctx_train < 4096 ? m->info.hp.n_ctx_train : 4096;
    if (p.n_batch < 0 || p.n_batch > MAX_BATCH) return owl_fail(err, OWL_ERR_USAGE, "n_batch %lld: expected 0..%lld", (long long)p.n_batch, MAX_BATCH);
    if (p.n_batch == 0) p.n_batch = p.n_ctx < 512 ? p.n_ctx : 512;

    owl_engine *e = calloc(1, sizeof *e);
    if (!e) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    e->model = m;
    e->arch = a;
    e->p = p;
    owl_status st = owl_weights_bind(m, a, p.n_ctx / p.n_seq_max, &e->d, &e->w, err);
    if (st) {
        free(e);
        return st;
    }
    const owl_hparams_ext *hx = &m->hx;
    e->attn_softcap = (float)hx->attn_softcap;
    e->final_softcap = (float)hx->final_softcap;
    e->logit_scale = (float)hx->logit_scale;
    e->max_alibi_bias = (float)hx->max_alibi_bias;
    e->moe_gating = hx->expert_gating ? hx->expert_gating : 1;
    e->moe_norm = hx->expert_weights_norm == 1;
    e->moe_scale = hx->expert_weights_scale > 0 ? (float)hx->expert_weights_scale : 0;
    e->n_groups = hx->n_expert_groups;
    e->n_groups_used = hx->n_expert_groups_used;
    e->parallel_residual = hx->parallel_residual != 2;
    if ((st = owl_kv_init(&e->kv, p.kv_type, p.n_ctx, e->d.n_layer, e->d.kv_dim_k, e->d.kv_dim_v, err)) ||
        (st = plan_state(e, err))) {
        owl_engine_free(e);
        return st;
    }
    if (p.n_threads > 1 && !(e->pool = owl_pool_new(p.n_threads))) {
        owl_engine_free(e);
        return owl_fail(err, OWL_ERR_NOMEM, "cannot start %d threads", p.n_threads);
    }
    *out = e;
    return OWL_OK;
}

void owl_engine_free(owl_engine *e) {
    if (!e) return;
    owl_pool_free(e->pool);
    owl_engine_free_loras(e);
    free_state(e);
    owl_kv_free(&e->kv);
    owl_weights_free(&e->w);
    free(e);
}

owl_status owl_engine_decode(owl_engine *e, const owl_batch *b, owl_error *err) {
    if (!e || !b) return owl_fail(err, OWL_ERR_USAGE, "owl_engine_decode: engine and batch must not be NULL");
    int64_t n = b->n_tokens;
    if (n < 1 || !b->tokens) return owl_fail(err, OWL_ERR_USAGE, "decode: the batch holds no tokens");
    if (n > e->p.n_batch)
        return owl_fail(err, OWL_ERR_USAGE, "decode: %lld tokens in one batch, more than n_batch %lld (split it)",
                        (long long)n, (long long)e->p.n_batch);
    owl_state *s = &e->s;
    int64_t next[OWL_KV_MAX_SEQ];
    for (int i = 0; i < e->p.n_seq_max; i++) next[i] = owl_kv_seq_pos_max(&e->kv, i) + 1;
    for (int64_t t = 0; t < n; t++) {
        int32_t tok = b->tokens[t], seq = b->seq ? b->seq[t] : 0;
        if (tok < 0 || tok >= e->d.n_vocab)
            return owl_fail(err, OWL_ERR_INPUT, "decode: token %d at batch row %lld is out of range (vocabulary 0..%lld)",
                            tok, (long long)t, (long long)e->d.n_vocab - 1);
        if (seq < 0 || seq >= e->p.n_seq_max)
            return owl_fail(err, OWL_ERR_INPUT, "decode: sequence %d at batch row %lld (expected 0..%d)", seq,
                            (long long)t, e->p.n_seq_max - 1);
        int64_t pos = b->pos ? b->pos[t] : next[seq];
        if (pos < 0 || pos >= MAX_CTX)
            return owl_fail(err, OWL_ERR_INPUT, "decode: position %lld at batch row %lld is out of range", (long long)pos,
                            (long long)t);
        next[seq] = pos + 1;
        s->pos[t] = pos;
        s->seq[t] = seq;
    }
    owl_status st = owl_kv_take(&e->kv, n, s->cells, err);
    if (st) return st;
    for (int64_t t = 0; t < n; t++) owl_kv_assign(&e->kv, s->cells[t], s->pos[t], s->seq[t]);
    const int8_t *want = b->logits;
    if (!want) { /* only the last row, from a buffer planned at creation */
        memset(e->want_last, 0, (size_t)n);
        e->want_last[n - 1] = 1;
        want = e->want_last;
    }
    owl_forward(e, n, b->tokens, want);
    return OWL_OK;
}

const float *owl_engine_logits(const owl_engine *e, int64_t row) {
    if (!e || row < 0 || row >= e->n_rows || e->logit_row[row] < 0) return NULL;
    return e->logits + e->logit_row[row] * e->d.n_vocab;
}

int64_t owl_engine_n_vocab(const owl_engine *e) { return e ? e->d.n_vocab : 0; }

static owl_status check_seq(const owl_engine *e, int32_t seq, owl_error *err) {
    if (!e) return owl_fail(err, OWL_ERR_USAGE, "engine must not be NULL");
    if (seq < 0 || seq >= e->p.n_seq_max) return owl_fail(err, OWL_ERR_USAGE, "sequence %d (expected 0..%d)", seq, e->p.n_seq_max - 1);
    return OWL_OK;
}

owl_status owl_engine_seq_copy(owl_engine *e, int32_t src, int32_t dst, int64_t p0, int64_t p1, owl_error *err) {
    owl_status st = check_seq(e, src, err);
    if (!st) st = check_seq(e, dst, err);
    if (!st) owl_kv_seq_copy(&e->kv, src, dst, p0, p1);
    return st;
}

owl_status owl_engine_seq_drop(owl_engine *e, int32_t seq, int64_t p0, int64_t p1, owl_error *err) {
    owl_status st = check_seq(e, seq, err);
    if (!st) owl_kv_seq_drop(&e->kv, seq, p0, p1);
    return st;
}

int64_t owl_engine_seq_pos_max(const owl_engine *e, int32_t seq) {
    if (!e || seq < 0 || seq >= e->p.n_seq_max) return -1;
    return owl_kv_seq_pos_max(&e->kv, seq);
}
