/* bench_json_schema.c: what JSON-Schema-constrained decoding costs: tokens/s
 * of sampled generation on stories260K with and without a schema (the mask
 * is computed every step from the token trie), and the mask's own time per
 * step. Best of 5 runs of 256 tokens each; a finished value is followed by
 * the next one, so both runs cover the same context lengths. */
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

static const char *SCHEMA =
    "{\"type\": \"array\", \"maxItems\": 1000, \"items\": {\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\","
    " \"maxLength\": 40}, \"age\": {\"type\": \"integer\"}, \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}}";

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "../shared/models/stories260K/stories260K.gguf";
    owl_error err = {0};
    owl_model *m = NULL;
    owl_engine *e = NULL;
    owl_tokenizer *tk = NULL;
    owl_token_trie *trie = NULL;
    owl_json_schema *s = NULL;
    owl_engine_params ep = owl_engine_default_params();
    ep.n_threads = 1;
    ep.n_ctx = 300;
    if (owl_model_open(path, &m, &err) || owl_engine_new(m, &ep, &e, &err) || owl_tokenizer_new(m, &tk, &err) ||
        owl_token_trie_new(tk, owl_engine_n_vocab(e), &trie, &err) || owl_json_schema_compile(SCHEMA, &s, &err)) {
        fprintf(stderr, "bench_json_schema: %s\n", err.message);
        return 1;
    }
    int64_t V = owl_engine_n_vocab(e);
    uint8_t *allowed = malloc((size_t)V);
    float *masked = malloc((size_t)V * sizeof *masked);
    double best[2] = {1e9, 1e9}, mask_time = 1e9;
    for (int rep = 0; rep < 5; rep++)
        for (int constrained = 0; constrained < 2; constrained++) {
            owl_sampler_params sp = owl_sampler_default_params();
            sp.seed = 1;
            owl_sampler *sm = NULL;
            owl_json_match *jm = NULL;
            owl_sampler_new(&sp, V, &sm, &err);
            owl_json_match_new(s, &jm, &err);
            owl_engine_seq_drop(e, 0, 0, -1, &err);
            int32_t tok = 1;
            double t0 = now(), tm = 0;
            int n = 0;
            for (; n < 256; n++) {
                owl_batch b = {.n_tokens = 1, .tokens = &tok};
                if (owl_engine_decode(e, &b, &err)) break;
                const float *l = owl_engine_logits(e, 0);
                if (constrained) {
                    double a = now();
                    if (!owl_json_match_allowed(jm, trie, allowed)) break;
                    for (int64_t v = 0; v < V; v++) masked[v] = allowed[v] ? l[v] : -INFINITY;
                    tm += now() - a;
                    l = masked;
                }
                tok = owl_sampler_sample(sm, l);
                if (constrained) { /* a finished value: the next one starts (both runs make 256 tokens) */
                    size_t pl;
                    const char *p = owl_token_piece(tk, tok, &pl);
                    if (owl_token_is_eog(tk, tok)) {
                        owl_json_match_free(jm);
                        owl_json_match_new(s, &jm, &err);
                    } else if (!owl_json_match_feed(jm, p, pl)) {
                        break;
                    }
                }
            }
            double dt = (now() - t0) / (n ? n : 1);
            if (dt < best[constrained]) best[constrained] = dt;
            if (constrained && n && tm / n < mask_time) mask_time = tm / n;
            owl_json_match_free(jm);
            owl_sampler_free(sm);
        }
    printf("json schema (%s, vocabulary %lld): %.0f tokens/s free, %.0f tokens/s constrained (%.1f%% slower); mask %.1f us per step\n",
           path, (long long)V, 1 / best[0], 1 / best[1], 100 * (best[1] / best[0] - 1), mask_time * 1e6);
    free(allowed);
    free(masked);
    owl_json_schema_free(s);
    owl_token_trie_free(trie);
    owl_tokenizer_free(tk);
    owl_engine_free(e);
    owl_model_close(m);
    return 0;
}
