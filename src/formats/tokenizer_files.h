/* tokenizer_files.h: readers of standalone tokenizer files (Hugging Face
 * tokenizer.json, SentencePiece .model, encoder.json + vocab.bpe) and the
 * vocabulary-building helpers they and the llama2.c tokenizer share. */
#ifndef OWL_FORMATS_TOKENIZER_FILES_H
#define OWL_FORMATS_TOKENIZER_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "core/mapped_file.h"
#include "model/model.h"

/* Caps on what a tokenizer file may declare: the largest real vocabularies
   hold ~260k tokens and ~300k merges, so these only stop hostile sizes. */
#define OWL_MAX_VOCAB (1u << 23)
#define OWL_MAX_MERGES (1u << 23)

/* Token types, numbered as SentencePiece and GGUF number them. */
enum owl_token_type {
    OWL_TOKEN_NORMAL = 1,
    OWL_TOKEN_UNKNOWN = 2,
    OWL_TOKEN_CONTROL = 3,
    OWL_TOKEN_USER_DEFINED = 4,
    OWL_TOKEN_UNUSED = 5,
    OWL_TOKEN_BYTE = 6,
};

/* ---- the formats ---------------------------------------------------------
 * A *_parse call reads bytes already in memory (the fuzzers use these): it
 * registers `path` as a source file without a map, and the vocabulary may
 * point into `data`, which must outlive m. A *_load call maps or reads the
 * file itself. All of them set m->info.format only when it is still 0. */
owl_status owl_tokenizer_json_parse(owl_model *m, const char *text, size_t len, const char *path, owl_error *err);
/* alone: also read tokenizer_config.json / config.json beside the file for
   special tokens (set when the tokenizer is opened by itself). */
owl_status owl_tokenizer_json_load(owl_model *m, const char *path, int alone, owl_error *err);

owl_status owl_sentencepiece_parse(owl_model *m, const uint8_t *data, size_t size, const char *path, owl_error *err);
owl_status owl_sentencepiece_load(owl_model *m, const char *path, owl_error *err);

owl_status owl_bpe_files_parse(owl_model *m, const char *encoder_json, size_t encoder_len, const uint8_t *merges,
                               size_t merges_len, const char *path, owl_error *err);
owl_status owl_bpe_files_load(owl_model *m, const char *encoder_path, const char *merges_path, owl_error *err);

/* ---- shared vocabulary helpers -------------------------------------------- */

/* Starts a vocabulary of up to `cap` ids (all empty, types NORMAL when asked
   for). Refuses a second vocabulary and caps above OWL_MAX_VOCAB. */
owl_status owl_vocab_reserve(owl_model *m, uint64_t cap, int with_scores, int with_types, const char *path,
                             owl_error *err);
/* Places a token at id; copy = 1 copies the bytes into the arena. Fails on an
   id outside the reservation or one already taken. `what` names the place in
   the file for the error message. */
owl_status owl_vocab_put(owl_model *m, int64_t id, const char *s, size_t len, int copy, const char *what,
                         const char *path, owl_error *err);
/* 1 if id is inside the reservation and holds a token. */
int owl_vocab_has(const owl_model *m, int64_t id);
/* Ends building: the vocabulary runs from 0 to the largest id placed, and
   every id in between must hold a token. */
owl_status owl_vocab_seal(owl_model *m, const char *path, owl_error *err);
owl_status owl_vocab_reserve_merges(owl_model *m, uint64_t n, const char *path, owl_error *err);
/* Id of the token with exactly these bytes, or -1 (a linear scan: for the
   handful of special-token look-ups only). */
int64_t owl_vocab_lookup(const owl_model *m, const char *s, size_t len);
/* "<0x0A>"-style byte tokens of SentencePiece vocabularies. */
int owl_token_is_byte(const char *s, size_t len);

/* Registers a tokenizer source file (role "tokenizer"), takes the map, and
   points m->info.tokenizer.source at its path. Returns the file index or -1. */
int owl_tokenizer_add_file(owl_model *m, const char *path, owl_mapped_file *map, uint64_t size, owl_error *err);
void owl_tokenizer_set_format(owl_model *m, owl_format format);

/* Writes s as a short quoted literal for error messages (control and
   non-ASCII bytes escaped, long tokens cut). */
const char *owl_token_quote(char *buf, size_t cap, const char *s, size_t len);

#endif
