/* lora.c: LoRA adapters against a base model. Resolving turns an adapter
 * (PEFT, MLX or GGUF LoRA file, or an in-memory description) into F32
 * factors per base weight: every name and shape checked against the base,
 * q/k rows permuted between Hugging Face's rotate-half order and GGUF's
 * interleaved one when the two sides differ, and the scale folded into B.
 * The engine hangs the factors off its linear maps and linear_forward adds
 * B (A x) after W x; merging (merge.c) adds B A to W instead. */
#define _POSIX_C_SOURCE 200809L
#include "model/lora.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/json_fields.h"
#include "kernels/kernels.h"
#include "model/engine.h"

#define MAX_RANK (1 << 16)
#define MAX_LORAS 64

/* ---- row order ------------------------------------------------------------ */

int owl_lora_family_permutes(const char *family) {
    /* convert_hf_to_gguf.py calls LlamaModel.permute for these (Llama 4 and
       Mistral-format checkpoints set undo_permute = False; Command R and
       DeepSeek 2 are interleaved in Hugging Face's code already) */
    static const char *const permuted[] = {"llama", "deci", "baichuan", "olmo", "deepseek", "granite", "granitemoe"};
    for (size_t i = 0; family && i < sizeof permuted / sizeof permuted[0]; i++)
        if (!strcmp(family, permuted[i])) return 1;
    return 0;
}

int owl_lora_base_interleaved(const owl_model *base) {
    return base->info.hp.rope_style == OWL_ROPE_INTERLEAVED && owl_lora_family_permutes(base->info.family);
}

/* permute(W, n_head) = W.reshape(n_head, 2, hd/2, cols).swapaxes(1, 2): the
   row (h, half j, i) of rotate-half order lands at row (h, i, j). */
void owl_lora_permute_rows(const float *src, float *dst, int64_t n_head, int64_t head_dim, int64_t cols,
                           int to_interleaved) {
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++) {
                int64_t hf = h * head_dim + j * half + i, gg = h * head_dim + 2 * i + j;
                int64_t from = to_interleaved ? hf : gg, to = to_interleaved ? gg : hf;
                memcpy(dst + to * cols, src + from * cols, (size_t)cols * sizeof(float));
            }
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- resolving ------------------------------------------------------------ */

/* What one adapter is, whatever it came from. */
typedef struct lora_src {
    const char *where;       /* for messages */
    int interleaved;         /* its q/k rows are in GGUF order */
    double alpha;
    int rslora;
    int alpha_zero_is_one;   /* llama.cpp: a GGUF LoRA without alpha is applied unscaled */
    float scale;
} lora_src;

static owl_status nomem(owl_error *err) { return owl_fail(err, OWL_ERR_NOMEM, "out of memory for LoRA factors"); }

/* The base weight a pair targets must be a 2-D [n_in, n_out] matrix. */
static owl_status check_target(const owl_model *base, const lora_src *s, const char *target, int64_t n_in,
                               int64_t n_out, owl_error *err) {
    const owl_tensor *t = owl_model_find_tensor(base, target);
    const char *bp = base->info.n_files ? base->info.files[0].path : "base model";
    if (!t) {
        if (!strcmp(target, "output.weight") && base->info.hp.tied_embeddings)
            return owl_fail(err, OWL_ERR_UNSUPPORTED,
                            "%s: LoRA on output.weight: the base %s ties its output to token_embd.weight, which owl "
                            "does not adapt", s->where, bp);
        return owl_fail(err, OWL_ERR_INPUT, "%s: the adapter targets %s, which the base %s does not have", s->where,
                        target, bp);
    }
    if (t->n_dims != 2 || t->ne[0] != (uint64_t)n_in || t->ne[1] != (uint64_t)n_out)
        return owl_fail(err, OWL_ERR_INPUT,
                        "%s: LoRA factors for %s fit a weight of ne [%lld, %lld] (n_in, n_out), but the base's %s has "
                        "%d dimensions, ne [%llu, %llu]: the adapter was made for another model",
                        s->where, target, (long long)n_in, (long long)n_out, target, t->n_dims,
                        (unsigned long long)t->ne[0], (unsigned long long)(t->n_dims > 1 ? t->ne[1] : 1));
    return OWL_OK;
}

