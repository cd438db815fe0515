/* weights.h: the model's tensors bound to the slots the forward pass uses,
 * layer by layer, after every shape has been checked against the
 * hyperparameters (llm.c's ParameterTensors, with owl's canonical names).
 * Matrices stay in the mapping in their stored type; only small vectors of a
 * non-F32 type (norm weights, biases) or misaligned data are copied. */
#ifndef OWL_MODEL_WEIGHTS_H
#define OWL_MODEL_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "model/arch.h"
#include "model/model.h"

struct owl_lora_factors;

/* One linear map y = W x (+ b), or n_mat of them stacked (experts, heads). */
typedef struct owl_linear {
    const char *name;          /* tensor name for messages; NULL: absent */
    const uint8_t *data;
    int dtype;
    int64_t n_in, n_out, n_mat;
    size_t row_bytes, mat_bytes;
    const owl_kernel_traits *k;/* NULL for llama2.c int8 */
    size_t xq_row_bytes;       /* one activation row in k->vec_dot_type */
    const float *bias;         /* n_mat * n_out, or NULL */
    const float *q80_scales;   /* llama2.c int8: scale of each group of the flattened matrix */
    int64_t q80_group;
    struct owl_lora_factors *lora; /* adapters on this map (model/lora.h), or NULL */
} owl_linear;

typedef struct owl_normw {
    const float *w, *b;        /* b only for LayerNorm with bias */
    int64_t n;                 /* elements normalised together */
    int64_t stride;            /* per-head weights: floats between heads (0: shared) */
} owl_normw;

/* Sizes every part of the forward pass is checked against. */
typedef struct owl_dims {
    int64_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim_k, head_dim_v, n_rot, n_ff;
    int64_t q_dim, kv_dim_k, kv_dim_v;         /* n_head*head_dim_k, n_head_kv*head_dim_k/v */
    int64_t n_expert, n_expert_used, n_ff_exp;
    int64_t q_lora, kv_lora, mla_nope, mla_v;  /* MLA: per-head no-rope and value sizes */
    int64_t n_swa;
    int rope_style;
    float eps, attn_scale;
} owl_dims;

typedef struct owl_rope_params {
    int use;                   /* 0: this layer has no RoPE */
    float base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow;
    int64_t n_ctx_orig;
    const float *freq_factors; /* n_rot/2 divisors, or NULL */
} owl_rope_params;

typedef struct owl_layer {
    owl_normw attn_norm, ffn_norm, post_attn_norm, post_ffn_norm, q_norm, k_norm;
    owl_linear q, k, v, qkv, o;
    /* MLA */
    owl_linear q_a, q_b, kv_a, k_b, v_b;
    owl_normw q_a_norm, kv_a_norm;
    /* dense FFN (up may hold [gate | up]) */
    owl_linear gate, up, down;
    /* MoE */
    int is_moe;
    owl_linear router, gate_exps, up_exps, down_exps, gate_shexp, up_shexp, down_shexp;
    const float *exp_probs_b;
    /* attention kind */
    int is_swa;
    int64_t chunk;             /* > 0: keys only from the query's chunk of this many positions */
    int temp_tune;             /* llama4 NoPE layers: q scaled by attn_temperature(pos) */
    owl_rope_params rope;
} owl_layer;

typedef struct owl_weights {
    owl_linear tok_embd;       /* rows are embeddings */
    owl_linear output;         /* token_embd when tied */
    owl_normw embd_norm, output_norm;
    owl_layer *layers;
    void **owned;              /* copies made at binding, freed with the weights */
    size_t n_owned, cap_owned;
    int64_t max_xq_row_bytes;  /* largest activation row any linear converts to */
} owl_weights;

/* Checks hyperparameters, fills d and binds every tensor. n_ctx_per_seq picks
   longrope's short or long factors, as llama.cpp does. */
owl_status owl_weights_bind(const owl_model *m, const owl_arch *a, int64_t n_ctx_per_seq, owl_dims *d, owl_weights *w,
                            owl_error *err);
void owl_weights_free(owl_weights *w);

#endif
