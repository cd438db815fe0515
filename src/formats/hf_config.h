/* hf_config.h: the text files of a Hugging Face model directory, each
 * parsed from memory so the fuzzers and tests can feed them directly:
 * config.json, tokenizer_config.json and README.md's YAML front matter. */
#ifndef OWL_FORMATS_HF_CONFIG_H
#define OWL_FORMATS_HF_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "model/model.h"
#include "owl.h"

#define OWL_HF_MAX_LIST 256     /* base models or datasets kept from a README */
#define OWL_HF_MAX_VALUE 4096   /* bytes of one README value or config string */

/* config.json: architecture, family, hyperparameters, tied embeddings and
   the bos/eos/unk/pad ids; the object is kept as metadata "config". Values
   of the wrong type or out of range are errors naming the field. */
owl_status owl_hf_config_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err);

/* The special token ids of a config object (bos_token_id, eos_token_id (a
   list gives its first id; the whole list stays in the metadata),
   unk_token_id, pad_token_id). Negative ids mean "none" and are skipped. */
owl_status owl_hf_config_specials(owl_model *m, const json_t *config, const char *path, owl_error *err);

/* tokenizer_config.json: add_bos_token / add_eos_token, the chat template
   (a string, or a list of {"name", "template"}: "default" or else the
   first), and bos/eos/unk/pad token strings (a string or {"content": ...}),
   resolved to ids when a vocabulary is already loaded. Kept as metadata
   "tokenizer_config" without added_tokens_decoder and chat_template. */
owl_status owl_hf_tokenizer_config_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err);

/* README.md front matter (between leading "---" lines): license,
   license_name, license_link, base_model and datasets (a value or a list).
   Anything else in the YAML is skipped; only running out of memory fails. */
owl_status owl_hf_readme_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err);

/* Sets key in m->metadata (created as an object if absent); takes value. */
owl_status owl_hf_metadata_set(owl_model *m, const char *key, json_t *value, owl_error *err);

#endif
