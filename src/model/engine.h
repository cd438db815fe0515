/* engine.h: the engine's insides (llama2.c's RunState and Transformer): the
 * bound weights, the KV cache, the thread pool and every activation buffer,
 * each sized once at creation for n_batch tokens. Internal to src/model. */
#ifndef OWL_MODEL_ENGINE_H
#define OWL_MODEL_ENGINE_H

#include "model/arch.h"
#include "model/kv_cache.h"
#include "model/threadpool.h"
#include "model/weights.h"
#include "owl.h"

/* Activations of one batch: B = n_batch rows each. */
typedef struct owl_state {
    float *x, *h, *a, *f;       /* B x n_embd: residual stream, normed input, attention out, FFN out */
    float *h2;                  /* B x n_embd: second norm (parallel residual) */
    float *q, *k, *v, *qkv;     /* projections (qkv: fused output before the split) */
    float *att;                 /* B x n_head*head_dim_v: heads side by side (MLA: compressed) */
    float *att2;                /* MLA: B x n_head*v_head after the per-head value up-projection */
    float *qa, *kva, *qabs;     /* MLA: q down-projection, [c | k_rope], absorbed queries */
    float *gate, *up;           /* B x (2 * largest FFN width) */
    float *gin, *gout;          /* B x gather width: rows gathered for one expert or head */
    float *router;              /* B x n_expert */
    int64_t *sel;               /* B x n_expert_used: chosen experts, best first */
    float *sel_w;               /* their weights */
    float *moe_out;             /* B x n_expert_used x n_embd */
    int64_t *rows;              /* B: token rows of one expert */
    void *xq;                   /* B x largest activation row in a weight's vec_dot_type */
    float *rope;                /* B x n_rot: cos/sin per token */
    int64_t *cells, *pos;       /* B: cache cell and position of each token */
    int32_t *seq;               /* B: sequence of each token */
    float *kf, *vf;             /* n_ctx x kv dims: float copy of one layer's cache (F16 caches) */
    float *scores;              /* n_threads x n_ctx */
    int64_t *vis_cells, *vis_pos; /* n_threads x n_ctx: keys one query sees */
    int64_t gather_width;
} owl_state;

struct owl_engine {
    const owl_model *model;
    const owl_arch *arch;
    owl_engine_params p;
    owl_dims d;
    owl_weights w;
    owl_kv_cache kv;
    owl_pool *pool;
    owl_state s;
    float *logits;              /* n_batch x n_vocab */
    int64_t *logit_row;         /* n_batch: batch row -> logits row, or -1 */
    int64_t n_rows;             /* tokens of the last decode */
    int8_t *want_last;          /* n_batch: "logits of the last row only" */
    /* resolved per-model settings */
    float attn_softcap, final_softcap, logit_scale, max_alibi_bias;
    int moe_gating;             /* 1 softmax, 2 sigmoid */
    int moe_norm;               /* renormalise top-k weights */
    float moe_scale;
    int64_t n_groups, n_groups_used;
    int parallel_residual;
    /* LoRA adapters (model/lora.c): their factors hang off the linear maps */
    struct owl_lora_set *loras; /* one per adapter, in the order added */
    int n_loras;
    float *lora_u;              /* n_batch x the largest rank: A x of one adapter */
    int64_t lora_rank_cap;
};

/* y[t][o] = W x[t] (+ b) for n_tok rows of x (n_in floats apart); mat picks
   one of a stacked tensor's matrices. Every linear map of the model goes
   through here, so per-sequence LoRA adapters can hook in one place. */
void linear_forward(owl_engine *e, const owl_linear *L, int64_t mat, const float *x, int64_t n_tok, float *y);

/* One batch through the model; tokens, positions, sequences and cells are
   already resolved in e->s. Fills the logits of the wanted rows. */
void owl_forward(owl_engine *e, int64_t n_tok, const int32_t *tokens, const int8_t *want);

#endif
