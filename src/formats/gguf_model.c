/* gguf_model.c: turns a parsed GGUF into owl's model description
 * (hyperparameters from "{arch}.*" keys, tensors, tokenizer.ggml.* vocabulary,
 * chat template, general.license*), and writes a loaded GGUF back out. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/family.h"

static char *view_dup(owl_model *m, owl_strview v) { return owl_model_strndup(m, v.p, v.len); }

#define SHORT_TEXT_CAP (64u << 10)   /* names, licences, tokenizer kinds */
#define TEMPLATE_CAP (4u << 20)      /* chat templates: the largest real ones are ~100 KB */

/* Copies a string value into the description; absent keys leave *out alone,
   over-long ones are refused rather than truncated. */
static owl_status get_text(owl_model *m, const owl_gguf *g, const char *key, size_t cap, const char **out, owl_error *err) {
    owl_strview v;
    if (!owl_gguf_get_str(g, key, &v)) return OWL_OK;
    if (v.len > cap)
        return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: %s is %zu bytes long (limit %zu)", m->files[0].path,
                        (unsigned long long)owl_gguf_find(g, key)->offset, key, v.len, cap);
    if (!(*out = view_dup(m, v))) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    return OWL_OK;
}

static const char *arch_key(char *buf, size_t cap, const char *arch, const char *suffix) {
    snprintf(buf, cap, "%s.%s", arch, suffix);
    return buf;
}

/* An "{arch}.X" integer that may also be a per-layer array (OpenELM, Gemma 3n):
   the largest entry stands for the model. */
static int64_t arch_int(const owl_gguf *g, const char *arch, const char *suffix, int64_t dflt) {
    char key[256];
    arch_key(key, sizeof key, arch, suffix);
    int64_t v;
    if (owl_gguf_get_int(g, key, &v)) return v;
    const owl_gguf_kv *kv = owl_gguf_find(g, key);
    if (kv && kv->value.type == GGUF_ARRAY && kv->value.arr.elem_type != GGUF_STRING &&
        kv->value.arr.elem_type != GGUF_ARRAY && kv->value.arr.n > 0) {
        int64_t best = owl_gguf_arr_int(&kv->value, 0);
        for (uint64_t i = 1; i < kv->value.arr.n; i++) {
            int64_t x = owl_gguf_arr_int(&kv->value, i);
            if (x > best) best = x;
        }
        return best;
    }
    return dflt;
}

static double arch_float(const owl_gguf *g, const char *arch, const char *suffix, double dflt) {
    char key[256];
    double v;
    return owl_gguf_get_float(g, arch_key(key, sizeof key, arch, suffix), &v) ? v : dflt;
}

/* Every "{arch}.*" key that should hold a count must be an integer (or array of
   integers) in 0..2^40; a wrong type or absurd value is reported, not defaulted. */
static owl_status check_counts(owl_model *m, const owl_gguf *g, const char *arch, owl_error *err) {
    static const char *const keys[] = {
        "context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
        "attention.head_count_kv", "attention.key_length", "attention.value_length", "expert_count",
        "expert_used_count", "rope.dimension_count", "attention.sliding_window", "attention.kv_lora_rank", "vocab_size",
        "expert_feed_forward_length", "expert_shared_count", "leading_dense_block_count", "expert_group_count",
        "expert_group_used_count", "interleave_moe_layer_step", "expert_gating_func", "attention.q_lora_rank",
        "attention.key_length_mla", "attention.value_length_mla", "attention.sliding_window_pattern",
        "rope.scaling.original_context_length",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char key[256];
        const owl_gguf_kv *kv = owl_gguf_find(g, arch_key(key, sizeof key, arch, keys[i]));
        if (!kv) continue;
        const owl_gguf_value *v = &kv->value;
        uint64_t n = 1;
        int is_arr = v->type == GGUF_ARRAY && v->arr.elem_type != GGUF_STRING && v->arr.elem_type != GGUF_ARRAY &&
                     v->arr.elem_type != GGUF_F32 && v->arr.elem_type != GGUF_F64 && v->arr.elem_type != GGUF_BOOL;
        if (is_arr) n = v->arr.n;
        else if (v->type == GGUF_STRING || v->type == GGUF_ARRAY || v->type == GGUF_F32 || v->type == GGUF_F64 ||
                 v->type == GGUF_BOOL)
            return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: metadata %s must be an integer (found %s)",
                            m->files[0].path, (unsigned long long)kv->offset, key, owl_gguf_type_name(v->type));
        for (uint64_t k = 0; k < n; k++) {
            int64_t x;
            int ok = is_arr ? (x = owl_gguf_arr_int(v, k), !(v->arr.elem_type == GGUF_U64 && x < 0)) : owl_gguf_get_int(g, key, &x);
            if (!ok || x < 0 || x > ((int64_t)1 << 40))
                return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: metadata %s = %s is out of range (expected 0..2^40)",
                                m->files[0].path, (unsigned long long)kv->offset, key,
                                ok ? "a negative or huge number" : "a number above 2^63");
        }
    }
    return OWL_OK;
}

