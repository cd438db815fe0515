/* token_mask.c: one sequence's output constraint (a JSON Schema or a grammar)
 * as the two hooks a generation loop needs: mask the tokens that would leave
 * it, and follow the token chosen. owl run, owl serve and owl_generate's
 * filter/on_token hooks all go through it, whatever the kind of constraint. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "owl.h"

struct owl_token_mask {
    owl_json_match *json;    /* exactly one of these two */
    owl_grammar_match *grammar;
    const owl_token_trie *trie;
    const owl_tokenizer *tk;
    uint8_t *allowed;        /* n_vocab bytes */
    int64_t n_vocab;
};

owl_status owl_token_mask_new(const owl_json_schema *schema, const owl_grammar *grammar, const owl_tokenizer *tk,
                              const owl_token_trie *trie, int64_t n_vocab, owl_token_mask **out, owl_error *err) {
    *out = NULL;
    if (!schema == !grammar || !tk || !trie || n_vocab <= 0)
        return owl_fail(err, OWL_ERR_USAGE, "owl_token_mask_new: one schema or grammar, a tokenizer, its trie and n_vocab");
    owl_token_mask *m = calloc(1, sizeof *m);
    if (!m || !(m->allowed = malloc((size_t)n_vocab))) {
        free(m);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    }
    m->trie = trie;
    m->tk = tk;
    m->n_vocab = n_vocab;
    owl_status st = schema ? owl_json_match_new(schema, &m->json, err) : owl_grammar_match_new(grammar, &m->grammar, err);
    if (st) {
        owl_token_mask_free(m);
        return st;
    }
    *out = m;
    return OWL_OK;
}

void owl_token_mask_free(owl_token_mask *m) {
    if (!m) return;
    owl_json_match_free(m->json);
    owl_grammar_match_free(m->grammar);
    free(m->allowed);
    free(m);
}

int owl_token_mask_apply(void *mask, float *logits, int64_t n_vocab) {
    owl_token_mask *m = mask;
    int64_t n = m->json ? owl_json_match_allowed(m->json, m->trie, m->allowed)
                        : owl_grammar_match_allowed(m->grammar, m->trie, m->allowed);
    if (!n) return 1;
    for (int64_t v = 0; v < n_vocab && v < m->n_vocab; v++)
        if (!m->allowed[v]) logits[v] = -INFINITY;
    return 0;
}

void owl_token_mask_accept(void *mask, int32_t token) {
    owl_token_mask *m = mask;
    if (owl_token_is_eog(m->tk, token)) return;
    size_t n = 0;
    const char *piece = owl_token_piece(m->tk, token, &n);
    if (!piece) return;
    if (m->json) owl_json_match_feed(m->json, piece, n);
    else owl_grammar_match_feed(m->grammar, piece, n);
}
