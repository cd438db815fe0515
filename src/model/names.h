/* names.h: Hugging Face names mapped to owl's: model_type -> family id
 * (llama.cpp's architecture names) and checkpoint tensor names -> canonical
 * GGUF tensor names, both kept as tables of data in names.c. */
#ifndef OWL_MODEL_NAMES_H
#define OWL_MODEL_NAMES_H

#include <stddef.h>

#include "model/model.h"
#include "owl.h"

/* Family id for a config.json model_type ("mistral" -> "llama",
   "deepseek_v3" -> "deepseek2"); "unknown" when owl does not know it. */
const char *owl_family_from_hf(const char *model_type);
/* Family id from a transformers class name ("Qwen2MoeForCausalLM",
   "GPT2LMHeadModel"); "unknown" when none matches. */
const char *owl_family_from_hf_class(const char *architecture);
/* transformers' default for tie_word_embeddings when config.json omits it:
   1 for the families whose config class defaults to tied (gemma, gpt2, ...). */
int owl_family_ties_by_default(const char *family);

/* Canonical name of a Hugging Face tensor name, written to out:
   model.layers.3.self_attn.q_proj.weight -> blk.3.attn_q.weight.
   family (may be NULL) picks the variants that differ between families:
   gemma2/gemma3/olmo2 put norms after attention and after the MLP.
   Mixture-of-experts weights stay one 2-D tensor per expert, named
   blk.N.ffn_{gate,up,down}.E.weight (llama.cpp's converter stacks them into
   3-D blk.N.ffn_*_exps.weight; a description keeps what the file holds).
   Returns 1 if a pattern matched, 0 if the name was copied unchanged, -1 if
   the result does not fit in out_size bytes (out is then ""). */
int owl_hf_tensor_name(const char *hf_name, const char *family, char *out, size_t out_size);

/* The other way: the Hugging Face name of a canonical one (blk.3.attn_q.weight
   -> model.layers.3.self_attn.q_proj.weight), for writers. Several Hugging
   Face layouts share canonical names; the first row of the table wins, which
   for the common names is Llama's. Returns 1 if found, 0 if no row maps the
   name, -1 if the result does not fit (out is "" unless 1). */
int owl_hf_name_of(const char *canonical, const char *family, char *out, size_t out_size);

/* Gives tensors [first, m->n_tensors) their canonical names (a name no
   pattern knows stays as found); source_name is kept. */
owl_status owl_model_canonical_names(owl_model *m, size_t first, const char *family, owl_error *err);

#endif