/* blk.N.attn_q.weight and blk.N.attn_k.weight: the rows RoPE rotates. */
static int64_t rope_heads(const owl_model *base, const char *target) {
    if (strncmp(target, "blk.", 4)) return 0;
    const owl_hparams *hp = &base->info.hp;
    if (ends_with(target, ".attn_q.weight")) return hp->n_head;
    if (ends_with(target, ".attn_k.weight")) return hp->n_head_kv ? hp->n_head_kv : hp->n_head;
    return 0;
}

/* Takes ownership of a and b (malloc'd, F32, PEFT's layout: a rank x n_in,
   b n_out x rank in the source's row order) and makes them factors of base. */
static owl_status make_factors(const owl_model *base, const lora_src *s, const char *target, int64_t rank,
                               int64_t n_in, int64_t n_out, float *a, float *b, owl_lora_factors *f, owl_error *err) {
    memset(f, 0, sizeof *f);
    f->a = a;
    f->b = b;
    owl_status st = check_target(base, s, target, n_in, n_out, err);
    if (st) return st;
    if (!(f->target = strdup(target))) return nomem(err);
    f->rank = rank;
    f->n_in = n_in;
    f->n_out = n_out;
    int64_t heads = rope_heads(base, target), hd = base->info.hp.head_dim;
    if (heads && s->interleaved != owl_lora_base_interleaved(base)) {
        if (hd < 2 || hd % 2 || heads * hd != n_out)
            return owl_fail(err, OWL_ERR_INPUT,
                            "%s: %s has %lld rows, not %lld heads of an even head size %lld: its q/k rows cannot be "
                            "put in the base's RoPE order", s->where, target, (long long)n_out, (long long)heads,
                            (long long)hd);
        float *p = malloc((size_t)(n_out * rank) * sizeof(float));
        if (!p) return nomem(err);
        owl_lora_permute_rows(b, p, heads, hd, rank, owl_lora_base_interleaved(base));
        free(b);
        f->b = b = p;
    }
    double k = s->alpha == 0 && s->alpha_zero_is_one ? 1.0 : s->alpha / (s->rslora ? sqrt((double)rank) : (double)rank);
    float total = (float)(k * (double)s->scale);
    for (int64_t i = 0; i < n_out * rank; i++) b[i] *= total;
    return OWL_OK;
}

void owl_lora_set_free(owl_lora_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->f[i].target);
        free(s->f[i].a);
        free(s->f[i].b);
    }
    free(s->f);
    memset(s, 0, sizeof *s);
}

/* A tensor of any type owl can read as floats, copied out. */
static owl_status tensor_floats(const owl_tensor *t, const char *where, float **out, owl_error *err) {
    *out = NULL;
    const owl_kernel_traits *k = owl_kernels_get(t->dtype);
    uint64_t n = t->n_elements;
    if (!k || !k->to_float || n % (uint64_t)k->block_size || owl_row_bytes(t->dtype, (int64_t)n) != t->n_bytes)
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: LoRA tensor %s: %s factors are not supported (F32, F16, BF16, Q8_0 are)",
                        where, t->name, owl_dtype_name(t->dtype) ? owl_dtype_name(t->dtype) : "unknown-type");
    float *dst = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!dst) return nomem(err);
    if ((uintptr_t)t->data % 4 == 0) {
        k->to_float(t->data, dst, (int64_t)n);
    } else { /* misaligned in the file: through an aligned copy */
        void *tmp = malloc((size_t)t->n_bytes);
        if (!tmp) {
            free(dst);
            return nomem(err);
        }
        memcpy(tmp, t->data, (size_t)t->n_bytes);
        k->to_float(tmp, dst, (int64_t)n);
        free(tmp);
    }
    *out = dst;
    return OWL_OK;
}

