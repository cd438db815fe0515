/* lora.h: LoRA adapters resolved against a base model: one F32 pair of
 * factors per adapted weight, checked, scaled and in the base's row order,
 * shared by the engine (applied unmerged in linear_forward) and by merging. */
#ifndef OWL_MODEL_LORA_H
#define OWL_MODEL_LORA_H

#include <stdint.h>

#include "model/model.h"
#include "owl.h"

struct owl_engine;

/* y += b (a x): one adapter on one weight. b already carries the whole scale
   (the caller's scale times alpha / r), so the forward pass only multiplies. */
typedef struct owl_lora_factors {
    char *target;       /* canonical base weight name */
    int adapter;        /* the adapter's index on the engine: a per-row selection will pick by it */
    int64_t rank, n_in, n_out;
    float *a;           /* rank x n_in */
    float *b;           /* n_out x rank, rows in the base's order, scaled */
    struct owl_lora_factors *next; /* the next adapter on the same linear map */
} owl_lora_factors;

/* All the factors of one adapter. */
typedef struct owl_lora_set {
    owl_lora_factors *f;
    size_t n;
} owl_lora_set;

/* The factors of an adapter file (PEFT, MLX, GGUF LoRA) or of a description
   against base: names, shapes and ranks checked, converted to F32, q/k rows
   brought into the base's order, scale folded into b. */
owl_status owl_lora_resolve_model(const owl_model *base, const owl_model *adapter, float scale, owl_lora_set *out,
                                  owl_error *err);
owl_status owl_lora_resolve_desc(const owl_model *base, const owl_lora_desc *d, float scale, owl_lora_set *out,
                                 owl_error *err);
void owl_lora_set_free(owl_lora_set *s);

/* 1 if llama.cpp's converter stores this family's q/k rows interleaved
   (convert_hf_to_gguf.py's permute), so its GGUFs and Hugging Face
   checkpoints differ in row order. */
int owl_lora_family_permutes(const char *family);
/* 1 if the base model holds q/k rows in that interleaved order (a GGUF or
   llama2.c checkpoint of such a family; never a Hugging Face directory). */
int owl_lora_base_interleaved(const owl_model *base);

/* Rows of a q or k matrix (n_head heads of head_dim rows, cols floats each)
   from rotate-half to interleaved order (to_interleaved = 1) or back.
   dst and src must not overlap. */
void owl_lora_permute_rows(const float *src, float *dst, int64_t n_head, int64_t head_dim, int64_t cols,
                           int to_interleaved);

/* The engine's side (lora.c): y += every adapter's b (a x) for n_tok rows. */
void owl_lora_forward(struct owl_engine *e, const owl_lora_factors *f, const float *x, int64_t n_tok, float *y);
void owl_engine_free_loras(struct owl_engine *e);

#endif
