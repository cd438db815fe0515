/* weights.c: binds a model's tensors to the forward pass by canonical name,
 * layer by layer. Every shape is checked against the hyperparameters before
 * anything reads it, and a mismatch names the tensor, what it holds and what
 * was expected; a weight type without kernels is reported as unsupported. */
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"

#define MAX_DIM (1ll << 24)   /* widths, heads, vocabulary */
#define MAX_LAYERS 4096

typedef struct binder {
    const owl_model *m;
    const owl_arch *a;
    owl_dims *d;
    owl_weights *w;
    owl_error *err;
    const char *path;
} binder;

enum { OPTIONAL = 0, REQUIRED = 1 };

static const char *tensor_name(char *buf, size_t cap, int64_t layer, const char *base, const char *suffix) {
    if (layer >= 0) snprintf(buf, cap, "blk.%lld.%s.%s", (long long)layer, base, suffix);
    else snprintf(buf, cap, "%s.%s", base, suffix);
    return buf;
}

static const char *shape_text(const owl_tensor *t, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "[");
    for (int i = 0; i < t->n_dims && i < OWL_MAX_DIMS && n < (int)cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, i ? ", %llu" : "%llu", (unsigned long long)t->ne[i]);
    if (n < (int)cap) snprintf(buf + n, cap - (size_t)n, "]");
    return buf;
}

static void *own(binder *b, size_t bytes) {
    owl_weights *w = b->w;
    if (w->n_owned == w->cap_owned) {
        size_t cap = w->cap_owned ? w->cap_owned * 2 : 16;
        void **p = realloc(w->owned, cap * sizeof *p);
        if (!p) return NULL;
        w->owned = p;
        w->cap_owned = cap;
    }
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p) w->owned[w->n_owned++] = p;
    return p;
}

/* A tensor's shape must be exactly ne[0..n) (trailing 1s allowed). */
static int shape_is(const owl_tensor *t, const int64_t *ne, int n) {
    for (int i = 0; i < OWL_MAX_DIMS; i++) {
        uint64_t want = i < n ? (uint64_t)ne[i] : 1;
        uint64_t have = i < t->n_dims ? t->ne[i] : 1;
        if (want != have) return 0;
    }
    return 1;
}

static owl_status wrong_shape(binder *b, const owl_tensor *t, const int64_t *ne, int n, const char *what) {
    char have[96], want[96];
    int k = snprintf(want, sizeof want, "[");
    for (int i = 0; i < n && k < (int)sizeof want; i++)
        k += snprintf(want + k, sizeof want - (size_t)k, i ? ", %lld" : "%lld", (long long)ne[i]);
    if (k < (int)sizeof want) snprintf(want + k, sizeof want - (size_t)k, "]");
    return owl_fail(b->err, OWL_ERR_INPUT, "%s: tensor %s has shape %s, expected %s (%s)", b->path, t->name,
                    shape_text(t, have, sizeof have), want, what);
}

static owl_status missing(binder *b, const char *name, const char *why) {
    return owl_fail(b->err, OWL_ERR_INPUT, "%s: tensor %s is missing (%s model: %s)", b->path, name, b->a->id, why);
}

/* A vector of n floats: F32 in place when aligned, otherwise widened once. */
static owl_status float_vector(binder *b, const owl_tensor *t, int64_t n, const float **out) {
    if (t->dtype == OWL_F32 && (uintptr_t)t->data % sizeof(float) == 0) {
        *out = t->data;
        return OWL_OK;
    }
    const owl_kernel_traits *k = owl_kernels_get(t->dtype);
    if (!k || !k->to_float || n % k->block_size || owl_row_bytes(t->dtype, n) != t->n_bytes)
        return owl_fail(b->err, OWL_ERR_UNSUPPORTED, "%s: tensor %s: %s vectors are not supported (F32, F16, BF16 are)",
                        b->path, t->name, owl_dtype_name(t->dtype) ? owl_dtype_name(t->dtype) : "unknown type");
    float *dst = own(b, (size_t)n * sizeof(float));
    if (!dst) return owl_fail(b->err, OWL_ERR_NOMEM, "out of memory");
    if ((uintptr_t)t->data % 4 == 0) k->to_float(t->data, dst, n);
    else { /* misaligned source: through an aligned copy */
        void *tmp = own(b, (size_t)t->n_bytes);
        if (!tmp) return owl_fail(b->err, OWL_ERR_NOMEM, "out of memory");
        memcpy(tmp, t->data, (size_t)t->n_bytes);
        k->to_float(tmp, dst, n);
    }
    *out = dst;
    return OWL_OK;
}