/* r x c floats to c x r. */
static float *transposed(float *m, int64_t r, int64_t c) {
    float *t = malloc((size_t)(r * c > 0 ? r * c : 1) * sizeof(float));
    if (t)
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < c; j++) t[j * r + i] = m[i * c + j];
    free(m);
    return t;
}

static owl_status check_unique(const owl_lora_set *s, const char *where, owl_error *err) {
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = i + 1; j < s->n; j++)
            if (!strcmp(s->f[i].target, s->f[j].target))
                return owl_fail(err, OWL_ERR_INPUT, "%s: two LoRA pairs target %s", where, s->f[i].target);
    return OWL_OK;
}

/* One pair of tensors TARGET.lora_a / TARGET.lora_b of an adapter file. */
static owl_status resolve_pair(const owl_model *base, const owl_model *ad, const lora_src *s, int mlx,
                               const owl_tensor *ta, owl_lora_factors *f, owl_error *err) {
    char target[1200], name[1300], shown[160];
    size_t n = strlen(ta->name) - strlen(".lora_a");
    const char *where = ad->info.files[ta->file].path;
    if (n >= sizeof target) return owl_fail(err, OWL_ERR_INPUT, "%s: LoRA tensor name too long", where);
    memcpy(target, ta->name, n);
    target[n] = '\0';
    snprintf(name, sizeof name, "%s.lora_b", target);
    const owl_tensor *tb = owl_model_find_tensor(ad, name);
    if (!tb) return owl_fail(err, OWL_ERR_INPUT, "%s: %s has no partner %s", where, ta->name, name);
    if (ta->n_dims != 2 || tb->n_dims != 2)
        return owl_fail(err, OWL_ERR_INPUT, "%s: LoRA factors of %s must be matrices (found %d and %d dimensions)",
                        where, owl_printable(target, shown, sizeof shown), ta->n_dims, tb->n_dims);
    /* PEFT and GGUF: A ne [n_in, r], B ne [r, n_out]; MLX: A ne [r, n_in], B ne [n_out, r] */
    int64_t r = (int64_t)(mlx ? ta->ne[0] : ta->ne[1]), n_in = (int64_t)(mlx ? ta->ne[1] : ta->ne[0]);
    int64_t rb = (int64_t)(mlx ? tb->ne[1] : tb->ne[0]), n_out = (int64_t)(mlx ? tb->ne[0] : tb->ne[1]);
    if (r < 1 || r > MAX_RANK || rb != r)
        return owl_fail(err, OWL_ERR_INPUT, "%s: LoRA factors of %s disagree on the rank (%lld in lora_a, %lld in lora_b; "
                        "at most %d)", where, target, (long long)r, (long long)rb, MAX_RANK);
    float *a = NULL, *b = NULL;
    owl_status st = tensor_floats(ta, where, &a, err);
    if (!st) st = tensor_floats(tb, where, &b, err);
    if (!st && mlx) { /* to PEFT's layout */
        if (!(a = transposed(a, n_in, r)) || !(b = transposed(b, r, n_out))) st = nomem(err);
    }
    if (st) {
        free(a);
        free(b);
        memset(f, 0, sizeof *f);
        return st;
    }
    return make_factors(base, s, target, r, n_in, n_out, a, b, f, err);
}