/* A float key that must be finite and within [lo, hi] when present. */
static owl_status arch_float_checked(owl_model *m, const owl_gguf *g, const char *arch, const char *suffix, double lo,
                                     double hi, double *out, owl_error *err) {
    char key[256];
    double v;
    if (!owl_gguf_get_float(g, arch_key(key, sizeof key, arch, suffix), &v)) return OWL_OK;
    if (!(v >= lo && v <= hi))
        return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: metadata %s = %g is out of range (expected %g..%g)",
                        m->files[0].path, (unsigned long long)owl_gguf_find(g, key)->offset, key, v, lo, hi);
    *out = v;
    return OWL_OK;
}

static int arch_bool(const owl_gguf *g, const char *arch, const char *suffix, int *out) {
    char key[256];
    return owl_gguf_get_bool(g, arch_key(key, sizeof key, arch, suffix), out);
}

/* The keys only the forward pass reads (owl_hparams_ext); llama.cpp's names. */
static owl_status read_hparams_ext(owl_model *m, const owl_gguf *g, const char *arch, owl_error *err) {
    owl_hparams_ext *x = &m->hx;
    owl_status st;
    x->head_dim_v = arch_int(g, arch, "attention.value_length", 0);
    x->n_ff_expert = arch_int(g, arch, "expert_feed_forward_length", 0);
    x->n_expert_shared = arch_int(g, arch, "expert_shared_count", 0);
    x->n_dense_lead = arch_int(g, arch, "leading_dense_block_count", 0);
    x->n_expert_groups = arch_int(g, arch, "expert_group_count", 0);
    x->n_expert_groups_used = arch_int(g, arch, "expert_group_used_count", 0);
    x->moe_every = arch_int(g, arch, "interleave_moe_layer_step", 0);
    x->expert_gating = (int)arch_int(g, arch, "expert_gating_func", 0);
    if (x->expert_gating > 2)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s.expert_gating_func = %d (expected 1 softmax or 2 sigmoid)",
                        m->files[0].path, arch, x->expert_gating);
    int b;
    if (arch_bool(g, arch, "expert_weights_norm", &b)) x->expert_weights_norm = b ? 1 : 2;
    if (arch_bool(g, arch, "use_parallel_residual", &b)) x->parallel_residual = b ? 1 : 2;
    x->q_lora_rank = arch_int(g, arch, "attention.q_lora_rank", 0);
    x->mla_head_dim_k = arch_int(g, arch, "attention.key_length_mla", 0);
    x->mla_head_dim_v = arch_int(g, arch, "attention.value_length_mla", 0);
    char key[256];
    if (owl_gguf_find(g, arch_key(key, sizeof key, arch, "attention.sliding_window_pattern"))) {
        x->has_swa_pattern = 1;
        x->swa_pattern = arch_int(g, arch, "attention.sliding_window_pattern", 0);
    }
    x->rope_orig_ctx = arch_int(g, arch, "rope.scaling.original_context_length", 0);
    owl_strview type;
    if (owl_gguf_get_str(g, arch_key(key, sizeof key, arch, "rope.scaling.type"), &type)) {
        static const struct { const char *name; int kind; } kinds[] = {
            {"none", OWL_ROPE_SCALING_NONE}, {"linear", OWL_ROPE_SCALING_LINEAR}, {"yarn", OWL_ROPE_SCALING_YARN},
            {"longrope", OWL_ROPE_SCALING_LONGROPE}, {"llama3", OWL_ROPE_SCALING_LLAMA3},
        };
        size_t i = 0;
        while (i < sizeof kinds / sizeof kinds[0] &&
               !(strlen(kinds[i].name) == type.len && memcmp(kinds[i].name, type.p, type.len) == 0))
            i++;
        if (i == sizeof kinds / sizeof kinds[0])
            return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: %s = \"%.*s\": unknown rope scaling type", m->files[0].path,
                            key, (int)(type.len > 64 ? 64 : type.len), type.p);
        x->rope_scaling = kinds[i].kind;
    } else if (m->info.hp.rope_scale > 0 && m->info.hp.rope_scale != 1) {
        x->rope_scaling = OWL_ROPE_SCALING_LINEAR; /* llama.cpp's default when only a factor is given */
    }
    if ((st = arch_float_checked(m, g, arch, "rope.scaling.factor", 1e-6, 1e6, &m->info.hp.rope_scale, err)) ||
        (st = arch_float_checked(m, g, arch, "rope.freq_base", 1e-6, 1e15, &m->info.hp.rope_theta, err)) ||
        (st = arch_float_checked(m, g, arch, "rope.freq_base_swa", 1e-6, 1e15, &x->rope_base_swa, err)) ||
        (st = arch_float_checked(m, g, arch, "rope.scaling.attn_factor", 1e-6, 1e6, &x->rope_attn_factor, err)) ||
        (st = arch_float_checked(m, g, arch, "rope.scaling.yarn_attn_factor", 1e-6, 1e6, &x->yarn_attn_factor, err)) ||
        (st = arch_float_checked(m, g, arch, "rope.scaling.yarn_beta_fast", 1e-6, 1e6, &x->yarn_beta_fast, err)) ||
        (st = arch_float_checked(m, g, arch, "rope.scaling.yarn_beta_slow", 1e-6, 1e6, &x->yarn_beta_slow, err)) ||
        (st = arch_float_checked(m, g, arch, "attn_logit_softcapping", 0, 1e6, &x->attn_softcap, err)) ||
        (st = arch_float_checked(m, g, arch, "final_logit_softcapping", 0, 1e6, &x->final_softcap, err)) ||
        (st = arch_float_checked(m, g, arch, "logit_scale", -1e6, 1e6, &x->logit_scale, err)) ||
        (st = arch_float_checked(m, g, arch, "attention.max_alibi_bias", 0, 1e3, &x->max_alibi_bias, err)) ||
        (st = arch_float_checked(m, g, arch, "expert_weights_scale", 0, 1e6, &x->expert_weights_scale, err)) ||
        (st = arch_float_checked(m, g, arch, "attention.layer_norm_rms_epsilon", 0, 1, &m->info.hp.norm_eps, err)))
        return st;
    double ext = 0;
    if (owl_gguf_find(g, arch_key(key, sizeof key, arch, "rope.scaling.yarn_ext_factor"))) {
        if ((st = arch_float_checked(m, g, arch, "rope.scaling.yarn_ext_factor", -1, 1e3, &ext, err))) return st;
        x->has_yarn_ext_factor = ext >= 0; /* negative: "not set", as in llama.cpp */
        x->yarn_ext_factor = ext;
    }
    return OWL_OK;
}

