/* bench_tokenize.c: encoding speed per vocabulary (MB/s of input text) on a
 * generated ~1 MB text: English-like words, code, numbers, punctuation,
 * whitespace runs and some non-Latin scripts. Best of 5 runs. */
#define _POSIX_C_SOURCE 200809L
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

static char *make_text(size_t target, size_t *len) {
    static const char *const words[] = {
        "the", "of", "and", "tokenizer", "model", "weights", "Once", "upon", "a", "time", "there", "was", "little",
        "girl", "named", "Lily", "she", "loved", "to", "play", "outside", "it's", "we'll", "3.14159", "2024", "42,",
        "int main(void) {", "return 0;", "}", "    ", "\n", "\n\n", "\t", "for (i = 0; i < n; i++)", "x += y * 2;",
        "caf\xc3\xa9", "na\xc3\xafve", "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "\xe4\xbd\xa0\xe5\xa5\xbd",
        "\xe4\xb8\x96\xe7\x95\x8c", "\xf0\x9f\xa6\x99", "\xce\xb1\xce\xb2\xce\xb3", "(normal)", "e.g.", "--", "!!",
    };
    size_t nw = sizeof words / sizeof words[0];
    char *t = malloc(target + 64);
    if (!t) return NULL;
    size_t n = 0;
    unsigned x = 12345;
    while (n < target) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 8) % nw];
        size_t k = strlen(w);
        memcpy(t + n, w, k);
        n += k;
        if ((x >> 20) % 5) t[n++] = ' ';
    }
    *len = n;
    return t;
}

int main(void) {
    const char *shared = getenv("OWL_SHARED") ? getenv("OWL_SHARED") : "../shared";
    static const char *const vocabs[] = {"llama-spm", "phi-3", "gpt-2", "mpt", "starcoder", "falcon",
                                         "deepseek-llm", "deepseek-coder", "bert-bge"};
    size_t len;
    char *text = make_text(1u << 20, &len);
    if (!text) return 1;
    printf("bench_tokenize: encode %.2f MB of mixed text, best of 5\n", (double)len / 1e6);
    for (size_t v = 0; v < sizeof vocabs / sizeof vocabs[0]; v++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", shared, vocabs[v]);
        owl_error err;
        owl_model *m = NULL;
        owl_tokenizer *t = NULL;
        double t0 = now();
        if (owl_model_open(path, &m, &err) || owl_tokenizer_new(m, &t, &err)) {
            fprintf(stderr, "bench: %s\n", err.message);
            return 1;
        }
        double build = now() - t0;
        owl_model_close(m);
        double best = 1e9;
        size_t n_ids = 0;
        for (int r = 0; r < 5; r++) {
            int32_t *ids = NULL;
            double s = now();
            if (owl_tokenize(t, text, len, OWL_TOKENIZE_PARSE_SPECIAL, &ids, &n_ids, &err)) {
                fprintf(stderr, "bench: %s\n", err.message);
                return 1;
            }
            double d = now() - s;
            if (d < best) best = d;
            free(ids);
        }
        printf("  %-16s %8.2f MB/s  %8zu tokens  (tokenizer built in %.1f ms)\n", vocabs[v], (double)len / 1e6 / best, n_ids,
               1e3 * build);
        owl_tokenizer_free(t);
    }
    free(text);
    return 0;
}
