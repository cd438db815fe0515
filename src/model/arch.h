/* arch.h: the family traits table the forward pass reads. One row per model
 * family says how its blocks differ (norm kind, FFN kind, q/k norms, residual
 * layout, MoE routing, flags); forward.c has one loop for all of them.
 * Presence of optional tensors (biases, fused qkv, fused gate|up) is read
 * from the weights themselves, see weights.c. */
#ifndef OWL_MODEL_ARCH_H
#define OWL_MODEL_ARCH_H

enum owl_norm_kind {
    OWL_NORM_RMS = 0,   /* x / sqrt(mean(x^2) + eps) * w */
    OWL_NORM_LAYER = 1, /* (x - mean) / sqrt(var + eps) * w + b */
};

enum owl_ffn_kind {
    OWL_FFN_SWIGLU = 0, /* down(silu(gate(x)) * up(x)); phi3 fuses [gate | up] into ffn_up */
    OWL_FFN_GEGLU,      /* down(gelu(gate(x)) * up(x)) */
    OWL_FFN_GELU,       /* down(gelu(up(x))), biases allowed */
};

enum owl_qk_norm {
    OWL_QK_NORM_NONE = 0,
    OWL_QK_NORM_HEAD,     /* per head, weights of head_dim, before RoPE (qwen3, gemma3) */
    OWL_QK_NORM_FULL,     /* over the whole q (n_head*head_dim) and k vectors (olmo2) */
    OWL_QK_NORM_L2_ROPED, /* unweighted RMS norm after RoPE, RoPE layers only (llama4) */
};

enum owl_residual {
    OWL_RESID_SEQUENTIAL = 0, /* x += attn(n1(x)); x += ffn(n2(x)) */
    OWL_RESID_PARALLEL_SHARED,/* x += attn(n(x)) + ffn(n(x)), one norm (command-r) */
    OWL_RESID_PARALLEL,       /* x += attn(n1(x)) + ffn(n2(x)) when use_parallel_residual (gptneox) */
};

enum owl_moe_kind {
    OWL_MOE_SOFTMAX = 0, /* softmax over experts, top-k, weights renormalised (Mixtral, Qwen3-MoE) */
    OWL_MOE_DEEPSEEK,    /* softmax or sigmoid, selection bias, expert groups, scale, shared experts */
    OWL_MOE_LLAMA4,      /* top-k by logit, sigmoid weight applied to the expert input, shared expert */
};

enum owl_arch_flags {
    OWL_ARCH_POST_NORMS = 1u << 0,   /* post_attention_norm / post_ffw_norm on each sub-block output */
    OWL_ARCH_NO_PRE_NORMS = 1u << 1, /* no attn_norm / ffn_norm (olmo2) */
    OWL_ARCH_EMBD_SCALE = 1u << 2,   /* embeddings scaled by sqrt(n_embd) (gemma) */
    OWL_ARCH_EMBD_NORM = 1u << 3,    /* token_embd_norm after the lookup (bloom) */
    OWL_ARCH_ALIBI = 1u << 4,        /* linear position bias instead of RoPE (bloom) */
    OWL_ARCH_MLA = 1u << 5,          /* multi-head latent attention (deepseek2) */
    OWL_ARCH_NOPE_EVERY_4 = 1u << 6, /* layers with (l+1) % 4 == 0 use no RoPE (llama4) */
    OWL_ARCH_SWA_OWN_ROPE = 1u << 7, /* window layers: rope.freq_base_swa and no rope scaling (gemma3) */
    OWL_ARCH_FUSED_GATE_UP = 1u << 8,/* ffn_up holds [gate | up] (phi3) */
    OWL_ARCH_CHUNKED_ATTN = 1u << 9, /* RoPE layers attend within chunks of 8192 positions; NoPE layers
                                        scale q with the position (llama4's temperature tuning) */
};

/* Llama 4's long-context attention (llama.cpp's constants; no GGUF keys). */
#define OWL_LLAMA4_ATTN_CHUNK 8192
#define OWL_LLAMA4_TEMP_FLOOR 8192
#define OWL_LLAMA4_TEMP_SCALE 0.1f

typedef struct owl_arch {
    const char *id; /* llama.cpp architecture name */
    int norm;       /* owl_norm_kind */
    int ffn;        /* owl_ffn_kind */
    int qk_norm;    /* owl_qk_norm (applied when the tensors are present; L2 always) */
    int residual;   /* owl_residual */
    int moe;        /* owl_moe_kind, when the model has experts */
    unsigned flags; /* owl_arch_flags */
    int swa_pattern;/* -1: the family ignores sliding_window; else the pattern when the key is absent */
} owl_arch;

/* Traits of a family id (owl_model_info.family); NULL if owl cannot run it. */
const owl_arch *owl_arch_find(const char *family);

#endif
