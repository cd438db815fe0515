/* model.h: the in-memory model description every format loader fills in,
 * and the small builder API loaders use. No code after loading looks at file
 * formats; it reads owl_model_info and the vocabulary below. */
#ifndef OWL_MODEL_MODEL_H
#define OWL_MODEL_MODEL_H

#include <jansson.h>
#include <stddef.h>

#include "core/mapped_file.h"
#include "owl.h"

/* A byte string that points into a mapped file or the arena (not NUL-terminated). */
typedef struct owl_strview {
    const char *p;
    size_t len;
} owl_strview;

/* Vocabulary as the tokenizer will need it; filled by whichever file holds it. */
typedef struct owl_vocab {
    size_t n_tokens;
    owl_strview *tokens;
    float *scores;       /* NULL if the source has none */
    int32_t *types;      /* SentencePiece/GGUF token types; NULL if none */
    size_t n_merges;
    owl_strview *merges; /* "a b" pairs: byte-level BPE, and tokenizer.json's SentencePiece-style BPE */

    /* What a tokenizer.json says where a GGUF relies on llama.cpp's defaults. */
    int from_tokenizer_json; /* special tokens are exactly its added_tokens */
    int space_prefix;        /* -1 unknown; 0 never, 1 every fragment, 2 only text at offset 0 (Metaspace "first") */
    int strip_space;         /* -1 unknown; 1: decoding drops the first token's leading space */
    int split_metaspace;     /* Metaspace split: each U+2581 starts a new word */
    uint8_t *strip;          /* per id, or NULL: OWL_STRIP_LEFT / OWL_STRIP_RIGHT (added_tokens lstrip, rstrip) */
} owl_vocab;

/* An added token's match also takes the whitespace on its left / right. */
enum { OWL_STRIP_LEFT = 1, OWL_STRIP_RIGHT = 2 };

typedef struct owl_arena_chunk owl_arena_chunk;

struct owl_gguf;

/* RoPE frequency scaling schemes (GGUF rope.scaling.type, config.json rope_scaling). */
enum owl_rope_scaling {
    OWL_ROPE_SCALING_NONE = 0,
    OWL_ROPE_SCALING_LINEAR,   /* positions divided by the factor */
    OWL_ROPE_SCALING_YARN,
    OWL_ROPE_SCALING_LONGROPE, /* per-pair factors from rope_factors_short/long */
    OWL_ROPE_SCALING_LLAMA3,   /* per-pair factors: the rope_freqs tensor, or computed from low/high_freq_factor */
};

/* Hyperparameters only the forward pass reads, beyond owl_hparams. Filled by
   the GGUF and config.json readers; 0 means "absent: the family's default". */
typedef struct owl_hparams_ext {
    int64_t head_dim_v;            /* attention.value_length; 0: head_dim */
    /* mixture of experts */
    int64_t n_ff_expert, n_expert_shared, n_dense_lead, n_expert_groups, n_expert_groups_used, moe_every;
    int expert_gating;             /* 1 softmax, 2 sigmoid */
    int expert_weights_norm;       /* 1 renormalise the top-k weights, 2 do not */
    double expert_weights_scale;
    /* multi-head latent attention (DeepSeek 2/3) */
    int64_t q_lora_rank, mla_head_dim_k, mla_head_dim_v;
    /* sliding window: layer l is a window layer iff pattern == 0 or l % pattern < pattern - 1 */
    int has_swa_pattern;
    int64_t swa_pattern;
    double rope_base_swa;          /* window layers' rope base (Gemma 3) */
    /* rope scaling (the factor is owl_hparams.rope_scale) */
    int rope_scaling;              /* owl_rope_scaling */
    int64_t rope_orig_ctx;
    double rope_attn_factor;       /* longrope: cos and sin multiplied by it */
    int has_yarn_ext_factor;
    double yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
    double llama3_low_freq, llama3_high_freq;
    /* soft-capping, scales, residual layout */
    double attn_softcap, final_softcap, logit_scale, max_alibi_bias;
    int parallel_residual;         /* 1 yes, 2 no */
} owl_hparams_ext;

struct owl_model {
    owl_model_info info;
    owl_hparams_ext hx;
    owl_arena_chunk *arena;
    uint64_t arena_bytes;

    owl_mapped_file *maps; /* one per source file, parallel to files */
    owl_source_file *files;
    size_t n_files, cap_files;

    owl_tensor *tensors;
    size_t n_tensors, cap_tensors;
    size_t *sorted;        /* tensor indices sorted by name, for lookup */

    owl_special_token *special;
    size_t n_special, cap_special;

    owl_adapter_info adapter;
    owl_vocab vocab;

    struct owl_gguf *gguf; /* kept for metadata listing and re-writing */
    json_t *metadata;      /* config.json-like metadata as a JSON object (owned) */
};

/* Caps that keep hostile inputs from sizing allocations. */
#define OWL_MAX_TENSORS (1u << 20)
#define OWL_MAX_FILES 4096
#define OWL_ARENA_CAP (1ull << 31)
#define OWL_MAX_JSON_BYTES (256ull << 20) /* tokenizer.json files reach ~30 MB */
#define OWL_MAX_CONFIG_BYTES (16ull << 20)

owl_model *owl_model_new(void);
/* Arena allocations live as long as the model; zeroed; NULL past the cap. */
void *owl_model_alloc(owl_model *m, size_t bytes);
char *owl_model_strdup(owl_model *m, const char *s);
char *owl_model_strndup(owl_model *m, const char *s, size_t n);

/* Registers a source file; takes ownership of map (may be NULL for files
 * that were read, not mapped). Returns the file index or -1 on failure. */
int owl_model_add_file(owl_model *m, const char *path, const char *role, owl_mapped_file *map, uint64_t size, owl_error *err);
/* Appends a tensor; its strings must already be owned by the model. */
owl_status owl_model_add_tensor(owl_model *m, const owl_tensor *t, owl_error *err);
owl_status owl_model_add_special(owl_model *m, const char *role, int64_t id, owl_error *err);

/* Checks that the given file's tensors lie inside [data_start, data_end) and
 * do not overlap one another. */
owl_status owl_model_check_layout(owl_model *m, int file, uint64_t data_start, uint64_t data_end, owl_error *err);

/* Completes the description: lookup index, info pointers, special token text. */
owl_status owl_model_finish(owl_model *m, owl_error *err);

/* Format loaders (formats/). Each fills m and registers its files. */
owl_status owl_load_gguf(owl_model *m, const char *path, owl_error *err);
owl_status owl_load_safetensors_file(owl_model *m, const char *path, owl_error *err);
owl_status owl_load_hf_dir(owl_model *m, const char *dir, owl_error *err);
owl_status owl_load_llama2c(owl_model *m, const char *path, owl_error *err);
owl_status owl_load_adapter_dir(owl_model *m, const char *dir, owl_error *err);
owl_status owl_load_tokenizer_file(owl_model *m, const char *path, owl_error *err);

#endif
