/* llama2c.h: Karpathy's llama2.c files: float checkpoints (v0 with a bare
 * 7-int header, v1 with the 256-byte "ak42" header), int8 exports (v2), and
 * the tokenizer .bin. The parse calls work on memory for the fuzzers. */
#ifndef OWL_FORMATS_LLAMA2C_H
#define OWL_FORMATS_LLAMA2C_H

#include <stdint.h>

#include "model/model.h"

#define OWL_LLAMA2C_MAGIC 0x616b3432u  /* "ak42" read as a little-endian uint32 */
#define OWL_LLAMA2C_V0_HEADER 28       /* 7 int32 */
#define OWL_LLAMA2C_V1_HEADER 256
#define OWL_LLAMA2C_MAX_TOKEN_LEN (1 << 16)

/* A checkpoint of any version held in memory (data must outlive m); fills
   hyperparameters and tensors and registers `path` without a map. */
owl_status owl_llama2c_parse(owl_model *m, const uint8_t *data, uint64_t size, const char *path, owl_error *err);

/* ---- tokenizer .bin (run.c build_tokenizer) -------------------------------
 * int32 max_token_length, then per token {f32 score, int32 len, len bytes}.
 * The token count is not in the file: n_tokens is the checkpoint's vocabulary
 * size, or 0 to read records up to the end of the file. Either way the
 * records must end exactly at the end of the file. */

/* Checks the layout without touching any model; *count gets the token count. */
owl_status owl_llama2c_tokenizer_scan(const uint8_t *data, uint64_t size, uint64_t n_tokens, uint64_t *count,
                                      const char *path, owl_error *err);
/* Fills m->vocab from a scanned file (tokens may point into data). */
owl_status owl_llama2c_tokenizer_fill(owl_model *m, const uint8_t *data, uint64_t count, const char *path,
                                      owl_error *err);
owl_status owl_llama2c_tokenizer_parse(owl_model *m, const uint8_t *data, uint64_t size, uint64_t n_tokens,
                                       const char *path, owl_error *err);
/* A tokenizer .bin by itself (its own source file, format llama2c-tokenizer). */
owl_status owl_llama2c_tokenizer_load(owl_model *m, const char *path, owl_error *err);

#endif
