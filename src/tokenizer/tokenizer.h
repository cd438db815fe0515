/* tokenizer.h: the tokenizer's internal state, shared by the engines
 * (spm.c, bpe.c, wpm.c, ugm.c) and the construction and decoding code.
 * Everything here is built once from the vocabulary; encoding only reads it. */
#ifndef OWL_TOKENIZER_TOKENIZER_H
#define OWL_TOKENIZER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"
#include "tokenizer/strmap.h"

#define TOK_MAX_INPUT (256u << 20) /* bytes of text accepted by one call */

typedef enum tok_kind { TOK_SPM = 1, TOK_BPE, TOK_WPM, TOK_UGM } tok_kind;

/* Token attributes, after the fix-ups llama.cpp applies at load time. */
enum {
    TOK_ATTR_UNDEFINED = 0,
    TOK_ATTR_UNKNOWN = 1 << 0,
    TOK_ATTR_UNUSED = 1 << 1,
    TOK_ATTR_NORMAL = 1 << 2,
    TOK_ATTR_CONTROL = 1 << 3,
    TOK_ATTR_USER_DEFINED = 1 << 4,
    TOK_ATTR_BYTE = 1 << 5,
    TOK_ATTR_LSTRIP = 1 << 6,
    TOK_ATTR_RSTRIP = 1 << 7,
};

typedef struct tok_ids {
    int32_t *p;
    size_t n, cap;
} tok_ids;

typedef struct tok_pretok tok_pretok; /* compiled pre-tokenizer regexes (pretok.c) */

struct owl_tokenizer {
    tok_kind kind;
    size_t n_vocab;
    char *blob;          /* every token text, back to back */
    const char **text;   /* per id, into blob */
    uint32_t *len;
    float *score;
    uint8_t *attr;
    size_t max_token_len;
    tok_strmap vocab;    /* text -> id */

    /* byte-level BPE */
    char *merge_blob;
    tok_strmap merges;   /* "left right" -> rank */
    tok_pretok *pre;
    int ignore_merges;   /* a whole pre-token found in the vocabulary is used as is */
    int byte_tok[256];   /* id of each byte's GPT-2 alphabet character, or -1 */

    /* SentencePiece */
    int add_space_prefix;  /* 0 no, 1 at the start and after each special token, 2 only at the start of the text */
    int strip_first_space; /* decoding drops the space the first word was given */
    int spm_split;         /* merges never cross a U+2581 (Metaspace split) */
    int hf_decoder;        /* from a tokenizer.json: its decoder renders added tokens too */
    int spm_byte_tok[256]; /* <0xXX> (or the bare byte) per byte, or -1 */

    /* WordPiece */
    int wpm_phantom;     /* llama.cpp's converted vocabularies: words start with U+2581, no "##" */
    int lowercase, strip_accents;

    int nfc; /* byte-level BPE: text is NFC-normalized first (tokenizer.json normalizer NFC) */

    int32_t bos, eos, unk, sep;
    int add_bos, add_eos, add_sep;

    int32_t *special;    /* control, user-defined and unknown ids, longest text first */
    size_t n_special;
    size_t special_start[257]; /* special ids bucketed by first byte: by_first[start[b]..start[b+1]) */
    int32_t *special_by_first;

    /* what each token decodes to, built once (decode.c) */
    char *piece_blob;
    size_t *piece_off;
    uint32_t *piece_len;
};

int tok_ids_push(tok_ids *v, int32_t id);

/* Looks a byte string up in the vocabulary: id or -1. */
static inline int32_t tok_find(const owl_tokenizer *t, const char *s, size_t n) {
    return tok_strmap_get(&t->vocab, s, n);
}

/* Length of the UTF-8 sequence a lead byte announces (llama.cpp's unicode_len_utf8). */
static inline size_t tok_utf8_len(uint8_t c) {
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}
/* Decodes one strictly valid UTF-8 sequence at s (n bytes left): its length, or 0 if invalid. */
size_t tok_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Writes cp as UTF-8 into out (4 bytes room); returns the length. */
size_t tok_utf8_encode(uint32_t cp, char *out);

/* The engines: encode one fragment of raw text (no special tokens in it). */
owl_status tok_spm_encode(const owl_tokenizer *t, const char *s, size_t n, int prefix_space, tok_ids *out, owl_error *err);
owl_status tok_bpe_encode(const owl_tokenizer *t, const char *s, size_t n, tok_ids *out, owl_error *err);
owl_status tok_wpm_encode(const owl_tokenizer *t, const char *s, size_t n, tok_ids *out, owl_error *err);

/* Pre-tokenizer (pretok.c): regexes chosen by tokenizer.ggml.pre. */
/* A pre name that starts with TOK_PRETOK_REGEXES carries a tokenizer.json's own
 * regexes: then '0' or '1' (ignore_merges) and the regexes separated by
 * TOK_PRETOK_SEP, an empty one standing for ByteLevel's (GPT-2's) regex. */
#define TOK_PRETOK_REGEXES '\x1e'
#define TOK_PRETOK_SEP '\x1f'
/* The tokenizer.ggml.pre name whose regexes are exactly rx[0..n) (a tokenizer.json's
 * Split patterns, in order; NULL for a ByteLevel with use_regex) with this ignore_merges; writes it to name (NUL-terminated,
 * cap bytes) and returns 1, or returns 0 if none matches. */
int tok_pretok_name_for(const char *const *rx, int n, int ignore_merges, char *name, size_t cap);
owl_status tok_pretok_new(const char *pre, tok_pretok **out, int *ignore_merges, owl_error *err);
void tok_pretok_free(tok_pretok *p);
/* Splits s into words; calls fn for each (start, length). Invalid UTF-8 bytes are words of their own. */
typedef owl_status (*tok_word_fn)(void *ctx, const char *s, size_t n, owl_error *err);
owl_status tok_pretok_split(const tok_pretok *p, const char *s, size_t n, tok_word_fn fn, void *ctx, owl_error *err);

/* GPT-2 byte alphabet: byte -> code point, and back (-1 if not in the alphabet). */
uint32_t tok_byte_to_cp(uint8_t b);
int tok_cp_to_byte(uint32_t cp);

/* Renders every token's piece once (decode.c); returns 0 on allocation failure. */
int tok_build_pieces(owl_tokenizer *t);
/* The piece of id as detokenization emits it (empty for control tokens
   unless OWL_DETOKENIZE_SPECIAL). */
void tok_piece(const owl_tokenizer *t, int32_t id, unsigned flags, const char **p, size_t *n);

#endif
