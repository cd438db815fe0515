/* forward.c: one batch of tokens through the model, for every family. The
 * loop reads like the papers: embed, then per layer norm -> attention ->
 * residual -> norm -> feed-forward -> residual, then the final norm and the
 * logits. What differs between families is data (arch.c's table and the
 * tensors present), never a copy of this loop. */
#include <math.h>
#include <string.h>

#include "model/engine.h"
#include "model/layers.h"
#include "model/lora.h"

/* ---- linear maps --------------------------------------------------------- */

typedef struct mm_job {
    const owl_linear *L;
    const uint8_t *W;
    const void *xq;
    size_t xq_row;
    int64_t n_tok;
    float *y;
} mm_job;

static void mm_rows(void *ctx, int64_t r0, int64_t r1, int thread) {
    (void)thread;
    const mm_job *j = ctx;
    owl_matmul_rows(j->L->k, j->W, j->L->row_bytes, j->L->n_in, r0, r1, j->xq, j->xq_row, j->n_tok, j->y, j->L->n_out);
}

/* llama2.c int8: weights times their group scale, activations in float. */
static void q80_rows(void *ctx, int64_t r0, int64_t r1, int thread) {
    (void)thread;
    const mm_job *j = ctx;
    const owl_linear *L = j->L;
    const int8_t *W = (const int8_t *)j->W;
    int64_t base = (int64_t)(j->W - L->data); /* element offset of this matrix */
    for (int64_t t = 0; t < j->n_tok; t++) {
        const float *x = (const float *)j->xq + t * L->n_in;
        for (int64_t r = r0; r < r1; r++) {
            float s = 0;
            for (int64_t g = 0; g < L->n_in; g += L->q80_group) {
                float partial = 0;
                for (int64_t i = g; i < g + L->q80_group && i < L->n_in; i++) partial += (float)W[r * L->n_in + i] * x[i];
                s += partial * L->q80_scales[(base + r * L->n_in + g) / L->q80_group];
            }
            j->y[t * L->n_out + r] = s;
        }
    }
}

void linear_forward(owl_engine *e, const owl_linear *L, int64_t mat, const float *x, int64_t n_tok, float *y) {
    mm_job j = {L, L->data + (size_t)mat * L->mat_bytes, x, (size_t)L->n_in * sizeof(float), n_tok, y};
    if (L->q80_scales) {
        owl_pool_for(e->pool, L->n_out, 16, q80_rows, &j);
    } else {
        if (L->k->vec_dot_type != OWL_F32) { /* activations in the weight's partner type, as ggml */
            for (int64_t t = 0; t < n_tok; t++)
                owl_quantize_activations(L->k->vec_dot_type, x + t * L->n_in, (uint8_t *)e->s.xq + (size_t)t * L->xq_row_bytes,
                                         L->n_in);
            j.xq = e->s.xq;
            j.xq_row = L->xq_row_bytes;
        }
        owl_pool_for(e->pool, L->n_out, 16, mm_rows, &j);
    }
    if (L->bias) {
        const float *b = L->bias + mat * L->n_out;
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t r = 0; r < L->n_out; r++) y[t * L->n_out + r] += b[r];
    }
    for (const owl_lora_factors *f = L->lora; f; f = f->next) owl_lora_forward(e, f, x, n_tok, y);
}

/* ---- embeddings ---------------------------------------------------------- */

static void embed(owl_engine *e, const owl_linear *E, int32_t tok, float *out) {
    if (E->q80_scales) {
        const int8_t *w = (const int8_t *)E->data + (size_t)tok * (size_t)E->n_in;
        for (int64_t i = 0; i < E->n_in; i++)
            out[i] = (float)w[i] * E->q80_scales[((int64_t)tok * E->n_in + i) / E->q80_group];
        return;
    }
    E->k->to_float(E->data + (size_t)tok * E->row_bytes, out, E->n_in);
    (void)e;
}

/* ---- attention ----------------------------------------------------------- */

typedef struct attn_job {
    owl_engine *e;
    const owl_layer *L;
    int64_t layer, n_tok;
    const float *q;  /* n_tok rows of q_stride floats, head h at h * head_dim_k */
    int64_t q_stride;
    const float *v;  /* the layer's V rows (MLA: the K rows, whose first floats are c) */
    int64_t v_stride;
    float *out;      /* n_tok x n_head*head_dim_v */
    int q_type;      /* what q is rounded to before the dot products (the cache's type) */
} attn_job;

