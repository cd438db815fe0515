/* hf_config.c: config.json -> architecture, family and hyperparameters.
 * Families spell the same quantity differently (hidden_size, n_embd,
 * d_model), so each hyperparameter is read from a list of aliases; multimodal
 * configs keep the language model's values in "text_config", read first. */
#include "formats/hf_config.h"

#include <string.h>

#include "core/error.h"
#include "formats/json_fields.h"
#include "model/family.h"
#include "model/names.h"

#define SIZE_MAX_HP (1ll << 31)  /* widths, counts, vocabulary */
#define CTX_MAX_HP (1ll << 40)   /* context lengths */
#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

typedef struct config {
    const json_t *root, *text; /* text: "text_config" or NULL */
    const char *path;
    owl_error *err;
} config;

/* The object holding key with a non-null value: text_config first. */
static const json_t *holder(const config *c, const char *key) {
    const json_t *v;
    if (c->text && (v = json_object_get(c->text, key)) && !json_is_null(v)) return c->text;
    if ((v = json_object_get(c->root, key)) && !json_is_null(v)) return c->root;
    return NULL;
}

static int has(const config *c, const char *key) { return holder(c, key) != NULL; }

/* First alias present wins; absent leaves *out as it was. */
static owl_status int_field(const config *c, const char *const *keys, int64_t lo, int64_t hi, int64_t *out) {
    for (; *keys; keys++) {
        const json_t *h = holder(c, *keys);
        if (h) return owl_field_int(h, *keys, lo, hi, out, c->path, c->err);
    }
    return OWL_OK;
}

static owl_status num_field(const config *c, const char *const *keys, double lo, double hi, double *out) {
    for (; *keys; keys++) {
        const json_t *h = holder(c, *keys);
        if (h) return owl_field_number(h, *keys, lo, hi, out, c->path, c->err);
    }
    return OWL_OK;
}

static owl_status bool_field(const config *c, const char *key, int *out) {
    const json_t *h = holder(c, key);
    return h ? owl_field_bool(h, key, out, c->path, c->err) : OWL_OK;
}