static owl_status read_hparams(owl_model *m, const owl_gguf *g, const char *arch, owl_error *err) {
    owl_hparams *hp = &m->info.hp;
    owl_status st = check_counts(m, g, arch, err);
    if (st) return st;
    hp->n_ctx_train = arch_int(g, arch, "context_length", 0);
    hp->n_embd = arch_int(g, arch, "embedding_length", 0);
    hp->n_layer = arch_int(g, arch, "block_count", 0);
    hp->n_ff = arch_int(g, arch, "feed_forward_length", 0);
    hp->n_head = arch_int(g, arch, "attention.head_count", 0);
    hp->n_head_kv = arch_int(g, arch, "attention.head_count_kv", hp->n_head);
    hp->head_dim = arch_int(g, arch, "attention.key_length", hp->n_head > 0 ? hp->n_embd / hp->n_head : 0);
    hp->n_expert = arch_int(g, arch, "expert_count", 0);
    hp->n_expert_used = arch_int(g, arch, "expert_used_count", 0);
    hp->n_rot = arch_int(g, arch, "rope.dimension_count", hp->head_dim);
    hp->sliding_window = arch_int(g, arch, "attention.sliding_window", 0);
    hp->kv_lora_rank = arch_int(g, arch, "attention.kv_lora_rank", 0);
    hp->n_vocab = arch_int(g, arch, "vocab_size", 0);
    hp->norm_eps = arch_float(g, arch, "attention.layer_norm_rms_epsilon",
                              arch_float(g, arch, "attention.layer_norm_epsilon", 0));
    hp->rope_theta = arch_float(g, arch, "rope.freq_base", 10000.0);
    hp->rope_scale = arch_float(g, arch, "rope.scaling.factor", 0);
    const owl_family *fam = owl_family_find(arch);
    hp->rope_style = fam ? fam->rope_style : OWL_ROPE_NONE;
    if (hp->n_head_kv > 0 && hp->n_head > 0 && hp->n_head % hp->n_head_kv)
        return owl_fail(err, OWL_ERR_INPUT, "%s: %s.attention.head_count %lld is not a multiple of head_count_kv %lld",
                        m->files[0].path, arch, (long long)hp->n_head, (long long)hp->n_head_kv);
    return read_hparams_ext(m, g, arch, err);
}