static float alibi_slope(const owl_engine *e, int64_t h) {
    if (!(e->arch->flags & OWL_ARCH_ALIBI)) return 0;
    float max_bias = e->max_alibi_bias > 0 ? e->max_alibi_bias : 8.0f;
    int64_t n = 1;
    while (n * 2 <= e->d.n_head) n *= 2;
    float m0 = powf(2.0f, -max_bias / (float)n), m1 = powf(2.0f, -(max_bias / 2.0f) / (float)n);
    return h < n ? powf(m0, (float)(h + 1)) : powf(m1, (float)(2 * (h - n) + 1));
}

/* Keys in position order (ties by cell), by heapsort in place: a sequence
   whose later tokens took cells freed below its earlier ones would otherwise
   sum its softmax in another order than it does alone, and batched requests
   must get exactly the logits they get alone. */
static int key_before(const int64_t *cells, const int64_t *pos, int64_t a, int64_t b) {
    return pos[a] < pos[b] || (pos[a] == pos[b] && cells[a] < cells[b]);
}

static void key_sift(int64_t *cells, int64_t *pos, int64_t root, int64_t n) {
    for (int64_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && key_before(cells, pos, child, child + 1)) child++;
        if (!key_before(cells, pos, root, child)) return;
        int64_t c = cells[root], p = pos[root];
        cells[root] = cells[child], pos[root] = pos[child];
        cells[child] = c, pos[child] = p;
    }
}

static void sort_keys(int64_t *cells, int64_t *pos, int64_t n) {
    for (int64_t i = n / 2; i-- > 0;) key_sift(cells, pos, i, n);
    for (int64_t end = n - 1; end > 0; end--) {
        int64_t c = cells[0], p = pos[0];
        cells[0] = cells[end], pos[0] = pos[end];
        cells[end] = c, pos[end] = p;
        key_sift(cells, pos, 0, end);
    }
}

static void attn_rows(void *ctx, int64_t i0, int64_t i1, int thread) {
    const attn_job *j = ctx;
    owl_engine *e = j->e;
    const owl_dims *d = &e->d;
    owl_state *s = &e->s;
    const owl_kv_cache *kv = &e->kv;
    int64_t group = d->n_head / d->n_head_kv;
    int64_t *cells = s->vis_cells + (int64_t)thread * kv->n_cells, *pos = s->vis_pos + (int64_t)thread * kv->n_cells;
    float *scores = s->scores + (int64_t)thread * kv->n_cells;
    for (int64_t i = i0; i < i1; i++) {
        int64_t t = i / d->n_head, h = i % d->n_head, kvh = h / group;
        int64_t qp = s->pos[t];
        uint64_t bit = 1ull << s->seq[t];
        owl_attn_keys keys = {cells, pos, 0, s->kf + kvh * d->head_dim_k, j->v + kvh * d->head_dim_v, kv->k_dim, j->v_stride};
        int in_order = 1;
        for (int64_t c = 0; c < kv->used_end; c++) {
            int64_t p = kv->pos[c];
            if (p < 0 || !(kv->seqs[c] & bit) || !attn_key_visible(p, qp, j->L->is_swa ? d->n_swa : 0, j->L->chunk)) continue;
            if (keys.n && p < pos[keys.n - 1]) in_order = 0;
            cells[keys.n] = c;
            pos[keys.n] = p;
            keys.n++;
        }
        if (!in_order) sort_keys(cells, pos, keys.n);
        float *out = j->out + t * d->n_head * d->head_dim_v + h * d->head_dim_v;
        attention_forward(out, j->q + t * j->q_stride + h * d->head_dim_k, d->head_dim_k, d->head_dim_v, &keys, qp,
                          d->attn_scale, e->attn_softcap, alibi_slope(e, h), j->q_type, scores);
    }
}

static int kv_q_type(const owl_engine *e) {
    return e->p.kv_type == OWL_KV_F16 ? OWL_F16 : e->p.kv_type == OWL_KV_Q8_0 ? OWL_Q8_0 : OWL_F32;
}

