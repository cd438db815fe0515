/* names.c: the Hugging Face -> owl naming tables: config.json model_type ->
 * family id, and checkpoint tensor names -> canonical GGUF names (the names
 * llama.cpp's convert_hf_to_gguf.py gives them). Adding a family is adding rows. */
#include "model/names.h"

#include <ctype.h>
#include <string.h>

#include "core/error.h"

/* ---- families ---------------------------------------------------------- */

typedef struct hf_family {
    const char *model_type; /* config.json model_type */
    const char *family;     /* llama.cpp architecture name */
    int tied;               /* transformers' tie_word_embeddings default for this config class */
} hf_family;

static const hf_family hf_families[] = {
    {"llama", "llama", 0},         {"mistral", "llama", 0},         {"mixtral", "llama", 0},
    {"qwen", "qwen", 0},           {"qwen2", "qwen2", 0},           {"qwen2_moe", "qwen2moe", 0},
    {"qwen3", "qwen3", 0},         {"qwen3_moe", "qwen3moe", 0},    {"gemma", "gemma", 1},
    {"gemma2", "gemma2", 1},       {"gemma3", "gemma3", 1},         {"gemma3_text", "gemma3", 1},
    {"phi", "phi2", 0},            {"phi3", "phi3", 0},             {"olmo", "olmo", 0},
    {"hf_olmo", "olmo", 1},        {"olmo2", "olmo2", 0},           {"olmoe", "olmoe", 0},
    {"gpt_neox", "gptneox", 0},    {"cohere", "command-r", 1},      {"cohere2", "cohere2", 1},
    {"stablelm", "stablelm", 0},   {"starcoder2", "starcoder2", 1}, {"bloom", "bloom", 1},
    {"deepseek_v2", "deepseek2", 0}, {"deepseek_v3", "deepseek2", 0}, {"llama4", "llama4", 0},
    {"llama4_text", "llama4", 0},  {"gpt2", "gpt2", 1},             {"falcon", "falcon", 1},
    {"mpt", "mpt", 1},             {"gpt_bigcode", "starcoder", 1}, {"granite", "granite", 0},
    {"granitemoe", "granitemoe", 0}, {"baichuan", "baichuan", 0},   {"bert", "bert", 1},
    {"t5", "t5", 1},
};
#define N_FAMILIES (sizeof hf_families / sizeof hf_families[0])

const char *owl_family_from_hf(const char *model_type) {
    for (size_t i = 0; model_type && i < N_FAMILIES; i++)
        if (strcmp(hf_families[i].model_type, model_type) == 0) return hf_families[i].family;
    return "unknown";
}

/* Lower case without '_' and '-', so "gpt_neox" and "GPTNeoX" compare equal. */
static void squash(const char *s, size_t n, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && s[i] && k + 1 < cap; i++)
        if (s[i] != '_' && s[i] != '-') out[k++] = (char)tolower((unsigned char)s[i]);
    out[k] = '\0';
}

const char *owl_family_from_hf_class(const char *architecture) {
    if (!architecture) return "unknown";
    /* the class is the model type followed by a head: ...ForCausalLM, ...LMHeadModel, ...Model */
    static const char *const heads[] = {"For", "LMHeadModel", "Model"};
    size_t n = strlen(architecture);
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        const char *p = strstr(architecture, heads[h]);
        if (p && p > architecture) {
            n = (size_t)(p - architecture);
            break;
        }
    }
    char want[64], have[64];
    if (n >= sizeof want) return "unknown";
    squash(architecture, n, want, sizeof want);
    for (size_t i = 0; i < N_FAMILIES; i++) {
        squash(hf_families[i].model_type, strlen(hf_families[i].model_type), have, sizeof have);
        if (strcmp(want, have) == 0) return hf_families[i].family;
    }
    return "unknown";
}

int owl_family_ties_by_default(const char *family) {
    for (size_t i = 0; family && i < N_FAMILIES; i++)
        if (strcmp(hf_families[i].family, family) == 0) return hf_families[i].tied;
    return 0;
}

/* ---- tensor names -------------------------------------------------------
 * In a pattern '#' matches a decimal number (layer or expert index) and a
 * final '*' the rest of the name ("weight", "bias"); the replacement takes
 * the numbers in order and the rest. First match wins, so rows for some
 * families only come before the general rows they override. */

typedef struct name_rule {
    const char *families; /* space-separated family ids, or NULL for any */
    const char *hf, *owl;
} name_rule;

#define SANDWICH "gemma2 gemma3 olmo2" /* norms before and after each sub-block */