static const owl_gguf_value *array_of(const owl_gguf *g, const char *key, uint32_t elem, const char *path,
                                      owl_status *st, owl_error *err) {
    const owl_gguf_kv *kv = owl_gguf_find(g, key);
    if (!kv) return NULL;
    if (kv->value.type != GGUF_ARRAY || kv->value.arr.elem_type != elem) {
        *st = owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: %s must be an array of %s (found %s%s%s)", path,
                       (unsigned long long)kv->offset, key, owl_gguf_type_name(elem),
                       owl_gguf_type_name(kv->value.type), kv->value.type == GGUF_ARRAY ? " of " : "",
                       kv->value.type == GGUF_ARRAY ? owl_gguf_type_name(kv->value.arr.elem_type) : "");
        return NULL;
    }
    return &kv->value;
}

static owl_status read_vocab(owl_model *m, const owl_gguf *g, owl_error *err) {
    const char *path = m->files[0].path;
    owl_status st = OWL_OK;
    if ((st = get_text(m, g, "tokenizer.ggml.model", SHORT_TEXT_CAP, &m->info.tokenizer.kind, err)) ||
        (st = get_text(m, g, "tokenizer.ggml.pre", SHORT_TEXT_CAP, &m->info.tokenizer.pre, err)))
        return st;
    const owl_gguf_value *tokens = array_of(g, "tokenizer.ggml.tokens", GGUF_STRING, path, &st, err);
    if (st) return st;
    const owl_gguf_value *scores = array_of(g, "tokenizer.ggml.scores", GGUF_F32, path, &st, err);
    if (st) return st;
    const owl_gguf_value *types = array_of(g, "tokenizer.ggml.token_type", GGUF_I32, path, &st, err);
    if (st) return st;
    const owl_gguf_value *merges = array_of(g, "tokenizer.ggml.merges", GGUF_STRING, path, &st, err);
    if (st) return st;
    if (tokens) {
        uint64_t n = tokens->arr.n;
        if ((scores && scores->arr.n != n) || (types && types->arr.n != n))
            return owl_fail(err, OWL_ERR_INPUT,
                            "%s: tokenizer.ggml.tokens has %llu entries but scores has %llu and token_type %llu", path,
                            (unsigned long long)n, (unsigned long long)(scores ? scores->arr.n : n),
                            (unsigned long long)(types ? types->arr.n : n));
        m->vocab.n_tokens = (size_t)n;
        m->vocab.tokens = malloc((n ? n : 1) * sizeof *m->vocab.tokens);
        if (!m->vocab.tokens) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory for the vocabulary", path);
        for (uint64_t i = 0; i < n; i++) m->vocab.tokens[i] = tokens->arr.strs[i];
        if (scores) {
            m->vocab.scores = malloc((n ? n : 1) * sizeof(float));
            if (!m->vocab.scores) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
            for (uint64_t i = 0; i < n; i++) m->vocab.scores[i] = (float)owl_gguf_arr_float(scores, i);
        }
        if (types) {
            m->vocab.types = malloc((n ? n : 1) * sizeof(int32_t));
            if (!m->vocab.types) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
            for (uint64_t i = 0; i < n; i++) m->vocab.types[i] = (int32_t)owl_gguf_arr_int(types, i);
        }
    }
    if (merges) {
        uint64_t n = merges->arr.n;
        m->vocab.n_merges = (size_t)n;
        m->vocab.merges = malloc((n ? n : 1) * sizeof *m->vocab.merges);
        if (!m->vocab.merges) return owl_fail(err, OWL_ERR_NOMEM, "%s: out of memory", path);
        for (uint64_t i = 0; i < n; i++) m->vocab.merges[i] = merges->arr.strs[i];
    }
    static const struct { const char *key, *role; } specials[] = {
        {"tokenizer.ggml.bos_token_id", "bos"},     {"tokenizer.ggml.eos_token_id", "eos"},
        {"tokenizer.ggml.unknown_token_id", "unk"}, {"tokenizer.ggml.padding_token_id", "pad"},
        {"tokenizer.ggml.seperator_token_id", "sep"}, {"tokenizer.ggml.cls_token_id", "cls"},
        {"tokenizer.ggml.mask_token_id", "mask"},   {"tokenizer.ggml.eot_token_id", "eot"},
    };
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        const owl_gguf_kv *kv = owl_gguf_find(g, specials[i].key);
        int64_t id;
        if (!kv) continue;
        if (!owl_gguf_get_int(g, specials[i].key, &id))
            return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: %s must be an integer (found %s)", path,
                            (unsigned long long)kv->offset, specials[i].key, owl_gguf_type_name(kv->value.type));
        /* -1 and ids past the vocabulary are written by some converters to mean "none" */
        if (id < 0 || (tokens && (uint64_t)id >= tokens->arr.n)) continue;
        if ((st = owl_model_add_special(m, specials[i].role, id, err))) return st;
    }
    int b;
    if (owl_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b)) m->info.tokenizer.add_bos = b;
    if (owl_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b)) m->info.tokenizer.add_eos = b;
    if ((st = get_text(m, g, "tokenizer.chat_template", TEMPLATE_CAP, &m->info.chat_template, err))) return st;
    if (tokens) m->info.tokenizer.source = m->files[0].path;
    return OWL_OK;
}