/* The layer's cache as floats once, so every head reads plain rows. */
static void load_cache(owl_engine *e, int64_t l) {
    for (int64_t c = 0; c < e->kv.used_end; c++) {
        if (e->kv.pos[c] < 0) continue;
        owl_kv_read_k(&e->kv, l, c, e->s.kf + c * e->kv.k_dim);
        if (e->kv.v_dim) owl_kv_read_v(&e->kv, l, c, e->s.vf + c * e->kv.v_dim);
    }
}

/* Per-head (or whole-vector) norms of q or k, n_heads vectors of hd floats. */
static void qk_norm(const owl_engine *e, const owl_normw *nw, float *x, int64_t n_heads, int64_t hd) {
    if (!nw->w) return;
    if (nw->n != hd) { /* the whole vector (olmo2) */
        norm_forward(e->arch->norm, x, x, nw, 0, e->d.eps);
        return;
    }
    for (int64_t h = 0; h < n_heads; h++) norm_forward(e->arch->norm, x + h * hd, x + h * hd, nw, nw->stride ? h : 0, e->d.eps);
}

static void attention_block(owl_engine *e, const owl_layer *L, int64_t l, const float *in, int64_t n_tok, float *out) {
    const owl_dims *d = &e->d;
    owl_state *s = &e->s;
    float *q = s->q, *k = s->k, *v = s->v;
    if (L->qkv.name) { /* fused [Q | K | V] rows */
        int64_t w = d->q_dim + d->kv_dim_k + d->kv_dim_v;
        linear_forward(e, &L->qkv, 0, in, n_tok, s->qkv);
        for (int64_t t = 0; t < n_tok; t++) {
            memcpy(q + t * d->q_dim, s->qkv + t * w, (size_t)d->q_dim * sizeof(float));
            memcpy(k + t * d->kv_dim_k, s->qkv + t * w + d->q_dim, (size_t)d->kv_dim_k * sizeof(float));
            memcpy(v + t * d->kv_dim_v, s->qkv + t * w + d->q_dim + d->kv_dim_k, (size_t)d->kv_dim_v * sizeof(float));
        }
    } else {
        linear_forward(e, &L->q, 0, in, n_tok, q);
        linear_forward(e, &L->k, 0, in, n_tok, k);
        linear_forward(e, &L->v, 0, in, n_tok, v);
    }
    for (int64_t t = 0; t < n_tok; t++) {
        float *qt = q + t * d->q_dim, *kt = k + t * d->kv_dim_k;
        qk_norm(e, &L->q_norm, qt, d->n_head, d->head_dim_k);
        qk_norm(e, &L->k_norm, kt, d->n_head_kv, d->head_dim_k);
        if (L->rope.use) {
            float *cs = s->rope;
            rope_cache(cs, s->pos[t], d->n_rot, &L->rope);
            for (int64_t h = 0; h < d->n_head; h++) rope_forward(qt + h * d->head_dim_k, cs, d->n_rot, d->rope_style);
            for (int64_t h = 0; h < d->n_head_kv; h++) rope_forward(kt + h * d->head_dim_k, cs, d->n_rot, d->rope_style);
            if (e->arch->qk_norm == OWL_QK_NORM_L2_ROPED) { /* llama4: unweighted RMS norm after RoPE */
                for (int64_t h = 0; h < d->n_head; h++) rmsnorm_forward(qt + h * d->head_dim_k, qt + h * d->head_dim_k, NULL, d->head_dim_k, d->eps);
                for (int64_t h = 0; h < d->n_head_kv; h++) rmsnorm_forward(kt + h * d->head_dim_k, kt + h * d->head_dim_k, NULL, d->head_dim_k, d->eps);
            }
        }
        if (L->temp_tune) {
            float temp = attn_temperature(s->pos[t]);
            for (int64_t i = 0; i < d->q_dim; i++) qt[i] *= temp;
        }
        owl_kv_write(&e->kv, l, s->cells[t], kt, v + t * d->kv_dim_v);
    }
    load_cache(e, l);
    attn_job j = {e, L, l, n_tok, q, d->q_dim, s->vf, e->kv.v_dim, s->att, kv_q_type(e)};
    owl_pool_for(e->pool, n_tok * d->n_head, 1, attn_rows, &j);
    linear_forward(e, &L->o, 0, s->att, n_tok, out);
}