/* Norm weights (and bias) "<base>.weight" of n floats; per_head > 0 also
   accepts [n, per_head] (one weight vector per head). */
static owl_status bind_norm(binder *b, owl_normw *nw, int64_t layer, const char *base, int64_t n, int64_t per_head,
                            int required, const char *why) {
    char name[160];
    memset(nw, 0, sizeof *nw);
    const owl_tensor *t = owl_model_find_tensor(b->m, tensor_name(name, sizeof name, layer, base, "weight"));
    if (!t) return required ? missing(b, name, why) : OWL_OK;
    int64_t ne[2] = {n, per_head};
    int64_t count = n;
    if (!shape_is(t, ne, 1)) {
        if (per_head > 0 && shape_is(t, ne, 2)) {
            nw->stride = n;
            count = n * per_head;
        } else {
            return wrong_shape(b, t, ne, 1, why);
        }
    }
    owl_status st = float_vector(b, t, count, &nw->w);
    if (st) return st;
    nw->n = n;
    const owl_tensor *bias = owl_model_find_tensor(b->m, tensor_name(name, sizeof name, layer, base, "bias"));
    if (bias) {
        if (!shape_is(bias, ne, nw->stride ? 2 : 1)) return wrong_shape(b, bias, ne, nw->stride ? 2 : 1, "norm bias");
        if ((st = float_vector(b, bias, count, &nw->b))) return st;
    }
    return OWL_OK;
}

/* llama2.c int8 exports: int8 values with one F32 scale per group of the flattened matrix. */
static owl_status bind_q80(binder *b, owl_linear *L, const owl_tensor *t) {
    char name[200];
    snprintf(name, sizeof name, "%s.scales", t->name);
    const owl_tensor *s = owl_model_find_tensor(b->m, name);
    int64_t group = b->m->info.hp.quant_group_size;
    uint64_t n = (uint64_t)(L->n_in * L->n_out * L->n_mat);
    if (!s || group < 1 || n % (uint64_t)group || s->dtype != OWL_F32 || s->n_elements != n / (uint64_t)group)
        return owl_fail(b->err, OWL_ERR_INPUT, "%s: tensor %s: int8 weights need %s (F32, %llu group scales)", b->path,
                        t->name, name, group > 0 ? (unsigned long long)(n / (uint64_t)group) : 0ull);
    if ((uintptr_t)s->data % 4) {
        float *c = own(b, (size_t)s->n_bytes);
        if (!c) return owl_fail(b->err, OWL_ERR_NOMEM, "out of memory");
        memcpy(c, s->data, (size_t)s->n_bytes);
        L->q80_scales = c;
    } else {
        L->q80_scales = s->data;
    }
    L->q80_group = group;
    L->row_bytes = (size_t)L->n_in;
    L->xq_row_bytes = (size_t)L->n_in * sizeof(float);
    return OWL_OK;
}

