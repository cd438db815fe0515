/* fuzz_grammar.c: libFuzzer harness for the GBNF and regex compilers and the
 * matcher. The first byte picks GBNF or regex; the input up to the first NUL
 * is the grammar, the rest is fed to the matcher byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "owl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    int as_regex = data[0] == 'R';
    data++, size--;
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    owl_error err;
    owl_grammar *g = NULL;
    owl_grammar_match *m = NULL;
    owl_status s = as_regex ? owl_grammar_compile_regex((const char *)data, n, &g, &err)
                            : owl_grammar_compile_gbnf((const char *)data, n, &g, &err);
    if (s == OWL_OK && owl_grammar_match_new(g, &m, &err) == OWL_OK && nul) {
        for (const uint8_t *p = nul + 1; p < data + size; p++) {
            if (!owl_grammar_match_feed(m, (const char *)p, 1)) break;
            (void)owl_grammar_match_complete(m);
        }
    }
    owl_grammar_match_free(m);
    owl_grammar_free(g);
    return 0;
}