/* Multi-head latent attention (DeepSeek 2/3), absorbed as llama.cpp runs it:
   the cache holds c = norm(kv_a(x)) and one shared rope key per token; each
   head's query is taken into c's space through attn_k_b, attends over
   [c | k_rope] with c as the value, and comes back out through attn_v_b. */
static void mla_block(owl_engine *e, const owl_layer *L, int64_t l, const float *in, int64_t n_tok, float *out) {
    const owl_dims *d = &e->d;
    owl_state *s = &e->s;
    int64_t qk = d->mla_nope + d->n_rot, R = d->kv_lora, kd = R + d->n_rot, H = d->n_head;
    if (L->q_a.name) {
        linear_forward(e, &L->q_a, 0, in, n_tok, s->qa);
        for (int64_t t = 0; t < n_tok; t++) norm_forward(OWL_NORM_RMS, s->qa + t * d->q_lora, s->qa + t * d->q_lora, &L->q_a_norm, 0, d->eps);
        linear_forward(e, &L->q_b, 0, s->qa, n_tok, s->q);
    } else {
        linear_forward(e, &L->q, 0, in, n_tok, s->q);
    }
    linear_forward(e, &L->kv_a, 0, in, n_tok, s->kva);
    for (int64_t t = 0; t < n_tok; t++) {
        float *kv = s->kva + t * kd, *qt = s->q + t * H * qk;
        norm_forward(OWL_NORM_RMS, kv, kv, &L->kv_a_norm, 0, d->eps);
        rope_cache(s->rope, s->pos[t], d->n_rot, &L->rope);
        rope_forward(kv + R, s->rope, d->n_rot, d->rope_style);
        owl_kv_write(&e->kv, l, s->cells[t], kv, NULL);
        for (int64_t h = 0; h < H; h++) {
            float *qh = qt + h * qk, *qa = s->qabs + (t * H + h) * kd;
            rope_forward(qh + d->mla_nope, s->rope, d->n_rot, d->rope_style);
            linear_forward(e, &L->k_b, h, qh, 1, qa); /* q_nope into c's space */
            memcpy(qa + R, qh + d->mla_nope, (size_t)d->n_rot * sizeof(float));
        }
    }
    load_cache(e, l);
    attn_job j = {e, L, l, n_tok, s->qabs, H * kd, s->kf, e->kv.k_dim, s->att, kv_q_type(e)};
    owl_pool_for(e->pool, n_tok * H, 1, attn_rows, &j);
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t h = 0; h < H; h++)
            linear_forward(e, &L->v_b, h, s->att + (t * H + h) * R, 1, s->att2 + (t * H + h) * d->mla_v);
    linear_forward(e, &L->o, 0, s->att2, n_tok, out);
}

/* ---- feed-forward -------------------------------------------------------- */

/* gate/up -> activation -> down for one matrix of a (possibly stacked) FFN. */
static void mlp(owl_engine *e, const owl_linear *gate, const owl_linear *up, const owl_linear *down, int64_t mat,
                const float *in, int64_t n_tok, float *out) {
    owl_state *s = &e->s;
    int64_t ff = down->n_in;
    if (e->arch->ffn == OWL_FFN_GELU) {
        linear_forward(e, up, mat, in, n_tok, s->up);
        gelu_forward(s->up, s->up, n_tok * ff);
        linear_forward(e, down, mat, s->up, n_tok, out);
        return;
    }
    if (!gate->name) { /* phi3: ffn_up holds [gate | up] per token */
        linear_forward(e, up, mat, in, n_tok, s->up);
        for (int64_t t = 0; t < n_tok; t++) {
            memcpy(s->gate + t * ff, s->up + t * 2 * ff, (size_t)ff * sizeof(float));
            memmove(s->up + t * ff, s->up + t * 2 * ff + ff, (size_t)ff * sizeof(float));
        }
    } else {
        linear_forward(e, gate, mat, in, n_tok, s->gate);
        linear_forward(e, up, mat, in, n_tok, s->up);
    }
    if (e->arch->ffn == OWL_FFN_GEGLU) geglu_forward(s->gate, s->gate, s->up, n_tok * ff);
    else swiglu_forward(s->gate, s->gate, s->up, n_tok * ff);
    linear_forward(e, down, mat, s->gate, n_tok, out);
}