/* general.base_model.N.name / general.dataset.N.name lists */
static const char *const *numbered_names(owl_model *m, const owl_gguf *g, const char *prefix, size_t *count) {
    char key[128];
    int64_t n = 0;
    snprintf(key, sizeof key, "general.%s.count", prefix);
    if (!owl_gguf_get_int(g, key, &n) || n <= 0 || n > 1024) return NULL;
    const char **out = owl_model_alloc(m, (size_t)n * sizeof *out);
    if (!out) return NULL;
    size_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        owl_strview v;
        snprintf(key, sizeof key, "general.%s.%lld.repo_url", prefix, (long long)i);
        if (!owl_gguf_get_str(g, key, &v)) {
            snprintf(key, sizeof key, "general.%s.%lld.name", prefix, (long long)i);
            if (!owl_gguf_get_str(g, key, &v)) continue;
        }
        if (v.len <= SHORT_TEXT_CAP) out[k++] = view_dup(m, v);
    }
    *count = k;
    return out;
}

static owl_status read_license(owl_model *m, const owl_gguf *g, owl_error *err) {
    owl_license_info *l = &m->info.license;
    owl_status st;
    if ((st = get_text(m, g, "general.license", SHORT_TEXT_CAP, &l->license, err)) ||
        (st = get_text(m, g, "general.license.name", SHORT_TEXT_CAP, &l->license_name, err)) ||
        (st = get_text(m, g, "general.license.link", SHORT_TEXT_CAP, &l->license_link, err)))
        return st;
    if (l->license || l->license_name || l->license_link) l->source = m->files[0].path;
    l->base_models = numbered_names(m, g, "base_model", &l->n_base_models);
    l->datasets = numbered_names(m, g, "dataset", &l->n_datasets);
    return OWL_OK;
}