/* "<base>.weight" as n_mat matrices of n_out rows of n_in, "<base>.bias" optional. */
static owl_status bind_linear_n(binder *b, owl_linear *L, int64_t layer, const char *base, int64_t n_in, int64_t n_out,
                                int64_t n_mat, int required, const char *why) {
    char name[160];
    memset(L, 0, sizeof *L);
    const owl_tensor *t = owl_model_find_tensor(b->m, tensor_name(name, sizeof name, layer, base, "weight"));
    if (!t) return required ? missing(b, name, why) : OWL_OK;
    int64_t ne[3] = {n_in, n_out, n_mat};
    if (!shape_is(t, ne, n_mat > 1 ? 3 : 2)) return wrong_shape(b, t, ne, n_mat > 1 ? 3 : 2, why);
    L->name = t->name;
    L->dtype = t->dtype;
    L->n_in = n_in;
    L->n_out = n_out;
    L->n_mat = n_mat;
    L->data = t->data;
    owl_status st;
    if (t->dtype == OWL_I8) {
        if ((st = bind_q80(b, L, t))) return st;
    } else {
        const owl_kernel_traits *k = owl_kernels_get(t->dtype);
        const owl_kernel_traits *kx = k ? owl_kernels_get(k->vec_dot_type) : NULL;
        const char *tn = owl_dtype_name(t->dtype) ? owl_dtype_name(t->dtype) : "unknown-type";
        if (!k || !k->vec_dot || !kx || (k->vec_dot_type != OWL_F32 && !kx->from_float))
            return owl_fail(b->err, OWL_ERR_UNSUPPORTED, "%s: tensor %s: owl has no %s matrix kernels yet", b->path,
                            t->name, tn);
        L->k = k;
        L->row_bytes = owl_row_bytes(t->dtype, n_in);
        L->xq_row_bytes = owl_row_bytes(k->vec_dot_type, n_in);
        if (!L->row_bytes || !L->xq_row_bytes)
            return owl_fail(b->err, OWL_ERR_INPUT, "%s: tensor %s: rows of %lld %s values are not whole blocks", b->path,
                            t->name, (long long)n_in, tn);
    }
    L->mat_bytes = L->row_bytes * (size_t)n_out;
    if ((uint64_t)L->mat_bytes * (uint64_t)n_mat != t->n_bytes)
        return owl_fail(b->err, OWL_ERR_INPUT, "%s: tensor %s holds %llu bytes, expected %llu", b->path, t->name,
                        (unsigned long long)t->n_bytes, (unsigned long long)L->mat_bytes * (unsigned long long)n_mat);
    size_t align = t->dtype == OWL_F32 ? 4 : t->dtype == OWL_I8 ? 1 : 2;
    if ((uintptr_t)L->data % align) {
        uint8_t *c = own(b, (size_t)t->n_bytes);
        if (!c) return owl_fail(b->err, OWL_ERR_NOMEM, "out of memory");
        memcpy(c, t->data, (size_t)t->n_bytes);
        L->data = c;
    }
    if ((int64_t)L->xq_row_bytes > b->w->max_xq_row_bytes) b->w->max_xq_row_bytes = (int64_t)L->xq_row_bytes;
    const owl_tensor *bias = owl_model_find_tensor(b->m, tensor_name(name, sizeof name, layer, base, "bias"));
    if (bias) {
        int64_t bne[2] = {n_out, n_mat};
        if (!shape_is(bias, bne, n_mat > 1 ? 2 : 1)) return wrong_shape(b, bias, bne, n_mat > 1 ? 2 : 1, "bias");
        if ((st = float_vector(b, bias, n_out * n_mat, &L->bias))) return st;
    }
    return OWL_OK;
}

static owl_status bind_linear(binder *b, owl_linear *L, int64_t layer, const char *base, int64_t n_in, int64_t n_out,
                              int required, const char *why) {
    return bind_linear_n(b, L, layer, base, n_in, n_out, 1, required, why);
}

/* ---- hyperparameters ----------------------------------------------------- */

static owl_status bad_hp(binder *b, const char *what, long long v, const char *expected) {
    return owl_fail(b->err, OWL_ERR_INPUT, "%s: %s = %lld (expected %s)", b->path, what, v, expected);
}

