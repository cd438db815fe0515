/* lora_model.h: a frozen base model with LoRA adapters on its linear maps,
 * and the forward and backward passes over one training sequence. The base
 * stays in its stored type (QLoRA): rows are dequantized tile by tile as the
 * matrix products need them, never as a full F32 copy. Adapter parameters,
 * their gradients and the optimizer moments live in flat arrays with the
 * same layout (llm.c's one allocation pointed into by named tensors). */
#ifndef OWL_TRAIN_LORA_MODEL_H
#define OWL_TRAIN_LORA_MODEL_H

#include "model/arch.h"
#include "model/threadpool.h"
#include "model/weights.h"
#include "owl.h"

/* The linear maps a LoRA can target, in PEFT's module order. */
enum { LORA_Q, LORA_K, LORA_V, LORA_O, LORA_GATE, LORA_UP, LORA_DOWN, LORA_N_SLOTS };
extern const char *const owl_lora_slot_names[LORA_N_SLOTS]; /* "q", "k", ... */

typedef struct lora_slot {
    const owl_linear *base;     /* NULL: not adapted */
    char target[64];            /* canonical base tensor name */
    int64_t n_in, n_out;
    int64_t off_a, off_b;       /* offsets into params / grads: A is rank x n_in, B n_out x rank */
    float *u;                   /* saved A x: T x rank */
} lora_slot;

/* Activations of one sequence kept for backward (T rows each). */
typedef struct lora_layer_acts {
    float *x0, *h1, *r1;        /* layer input, attention norm out, its rstd */
    float *q, *k, *v;           /* after q/k norms and RoPE */
    float *qn, *kn, *rq, *rk;   /* q/k before their per-head norms, and the rstds (qk-norm families) */
    float *p;                   /* n_head x T x T attention probabilities */
    float *att;                 /* T x n_head*head_dim */
    float *x1, *h2, *r2;        /* after attention residual, FFN norm out, its rstd */
    float *g, *up, *act;        /* FFN gate, up, silu(gate)*up */
} lora_layer_acts;

typedef struct lora_model {
    const owl_model *m;
    const owl_arch *arch;
    owl_dims d;
    owl_weights w;
    owl_pool *pool;
    int64_t rank;
    float scale;                /* alpha / rank, or alpha / sqrt(rank) (rsLoRA) */
    float dropout;
    lora_slot *slots;           /* n_layer x LORA_N_SLOTS */
    float *params, *grads;      /* n_params each */
    int64_t n_params;
    int64_t T;                  /* longest sequence */
    lora_layer_acts *acts;
    float *xf, *hf, *rf;        /* final residual, final norm out, rstd */
    float *logits, *dlogits;    /* logit_chunk x n_vocab */
    int64_t logit_chunk, *logit_rows;
    /* backward scratch */
    float *dx, *dh, *da, *dq, *dk, *dv, *datt, *dg, *dup, *dact, *du, *xd, *rope_cs, *dp;
    float *row_tmp;             /* n_threads x 2 widest rows */
    float *bwd_tile;            /* n_threads x rows of dequantized weights (backward) */
    int64_t bwd_tile_w;
    uint64_t dropout_key;       /* set per sequence: the dropout masks are a hash of it */
} lora_model;

typedef struct lora_config {
    int64_t rank;
    double alpha, dropout;
    int use_rslora;
    unsigned targets;           /* bit i: slot i */
    uint64_t seed;              /* initialisation of A */
} lora_config;

/* Binds the base, checks the family is one training supports and allocates
   everything for sequences of up to T tokens. */
owl_status lora_model_new(const owl_model *m, const lora_config *c, int64_t T, int n_threads, lora_model **out,
                          owl_error *err);
void lora_model_free(lora_model *lm);

/* One sequence: tokens[t] predicts targets[t] with loss weight weights[t]
   (0: not scored); pos[t] its position, doc[t] its packed document (NULL:
   one document, positions 0..T-1). Returns the weighted loss sum; with
   backward, adds the gradients of that sum into lm->grads. */
double lora_model_sequence(lora_model *lm, const int32_t *tokens, const int32_t *targets, const float *weights,
                           const int32_t *pos, const int32_t *doc, int64_t T, int backward);

/* Logits of every position (T x n_vocab) through the same forward: for
   tests that compare with the inference engine. */
void lora_model_logits(lora_model *lm, const int32_t *tokens, int64_t T, float *out);

#endif
