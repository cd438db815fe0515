/* fuzz_tokenize.c: libFuzzer harness for encoding and decoding. Tokenizers
 * for a SentencePiece and a byte-level BPE vocabulary are built once from
 * ../shared (fuzzers run from the repository root); the first input byte
 * picks the tokenizer and flags, the rest is the text, then its ids are
 * decoded whole and streamed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "owl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static owl_tokenizer *toks[2];

static owl_tokenizer *build(const char *path) {
    owl_error err;
    owl_model *m = NULL;
    owl_tokenizer *t = NULL;
    if (owl_model_open(path, &m, &err) || owl_tokenizer_new(m, &t, &err)) {
        fprintf(stderr, "fuzz_tokenize: %s (run from the repository root, with ../shared beside it)\n", err.message);
        abort();
    }
    owl_model_close(m);
    return t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    toks[0] = build("../shared/vocab/ggml-vocab-llama-spm.gguf");
    toks[1] = build("../shared/vocab/ggml-vocab-gpt-2.gguf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    const owl_tokenizer *t = toks[data[0] & 1];
    unsigned flags = (data[0] >> 1) & 3, special = (data[0] >> 3) & 1;
    owl_error err;
    int32_t *ids = NULL;
    size_t n = 0;
    if (owl_tokenize(t, (const char *)data + 1, size - 1, flags, &ids, &n, &err) == OWL_OK) {
        if (data[0] & 0x10 && n) ids[n / 2] ^= (int32_t)data[size - 1] << 16; /* out-of-range ids must be refused */
        char *text = NULL;
        size_t len = 0;
        if (owl_detokenize(t, ids, n, special, &text, &len, &err) == OWL_OK) free(text);
        owl_detok_stream *s = owl_detok_stream_new(t, special);
        for (size_t i = 0; s && i < n; i++) {
            char *chunk = NULL;
            if (owl_detok_stream_push(s, ids[i], &chunk, &len, &err) == OWL_OK) free(chunk);
        }
        char *rest = NULL;
        if (s && owl_detok_stream_flush(s, &rest, &len, &err) == OWL_OK) free(rest);
        owl_detok_stream_free(s);
    }
    free(ids);
    return 0;
}