owl_status owl_lora_resolve_model(const owl_model *base, const owl_model *ad, float scale, owl_lora_set *out,
                                  owl_error *err) {
    memset(out, 0, sizeof *out);
    const owl_model_info *in = &ad->info;
    const char *where = in->n_files ? in->files[0].path : "adapter";
    const owl_adapter_info *info = in->adapter;
    if (!info || !info->kind || strcmp(info->kind, "lora"))
        return owl_fail(err, OWL_ERR_USAGE, "%s is not a LoRA adapter (owl inspect shows what it holds)", where);
    if (info->use_dora)
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: DoRA adapters (use_dora) are not supported yet; merge it with PEFT first",
                        where);
    if (in->format == OWL_FORMAT_PEFT_ADAPTER && json_object_size(json_object_get(ad->metadata, "alpha_pattern")))
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: per-module alphas (alpha_pattern) are not supported yet", where);
    int gguf = in->format == OWL_FORMAT_GGUF, mlx = in->format == OWL_FORMAT_MLX_ADAPTER;
    if (gguf && in->family && base->info.family && strcmp(in->family, "unknown") && strcmp(base->info.family, "unknown") &&
        strcmp(in->family, base->info.family))
        return owl_fail(err, OWL_ERR_INPUT, "%s: a LoRA for the %s architecture cannot adapt a %s model", where,
                        in->family, base->info.family);
    lora_src s = {where, 0, info->alpha, info->use_rslora, gguf, scale};
    /* a GGUF LoRA was converted along with its base: GGUF row order */
    s.interleaved = gguf && owl_lora_family_permutes(in->family ? in->family : base->info.family);
    size_t n_pairs = 0;
    char shown[160];
    for (size_t i = 0; i < in->n_tensors; i++) {
        const char *name = in->tensors[i].name;
        if (ends_with(name, ".lora_a")) n_pairs++;
        else if (ends_with(name, ".lora_magnitude"))
            return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: %s is a DoRA magnitude; DoRA is not supported yet", where,
                            owl_printable(name, shown, sizeof shown));
        else if (!ends_with(name, ".lora_b"))
            return owl_fail(err, OWL_ERR_UNSUPPORTED,
                            "%s: tensor %s is not a LoRA factor of a weight owl knows (full weights saved with the "
                            "adapter, modules_to_save, are not supported)", where, owl_printable(name, shown, sizeof shown));
    }
    if (!n_pairs) return owl_fail(err, OWL_ERR_INPUT, "%s holds no LoRA factors", where);
    if (!(out->f = calloc(n_pairs, sizeof *out->f))) return nomem(err);
    owl_status st = OWL_OK;
    for (size_t i = 0; i < in->n_tensors && !st; i++)
        if (ends_with(in->tensors[i].name, ".lora_a")) st = resolve_pair(base, ad, &s, mlx, &in->tensors[i], &out->f[out->n++], err);
    /* every lora_b has its lora_a */
    for (size_t i = 0; i < in->n_tensors && !st; i++) {
        const char *name = in->tensors[i].name;
        if (!ends_with(name, ".lora_b")) continue;
        char partner[1300];
        snprintf(partner, sizeof partner, "%.*s.lora_a", (int)(strlen(name) - 7), name);
        if (!owl_model_find_tensor(ad, partner))
            st = owl_fail(err, OWL_ERR_INPUT, "%s: %s has no partner %s", where, owl_printable(name, shown, sizeof shown),
                          owl_printable(partner, shown, sizeof shown));
    }
    if (!st) st = check_unique(out, where, err);
    if (st) owl_lora_set_free(out);
    return st;
}

