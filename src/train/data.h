/* data.h: training data as token documents with a per-token "scored" flag,
 * and their cutting into fixed-length training sequences (packed, with
 * attention kept inside each document, or one document per sequence). */
#ifndef OWL_TRAIN_DATA_H
#define OWL_TRAIN_DATA_H

#include <stdint.h>

#include "owl.h"

typedef struct train_doc {
    int32_t *tok;
    uint8_t *scored; /* scored[i]: token i is a prediction target */
    int64_t n;
} train_doc;

typedef struct train_data {
    train_doc *docs;
    int64_t n_docs, cap;
    int64_t n_tokens, n_scored;
    char digest[65];   /* SHA-256 of the file */
    char kind[16];     /* "text", "chat", "plain" */
} train_data;

/* Reads JSONL ({"text": ...} or {"messages": [...]} per line; chat turns are
   rendered with the model's chat template, or template_src, and only the
   assistant turns are scored) or, for any other extension, plain text (one
   document). A bad record fails the load naming file and line. */
owl_status train_data_load(const char *path, const owl_model *m, const owl_tokenizer *tk, const char *template_src,
                           train_data *out, owl_error *err);
void train_data_free(train_data *d);

/* Moves a seeded random fraction of the documents (at least one, when there
   are two or more) into eval. */
owl_status train_data_split(train_data *all, double fraction, uint64_t seed, train_data *eval, owl_error *err);

/* One training sequence: T inputs, their targets, weights (1 where scored),
   positions and documents. */
typedef struct train_seq {
    int32_t *tokens, *targets, *pos, *doc;
    float *w;
    int64_t T, n_scored;
} train_seq;

/* The sequences of one pass over the data, in a seeded order per epoch. */
typedef struct train_stream {
    const train_data *d;
    int64_t T;
    int pack;
    uint64_t seed;
    int64_t epoch;          /* the epoch laid out below, -1 before the first */
    int32_t *tok, *docid, *pos;
    uint8_t *scored;
    int64_t len;            /* tokens in the stream */
    int64_t *start, *span;  /* each sequence: first stream index and tokens (<= T + 1) */
    int64_t n_seq;          /* sequences per epoch */
} train_stream;

owl_status train_stream_init(train_stream *s, const train_data *d, int64_t T, int pack, uint64_t seed, owl_error *err);
void train_stream_free(train_stream *s);
/* Sequence g of the whole run (epoch g / n_seq), written into seq (buffers of
   T each, allocated by train_seq_alloc). shuffle 0 keeps file order (eval). */
owl_status train_stream_get(train_stream *s, int64_t g, int shuffle, train_seq *seq, owl_error *err);
owl_status train_seq_alloc(train_seq *q, int64_t T, owl_error *err);
void train_seq_free(train_seq *q);

#endif
