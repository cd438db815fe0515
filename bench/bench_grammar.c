/* bench_grammar.c: what grammar-constrained decoding costs: tokens/s of
 * sampled generation on stories260K with and without a GBNF grammar and a
 * regex (the mask is computed every step by walking the token trie), and the
 * mask's own time per step. Best of 5 runs (or argv[2]) of 256 tokens; a finished match is
 * followed by the next one, so every run makes 256 tokens. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "owl.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char GBNF[] =
    "root   ::= object\n"
    "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
    "object ::= \"{\" ws ( string \":\" ws value (\",\" ws string \":\" ws value)* )? \"}\" ws\n"
    "array  ::= \"[\" ws ( value (\",\" ws value)* )? \"]\" ws\n"
    "string ::= \"\\\"\" ( [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4}) ){0,40} \"\\\"\" ws\n"
    "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ws\n"
    "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";
static const char REGEX[] = "([A-Z][a-z]{1,12}( [a-z]{1,12}){2,12}[.!?] ){1,8}";

/* seconds per token for a free run (g NULL) or a constrained one; *mask: mask seconds per step */
static double run(owl_engine *e, owl_tokenizer *tk, owl_token_trie *trie, const owl_grammar *g, double *mask) {
    owl_error err = {0};
    int64_t V = owl_engine_n_vocab(e);
    uint8_t *allowed = malloc((size_t)V);
    float *masked = malloc((size_t)V * sizeof *masked);
    owl_sampler_params sp = owl_sampler_default_params();
    sp.seed = 1;
    owl_sampler *sm = NULL;
    owl_grammar_match *gm = NULL;
    owl_sampler_new(&sp, V, &sm, &err);
    if (g) owl_grammar_match_new(g, &gm, &err);
    owl_engine_seq_drop(e, 0, 0, -1, &err);
    int32_t tok = 1;
    double t0 = now(), tm = 0;
    int n = 0;
    for (; n < 256; n++) {
        owl_batch b = {.n_tokens = 1, .tokens = &tok};
        if (owl_engine_decode(e, &b, &err)) break;
        const float *l = owl_engine_logits(e, 0);
        if (gm) {
            double a = now();
            if (!owl_grammar_match_allowed(gm, trie, allowed)) break;
            for (int64_t v = 0; v < V; v++) masked[v] = allowed[v] ? l[v] : -INFINITY;
            tm += now() - a;
            l = masked;
        }
        tok = owl_sampler_sample(sm, l);
        if (gm) {
            size_t pl;
            const char *p = owl_token_piece(tk, tok, &pl);
            if (owl_token_is_eog(tk, tok)) {
                owl_grammar_match_free(gm);
                owl_grammar_match_new(g, &gm, &err);
            } else if (!owl_grammar_match_feed(gm, p, pl)) {
                break;
            }
        }
    }
    owl_grammar_match_free(gm);
    owl_sampler_free(sm);
    free(allowed);
    free(masked);
    *mask = n ? tm / n : 0;
    return n == 256 ? (now() - t0) / n : 1e9;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "../shared/models/stories260K/stories260K.gguf";
    owl_error err = {0};
    owl_model *m = NULL;
    owl_engine *e = NULL;
    owl_tokenizer *tk = NULL;
    owl_token_trie *trie = NULL;
    owl_grammar *gg = NULL, *gr = NULL;
    owl_engine_params ep = owl_engine_default_params();
    ep.n_threads = 1;
    ep.n_ctx = 300;
    if (owl_model_open(path, &m, &err) || owl_engine_new(m, &ep, &e, &err) || owl_tokenizer_new(m, &tk, &err) ||
        owl_token_trie_new(tk, owl_engine_n_vocab(e), &trie, &err) || owl_grammar_compile_gbnf(GBNF, strlen(GBNF), &gg, &err) ||
        owl_grammar_compile_regex(REGEX, strlen(REGEX), &gr, &err)) {
        fprintf(stderr, "bench_grammar: %s\n", err.message);
        return 1;
    }
    double best[3] = {1e9, 1e9, 1e9}, mask[3] = {1e9, 1e9, 1e9};
    const owl_grammar *gs[3] = {NULL, gg, gr};
    int reps = argc > 2 ? atoi(argv[2]) : 5; /* fewer for big models */
    if (reps < 1 || reps > 100) reps = 5;
    for (int rep = 0; rep < reps; rep++)
        for (int k = 0; k < 3; k++) {
            double mk, dt = run(e, tk, trie, gs[k], &mk);
            if (dt < best[k]) best[k] = dt;
            if (mk < mask[k]) mask[k] = mk;
        }
    printf("grammar (%s, vocabulary %lld): %.0f tokens/s free; JSON GBNF %.0f tokens/s (%.1f%% slower), mask %.1f us per step;"
           " regex %.0f tokens/s (%.1f%% slower), mask %.1f us per step\n",
           path, (long long)owl_engine_n_vocab(e), 1 / best[0], 1 / best[1], 100 * (best[1] / best[0] - 1), mask[1] * 1e6,
           1 / best[2], 100 * (best[2] / best[0] - 1), mask[2] * 1e6);
    owl_grammar_free(gg);
    owl_grammar_free(gr);
    owl_token_trie_free(trie);
    owl_tokenizer_free(tk);
    owl_engine_free(e);
    owl_model_close(m);
    return 0;
}