static const name_rule rules[] = {
    /* family-specific first */
    {SANDWICH, "model.layers.#.post_attention_layernorm.*", "blk.#.post_attention_norm.*"},

    /* Llama and the families that copied its layout */
    {NULL, "model.embed_tokens.*", "token_embd.*"},
    {NULL, "model.norm.*", "output_norm.*"},
    {NULL, "lm_head.*", "output.*"},
    {NULL, "model.layers.#.self_attn.q_proj.*", "blk.#.attn_q.*"},
    {NULL, "model.layers.#.self_attn.k_proj.*", "blk.#.attn_k.*"},
    {NULL, "model.layers.#.self_attn.v_proj.*", "blk.#.attn_v.*"},
    {NULL, "model.layers.#.self_attn.o_proj.*", "blk.#.attn_output.*"},
    {NULL, "model.layers.#.self_attn.qkv_proj.*", "blk.#.attn_qkv.*"},
    {NULL, "model.layers.#.self_attn.q_norm.*", "blk.#.attn_q_norm.*"},
    {NULL, "model.layers.#.self_attn.k_norm.*", "blk.#.attn_k_norm.*"},
    {NULL, "model.layers.#.self_attn.q_layernorm.*", "blk.#.attn_q_norm.*"},
    {NULL, "model.layers.#.self_attn.k_layernorm.*", "blk.#.attn_k_norm.*"},
    {NULL, "model.layers.#.mlp.gate_proj.*", "blk.#.ffn_gate.*"},
    {NULL, "model.layers.#.mlp.up_proj.*", "blk.#.ffn_up.*"},
    {NULL, "model.layers.#.mlp.down_proj.*", "blk.#.ffn_down.*"},
    {NULL, "model.layers.#.mlp.gate_up_proj.*", "blk.#.ffn_up.*"}, /* Phi-3: gate and up fused */
    {NULL, "model.layers.#.input_layernorm.*", "blk.#.attn_norm.*"},
    {NULL, "model.layers.#.post_attention_layernorm.*", "blk.#.ffn_norm.*"},
    {NULL, "model.layers.#.pre_feedforward_layernorm.*", "blk.#.ffn_norm.*"},
    {NULL, "model.layers.#.post_feedforward_layernorm.*", "blk.#.post_ffw_norm.*"},

    /* mixture of experts: Mixtral, then Qwen-MoE / DeepSeek */
    {NULL, "model.layers.#.block_sparse_moe.gate.*", "blk.#.ffn_gate_inp.*"},
    {NULL, "model.layers.#.block_sparse_moe.experts.#.w1.*", "blk.#.ffn_gate.#.*"},
    {NULL, "model.layers.#.block_sparse_moe.experts.#.w2.*", "blk.#.ffn_down.#.*"},
    {NULL, "model.layers.#.block_sparse_moe.experts.#.w3.*", "blk.#.ffn_up.#.*"},
    {NULL, "model.layers.#.mlp.gate.e_score_correction_bias", "blk.#.exp_probs_b.bias"},
    {NULL, "model.layers.#.mlp.gate.*", "blk.#.ffn_gate_inp.*"},
    {NULL, "model.layers.#.mlp.experts.#.gate_proj.*", "blk.#.ffn_gate.#.*"},
    {NULL, "model.layers.#.mlp.experts.#.up_proj.*", "blk.#.ffn_up.#.*"},
    {NULL, "model.layers.#.mlp.experts.#.down_proj.*", "blk.#.ffn_down.#.*"},
    {NULL, "model.layers.#.mlp.shared_expert.gate_proj.*", "blk.#.ffn_gate_shexp.*"},
    {NULL, "model.layers.#.mlp.shared_expert.up_proj.*", "blk.#.ffn_up_shexp.*"},
    {NULL, "model.layers.#.mlp.shared_expert.down_proj.*", "blk.#.ffn_down_shexp.*"},
    {NULL, "model.layers.#.mlp.shared_expert_gate.*", "blk.#.ffn_gate_inp_shexp.*"},
    {NULL, "model.layers.#.mlp.shared_experts.gate_proj.*", "blk.#.ffn_gate_shexp.*"},
    {NULL, "model.layers.#.mlp.shared_experts.up_proj.*", "blk.#.ffn_up_shexp.*"},
    {NULL, "model.layers.#.mlp.shared_experts.down_proj.*", "blk.#.ffn_down_shexp.*"},

    /* DeepSeek 2/3 multi-head latent attention */
    {NULL, "model.layers.#.self_attn.q_a_proj.*", "blk.#.attn_q_a.*"},
    {NULL, "model.layers.#.self_attn.q_a_layernorm.*", "blk.#.attn_q_a_norm.*"},
    {NULL, "model.layers.#.self_attn.q_b_proj.*", "blk.#.attn_q_b.*"},
    {NULL, "model.layers.#.self_attn.kv_a_proj_with_mqa.*", "blk.#.attn_kv_a_mqa.*"},
    {NULL, "model.layers.#.self_attn.kv_a_layernorm.*", "blk.#.attn_kv_a_norm.*"},
    {NULL, "model.layers.#.self_attn.kv_b_proj.*", "blk.#.attn_kv_b.*"},

    /* Llama 4: router, shared expert, experts stacked by the checkpoint itself */
    {NULL, "model.layers.#.feed_forward.router.*", "blk.#.ffn_gate_inp.*"},
    {NULL, "model.layers.#.feed_forward.shared_expert.gate_proj.*", "blk.#.ffn_gate_shexp.*"},
    {NULL, "model.layers.#.feed_forward.shared_expert.up_proj.*", "blk.#.ffn_up_shexp.*"},
    {NULL, "model.layers.#.feed_forward.shared_expert.down_proj.*", "blk.#.ffn_down_shexp.*"},
    {NULL, "model.layers.#.feed_forward.experts.gate_up_proj", "blk.#.ffn_gate_up_exps.weight"},
    {NULL, "model.layers.#.feed_forward.experts.down_proj", "blk.#.ffn_down_exps.weight"},
    {NULL, "model.layers.#.feed_forward.gate_proj.*", "blk.#.ffn_gate.*"},
    {NULL, "model.layers.#.feed_forward.up_proj.*", "blk.#.ffn_up.*"},
    {NULL, "model.layers.#.feed_forward.down_proj.*", "blk.#.ffn_down.*"},

    /* Phi-2 and StarCoder 2 */
    {NULL, "model.layers.#.self_attn.dense.*", "blk.#.attn_output.*"},
    {NULL, "model.layers.#.mlp.fc1.*", "blk.#.ffn_up.*"},
    {NULL, "model.layers.#.mlp.fc2.*", "blk.#.ffn_down.*"},
    {NULL, "model.layers.#.mlp.c_fc.*", "blk.#.ffn_up.*"},
    {NULL, "model.layers.#.mlp.c_proj.*", "blk.#.ffn_down.*"},
    {NULL, "model.final_layernorm.*", "output_norm.*"},

    /* GPT-2 (a leading "transformer." is dropped before matching) */
    {NULL, "wte.*", "token_embd.*"},
    {NULL, "wpe.*", "position_embd.*"},
    {NULL, "ln_f.*", "output_norm.*"},
    {NULL, "h.#.ln_1.*", "blk.#.attn_norm.*"},
    {NULL, "h.#.ln_2.*", "blk.#.ffn_norm.*"},
    {NULL, "h.#.attn.c_attn.*", "blk.#.attn_qkv.*"},
    {NULL, "h.#.attn.c_proj.*", "blk.#.attn_output.*"},
    {NULL, "h.#.mlp.c_fc.*", "blk.#.ffn_up.*"},
    {NULL, "h.#.mlp.c_proj.*", "blk.#.ffn_down.*"},

    /* BLOOM and Falcon */
    {NULL, "word_embeddings.*", "token_embd.*"},
    {NULL, "word_embeddings_layernorm.*", "token_embd_norm.*"},
    {NULL, "h.#.input_layernorm.*", "blk.#.attn_norm.*"},
    {NULL, "h.#.post_attention_layernorm.*", "blk.#.ffn_norm.*"},
    {NULL, "h.#.self_attention.query_key_value.*", "blk.#.attn_qkv.*"},
    {NULL, "h.#.self_attention.dense.*", "blk.#.attn_output.*"},
    {NULL, "h.#.mlp.dense_h_to_4h.*", "blk.#.ffn_up.*"},
    {NULL, "h.#.mlp.dense_4h_to_h.*", "blk.#.ffn_down.*"},

    /* GPT-NeoX / Pythia */
    {NULL, "gpt_neox.embed_in.*", "token_embd.*"},
    {NULL, "gpt_neox.final_layer_norm.*", "output_norm.*"},
    {NULL, "embed_out.*", "output.*"},
    {NULL, "gpt_neox.layers.#.input_layernorm.*", "blk.#.attn_norm.*"},
    {NULL, "gpt_neox.layers.#.post_attention_layernorm.*", "blk.#.ffn_norm.*"},
    {NULL, "gpt_neox.layers.#.attention.query_key_value.*", "blk.#.attn_qkv.*"},
    {NULL, "gpt_neox.layers.#.attention.dense.*", "blk.#.attn_output.*"},
    {NULL, "gpt_neox.layers.#.mlp.dense_h_to_4h.*", "blk.#.ffn_up.*"},
    {NULL, "gpt_neox.layers.#.mlp.dense_4h_to_h.*", "blk.#.ffn_down.*"},
};

