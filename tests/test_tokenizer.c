/* test_tokenizer.c: the tokenizer beyond llama.cpp's vectors: the real
 * stories260K model (ids from llama.cpp in models/stories260K/ref/once.json),
 * special-token parsing, BOS/EOS, streaming detokenization that never splits
 * a UTF-8 sequence, invalid UTF-8 input, and malformed vocabularies built here. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>

#include "core/utf8.h"
#include "formats/gguf.h"
#include "harness.h"
#include "owl.h"

static char tmpdir[256];

static owl_tokenizer *load(const char *rel) {
    owl_error err = {0};
    owl_model *m = NULL;
    owl_tokenizer *t = NULL;
    if (owl_model_open(shared_path(rel), &m, &err) || owl_tokenizer_new(m, &t, &err)) CHECK(0, "%s: %s", rel, err.message);
    owl_model_close(m);
    return t;
}

static size_t encode(const owl_tokenizer *t, const char *s, size_t len, unsigned flags, int32_t *out, size_t cap) {
    owl_error err = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    owl_status st = owl_tokenize(t, s, len, flags, &ids, &n, &err);
    CHECK(st == OWL_OK, "tokenize '%s': %s", s, err.message);
    if (n > cap) n = cap;
    if (ids) memcpy(out, ids, n * sizeof *ids);
    free(ids);
    return n;
}

static int same(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || !memcmp(a, b, na * sizeof *a));
}

static void test_stories260k(void) {
    owl_tokenizer *t = load("models/stories260K/stories260K.gguf");
    if (!t) return;
    int32_t ids[64];
    static const int32_t want[] = {1, 403, 407, 261, 378};
    size_t n = encode(t, "Once upon a time", 16, OWL_TOKENIZE_ADD_SPECIAL, ids, 64);
    CHECK(same(ids, n, want, 5), "got %zu ids, first %d", n, n ? ids[0] : -1);
    char *text = NULL;
    size_t len;
    owl_error err;
    CHECK(owl_detokenize(t, ids, n, 0, &text, &len, &err) == OWL_OK && !strcmp(text, "Once upon a time"), "'%s'", text ? text : "");
    free(text);
    CHECK(owl_detokenize(t, ids, n, OWL_DETOKENIZE_SPECIAL, &text, &len, &err) == OWL_OK && !strcmp(text, "<s> Once upon a time"),
          "'%s'", text ? text : "");
    free(text);
    owl_tokenizer_free(t);
}

static void test_add_special(void) {
    owl_tokenizer *t = load("vocab/ggml-vocab-llama-spm.gguf");
    int32_t ids[64];
    static const int32_t hello[] = {1, 15043};
    size_t n = t ? encode(t, "Hello", 5, OWL_TOKENIZE_ADD_SPECIAL, ids, 64) : 0;
    CHECK(same(ids, n, hello, 2), "llama-spm BOS");
    /* control tokens: parsed only when asked */
    static const int32_t eos_parsed[] = {15043, 2};
    n = t ? encode(t, "Hello</s>", 9, OWL_TOKENIZE_PARSE_SPECIAL, ids, 64) : 0;
    CHECK(same(ids, n, eos_parsed, 2), "</s> parsed: %zu ids", n);
    n = t ? encode(t, "Hello</s>", 9, 0, ids, 64) : 0;
    CHECK(n > 2, "</s> as text");
    owl_tokenizer_free(t);

    t = load("vocab/ggml-vocab-bert-bge.gguf");
    static const int32_t bert[] = {101, 7592, 2088, 102};
    n = t ? encode(t, "Hello World", 11, OWL_TOKENIZE_ADD_SPECIAL, ids, 64) : 0;
    CHECK(same(ids, n, bert, 4), "bert [CLS] hello world [SEP]: %zu ids", n);
    owl_tokenizer_free(t);

    t = load("vocab/ggml-vocab-gpt-2.gguf");
    n = t ? encode(t, "a<|endoftext|>b", 15, OWL_TOKENIZE_PARSE_SPECIAL, ids, 64) : 0;
    CHECK(n == 3 && ids[1] == 50256, "gpt-2 <|endoftext|> parsed");
    n = t ? encode(t, "a<|endoftext|>b", 15, 0, ids, 64) : 0;
    CHECK(n > 3, "gpt-2 <|endoftext|> as text");
    char *text = NULL;
    size_t len;
    owl_error err;
    int32_t eot[] = {64, 50256, 65};
    CHECK(t && owl_detokenize(t, eot, 3, 0, &text, &len, &err) == OWL_OK && !strcmp(text, "ab"));
    free(text);
    text = NULL;
    CHECK(t && owl_detokenize(t, eot, 3, OWL_DETOKENIZE_SPECIAL, &text, &len, &err) == OWL_OK && !strcmp(text, "a<|endoftext|>b"));
    free(text);
    owl_tokenizer_free(t);
}