static owl_status check_dims(binder *b) {
    const owl_hparams *hp = &b->m->info.hp;
    const owl_hparams_ext *hx = &b->m->hx;
    owl_dims *d = b->d;
    memset(d, 0, sizeof *d);
    if (hp->n_embd < 1 || hp->n_embd > MAX_DIM) return bad_hp(b, "n_embd", hp->n_embd, "1..2^24");
    if (hp->n_layer < 1 || hp->n_layer > MAX_LAYERS) return bad_hp(b, "n_layer", hp->n_layer, "1..4096");
    if (hp->n_head < 1 || hp->n_head > MAX_DIM) return bad_hp(b, "n_head", hp->n_head, "1..2^24");
    int64_t n_kv = hp->n_head_kv ? hp->n_head_kv : hp->n_head;
    if (n_kv < 1 || n_kv > hp->n_head || hp->n_head % n_kv)
        return bad_hp(b, "n_head_kv", n_kv, "a divisor of n_head");
    if (hp->head_dim < 1 || hp->head_dim > MAX_DIM) return bad_hp(b, "head_dim", hp->head_dim, "1..2^24");
    if (hp->n_ff < 0 || hp->n_ff > MAX_DIM) return bad_hp(b, "n_ff", hp->n_ff, "0..2^24");
    if (!(hp->norm_eps >= 0 && hp->norm_eps < 1)) return bad_hp(b, "norm_eps * 1e9", (long long)(hp->norm_eps * 1e9), "[0, 1)");
    d->n_embd = hp->n_embd;
    d->n_layer = hp->n_layer;
    d->n_head = hp->n_head;
    d->n_head_kv = n_kv;
    d->head_dim_k = hp->head_dim;
    d->head_dim_v = hx->head_dim_v ? hx->head_dim_v : hp->head_dim;
    if (d->head_dim_v < 1 || d->head_dim_v > MAX_DIM) return bad_hp(b, "value head size", d->head_dim_v, "1..2^24");
    d->n_rot = hp->n_rot ? hp->n_rot : hp->head_dim;
    d->n_ff = hp->n_ff;
    d->rope_style = (b->a->flags & OWL_ARCH_ALIBI) ? OWL_ROPE_NONE : hp->rope_style;
    d->eps = (float)hp->norm_eps;
    d->n_expert = hp->n_expert;
    d->n_expert_used = hp->n_expert_used;
    if (d->n_expert < 0 || d->n_expert > 4096) return bad_hp(b, "n_expert", d->n_expert, "0..4096");
    if (d->n_expert && (d->n_expert_used < 1 || d->n_expert_used > d->n_expert))
        return bad_hp(b, "n_expert_used", d->n_expert_used, "1..n_expert");
    d->n_ff_exp = hx->n_ff_expert ? hx->n_ff_expert : hp->n_ff;
    if (d->n_ff_exp > MAX_DIM) return bad_hp(b, "expert n_ff", d->n_ff_exp, "up to 2^24");
    if (b->a->flags & OWL_ARCH_MLA) {
        /* the cache holds the compressed c (kv_lora) and the shared rope key; V is c */
        d->kv_lora = hp->kv_lora_rank;
        d->q_lora = hx->q_lora_rank;
        int64_t mla_k = hx->mla_head_dim_k ? hx->mla_head_dim_k : hp->head_dim;
        d->mla_v = hx->mla_head_dim_v ? hx->mla_head_dim_v : d->head_dim_v;
        if (d->kv_lora < 1 || d->kv_lora > MAX_DIM) return bad_hp(b, "kv_lora_rank", d->kv_lora, "1..2^24");
        if (d->q_lora < 0 || d->q_lora > MAX_DIM) return bad_hp(b, "q_lora_rank", d->q_lora, "0..2^24");
        if (d->n_rot < 2 || d->n_rot >= mla_k) return bad_hp(b, "rope.dimension_count", d->n_rot, "2..key_length_mla-1");
        if (d->mla_v < 1 || d->mla_v > MAX_DIM) return bad_hp(b, "value_length_mla", d->mla_v, "1..2^24");
        d->mla_nope = mla_k - d->n_rot;
        d->n_head_kv = 1;
        d->head_dim_k = d->kv_lora + d->n_rot;
        d->head_dim_v = d->kv_lora;
        d->q_dim = d->n_head * mla_k;
        d->kv_dim_k = d->head_dim_k;
        d->kv_dim_v = 0;
        d->attn_scale = 1.0f / sqrtf((float)mla_k);
    } else {
        d->q_dim = d->n_head * d->head_dim_k;
        d->kv_dim_k = d->n_head_kv * d->head_dim_k;
        d->kv_dim_v = d->n_head_kv * d->head_dim_v;
        d->attn_scale = 1.0f / sqrtf((float)d->head_dim_k);
    }
    if (d->rope_style != OWL_ROPE_NONE && (d->n_rot < 2 || d->n_rot % 2 || d->n_rot > d->head_dim_k))
        return bad_hp(b, "rope.dimension_count", d->n_rot, "an even number from 2 to the head size");
    if (d->q_dim > MAX_DIM || d->kv_dim_k > MAX_DIM || d->n_head * d->head_dim_v > MAX_DIM)
        return bad_hp(b, "n_head * head_dim", d->q_dim, "up to 2^24");
    d->n_swa = 0;
    if (b->a->swa_pattern >= 0 && hp->sliding_window > 0) d->n_swa = hp->sliding_window;
    return OWL_OK;
}

/* ---- per-layer rope ------------------------------------------------------ */