owl_status owl_hf_metadata_set(owl_model *m, const char *key, json_t *value, owl_error *err) {
    if (!value) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    if (!m->metadata && !(m->metadata = json_object())) {
        json_decref(value);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    if (json_object_set_new(m->metadata, key, value) != 0) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    return OWL_OK;
}

/* architectures[0] (else model_type) and the owl family they name. */
static owl_status read_architecture(owl_model *m, const config *c) {
    const char *model_type = NULL, *arch = NULL;
    char found[96];
    owl_status st = owl_field_string(m, c->root, "model_type", 128, &model_type, c->path, c->err);
    if (st) return st;
    const json_t *archs = json_object_get(c->root, "architectures");
    if (archs && !json_is_null(archs)) {
        const json_t *first = json_array_get(archs, 0);
        if (!json_is_array(archs))
            return owl_fail(c->err, OWL_ERR_INPUT, "%s: architectures: expected a list of class names, found %s",
                            c->path, owl_json_describe(archs, found, sizeof found));
        if (first && !json_is_string(first))
            return owl_fail(c->err, OWL_ERR_INPUT, "%s: architectures[0]: expected a class name, found %s", c->path,
                            owl_json_describe(first, found, sizeof found));
        if (first) {
            if (json_string_length(first) > 256)
                return owl_fail(c->err, OWL_ERR_INPUT, "%s: architectures[0]: %zu bytes long, more than 256", c->path,
                                json_string_length(first));
            if (!(arch = owl_model_strdup(m, json_string_value(first))))
                return owl_fail(c->err, OWL_ERR_NOMEM, "out of memory");
        }
    }
    m->info.architecture = arch ? arch : model_type;
    const char *family = owl_family_from_hf(model_type);
    if (strcmp(family, "unknown") == 0) family = owl_family_from_hf_class(arch);
    m->info.family = family;
    return OWL_OK;
}

/* Rotary embeddings: the family's convention, unless the config turns them
   off (OLMo 1's "rope": false, ALiBi). Unknown families: rotary if the
   config speaks of it. */
static int uses_rope(const config *c, const char *family) {
    int rope = 1, alibi = 0;
    const owl_family *f = owl_family_find(family);
    if (f) rope = f->rope_style != OWL_ROPE_NONE;
    else
        rope = has(c, "rope_theta") || has(c, "rotary_dim") || has(c, "rotary_pct") ||
               has(c, "partial_rotary_factor") || has(c, "rope_scaling") || has(c, "rotary_emb_base");
    const json_t *h = holder(c, "rope");
    if (h && json_is_false(json_object_get(h, "rope"))) rope = 0;
    if ((h = holder(c, "alibi")) && json_is_true(json_object_get(h, "alibi"))) alibi = 1;
    return rope && !alibi;
}

static owl_status read_rope(owl_model *m, const config *c) {
    owl_hparams *hp = &m->info.hp;
    owl_status st;
    char found[96];
    if (!uses_rope(c, m->info.family)) {
        hp->rope_style = OWL_ROPE_NONE;
        return OWL_OK;
    }
    /* Hugging Face keeps q/k in rotate-half order (llama.cpp's converter
       permutes Llama's back to interleaved pairs) */
    hp->rope_style = OWL_ROPE_HALVES;
    hp->rope_theta = 10000.0;
    if ((st = num_field(c, KEYS("rope_theta", "rotary_emb_base", "rope_base"), 1.0, 1e15, &hp->rope_theta)))
        return st;
    const json_t *h = holder(c, "rope_scaling");
    if (h) {
        const json_t *rs = json_object_get(h, "rope_scaling");
        if (!json_is_object(rs))
            return owl_fail(c->err, OWL_ERR_INPUT, "%s: rope_scaling: expected an object or null, found %s", c->path,
                            owl_json_describe(rs, found, sizeof found));
        const json_t *f = json_object_get(rs, "factor");
        if (f && !json_is_null(f)) {
            double x = json_number_value(f);
            if (!json_is_number(f) || !(x > 0 && x <= 1e6))
                return owl_fail(c->err, OWL_ERR_INPUT, "%s: rope_scaling.factor: expected a number above 0 and up to "
                                "1e6, found %s", c->path, owl_json_describe(f, found, sizeof found));
            hp->rope_scale = x;
        }
    }
    hp->n_rot = hp->head_dim;
    double frac = 0;
    int64_t dim = 0;
    if ((st = num_field(c, KEYS("partial_rotary_factor", "rotary_pct"), 0.0, 1.0, &frac)) ||
        (st = int_field(c, KEYS("rotary_dim", "qk_rope_head_dim"), 1, SIZE_MAX_HP, &dim)))
        return st;
    if (dim) hp->n_rot = dim;
    else if (frac > 0) hp->n_rot = (int64_t)(frac * (double)hp->head_dim);
    if (hp->head_dim && hp->n_rot > hp->head_dim)
        return owl_fail(c->err, OWL_ERR_INPUT, "%s: %lld rotary dimensions, more than the head size %lld", c->path,
                        (long long)hp->n_rot, (long long)hp->head_dim);
    return OWL_OK;
}

static owl_status read_hparams(owl_model *m, const config *c) {
    owl_hparams *hp = &m->info.hp;
    const char *family = m->info.family;
    owl_status st;
    int mq = 0;
    if ((st = int_field(c, KEYS("hidden_size", "n_embd", "d_model"), 1, SIZE_MAX_HP, &hp->n_embd)) ||
        (st = int_field(c, KEYS("num_hidden_layers", "n_layer", "n_layers", "num_layers"), 1, SIZE_MAX_HP,
                        &hp->n_layer)) ||
        (st = int_field(c, KEYS("num_attention_heads", "n_head", "n_heads"), 1, SIZE_MAX_HP, &hp->n_head)) ||
        (st = int_field(c, KEYS("num_key_value_heads", "n_kv_heads", "num_kv_heads", "n_head_kv"), 1, SIZE_MAX_HP,
                        &hp->n_head_kv)) ||
        (st = int_field(c, KEYS("head_dim"), 1, SIZE_MAX_HP, &hp->head_dim)) ||
        (st = int_field(c, KEYS("intermediate_size", "n_inner", "ffn_hidden_size", "mlp_hidden_size"), 1,
                        SIZE_MAX_HP, &hp->n_ff)) ||
        (st = int_field(c, KEYS("vocab_size", "n_vocab", "padded_vocab_size"), 1, SIZE_MAX_HP, &hp->n_vocab)) ||
        (st = int_field(c,
                        KEYS("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length",
                             "max_seq_len"),
                        1, CTX_MAX_HP, &hp->n_ctx_train)) ||
        (st = num_field(c, KEYS("rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", "norm_epsilon", "norm_eps"),
                        0.0, 1.0, &hp->norm_eps)) ||
        (st = int_field(c, KEYS("sliding_window"), 0, CTX_MAX_HP, &hp->sliding_window)) ||
        (st = int_field(c, KEYS("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"), 0,
                        SIZE_MAX_HP, &hp->n_expert)) ||
        (st = int_field(c, KEYS("num_experts_per_tok", "moe_top_k", "num_experts_per_token"), 0, SIZE_MAX_HP,
                        &hp->n_expert_used)) ||
        (st = int_field(c, KEYS("kv_lora_rank"), 0, SIZE_MAX_HP, &hp->kv_lora_rank)) ||
        (st = bool_field(c, "multi_query", &mq)))
        return st;

    /* Qwen 2 writes a window it does not use unless use_sliding_window */
    int use_window = 1;
    if ((st = bool_field(c, "use_sliding_window", &use_window))) return st;
    if (!use_window) hp->sliding_window = 0;

    if (!hp->n_ff) {
        int64_t ratio = 0;
        if ((st = int_field(c, KEYS("mlp_ratio"), 1, 64, &ratio))) return st;
        if (ratio) hp->n_ff = ratio * hp->n_embd; /* OLMo 1 */
        else if (!strcmp(family, "gpt2") || !strcmp(family, "bloom") || !strcmp(family, "falcon") ||
                 !strcmp(family, "starcoder"))
            hp->n_ff = 4 * hp->n_embd; /* GPT-2's n_inner: null means 4 * n_embd */
    }
    if (!hp->n_head_kv) hp->n_head_kv = mq ? 1 : hp->n_head;
    if (hp->n_head && hp->n_head_kv > hp->n_head)
        return owl_fail(c->err, OWL_ERR_INPUT, "%s: %lld key/value heads but only %lld attention heads", c->path,
                        (long long)hp->n_head_kv, (long long)hp->n_head);
    if (hp->n_head && hp->n_head % hp->n_head_kv)
        return owl_fail(c->err, OWL_ERR_INPUT,
                        "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld", c->path,
                        (long long)hp->n_head, (long long)hp->n_head_kv);
    if (hp->n_expert_used > hp->n_expert)
        return owl_fail(c->err, OWL_ERR_INPUT, "%s: %lld experts used per token but only %lld experts", c->path,
                        (long long)hp->n_expert_used, (long long)hp->n_expert);
    if (!hp->head_dim) {
        /* MLA (DeepSeek 2/3): a head is its no-rope part plus its rope part */
        int64_t nope = 0, rope = 0;
        if ((st = int_field(c, KEYS("qk_nope_head_dim"), 1, SIZE_MAX_HP, &nope)) ||
            (st = int_field(c, KEYS("qk_rope_head_dim"), 1, SIZE_MAX_HP, &rope)))
            return st;
        if (nope && rope) hp->head_dim = nope + rope;
        else if (hp->n_embd && hp->n_head) {
            if (hp->n_embd % hp->n_head)
                return owl_fail(c->err, OWL_ERR_INPUT,
                                "%s: hidden size %lld is not a multiple of %lld heads, and head_dim is not given",
                                c->path, (long long)hp->n_embd, (long long)hp->n_head);
            hp->head_dim = hp->n_embd / hp->n_head;
        }
    }
    int tied = owl_family_ties_by_default(family);
    if ((st = bool_field(c, "tie_word_embeddings", &tied)) || (st = bool_field(c, "weight_tying", &tied)))
        return st;
    hp->tied_embeddings = tied;
    return read_rope(m, c);
}

owl_status owl_hf_config_specials(owl_model *m, const json_t *root, const char *path, owl_error *err) {
    static const char *const keys[][2] = {
        {"bos_token_id", "bos"}, {"eos_token_id", "eos"}, {"unk_token_id", "unk"}, {"pad_token_id", "pad"}};
    const json_t *text = json_object_get(root, "text_config");
    config c = {root, json_is_object(text) ? text : NULL, path, err};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *h = holder(&c, keys[i][0]);
        if (!h) continue;
        const json_t *v = json_object_get(h, keys[i][0]);
        /* generation may stop at any of a list (Llama 3: end_of_text, eom, eot);
           the description has one eos, the first, and the metadata keeps the list */
        if (json_is_array(v)) {
            if (!json_array_size(v)) continue;
            v = json_array_get(v, 0);
        }
        int64_t id = -1;
        owl_status st = owl_json_int_value(v, -(1ll << 31), INT32_MAX, &id, keys[i][0], path, err);
        if (st) return st;
        if (id >= 0 && (st = owl_model_add_special(m, keys[i][1], id, err))) return st;
    }
    return OWL_OK;
}

owl_status owl_hf_config_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err) {
    json_t *root;
    owl_status st = owl_json_parse_object(text, len, path, &root, err);
    if (st) return st;
    const json_t *tc = json_object_get(root, "text_config");
    char found[96];
    config c = {root, NULL, path, err};
    if (tc && !json_is_null(tc)) {
        if (!json_is_object(tc)) {
            st = owl_fail(err, OWL_ERR_INPUT, "%s: text_config: expected an object, found %s", path,
                          owl_json_describe(tc, found, sizeof found));
            json_decref(root);
            return st;
        }
        c.text = tc;
    }
    if ((st = read_architecture(m, &c)) == OWL_OK && (st = read_hparams(m, &c)) == OWL_OK &&
        (st = owl_hf_config_specials(m, root, path, err)) == OWL_OK)
        return owl_hf_metadata_set(m, "config", root, err);
    json_decref(root);
    return st;
}