/* Wrappers some checkpoints put around the language model: the multimodal
   Gemma 3 / Llama 4 classes, and GPT-2 / BLOOM / Falcon's "transformer.". */
static const struct {
    const char *from, *to;
} prefixes[] = {
    {"language_model.model.", "model."},
    {"model.language_model.", "model."},
    {"language_model.lm_head.", "lm_head."},
    {"transformer.", ""},
};

#define MAX_NUMBERS 4

typedef struct match_state {
    const char *num[MAX_NUMBERS];
    size_t num_len[MAX_NUMBERS];
    int n_num;
    const char *rest;
} match_state;

/* Matches name against pattern; on success fills st. */
static int match(const char *pat, const char *name, match_state *st) {
    st->n_num = 0;
    st->rest = NULL;
    while (*pat) {
        if (*pat == '#') {
            size_t n = 0;
            while (isdigit((unsigned char)name[n])) n++;
            /* canonical numbers only: "01" is not layer 1 */
            if (n == 0 || n > 9 || (n > 1 && name[0] == '0') || st->n_num == MAX_NUMBERS) return 0;
            st->num[st->n_num] = name;
            st->num_len[st->n_num++] = n;
            name += n;
            pat++;
        } else if (*pat == '*') {
            if (!*name) return 0;
            st->rest = name;
            return 1;
        } else {
            if (*pat != *name) return 0;
            pat++;
            name++;
        }
    }
    return *name == '\0';
}