static owl_status rope_factors(binder *b, const char *name, const float **out) {
    const owl_tensor *t = owl_model_find_tensor(b->m, name);
    *out = NULL;
    if (!t) return OWL_OK;
    int64_t ne[1] = {b->d->n_rot / 2};
    if (!shape_is(t, ne, 1)) return wrong_shape(b, t, ne, 1, "one frequency factor per rotated pair");
    return float_vector(b, t, ne[0], out);
}

/* llama3 scaling from config.json (GGUF files carry rope_freqs instead):
   convert_hf_to_gguf.py's factors, one per rotated pair. */
static owl_status llama3_factors(binder *b, const float **out) {
    const owl_hparams *hp = &b->m->info.hp;
    const owl_hparams_ext *hx = &b->m->hx;
    int64_t n = b->d->n_rot / 2;
    float *f = own(b, (size_t)n * sizeof(float));
    if (!f) return owl_fail(b->err, OWL_ERR_NOMEM, "out of memory");
    double factor = hp->rope_scale > 0 ? hp->rope_scale : 8, lo = hx->llama3_low_freq ? hx->llama3_low_freq : 1;
    double hi = hx->llama3_high_freq ? hx->llama3_high_freq : 4;
    double old = hx->rope_orig_ctx ? (double)hx->rope_orig_ctx : 8192;
    double lo_wl = old / lo, hi_wl = old / hi;
    for (int64_t i = 0; i < n; i++) {
        double freq = pow(hp->rope_theta, -2.0 * (double)i / (double)b->d->n_rot), wl = 2 * 3.14159265358979323846 / freq;
        if (wl < hi_wl) f[i] = 1;
        else if (wl > lo_wl) f[i] = (float)factor;
        else {
            double smooth = (old / wl - lo) / (hi - lo);
            f[i] = (float)(1 / ((1 - smooth) / factor + smooth));
        }
    }
    *out = f;
    return OWL_OK;
}

static owl_status bind_rope(binder *b, int64_t n_ctx_per_seq) {
    const owl_hparams *hp = &b->m->info.hp;
    const owl_hparams_ext *hx = &b->m->hx;
    owl_dims *d = b->d;
    owl_status st;
    const float *freqs = NULL, *shorts = NULL, *longs = NULL;
    if ((st = rope_factors(b, "rope_freqs.weight", &freqs)) ||
        (st = rope_factors(b, "rope_factors_short.weight", &shorts)) ||
        (st = rope_factors(b, "rope_factors_long.weight", &longs)))
        return st;
    if (!(hp->rope_theta > 0)) return bad_hp(b, "rope.freq_base", (long long)hp->rope_theta, "a positive number");
    owl_rope_params base = {0};
    base.use = d->rope_style != OWL_ROPE_NONE;
    base.base = (float)hp->rope_theta;
    base.freq_scale = 1;
    base.attn_factor = (float)((hx->yarn_attn_factor ? hx->yarn_attn_factor : 1) *
                               (hx->rope_attn_factor ? hx->rope_attn_factor : 1));
    base.beta_fast = (float)(hx->yarn_beta_fast ? hx->yarn_beta_fast : 32);
    base.beta_slow = (float)(hx->yarn_beta_slow ? hx->yarn_beta_slow : 1);
    base.n_ctx_orig = hx->rope_orig_ctx ? hx->rope_orig_ctx : hp->n_ctx_train;
    double factor = hp->rope_scale > 0 ? hp->rope_scale : 1;
    switch (hx->rope_scaling) {
    case OWL_ROPE_SCALING_LINEAR: base.freq_scale = (float)(1 / factor); break;
    case OWL_ROPE_SCALING_YARN:
        base.freq_scale = (float)(1 / factor);
        base.ext_factor = hx->has_yarn_ext_factor ? (float)hx->yarn_ext_factor : 1.0f;
        break;
    case OWL_ROPE_SCALING_LLAMA3:
        if (!freqs && (st = llama3_factors(b, &freqs))) return st;
        break;
    default: break;
    }
    base.freq_factors = freqs;
    /* longrope: the long factors only when a sequence's context exceeds the original one */
    if (shorts || longs) base.freq_factors = (longs && n_ctx_per_seq > base.n_ctx_orig) || !shorts ? longs : shorts;
    for (int64_t l = 0; l < d->n_layer; l++) {
        owl_rope_params *r = &b->w->layers[l].rope;
        *r = base;
        if ((b->a->flags & OWL_ARCH_NOPE_EVERY_4) && (l + 1) % 4 == 0) r->use = 0;
        if (b->a->flags & OWL_ARCH_CHUNKED_ATTN) { /* llama.cpp's fixed values for Llama 4 */
            b->w->layers[l].chunk = r->use ? OWL_LLAMA4_ATTN_CHUNK : 0;
            b->w->layers[l].temp_tune = !r->use;
        }
        if ((b->a->flags & OWL_ARCH_SWA_OWN_ROPE) && b->w->layers[l].is_swa) {
            if (hx->rope_base_swa > 0) r->base = (float)hx->rope_base_swa;
            r->freq_scale = 1;
        }
    }
    return OWL_OK;
}