/* Feeds the ids one at a time: every chunk must be valid UTF-8 and together they must be the whole decode. */
static void stream_case(const char *rel, const char *s) {
    owl_tokenizer *t = load(rel);
    if (!t) return;
    owl_error err;
    int32_t *ids = NULL;
    size_t n = 0, full_len = 0;
    char *full = NULL;
    CHECK(owl_tokenize(t, s, strlen(s), 0, &ids, &n, &err) == OWL_OK);
    CHECK(owl_detokenize(t, ids, n, 0, &full, &full_len, &err) == OWL_OK && !strcmp(full, s), "%s: '%s'", rel, full ? full : "");
    owl_detok_stream *ds = owl_detok_stream_new(t, 0);
    char joined[1024] = "";
    size_t jn = 0;
    int held = 0;
    for (size_t i = 0; i <= n && ds; i++) {
        char *chunk = NULL;
        size_t len = 0;
        owl_status st = i < n ? owl_detok_stream_push(ds, ids[i], &chunk, &len, &err) : owl_detok_stream_flush(ds, &chunk, &len, &err);
        CHECK(st == OWL_OK, "%s", err.message);
        CHECK(owl_utf8_valid(chunk, len), "%s: chunk %zu is not valid UTF-8", rel, i);
        held += i < n && len == 0;
        if (jn + len < sizeof joined) memcpy(joined + jn, chunk, len), jn += len;
        free(chunk);
    }
    joined[jn] = '\0';
    CHECK(!strcmp(joined, full ? full : ""), "%s: stream '%s' vs '%s'", rel, joined, full ? full : "");
    CHECK(held > 0, "%s: some multi-byte character must have been held back", rel);
    owl_detok_stream_free(ds);
    free(ids);
    free(full);
    owl_tokenizer_free(t);
}

static void test_stream_utf8(void) {
    const char *s = "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\xa6\x99 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x9c\x85 \xf0\x9f\x98\xb6\xe2\x80\x8d\xf0\x9f\x8c\xab\xef\xb8\x8f";
    stream_case("vocab/ggml-vocab-gpt-2.gguf", s);     /* byte-level pieces split characters */
    stream_case("vocab/ggml-vocab-llama-spm.gguf", s); /* <0xXX> byte fallback */
}

/* Invalid UTF-8 is split into single bytes (byte-level BPE: each its own
   word; SentencePiece: llama.cpp's symbols by lead byte, then <0xXX>). */
static void invalid_case(const char *rel, const char *s, size_t n, int lossless) {
    owl_tokenizer *t = load(rel);
    if (!t) return;
    owl_error err;
    int32_t *ids = NULL;
    size_t n_ids = 0, len = 0;
    char *text = NULL;
    CHECK(owl_tokenize(t, s, n, 0, &ids, &n_ids, &err) == OWL_OK && n_ids > 0, "%s: %s", rel, err.message);
    CHECK(owl_detokenize(t, ids, n_ids, 0, &text, &len, &err) == OWL_OK);
    if (lossless) CHECK(len == n && !memcmp(text, s, len), "%s: invalid bytes must survive a round trip", rel);
    free(ids);
    free(text);
    owl_tokenizer_free(t);
}

static void test_invalid_utf8(void) {
    const char s[] = "a\xff\xfe" "b \xe6\x97 c\xc3";
    invalid_case("vocab/ggml-vocab-gpt-2.gguf", s, sizeof s - 1, 1);
    const char spm[] = "a\x80\x80" "b c\xc3";
    invalid_case("vocab/ggml-vocab-llama-spm.gguf", spm, sizeof spm - 1, 1);
    /* SentencePiece symbols span as many bytes as the lead byte announces
       (0xFE: 4), as in llama.cpp, so the escaped space after "b" is spelled
       in bytes and comes back as U+2581 */
    owl_tokenizer *t = load("vocab/ggml-vocab-llama-spm.gguf");
    int32_t ids[32];
    static const int32_t want[] = {263, 258, 257, 101, 229, 153, 132, 233, 154, 102, 198};
    size_t n = t ? encode(t, "a\xff\xfe" "b \xe6\x97" "c\xc3", 9, 0, ids, 32) : 0;
    CHECK(same(ids, n, want, 11), "%zu ids", n);
    owl_tokenizer_free(t);
    /* DeepSeek's added tokens spell the bytes UTF-8 never uses ("\xc3\xbf" for 0xFF): not lossless by design */
    invalid_case("vocab/ggml-vocab-deepseek-llm.gguf", s, sizeof s - 1, 0);
}