/* Writes the replacement; 0 if it does not fit. */
static int substitute(const char *repl, const match_state *st, char *out, size_t cap) {
    size_t k = 0;
    int used = 0;
    for (const char *p = repl; *p; p++) {
        const char *s = p;
        size_t n = 1;
        if (*p == '#') {
            if (used >= st->n_num) return 0;
            s = st->num[used];
            n = st->num_len[used++];
        } else if (*p == '*') {
            s = st->rest;
            n = strlen(st->rest);
        }
        if (n >= cap - k) return 0;
        memcpy(out + k, s, n);
        k += n;
    }
    out[k] = '\0';
    return 1;
}

static int family_listed(const char *list, const char *family) {
    size_t n = family ? strlen(family) : 0;
    if (!n) return 0;
    for (const char *p = list; (p = strstr(p, family)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

int owl_hf_tensor_name(const char *hf_name, const char *family, char *out, size_t out_size) {
    if (!out_size) return -1;
    const char *name = hf_name;
    char buf[1100];
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i].from);
        if (strncmp(hf_name, prefixes[i].from, n) == 0) {
            size_t to = strlen(prefixes[i].to), rest = strlen(hf_name + n);
            if (to + rest < sizeof buf) {
                memcpy(buf, prefixes[i].to, to);
                memcpy(buf + to, hf_name + n, rest + 1);
                name = buf;
            }
            break;
        }
    }
    match_state st;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].families && !family_listed(rules[i].families, family)) continue;
        if (!match(rules[i].hf, name, &st)) continue;
        if (substitute(rules[i].owl, &st, out, out_size)) return 1;
        out[0] = '\0';
        return -1;
    }
    size_t n = strlen(hf_name);
    if (n >= out_size) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, hf_name, n + 1);
    return 0;
}

int owl_hf_name_of(const char *canonical, const char *family, char *out, size_t out_size) {
    if (!out_size) return -1;
    match_state st;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].families && !family_listed(rules[i].families, family)) continue;
        if (!match(rules[i].owl, canonical, &st)) continue;
        if (substitute(rules[i].hf, &st, out, out_size)) return 1;
        out[0] = '\0';
        return -1;
    }
    out[0] = '\0';
    return 0;
}

owl_status owl_model_canonical_names(owl_model *m, size_t first, const char *family, owl_error *err) {
    char buf[1200];
    for (size_t i = first; i < m->n_tensors; i++) {
        owl_tensor *t = &m->tensors[i];
        int r = owl_hf_tensor_name(t->source_name, family, buf, sizeof buf);
        if (r < 0)
            return owl_fail(err, OWL_ERR_INPUT, "%s: tensor name of %zu bytes is too long to map",
                            m->files[t->file].path, strlen(t->source_name));
        if (r == 0) {
            t->name = t->source_name;
            continue;
        }
        if (!(t->name = owl_model_strdup(m, buf))) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    return OWL_OK;
}