/* ---- layers -------------------------------------------------------------- */

static owl_status bind_attention(binder *b, owl_layer *L, int64_t l) {
    const owl_dims *d = b->d;
    owl_status st;
    int64_t n_embd = d->n_embd;
    if (b->a->flags & OWL_ARCH_MLA) {
        int64_t qk = d->mla_nope + d->n_rot;
        if (d->q_lora) {
            if ((st = bind_linear(b, &L->q_a, l, "attn_q_a", n_embd, d->q_lora, REQUIRED, "MLA query down-projection")) ||
                (st = bind_norm(b, &L->q_a_norm, l, "attn_q_a_norm", d->q_lora, 0, REQUIRED, "MLA query norm")) ||
                (st = bind_linear(b, &L->q_b, l, "attn_q_b", d->q_lora, d->n_head * qk, REQUIRED, "MLA query up-projection")))
                return st;
        } else if ((st = bind_linear(b, &L->q, l, "attn_q", n_embd, d->n_head * qk, REQUIRED, "MLA query"))) {
            return st;
        }
        if ((st = bind_linear(b, &L->kv_a, l, "attn_kv_a_mqa", n_embd, d->kv_lora + d->n_rot, REQUIRED,
                              "compressed KV and the shared rope key")) ||
            (st = bind_norm(b, &L->kv_a_norm, l, "attn_kv_a_norm", d->kv_lora, 0, REQUIRED, "compressed KV norm")) ||
            (st = bind_linear_n(b, &L->k_b, l, "attn_k_b", d->mla_nope, d->kv_lora, d->n_head, REQUIRED,
                                "per-head key up-projection; GGUFs with only attn_kv_b must be reconverted")) ||
            (st = bind_linear_n(b, &L->v_b, l, "attn_v_b", d->kv_lora, d->mla_v, d->n_head, REQUIRED,
                                "per-head value up-projection")) ||
            (st = bind_linear(b, &L->o, l, "attn_output", d->n_head * d->mla_v, n_embd, REQUIRED, "attention output")))
            return st;
        return OWL_OK;
    }
    char name[160];
    if (owl_model_find_tensor(b->m, tensor_name(name, sizeof name, l, "attn_qkv", "weight"))) {
        if ((st = bind_linear(b, &L->qkv, l, "attn_qkv", n_embd, d->q_dim + d->kv_dim_k + d->kv_dim_v, REQUIRED,
                              "fused [Q | K | V]")))
            return st;
    } else if ((st = bind_linear(b, &L->q, l, "attn_q", n_embd, d->q_dim, REQUIRED, "query projection")) ||
               (st = bind_linear(b, &L->k, l, "attn_k", n_embd, d->kv_dim_k, REQUIRED, "key projection")) ||
               (st = bind_linear(b, &L->v, l, "attn_v", n_embd, d->kv_dim_v, REQUIRED, "value projection"))) {
        return st;
    }
    if ((st = bind_linear(b, &L->o, l, "attn_output", d->n_head * d->head_dim_v, n_embd, REQUIRED, "attention output")))
        return st;
    if (b->a->qk_norm == OWL_QK_NORM_HEAD) {
        if ((st = bind_norm(b, &L->q_norm, l, "attn_q_norm", d->head_dim_k, d->n_head, OPTIONAL, "per-head q norm")) ||
            (st = bind_norm(b, &L->k_norm, l, "attn_k_norm", d->head_dim_k, d->n_head_kv, OPTIONAL, "per-head k norm")))
            return st;
    } else if (b->a->qk_norm == OWL_QK_NORM_FULL) {
        if ((st = bind_norm(b, &L->q_norm, l, "attn_q_norm", d->q_dim, 0, REQUIRED, "norm over the whole q")) ||
            (st = bind_norm(b, &L->k_norm, l, "attn_k_norm", d->kv_dim_k, 0, REQUIRED, "norm over the whole k")))
            return st;
    }
    return OWL_OK;
}