owl_status owl_lora_resolve_desc(const owl_model *base, const owl_lora_desc *d, float scale, owl_lora_set *out,
                                 owl_error *err) {
    memset(out, 0, sizeof *out);
    if (!d || (d->n && !d->t)) return owl_fail(err, OWL_ERR_USAGE, "LoRA description: no tensors given");
    if (!d->n) return owl_fail(err, OWL_ERR_INPUT, "LoRA description holds no tensors");
    if (!isfinite(d->alpha)) return owl_fail(err, OWL_ERR_USAGE, "LoRA description: alpha is not a number");
    lora_src s = {"LoRA description", d->base_rows_interleaved != 0, d->alpha, d->use_rslora, 0, scale};
    if (!(out->f = calloc(d->n, sizeof *out->f))) return nomem(err);
    owl_status st = OWL_OK;
    for (size_t i = 0; i < d->n && !st; i++) {
        const owl_lora_tensor *t = &d->t[i];
        if (!t->target || !t->a || !t->b || t->rank < 1 || t->rank > MAX_RANK || t->n_in < 1 || t->n_out < 1 ||
            t->n_in > (1ll << 24) || t->n_out > (1ll << 24)) {
            st = owl_fail(err, OWL_ERR_USAGE, "LoRA description: tensor %zu (%s) needs a target, both factors, a rank "
                          "1..%d and sizes 1..2^24", i, t->target ? t->target : "no target", MAX_RANK);
            break;
        }
        size_t na = (size_t)(t->rank * t->n_in), nb = (size_t)(t->n_out * t->rank);
        float *a = malloc(na * sizeof(float)), *b = malloc(nb * sizeof(float));
        if (!a || !b) {
            free(a);
            free(b);
            st = nomem(err);
            break;
        }
        memcpy(a, t->a, na * sizeof(float));
        memcpy(b, t->b, nb * sizeof(float));
        st = make_factors(base, &s, t->target, t->rank, t->n_in, t->n_out, a, b, &out->f[out->n++], err);
    }
    if (!st) st = check_unique(out, s.where, err);
    if (st) owl_lora_set_free(out);
    return st;
}

/* ---- the engine ----------------------------------------------------------- */

/* The engine's plain (one-matrix) linear map that runs a base weight, or NULL:
   embeddings, stacked experts and MLA's per-head matrices take no adapter. */
static owl_linear *engine_linear(owl_engine *e, const char *target) {
    static const size_t maps[] = {
        offsetof(owl_layer, q),     offsetof(owl_layer, k),          offsetof(owl_layer, v),
        offsetof(owl_layer, qkv),   offsetof(owl_layer, o),          offsetof(owl_layer, q_a),
        offsetof(owl_layer, q_b),   offsetof(owl_layer, kv_a),       offsetof(owl_layer, gate),
        offsetof(owl_layer, up),    offsetof(owl_layer, down),       offsetof(owl_layer, router),
        offsetof(owl_layer, gate_shexp), offsetof(owl_layer, up_shexp), offsetof(owl_layer, down_shexp),
    };
    owl_linear *L = NULL;
    if (!strcmp(target, "output.weight")) L = &e->w.output;
    for (int64_t l = 0; !L && l < e->d.n_layer; l++)
        for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
            owl_linear *c = (owl_linear *)((char *)&e->w.layers[l] + maps[i]);
            if (c->name && !strcmp(c->name, target)) {
                L = c;
                break;
            }
        }
    return L && L->name && !strcmp(L->name, target) && L->n_mat == 1 ? L : NULL;
}

/* Hangs a resolved set off the engine's linear maps; all or nothing. */
static owl_status attach(owl_engine *e, owl_lora_set *s, owl_error *err) {
    if (e->n_loras >= MAX_LORAS) return owl_fail(err, OWL_ERR_USAGE, "at most %d LoRA adapters per engine", MAX_LORAS);
    owl_linear **at = calloc(s->n ? s->n : 1, sizeof *at);
    if (!at) return nomem(err);
    int64_t rank = e->lora_rank_cap;
    for (size_t i = 0; i < s->n; i++) {
        const owl_lora_factors *f = &s->f[i];
        if (!(at[i] = engine_linear(e, f->target)) || at[i]->n_in != f->n_in || at[i]->n_out != f->n_out) {
            free(at);
            return owl_fail(err, OWL_ERR_UNSUPPORTED,
                            "LoRA on %s: the engine does not run it as a plain linear map (adapters work on "
                            "projection matrices, not embeddings or stacked experts)", f->target);
        }
        if (f->rank > rank) rank = f->rank;
    }
    owl_lora_set *sets = realloc(e->loras, (size_t)(e->n_loras + 1) * sizeof *sets);
    if (sets) e->loras = sets;
    if (rank > e->lora_rank_cap) {
        float *u = sets ? malloc((size_t)(e->p.n_batch * rank) * sizeof(float)) : NULL;
        if (!u) {
            free(at);
            return nomem(err);
        }
        free(e->lora_u);
        e->lora_u = u;
        e->lora_rank_cap = rank;
    }
    if (!sets) {
        free(at);
        return nomem(err);
    }
    for (size_t i = 0; i < s->n; i++) {
        owl_lora_factors *f = &s->f[i], **tail = &at[i]->lora;
        f->adapter = e->n_loras;
        while (*tail) tail = &(*tail)->next;
        *tail = f;
    }
    free(at);
    e->loras[e->n_loras++] = *s;
    memset(s, 0, sizeof *s); /* the engine owns it now */
    return OWL_OK;
}