/* llama.cpp's LoRA files (convert_lora_to_gguf.py): general.type "adapter",
   adapter.type "lora", adapter.lora.alpha, tensors TARGET.lora_a / .lora_b.
   The rank is lora_a's ne[1] (llama.cpp allows one per tensor; the first
   stands for the adapter); the targets are the distinct weight kinds. */
static owl_status read_adapter(owl_model *m, const owl_gguf *g, owl_error *err) {
    const char *path = m->files[0].path;
    owl_strview type;
    if (!owl_gguf_get_str(g, "adapter.type", &type) || type.len != 4 || memcmp(type.p, "lora", 4))
        return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: a GGUF adapter whose adapter.type is not \"lora\" (owl reads LoRA adapters)",
                        path);
    owl_adapter_info *a = &m->adapter;
    a->kind = "lora";
    const owl_gguf_kv *kv = owl_gguf_find(g, "adapter.lora.alpha");
    if (kv && (!owl_gguf_get_float(g, "adapter.lora.alpha", &a->alpha) || !(a->alpha >= 0 && a->alpha <= 1e9)))
        return owl_fail(err, OWL_ERR_INPUT, "%s: byte %llu: adapter.lora.alpha must be a number from 0 to 1e9", path,
                        (unsigned long long)kv->offset);
    const char *kinds[64];
    size_t n_kinds = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const owl_tensor *t = &m->tensors[i];
        size_t n = strlen(t->name);
        if (n < 15 || strcmp(t->name + n - 14, ".weight.lora_a")) continue;
        if (!a->rank && t->n_dims == 2) a->rank = (int64_t)t->ne[1];
        /* blk.N.KIND.weight.lora_a -> KIND */
        const char *k = t->name, *end = t->name + n - 14;
        if (!strncmp(k, "blk.", 4) && (k = strchr(k + 4, '.')) != NULL) k++;
        else k = t->name;
        if (k >= end) continue;
        size_t j = 0;
        while (j < n_kinds && (strlen(kinds[j]) != (size_t)(end - k) || memcmp(kinds[j], k, (size_t)(end - k)))) j++;
        if (j < n_kinds || n_kinds == sizeof kinds / sizeof kinds[0]) continue;
        if (!(kinds[n_kinds] = owl_model_strndup(m, k, (size_t)(end - k)))) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        for (j = n_kinds++; j > 0 && strcmp(kinds[j - 1], kinds[j]) > 0; j--) { /* sorted: a handful */
            const char *tmp = kinds[j];
            kinds[j] = kinds[j - 1];
            kinds[j - 1] = tmp;
        }
    }
    if (n_kinds) {
        const char **arr = owl_model_alloc(m, n_kinds * sizeof *arr);
        if (!arr) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        memcpy(arr, kinds, n_kinds * sizeof *arr);
        a->targets = arr;
        a->n_targets = n_kinds;
    }
    if (m->info.license.n_base_models) a->base_model = m->info.license.base_models[0];
    return OWL_OK;
}

