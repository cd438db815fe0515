/* strmap.h: a byte-string -> int32 hash table (open addressing) for the
 * vocabulary and the merge ranks. Built once; keys are not copied, they
 * point into memory the tokenizer owns. */
#ifndef OWL_TOKENIZER_STRMAP_H
#define OWL_TOKENIZER_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tok_strmap {
    const char **key;
    uint32_t *klen;
    int32_t *val;
    uint32_t *slot; /* entry index + 1, 0 = empty */
    size_t n, cap_entries, mask;
} tok_strmap;

/* Room for up to max_entries keys; returns 0 on allocation failure. */
int tok_strmap_init(tok_strmap *m, size_t max_entries);
void tok_strmap_free(tok_strmap *m);
/* Inserts key -> val unless the key is present; returns the value already
   there (so callers can report duplicates), or -1 if it was inserted. */
int32_t tok_strmap_put(tok_strmap *m, const char *key, size_t n, int32_t val);
/* Value for key, or -1. */
int32_t tok_strmap_get(const tok_strmap *m, const char *key, size_t n);
/* Value for the key a + " " + b (merge pairs) without building it, or -1. */
int32_t tok_strmap_get_pair(const tok_strmap *m, const char *a, size_t na, const char *b, size_t nb);

#endif