owl_status owl_engine_add_lora(owl_engine *e, const owl_model *adapter, float scale, owl_error *err) {
    if (!e || !adapter) return owl_fail(err, OWL_ERR_USAGE, "owl_engine_add_lora: engine and adapter must not be NULL");
    if (!isfinite(scale)) return owl_fail(err, OWL_ERR_USAGE, "LoRA scale must be a finite number");
    owl_lora_set s;
    owl_status st = owl_lora_resolve_model(e->model, adapter, scale, &s, err);
    if (!st) st = attach(e, &s, err);
    owl_lora_set_free(&s);
    return st;
}

owl_status owl_engine_add_lora_desc(owl_engine *e, const owl_lora_desc *d, float scale, owl_error *err) {
    if (!e || !d) return owl_fail(err, OWL_ERR_USAGE, "owl_engine_add_lora_desc: engine and description must not be NULL");
    if (!isfinite(scale)) return owl_fail(err, OWL_ERR_USAGE, "LoRA scale must be a finite number");
    owl_lora_set s;
    owl_status st = owl_lora_resolve_desc(e->model, d, scale, &s, err);
    if (!st) st = attach(e, &s, err);
    owl_lora_set_free(&s);
    return st;
}

int owl_engine_n_loras(const owl_engine *e) { return e ? e->n_loras : 0; }

void owl_engine_free_loras(owl_engine *e) {
    for (int i = 0; i < e->n_loras; i++) owl_lora_set_free(&e->loras[i]);
    free(e->loras);
    free(e->lora_u);
    e->loras = NULL;
    e->lora_u = NULL;
    e->n_loras = 0;
}

/* ---- the forward pass ----------------------------------------------------- */

typedef struct lora_job {
    const owl_lora_factors *f;
    const float *x;   /* n_tok rows of n_in */
    float *u;         /* n_tok rows of rank: A x */
    float *y;         /* n_tok rows of n_out */
    int64_t n_tok;
    owl_vec_dot_fn dot;
} lora_job;

static void lora_down(void *ctx, int64_t j0, int64_t j1, int thread) {
    (void)thread;
    const lora_job *j = ctx;
    const owl_lora_factors *f = j->f;
    for (int64_t r = j0; r < j1; r++)
        for (int64_t t = 0; t < j->n_tok; t++) j->dot(f->n_in, &j->u[t * f->rank + r], f->a + r * f->n_in, j->x + t * f->n_in);
}

static void lora_up(void *ctx, int64_t o0, int64_t o1, int thread) {
    (void)thread;
    const lora_job *j = ctx;
    const owl_lora_factors *f = j->f;
    for (int64_t o = o0; o < o1; o++)
        for (int64_t t = 0; t < j->n_tok; t++) {
            float s;
            j->dot(f->rank, &s, f->b + o * f->rank, j->u + t * f->rank);
            j->y[t * f->n_out + o] += s;
        }
}

void owl_lora_forward(owl_engine *e, const owl_lora_factors *f, const float *x, int64_t n_tok, float *y) {
    lora_job j = {f, x, e->lora_u, y, n_tok, owl_kernels_get(OWL_F32)->vec_dot};
    owl_pool_for(e->pool, f->rank, 1, lora_down, &j);
    owl_pool_for(e->pool, f->n_out, 64, lora_up, &j);
}