static int layer_is_moe(const binder *b, int64_t l) {
    const owl_hparams_ext *hx = &b->m->hx;
    if (!b->d->n_expert) return 0;
    if (b->a->moe == OWL_MOE_DEEPSEEK) return l >= hx->n_dense_lead;
    if (b->a->moe == OWL_MOE_LLAMA4) return hx->moe_every > 0 && (l + 1) % hx->moe_every == 0;
    return 1;
}

static owl_status bind_ffn(binder *b, owl_layer *L, int64_t l) {
    const owl_dims *d = b->d;
    owl_status st;
    int64_t n_embd = d->n_embd;
    char name[160];
    L->is_moe = layer_is_moe(b, l);
    if (L->is_moe) {
        int64_t E = d->n_expert, ff = d->n_ff_exp;
        if (ff < 1) return bad_hp(b, "expert_feed_forward_length", ff, "at least 1");
        if ((st = bind_linear(b, &L->router, l, "ffn_gate_inp", n_embd, E, REQUIRED, "expert router")) ||
            (st = bind_linear_n(b, &L->gate_exps, l, "ffn_gate_exps", n_embd, ff, E, REQUIRED,
                                "stacked expert gates (per-expert tensors are not supported)")) ||
            (st = bind_linear_n(b, &L->up_exps, l, "ffn_up_exps", n_embd, ff, E, REQUIRED, "stacked expert ups")) ||
            (st = bind_linear_n(b, &L->down_exps, l, "ffn_down_exps", ff, n_embd, E, REQUIRED, "stacked expert downs")))
            return st;
        const owl_tensor *pb = owl_model_find_tensor(b->m, tensor_name(name, sizeof name, l, "exp_probs_b", "bias"));
        if (pb) {
            int64_t ne[1] = {E};
            if (!shape_is(pb, ne, 1)) return wrong_shape(b, pb, ne, 1, "expert selection bias");
            if ((st = float_vector(b, pb, E, &L->exp_probs_b))) return st;
        }
        const owl_tensor *sh = owl_model_find_tensor(b->m, tensor_name(name, sizeof name, l, "ffn_gate_shexp", "weight"));
        if (sh) {
            int64_t sff = sh->n_dims >= 2 ? (int64_t)sh->ne[1] : 0;
            if (sff < 1 || sff > MAX_DIM) return bad_hp(b, "shared expert width", sff, "1..2^24");
            if ((st = bind_linear(b, &L->gate_shexp, l, "ffn_gate_shexp", n_embd, sff, REQUIRED, "shared expert")) ||
                (st = bind_linear(b, &L->up_shexp, l, "ffn_up_shexp", n_embd, sff, REQUIRED, "shared expert")) ||
                (st = bind_linear(b, &L->down_shexp, l, "ffn_down_shexp", sff, n_embd, REQUIRED, "shared expert")))
                return st;
        }
        return OWL_OK;
    }
    int64_t ff = d->n_ff;
    if (ff < 1) return bad_hp(b, "feed_forward_length", ff, "at least 1");
    if (b->a->ffn == OWL_FFN_GELU) {
        if ((st = bind_linear(b, &L->up, l, "ffn_up", n_embd, ff, REQUIRED, "MLP up")) ||
            (st = bind_linear(b, &L->down, l, "ffn_down", ff, n_embd, REQUIRED, "MLP down")))
            return st;
        return OWL_OK;
    }
    if (b->a->flags & OWL_ARCH_FUSED_GATE_UP) {
        if ((st = bind_linear(b, &L->up, l, "ffn_up", n_embd, 2 * ff, REQUIRED, "fused [gate | up]"))) return st;
    } else if ((st = bind_linear(b, &L->gate, l, "ffn_gate", n_embd, ff, REQUIRED, "gated MLP gate")) ||
               (st = bind_linear(b, &L->up, l, "ffn_up", n_embd, ff, REQUIRED, "gated MLP up"))) {
        return st;
    }
    return bind_linear(b, &L->down, l, "ffn_down", ff, n_embd, REQUIRED, "MLP down");
}