/* Chooses the experts of one token: sel[0..k) best first, with their weights. */
static void route(const owl_engine *e, const owl_layer *L, float *logits, int64_t *sel, float *w) {
    const owl_dims *d = &e->d;
    int64_t E = d->n_expert, K = d->n_expert_used;
    float probs[4096], choice[4096];
    memcpy(probs, logits, (size_t)E * sizeof(float));
    if (e->arch->moe == OWL_MOE_LLAMA4) {
        memcpy(choice, logits, (size_t)E * sizeof(float));
        sigmoid_forward(probs, E);
    } else {
        if (e->arch->moe == OWL_MOE_DEEPSEEK && e->moe_gating == 2) sigmoid_forward(probs, E);
        else softmax_forward(probs, E);
        memcpy(choice, probs, (size_t)E * sizeof(float));
        if (L->exp_probs_b)
            for (int64_t i = 0; i < E; i++) choice[i] += L->exp_probs_b[i];
    }
    if (e->arch->moe == OWL_MOE_DEEPSEEK && e->n_groups > 1 && e->n_groups_used > 0 && e->n_groups_used < e->n_groups) {
        /* a group's score is the sum of its two best choices; only the best groups compete */
        int64_t G = e->n_groups, per = E / G;
        float gs[4096];
        for (int64_t g = 0; g < G; g++) {
            float a = -INFINITY, b = -INFINITY;
            for (int64_t i = g * per; i < (g + 1) * per; i++) {
                if (choice[i] > a) b = a, a = choice[i];
                else if (choice[i] > b) b = choice[i];
            }
            gs[g] = per > 1 ? a + b : a;
        }
        for (int64_t n = 0; n < G - e->n_groups_used; n++) { /* drop the worst groups */
            int64_t worst = -1;
            for (int64_t g = 0; g < G; g++)
                if (gs[g] != INFINITY && (worst < 0 || gs[g] < gs[worst])) worst = g;
            gs[worst] = INFINITY;
            for (int64_t i = worst * per; i < (worst + 1) * per; i++) choice[i] = -INFINITY;
        }
    }
    for (int64_t k = 0; k < K; k++) {
        int64_t best = -1;
        for (int64_t i = 0; i < E; i++) {
            int taken = 0;
            for (int64_t j = 0; j < k; j++) taken |= sel[j] == i;
            if (!taken && (best < 0 || choice[i] > choice[best])) best = i;
        }
        sel[k] = best;
        w[k] = probs[best];
    }
    int norm = e->arch->moe == OWL_MOE_SOFTMAX || (e->arch->moe == OWL_MOE_DEEPSEEK && e->moe_norm);
    if (norm) {
        float sum = 0;
        for (int64_t k = 0; k < K; k++) sum += w[k];
        for (int64_t k = 0; k < K; k++) w[k] /= sum;
    }
    if (e->arch->moe == OWL_MOE_DEEPSEEK && e->moe_scale != 0)
        for (int64_t k = 0; k < K; k++) w[k] *= e->moe_scale;
}

static void ffn_block(owl_engine *e, const owl_layer *L, const float *in, int64_t n_tok, float *out) {
    const owl_dims *d = &e->d;
    owl_state *s = &e->s;
    if (!L->is_moe) {
        mlp(e, &L->gate, &L->up, &L->down, 0, in, n_tok, out);
        return;
    }
    int64_t n = d->n_embd, K = d->n_expert_used;
    linear_forward(e, &L->router, 0, in, n_tok, s->router);
    for (int64_t t = 0; t < n_tok; t++) {
        int64_t *sel = s->sel + t * K;
        float *w = s->sel_w + t * K;
        route(e, L, s->router + t * d->n_expert, sel, w);
        float *o = out + t * n;
        memset(o, 0, (size_t)n * sizeof(float));
        for (int64_t k = 0; k < K; k++) {
            const float *x = in + t * n;
            if (e->arch->moe == OWL_MOE_LLAMA4) { /* the weight scales the expert's input */
                for (int64_t i = 0; i < n; i++) s->gin[i] = x[i] * w[k];
                x = s->gin;
            }
            mlp(e, &L->gate_exps, &L->up_exps, &L->down_exps, sel[k], x, 1, s->gout);
            float wk = e->arch->moe == OWL_MOE_LLAMA4 ? 1.0f : w[k];
            for (int64_t i = 0; i < n; i++) o[i] += s->gout[i] * wk;
        }
    }
    if (L->gate_shexp.name) {
        mlp(e, &L->gate_shexp, &L->up_shexp, &L->down_shexp, 0, in, n_tok, s->moe_out);
        for (int64_t i = 0; i < n_tok * n; i++) out[i] += s->moe_out[i];
    }
}