static void test_bad_calls(void) {
    owl_tokenizer *t = load("vocab/ggml-vocab-gpt-2.gguf");
    if (!t) return;
    owl_error err = {0};
    int32_t bad[] = {15496, 50257};
    char *text = NULL;
    size_t len;
    CHECK(owl_detokenize(t, bad, 2, 0, &text, &len, &err) == OWL_ERR_INPUT && strstr(err.message, "50257") &&
          strstr(err.message, "out of range"), "%s", err.message);
    int32_t neg = -1;
    CHECK(owl_detokenize(t, &neg, 1, 0, &text, &len, &err) == OWL_ERR_INPUT);
    owl_detok_stream *ds = owl_detok_stream_new(t, 0);
    CHECK(owl_detok_stream_push(ds, 99999999, &text, &len, &err) == OWL_ERR_INPUT);
    owl_detok_stream_free(ds);
    int32_t *ids = NULL;
    size_t n;
    CHECK(owl_tokenize(t, "x", (size_t)300 << 20, 0, &ids, &n, &err) == OWL_ERR_NOMEM && strstr(err.message, "limit"));
    CHECK(owl_tokenize(t, "", 0, 0, &ids, &n, &err) == OWL_OK && n == 0 && ids);
    free(ids);
    owl_tokenizer_free(t);
}

/* ---- malformed vocabularies, written with the GGUF writer ---- */
static owl_gguf_kv kv_str(const char *key, const char *val) {
    owl_gguf_kv kv = {{key, strlen(key)}, {.type = GGUF_STRING}, 0};
    kv.value.s = (owl_strview){val, strlen(val)};
    return kv;
}
static owl_gguf_kv kv_strs(const char *key, owl_strview *items, uint64_t n) {
    owl_gguf_kv kv = {{key, strlen(key)}, {.type = GGUF_ARRAY}, 0};
    kv.value.arr.elem_type = GGUF_STRING;
    kv.value.arr.n = n;
    kv.value.arr.strs = items;
    return kv;
}

static owl_status try_vocab(const char *name, const char *kind, const char *pre, const char *const *toks, size_t n_tok,
                            const char *const *merges, size_t n_merges, owl_error *err) {
    owl_strview tv[16], mv[16];
    for (size_t i = 0; i < n_tok; i++) tv[i] = (owl_strview){toks[i], strlen(toks[i])};
    for (size_t i = 0; i < n_merges; i++) mv[i] = (owl_strview){merges[i], strlen(merges[i])};
    owl_gguf_kv kv[5];
    uint64_t n_kv = 0;
    kv[n_kv++] = kv_str("general.architecture", "gpt2");
    kv[n_kv++] = kv_str("tokenizer.ggml.model", kind);
    if (pre) kv[n_kv++] = kv_str("tokenizer.ggml.pre", pre);
    kv[n_kv++] = kv_strs("tokenizer.ggml.tokens", tv, n_tok);
    if (n_merges) kv[n_kv++] = kv_strs("tokenizer.ggml.merges", mv, n_merges);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", tmpdir, name);
    owl_status st = owl_gguf_write(path, 3, kv, n_kv, NULL, 0, 32, err);
    CHECK(st == OWL_OK, "writing %s: %s", path, err->message);
    owl_model *m = NULL;
    owl_tokenizer *t = NULL;
    if ((st = owl_model_open(path, &m, err)) == OWL_OK) st = owl_tokenizer_new(m, &t, err);
    owl_tokenizer_free(t);
    owl_model_close(m);
    unlink(path);
    return st;
}

static void test_malformed_vocab(void) {
    static const char *const toks[] = {"a", "b", "ab", "\xc4\xa0"};
    static const char *const merges[] = {"a b"};
    owl_error err = {0};
    CHECK(try_vocab("ok", "gpt2", "gpt-2", toks, 4, merges, 1, &err) == OWL_OK, "%s", err.message);
    CHECK(try_vocab("no-merges", "gpt2", "gpt-2", toks, 4, NULL, 0, &err) == OWL_ERR_INPUT && strstr(err.message, "merges"),
          "%s", err.message);
    static const char *const dup[] = {"a", "b", "a"};
    CHECK(try_vocab("dup", "gpt2", "gpt-2", dup, 3, merges, 1, &err) == OWL_ERR_INPUT && strstr(err.message, "duplicate token") &&
          strstr(err.message, "ids 0 and 2"), "%s", err.message);
    CHECK(try_vocab("pre", "gpt2", "frobnicator-9", toks, 4, merges, 1, &err) == OWL_ERR_INPUT && strstr(err.message, "'frobnicator-9'"),
          "%s", err.message);
    CHECK(try_vocab("kind", "wordsmith", NULL, toks, 4, NULL, 0, &err) == OWL_ERR_INPUT && strstr(err.message, "'wordsmith'"),
          "%s", err.message);
    CHECK(try_vocab("empty", "llama", NULL, toks, 0, NULL, 0, &err) == OWL_ERR_INPUT, "%s", err.message);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/owl-test-tokenizer.XXXXXX");
    if (!mkdtemp(tmpdir)) return 3;
    RUN(test_stories260k);
    RUN(test_add_special);
    RUN(test_stream_utf8);
    RUN(test_invalid_utf8);
    RUN(test_bad_calls);
    RUN(test_malformed_vocab);
    rmdir(tmpdir);
    DONE("test_tokenizer");
}