static owl_status bind_layer(binder *b, int64_t l) {
    owl_layer *L = &b->w->layers[l];
    const owl_arch *a = b->a;
    const owl_dims *d = b->d;
    const owl_hparams_ext *hx = &b->m->hx;
    owl_status st;
    int pre = !(a->flags & OWL_ARCH_NO_PRE_NORMS);
    int ffn_norm = pre && a->residual != OWL_RESID_PARALLEL_SHARED;
    if (a->residual == OWL_RESID_PARALLEL && hx->parallel_residual == 2) ffn_norm = pre;
    if ((st = bind_norm(b, &L->attn_norm, l, "attn_norm", d->n_embd, 0, pre ? REQUIRED : OPTIONAL, "attention norm")) ||
        (st = bind_norm(b, &L->ffn_norm, l, "ffn_norm", d->n_embd, 0, ffn_norm ? REQUIRED : OPTIONAL, "FFN norm")))
        return st;
    if (a->flags & OWL_ARCH_POST_NORMS) {
        if ((st = bind_norm(b, &L->post_attn_norm, l, "post_attention_norm", d->n_embd, 0, REQUIRED,
                            "norm of the attention output")) ||
            (st = bind_norm(b, &L->post_ffn_norm, l, "post_ffw_norm", d->n_embd, 0, REQUIRED, "norm of the FFN output")))
            return st;
    }
    if (d->n_swa > 0) {
        int64_t p = hx->has_swa_pattern ? hx->swa_pattern : a->swa_pattern;
        L->is_swa = p == 0 || l % p < p - 1;
    }
    if ((st = bind_attention(b, L, l))) return st;
    return bind_ffn(b, L, l);
}

owl_status owl_weights_bind(const owl_model *m, const owl_arch *a, int64_t n_ctx_per_seq, owl_dims *d, owl_weights *w,
                            owl_error *err) {
    memset(w, 0, sizeof *w);
    binder b = {m, a, d, w, err, m->info.n_files ? m->info.files[0].path : "model"};
    owl_status st;
    if ((st = check_dims(&b))) return st;
    const owl_tensor *emb = owl_model_find_tensor(m, "token_embd.weight");
    if (!emb) return missing(&b, "token_embd.weight", "token embeddings");
    if (emb->n_dims != 2 || emb->ne[1] < 1 || emb->ne[1] > (uint64_t)MAX_DIM)
        return wrong_shape(&b, emb, (int64_t[]){d->n_embd, m->info.hp.n_vocab}, 2, "one row per token");
    d->n_vocab = (int64_t)emb->ne[1];
    if ((st = bind_linear(&b, &w->tok_embd, -1, "token_embd", d->n_embd, d->n_vocab, REQUIRED, "token embeddings")))
        goto fail;
    if (!w->tok_embd.q80_scales && !w->tok_embd.k->to_float) {
        st = owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: token_embd.weight: no %s row conversion", b.path,
                      owl_dtype_name(emb->dtype));
        goto fail;
    }
    if ((st = bind_linear(&b, &w->output, -1, "output", d->n_embd, d->n_vocab, OPTIONAL, "output matrix")))
        goto fail;
    if (!w->output.name) w->output = w->tok_embd; /* tied */
    if ((st = bind_norm(&b, &w->output_norm, -1, "output_norm", d->n_embd, 0, REQUIRED, "final norm")) ||
        ((a->flags & OWL_ARCH_EMBD_NORM) &&
         (st = bind_norm(&b, &w->embd_norm, -1, "token_embd_norm", d->n_embd, 0, REQUIRED, "embedding norm"))))
        goto fail;
    w->layers = calloc((size_t)d->n_layer, sizeof *w->layers);
    if (!w->layers) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int64_t l = 0; l < d->n_layer; l++)
        if ((st = bind_layer(&b, l))) goto fail;
    if ((st = bind_rope(&b, n_ctx_per_seq))) goto fail;
    return OWL_OK;
fail:
    owl_weights_free(w);
    return st;
}

void owl_weights_free(owl_weights *w) {
    for (size_t i = 0; i < w->n_owned; i++) free(w->owned[i]);
    free(w->owned);
    free(w->layers);
    memset(w, 0, sizeof *w);
}