/* ---- the model ----------------------------------------------------------- */

static void norm_rows(const owl_engine *e, const owl_normw *nw, const float *x, float *out, int64_t n_tok) {
    for (int64_t t = 0; t < n_tok; t++) norm_forward(e->arch->norm, out + t * e->d.n_embd, x + t * e->d.n_embd, nw, 0, e->d.eps);
}

void owl_forward(owl_engine *e, int64_t n_tok, const int32_t *tokens, const int8_t *want) {
    const owl_dims *d = &e->d;
    const owl_arch *a = e->arch;
    owl_state *s = &e->s;
    int64_t n = d->n_embd;
    for (int64_t t = 0; t < n_tok; t++) embed(e, &e->w.tok_embd, tokens[t], s->x + t * n);
    if (a->flags & OWL_ARCH_EMBD_SCALE) {
        float scale = sqrtf((float)n);
        for (int64_t i = 0; i < n_tok * n; i++) s->x[i] *= scale;
    }
    if (a->flags & OWL_ARCH_EMBD_NORM) norm_rows(e, &e->w.embd_norm, s->x, s->x, n_tok);
    for (int64_t l = 0; l < d->n_layer; l++) {
        const owl_layer *L = &e->w.layers[l];
        const float *attn_in = s->x;
        if (L->attn_norm.w) {
            norm_rows(e, &L->attn_norm, s->x, s->h, n_tok);
            attn_in = s->h;
        }
        if (a->flags & OWL_ARCH_MLA) mla_block(e, L, l, attn_in, n_tok, s->a);
        else attention_block(e, L, l, attn_in, n_tok, s->a);
        if (L->post_attn_norm.w) norm_rows(e, &L->post_attn_norm, s->a, s->a, n_tok);
        if (a->residual == OWL_RESID_PARALLEL_SHARED) { /* x + attn(n) + ffn(n) */
            ffn_block(e, L, attn_in, n_tok, s->f);
            for (int64_t i = 0; i < n_tok * n; i++) s->x[i] += s->a[i] + s->f[i];
            continue;
        }
        if (a->residual == OWL_RESID_PARALLEL && e->parallel_residual) { /* x + attn(ln1(x)) + ffn(ln2(x)) */
            norm_rows(e, &L->ffn_norm, s->x, s->h2, n_tok);
            ffn_block(e, L, s->h2, n_tok, s->f);
            for (int64_t i = 0; i < n_tok * n; i++) s->x[i] += s->a[i] + s->f[i];
            continue;
        }
        for (int64_t i = 0; i < n_tok * n; i++) s->x[i] += s->a[i];
        const float *ffn_in = s->x;
        if (L->ffn_norm.w) {
            norm_rows(e, &L->ffn_norm, s->x, s->h, n_tok);
            ffn_in = s->h;
        }
        ffn_block(e, L, ffn_in, n_tok, s->f);
        if (L->post_ffn_norm.w) norm_rows(e, &L->post_ffn_norm, s->f, s->f, n_tok);
        for (int64_t i = 0; i < n_tok * n; i++) s->x[i] += s->f[i];
    }
    /* logits only for the rows asked for */
    int64_t rows = 0;
    for (int64_t t = 0; t < n_tok; t++) {
        e->logit_row[t] = -1;
        if (!want[t]) continue;
        norm_forward(a->norm, s->h + rows * n, s->x + t * n, &e->w.output_norm, 0, d->eps);
        e->logit_row[t] = rows++;
    }
    linear_forward(e, &e->w.output, 0, s->h, rows, e->logits);
    for (int64_t i = 0; i < rows * d->n_vocab; i++) {
        float v = e->logits[i];
        if (e->logit_scale != 0) v *= e->logit_scale;
        if (e->final_softcap > 0) v = tanhf(v / e->final_softcap) * e->final_softcap;
        e->logits[i] = v;
    }
    e->n_rows = n_tok;
}
