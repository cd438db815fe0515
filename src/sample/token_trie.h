/* token_trie.h: the trie of every token's bytes that constraints walk to
 * find the tokens allowed next (built in json_schema.c, shared with grammar.c). */
#ifndef OWL_SAMPLE_TOKEN_TRIE_H
#define OWL_SAMPLE_TOKEN_TRIE_H

#include <stdint.h>

#include "owl.h"

typedef struct tnode {
    int32_t child;  /* first child, -1 */
    int32_t next;   /* next sibling, -1 */
    int32_t token;  /* a token ending here, -1; more than one: chained through tok_next */
    unsigned char byte;
} tnode;

struct owl_token_trie {
    tnode *n;
    int32_t count, cap;
    int32_t *tok_next; /* per token: another token with the same bytes, -1 */
    int64_t n_vocab;
    int32_t eog[8];
    int n_eog;
};

#endif