owl_status owl_gguf_describe(owl_model *m, owl_gguf *g, int file, owl_error *err) {
    owl_status st;
    m->info.format = OWL_FORMAT_GGUF;
    m->info.gguf_version = (int)g->version;
    const char *arch = NULL;
    if ((st = get_text(m, g, "general.architecture", 256, &arch, err)) ||
        (st = get_text(m, g, "general.name", SHORT_TEXT_CAP, &m->info.name, err)))
        return st;
    m->info.architecture = arch;
    const owl_family *fam = owl_family_find(arch);
    if (fam) m->info.family = fam->id;
    if (arch && (st = read_hparams(m, g, arch, err))) return st;
    if ((st = read_vocab(m, g, err))) return st;
    if ((st = read_license(m, g, err))) return st;
    if (!m->info.hp.n_vocab) m->info.hp.n_vocab = (int64_t)m->vocab.n_tokens;
    const uint8_t *data = g->base + g->data_offset;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const owl_gguf_tensor *gt = &g->tensors[i];
        owl_tensor t = {0};
        t.name = t.source_name = view_dup(m, gt->name);
        if (!t.name) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        t.dtype = (int)gt->type;
        t.n_dims = (int)gt->n_dims;
        memcpy(t.ne, gt->ne, sizeof t.ne);
        t.n_elements = gt->n_elements;
        t.n_bytes = gt->n_bytes;
        t.offset = g->data_offset + gt->offset;
        t.data = data + gt->offset;
        t.file = file;
        if ((st = owl_model_add_tensor(m, &t, err))) return st;
    }
    /* tied embeddings: no output.weight beside token_embd.weight */
    int has_output = 0, has_embd = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        has_output |= g->tensors[i].name.len == 13 && memcmp(g->tensors[i].name.p, "output.weight", 13) == 0;
        has_embd |= g->tensors[i].name.len == 17 && memcmp(g->tensors[i].name.p, "token_embd.weight", 17) == 0;
    }
    m->info.hp.tied_embeddings = has_embd && !has_output;
    owl_strview gtype;
    if (owl_gguf_get_str(g, "general.type", &gtype) && gtype.len == 7 && !memcmp(gtype.p, "adapter", 7))
        return read_adapter(m, g, err);
    return OWL_OK;
}

owl_status owl_load_gguf(owl_model *m, const char *path, owl_error *err) {
    owl_mapped_file map;
    owl_status st = owl_map_file(path, &map, err);
    if (st) return st;
    int file = owl_model_add_file(m, path, "weights", &map, 0, err);
    if (file < 0) {
        owl_unmap_file(&map);
        return err ? err->status : OWL_ERR_NOMEM;
    }
    const owl_mapped_file *mf = &m->maps[file];
    if ((st = owl_gguf_parse(mf->data, mf->size, m->files[file].path, &m->gguf, err))) return st;
    return owl_gguf_describe(m, m->gguf, file, err);
}

owl_status owl_gguf_save(const owl_model *m, const char *path, owl_error *err) {
    const owl_gguf *g = m->gguf;
    if (!g) return owl_fail(err, OWL_ERR_UNSUPPORTED, "%s: only models loaded from GGUF can be saved as GGUF yet", path);
    owl_gguf_out_tensor *out = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *out);
    if (!out) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const owl_gguf_tensor *t = &g->tensors[i];
        out[i] = (owl_gguf_out_tensor){t->name, t->n_dims, {0}, t->type, g->base + g->data_offset + t->offset, t->n_bytes};
        memcpy(out[i].ne, t->ne, sizeof t->ne);
    }
    owl_status st = owl_gguf_write(path, g->version, g->kv, g->n_kv, out, g->n_tensors, g->alignment, err);
    free(out);
    return st;
}
