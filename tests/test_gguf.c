/* test_gguf.c: the GGUF reader and writer against the real files in
 * ../shared (figures from ../shared/README.md and the metadata and tensor
 * lists that llama.cpp's tooling recorded in reference/<case>/info.json),
 * byte-exact write round trips, and a corpus of malformed files. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "bytebuf.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "harness.h"
#include "owl.h"
#include "testfiles.h"

static char tmpdir[256];

static void test_stories_gguf(void) {
    owl_model *m = open_ok(shared_path("models/stories260K/stories260K.gguf"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    uint64_t params, bytes;
    owl_model_totals(m, &params, &bytes);
    CHECK(in->format == OWL_FORMAT_GGUF && in->gguf_version == 3);
    CHECK(strcmp(in->architecture, "llama") == 0 && strcmp(in->family, "llama") == 0);
    CHECK(in->n_tensors == 48, "%zu", in->n_tensors);
    CHECK(params == 292800, "%llu", (unsigned long long)params);
    CHECK(in->hp.n_embd == 64 && in->hp.n_layer == 5 && in->hp.n_head == 8 && in->hp.n_head_kv == 4);
    CHECK(in->hp.n_ff == 172 && in->hp.n_vocab == 512 && in->hp.n_ctx_train == 512);
    CHECK(in->tokenizer.n_vocab == 512 && strcmp(in->tokenizer.kind, "llama") == 0);
    const owl_tensor *t = owl_model_find_tensor(m, "blk.0.attn_k.weight");
    CHECK(t && t->dtype == OWL_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 32);
    CHECK(t && (uintptr_t)t->data % 32 == 0, "tensor data must be aligned in the map");
    const owl_tensor *e = owl_model_find_tensor(m, "token_embd.weight");
    CHECK(e && e->ne[0] == 64 && e->ne[1] == 512 && e->n_bytes == 64 * 512 * 4);
    CHECK(owl_model_find_tensor(m, "no.such.tensor") == NULL);
    /* special tokens carry their text from the vocabulary */
    int seen = 0;
    for (size_t i = 0; i < in->tokenizer.n_special; i++) {
        const owl_special_token *s = &in->tokenizer.special[i];
        if (!strcmp(s->role, "bos")) seen += s->id == 1 && s->text && !strcmp(s->text, "<s>");
        if (!strcmp(s->role, "eos")) seen += s->id == 2 && s->text && !strcmp(s->text, "</s>");
    }
    CHECK(seen == 2, "bos/eos ids and texts");
    CHECK(in->license.license && !strcmp(in->license.license, "mit"));
    owl_model_close(m);
}

static void test_tiny_random_gguf(void) {
    owl_model *m = open_ok(shared_path("models/llama-2-tiny-random/llama-2-tiny-random.gguf"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    uint64_t params;
    owl_model_totals(m, &params, NULL);
    CHECK(in->n_tensors == 12 && params == 513048, "%zu %llu", in->n_tensors, (unsigned long long)params);
    CHECK(strcmp(in->architecture, "llama") == 0);
    CHECK(in->tokenizer.n_vocab == 32000);
    const owl_tensor *t = owl_model_find_tensor(m, "token_embd.weight");
    CHECK(t && t->dtype == OWL_F16 && t->ne[0] == 8 && t->ne[1] == 32000);
    owl_model_close(m);
}

static void test_vocab_ggufs(void) {
    static const struct { const char *file; int64_t n_vocab; const char *kind; } cases[] = {
        {"llama-spm", 32000, "llama"},       {"phi-3", 32064, "llama"},     {"gpt-2", 50257, "gpt2"},
        {"gpt-neox", 50432, "gpt2"},         {"mpt", 50432, "gpt2"},        {"starcoder", 49152, "gpt2"},
        {"refact", 49216, "gpt2"},           {"falcon", 65024, "gpt2"},     {"deepseek-llm", 102400, "gpt2"},
        {"deepseek-coder", 32256, "gpt2"},   {"baichuan", 64000, "llama"},  {"bert-bge", 30522, "bert"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", cases[i].file);
        owl_model *m = open_ok(shared_path(rel));
        if (!m) continue;
        const owl_model_info *in = owl_model_get_info(m);
        CHECK(in->tokenizer.n_vocab == cases[i].n_vocab, "%s: %lld", rel, (long long)in->tokenizer.n_vocab);
        CHECK(!strcmp(in->tokenizer.kind, cases[i].kind), "%s: kind %s", rel, in->tokenizer.kind);
        CHECK(in->n_tensors == 0);
        if (!strcmp(cases[i].kind, "gpt2")) CHECK(in->tokenizer.n_merges > 0, "%s has merges", rel);
        owl_model_close(m);
    }
}

/* Compares one metadata value as owl renders it with the reference's. */
static int json_close(json_t *a, json_t *b) {
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return fabs(x - y) <= 1e-6 * fmax(1.0, fabs(y));
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b)) return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_close(json_array_get(a, i), json_array_get(b, i))) return 0;
        return 1;
    }
    return json_equal(a, b);
}

static const char *const dtype_case_names[] = {"F32", "F16", NULL};

static void check_reference_case(const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "reference/%s/model.gguf", name);
    owl_model *m = open_ok(shared_path(rel));
    snprintf(rel, sizeof rel, "reference/%s/info.json", name);
    json_error_t je;
    json_t *info = json_load_file(shared_path(rel), 0, &je);
    CHECK(info != NULL, "%s: %s", rel, je.text);
    if (!m || !info) {
        owl_model_close(m);
        json_decref(info);
        return;
    }
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(!strcmp(in->architecture, json_string_value(json_object_get(info, "arch"))), "%s arch", name);
    CHECK(strcmp(in->family, "unknown") != 0, "%s: family of %s known", name, in->architecture);
    json_t *tensors = json_object_get(info, "tensors");
    CHECK(json_array_size(tensors) == in->n_tensors, "%s: %zu tensors vs %zu", name, json_array_size(tensors), in->n_tensors);
    size_t i;
    json_t *t;
    json_array_foreach(tensors, i, t) {
        if (i >= in->n_tensors) break;
        const owl_tensor *o = &in->tensors[i];
        CHECK(!strcmp(o->name, json_string_value(json_object_get(t, "name"))), "%s: tensor %zu name", name, i);
        CHECK(!strcmp(owl_dtype_name(o->dtype), json_string_value(json_object_get(t, "type"))), "%s: %s type %s", name,
              o->name, owl_dtype_name(o->dtype));
        json_t *ne = json_object_get(t, "ne");
        CHECK((int)json_array_size(ne) == o->n_dims, "%s: %s dims", name, o->name);
        for (size_t k = 0; k < json_array_size(ne) && k < OWL_MAX_DIMS; k++)
            CHECK((uint64_t)json_integer_value(json_array_get(ne, k)) == o->ne[k], "%s: %s ne[%zu]", name, o->name, k);
    }
    char *meta = NULL;
    owl_error err = {0};
    CHECK(owl_model_metadata_json(m, 1, &meta, &err) == OWL_OK);
    json_t *ours = meta ? json_loads(meta, 0, NULL) : NULL;
    const char *key;
    json_t *ref;
    json_object_foreach(json_object_get(info, "metadata"), key, ref) {
        json_t *mine = json_object_get(ours, key);
        CHECK(mine && json_close(mine, ref), "%s: metadata %s differs", name, key);
    }
    json_decref(ours);
    free(meta);
    json_decref(info);
    owl_model_close(m);
}

static void test_reference_models(void) {
    DIR *d = opendir(shared_path("reference"));
    CHECK(d != NULL);
    if (!d) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char rel[512];
        snprintf(rel, sizeof rel, "reference/%s/info.json", e->d_name);
        if (e->d_name[0] == '.' || access(shared_path(rel), R_OK) != 0) continue;
        check_reference_case(e->d_name);
        n++;
    }
    closedir(d);
    CHECK(n == 37, "expected 37 reference cases, found %d", n);
    (void)dtype_case_names;
}

static int files_equal(const char *a, const char *b) {
    owl_mapped_file x, y;
    owl_error err;
    if (owl_map_file(a, &x, &err) || owl_map_file(b, &y, &err)) return 0;
    int eq = x.size == y.size && (x.size == 0 || memcmp(x.data, y.data, (size_t)x.size) == 0);
    owl_unmap_file(&x);
    owl_unmap_file(&y);
    return eq;
}

static void roundtrip(const char *path) {
    owl_model *m = open_ok(path);
    if (!m) return;
    char out[512];
    snprintf(out, sizeof out, "%s/roundtrip.gguf", tmpdir);
    owl_error err = {0};
    CHECK(owl_gguf_save(m, out, &err) == OWL_OK, "%s", err.message);
    CHECK(files_equal(path, out), "%s: written copy differs", path);
    owl_model_close(m);
    unlink(out);
}

static void test_roundtrip(void) {
    roundtrip(shared_path("models/stories260K/stories260K.gguf"));
    roundtrip(shared_path("models/llama-2-tiny-random/llama-2-tiny-random.gguf"));
    roundtrip(shared_path("vocab/ggml-vocab-gpt-2.gguf"));
    roundtrip(shared_path("vocab/ggml-vocab-bert-bge.gguf"));
    static const char *const cases[] = {"gemma3", "deepseek2_v3", "dtype_q4_k_m", "dtype_iq4_nl", "dtype_bf16", "llama4"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "reference/%s/model.gguf", cases[i]);
        roundtrip(shared_path(rel));
    }
}

/* ---- malformed files ---------------------------------------------------- */

/* Pieces of a small valid GGUF, assembled with one piece swapped for a bad one. */
typedef struct gguf_spec {
    uint32_t version;
    uint64_t n_tensors, n_kv;
    bytebuf kv, infos, data;
    size_t align;
    size_t truncate_at; /* 0: no truncation */
} gguf_spec;

static void put_gstr(bytebuf *b, const char *s) {
    bb_u64(b, strlen(s));
    bb_put(b, s, strlen(s));
}

static void kv_u32(bytebuf *b, const char *k, uint32_t v) {
    put_gstr(b, k);
    bb_u32(b, GGUF_U32);
    bb_u32(b, v);
}

static void kv_str(bytebuf *b, const char *k, const char *v) {
    put_gstr(b, k);
    bb_u32(b, GGUF_STRING);
    put_gstr(b, v);
}

static void tensor_info(bytebuf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off) {
    put_gstr(b, name);
    bb_u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) bb_u64(b, ne[i]);
    bb_u32(b, type);
    bb_u64(b, off);
}

/* A valid file: two kvs, two F32 tensors of 8 and 4 elements. */
static void spec_valid(gguf_spec *s) {
    memset(s, 0, sizeof *s);
    s->version = 3;
    s->n_kv = 2;
    s->n_tensors = 2;
    s->align = 32;
    kv_str(&s->kv, "general.architecture", "llama");
    kv_u32(&s->kv, "llama.block_count", 1);
    uint64_t ne_a[2] = {4, 2}, ne_b[1] = {4};
    tensor_info(&s->infos, "a.weight", 2, ne_a, OWL_F32, 0);
    tensor_info(&s->infos, "b.weight", 1, ne_b, OWL_F32, 32);
    for (int i = 0; i < 8; i++) bb_f32(&s->data, (float)i);
    bb_zeros(&s->data, 0);
    for (int i = 0; i < 4; i++) bb_f32(&s->data, 1.0f);
}

static bytebuf spec_build(gguf_spec *s) {
    bytebuf b = {0};
    bb_put(&b, "GGUF", 4);
    bb_u32(&b, s->version);
    bb_u64(&b, s->n_tensors);
    bb_u64(&b, s->n_kv);
    bb_put(&b, s->kv.p, s->kv.n);
    bb_put(&b, s->infos.p, s->infos.n);
    bb_pad(&b, s->align);
    bb_put(&b, s->data.p, s->data.n);
    if (s->truncate_at && s->truncate_at < b.n) b.n = s->truncate_at;
    bb_free(&s->kv);
    bb_free(&s->infos);
    bb_free(&s->data);
    return b;
}

static int corpus_count;

/* Writes the bytes as a file and expects owl_model_open to fail with status
   st and a message containing want. */
static void expect_bad_bytes(const char *label, const bytebuf *b, owl_status want_st, const char *want) {
    char path[512];
    snprintf(path, sizeof path, "%s/%02d-%s.gguf", tmpdir, corpus_count++, label);
    CHECK(bb_write_file(b, path) == 0);
    const char *dump = getenv("OWL_DUMP_CORPUS");
    if (dump) {
        char p2[512];
        snprintf(p2, sizeof p2, "%s/%s.gguf", dump, label);
        bb_write_file(b, p2);
    }
    owl_error err = {0};
    owl_model *m = NULL;
    owl_status st = owl_model_open(path, &m, &err);
    CHECK(st == want_st, "%s: status %d (want %d): %s", label, st, want_st, err.message);
    CHECK(strstr(err.message, want) != NULL, "%s: message '%s' lacks '%s'", label, err.message, want);
    CHECK(strstr(err.message, path) != NULL, "%s: message names the file: %s", label, err.message);
    if (m) owl_model_close(m);
}

#define BAD(label, status, want, ...)          \
    do {                                       \
        gguf_spec s;                           \
        spec_valid(&s);                        \
        __VA_ARGS__;                           \
        bytebuf built = spec_build(&s);        \
        expect_bad_bytes(label, &built, status, want); \
        bb_free(&built);                       \
    } while (0)

static void test_valid_spec_loads(void) {
    gguf_spec s;
    spec_valid(&s);
    bytebuf b = spec_build(&s);
    char path[512];
    snprintf(path, sizeof path, "%s/valid.gguf", tmpdir);
    bb_write_file(&b, path);
    owl_model *m = open_ok(path);
    if (m) {
        const owl_tensor *t = owl_model_find_tensor(m, "a.weight");
        CHECK(t && t->n_elements == 8 && ((const float *)t->data)[7] == 7.0f);
        owl_model_close(m);
    }
    const char *dump = getenv("OWL_DUMP_CORPUS");
    if (dump) {
        snprintf(path, sizeof path, "%s/valid.gguf", dump);
        bb_write_file(&b, path);
    }
    bb_free(&b);
}

static void test_malformed_header(void) {
    bytebuf b = {0};
    expect_bad_bytes("empty", &b, OWL_ERR_INPUT, "not a GGUF file");
    bb_put(&b, "GGU", 3);
    expect_bad_bytes("three-bytes", &b, OWL_ERR_INPUT, "not a GGUF file");
    bb_free(&b);
    BAD("version-1", OWL_ERR_UNSUPPORTED, "version 1 is obsolete", s.version = 1);
    BAD("version-4", OWL_ERR_INPUT, "GGUF version 4", s.version = 4);
    BAD("big-endian", OWL_ERR_UNSUPPORTED, "big-endian", s.version = 0x03000000);
    BAD("truncated-in-counts", OWL_ERR_INPUT, "truncated", s.truncate_at = 14);
    BAD("n-kv-2^64", OWL_ERR_INPUT, "metadata count", s.n_kv = UINT64_MAX);
    BAD("n-tensors-2^64", OWL_ERR_INPUT, "tensor count", s.n_tensors = UINT64_MAX);
    BAD("n-kv-too-many", OWL_ERR_INPUT, "runs past the end", s.n_kv = 3);
}

static void test_malformed_metadata(void) {
    BAD("key-len-2^64", OWL_ERR_INPUT, "runs past the end", bb_free(&s.kv); bb_u64(&s.kv, UINT64_MAX); s.n_kv = 1);
    BAD("key-len-past-end", OWL_ERR_INPUT, "runs past the end", bb_free(&s.kv); bb_u64(&s.kv, 100000); s.n_kv = 1);
    BAD("key-empty", OWL_ERR_INPUT, "empty key", bb_free(&s.kv); put_gstr(&s.kv, ""); bb_u32(&s.kv, GGUF_U8); bb_u8(&s.kv, 1); s.n_kv = 1);
    BAD("key-bad-utf8", OWL_ERR_INPUT, "not valid UTF-8", bb_free(&s.kv); kv_u32(&s.kv, "bad\xC3\x28key", 1); s.n_kv = 1);
    BAD("key-overlong-utf8", OWL_ERR_INPUT, "not valid UTF-8", bb_free(&s.kv); kv_u32(&s.kv, "a\xC0\xAF", 1); s.n_kv = 1);
    BAD("key-duplicate", OWL_ERR_INPUT, "appears twice", kv_u32(&s.kv, "llama.block_count", 2); s.n_kv = 3);
    BAD("value-type-13", OWL_ERR_INPUT, "value type 13", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, 13); bb_u32(&s.kv, 0); s.n_kv = 1);
    BAD("value-type-huge", OWL_ERR_INPUT, "value type 4294967295", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, UINT32_MAX); bb_u32(&s.kv, 0); s.n_kv = 1);
    BAD("string-past-end", OWL_ERR_INPUT, "runs past the end", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_STRING); bb_u64(&s.kv, 1u << 30); s.n_kv = 1);
    BAD("bool-2", OWL_ERR_INPUT, "expected 0 or 1", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_BOOL); bb_u8(&s.kv, 2); s.n_kv = 1);
    BAD("array-elem-type-13", OWL_ERR_INPUT, "element type 13", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, 13); bb_u64(&s.kv, 1); s.n_kv = 1);
    BAD("array-count-2^64", OWL_ERR_INPUT, "cannot fit", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, GGUF_U8); bb_u64(&s.kv, UINT64_MAX); s.n_kv = 1);
    BAD("array-count-2^61-u64", OWL_ERR_INPUT, "cannot fit", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, GGUF_U64); bb_u64(&s.kv, (uint64_t)1 << 61); s.n_kv = 1);
    BAD("array-strings-truncated", OWL_ERR_INPUT, "runs past the end", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, GGUF_STRING); bb_u64(&s.kv, 2); put_gstr(&s.kv, "ok"); bb_u64(&s.kv, 999999); s.n_kv = 1);
    BAD("array-bool-5", OWL_ERR_INPUT, "expected 0 or 1", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, GGUF_BOOL); bb_u64(&s.kv, 2); bb_u8(&s.kv, 1); bb_u8(&s.kv, 5); s.n_kv = 1);
    BAD("array-nesting-100", OWL_ERR_INPUT, "nested more than", bb_free(&s.kv); put_gstr(&s.kv, "x"); bb_u32(&s.kv, GGUF_ARRAY);
        for (int i = 0; i < 100; i++) { bb_u32(&s.kv, GGUF_ARRAY); bb_u64(&s.kv, 1); } bb_u32(&s.kv, GGUF_U8); bb_u64(&s.kv, 0); s.n_kv = 1);
    BAD("alignment-0", OWL_ERR_INPUT, "power of two", kv_u32(&s.kv, "general.alignment", 0); s.n_kv = 3);
    BAD("alignment-3", OWL_ERR_INPUT, "power of two", kv_u32(&s.kv, "general.alignment", 3); s.n_kv = 3);
    BAD("alignment-string", OWL_ERR_INPUT, "power of two", kv_str(&s.kv, "general.alignment", "32"); s.n_kv = 3);
    BAD("tokens-not-strings", OWL_ERR_INPUT, "must be an array of string", put_gstr(&s.kv, "tokenizer.ggml.tokens"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, GGUF_U8); bb_u64(&s.kv, 1); bb_u8(&s.kv, 1); s.n_kv = 3);
    BAD("scores-count-mismatch", OWL_ERR_INPUT, "scores has 1",
        put_gstr(&s.kv, "tokenizer.ggml.tokens"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, GGUF_STRING); bb_u64(&s.kv, 2); put_gstr(&s.kv, "a"); put_gstr(&s.kv, "b");
        put_gstr(&s.kv, "tokenizer.ggml.scores"); bb_u32(&s.kv, GGUF_ARRAY); bb_u32(&s.kv, GGUF_F32); bb_u64(&s.kv, 1); bb_f32(&s.kv, 0); s.n_kv = 4);
    BAD("chat-template-5MiB", OWL_ERR_INPUT, "tokenizer.chat_template is 5242880 bytes long",
        put_gstr(&s.kv, "tokenizer.chat_template"); bb_u32(&s.kv, GGUF_STRING); bb_u64(&s.kv, 5u << 20); bb_zeros(&s.kv, 5u << 20); s.n_kv = 3);
    BAD("block-count-huge", OWL_ERR_INPUT, "out of range", put_gstr(&s.kv, "llama.embedding_length"); bb_u32(&s.kv, GGUF_U64); bb_u64(&s.kv, UINT64_MAX - 1); s.n_kv = 3);
}

static void test_malformed_tensors(void) {
    uint64_t ne2[2] = {4, 2}, ne1[1] = {4};
    BAD("tensor-name-empty", OWL_ERR_INPUT, "empty or invalid", bb_free(&s.infos); tensor_info(&s.infos, "", 1, ne1, 0, 0); s.n_tensors = 1);
    BAD("tensor-name-bad-utf8", OWL_ERR_INPUT, "empty or invalid", bb_free(&s.infos); tensor_info(&s.infos, "w\xFF", 1, ne1, 0, 0); s.n_tensors = 1);
    BAD("tensor-name-too-long", OWL_ERR_INPUT, "exceeds the limit", bb_free(&s.infos); char big[2000]; memset(big, 'a', 1999); big[1999] = 0; tensor_info(&s.infos, big, 1, ne1, 0, 0); s.n_tensors = 1);
    BAD("tensor-name-len-2^64", OWL_ERR_INPUT, "runs past the end", bb_free(&s.infos); bb_u64(&s.infos, UINT64_MAX); s.n_tensors = 1);
    BAD("n-dims-0", OWL_ERR_INPUT, "0 dimensions", bb_free(&s.infos); tensor_info(&s.infos, "a", 0, ne1, 0, 0); s.n_tensors = 1);
    BAD("n-dims-5", OWL_ERR_INPUT, "5 dimensions", bb_free(&s.infos); uint64_t ne5[5] = {1, 1, 1, 1, 1}; tensor_info(&s.infos, "a", 5, ne5, 0, 0); s.n_tensors = 1);
    BAD("dim-zero", OWL_ERR_INPUT, "dimension 1 is 0", bb_free(&s.infos); uint64_t z[2] = {4, 0}; tensor_info(&s.infos, "a", 2, z, 0, 0); s.n_tensors = 1);
    BAD("dim-2^63", OWL_ERR_INPUT, "expected 1..2^63-1", bb_free(&s.infos); uint64_t h[1] = {(uint64_t)1 << 63}; tensor_info(&s.infos, "a", 1, h, 0, 0); s.n_tensors = 1);
    BAD("dims-product-overflow", OWL_ERR_INPUT, "overflows", bb_free(&s.infos); uint64_t h[2] = {(uint64_t)1 << 32, (uint64_t)1 << 32}; tensor_info(&s.infos, "a", 2, h, 0, 0); s.n_tensors = 1);
    BAD("bytes-overflow", OWL_ERR_INPUT, "overflows", bb_free(&s.infos); uint64_t h[2] = {(uint64_t)1 << 32, (uint64_t)1 << 30}; tensor_info(&s.infos, "a", 2, h, OWL_F64, 0); s.n_tensors = 1);
    BAD("type-unknown-99", OWL_ERR_INPUT, "type id 99", bb_free(&s.infos); tensor_info(&s.infos, "a", 1, ne1, 99, 0); s.n_tensors = 1);
    BAD("type-unassigned-4", OWL_ERR_UNSUPPORTED, "Q4_2", bb_free(&s.infos); tensor_info(&s.infos, "a", 1, ne1, 4, 0); s.n_tensors = 1);
    BAD("type-removed-31", OWL_ERR_UNSUPPORTED, "Q4_0_4_4 (id 31), which ggml removed", bb_free(&s.infos); tensor_info(&s.infos, "a", 1, ne1, 31, 0); s.n_tensors = 1);
    BAD("row-not-whole-blocks", OWL_ERR_INPUT, "not a multiple of its block size 32", bb_free(&s.infos); uint64_t q[1] = {33}; tensor_info(&s.infos, "a", 1, q, OWL_Q4_0, 0); s.n_tensors = 1);
    BAD("offset-misaligned", OWL_ERR_INPUT, "not a multiple of the alignment", bb_free(&s.infos); tensor_info(&s.infos, "a", 1, ne1, 0, 4); s.n_tensors = 1);
    BAD("offset-past-end", OWL_ERR_INPUT, "data section holds only", bb_free(&s.infos); tensor_info(&s.infos, "a", 1, ne1, 0, 1 << 20); s.n_tensors = 1);
    BAD("offset-near-2^64", OWL_ERR_INPUT, "data section holds only", bb_free(&s.infos); tensor_info(&s.infos, "a", 1, ne1, 0, UINT64_MAX - 31); s.n_tensors = 1);
    BAD("data-truncated", OWL_ERR_INPUT, "data section holds only", s.data.n -= 4);
    BAD("tensors-overlap", OWL_ERR_INPUT, "overlap", bb_free(&s.infos); tensor_info(&s.infos, "a.weight", 2, ne2, 0, 0); tensor_info(&s.infos, "b.weight", 1, ne1, 0, 0));
    BAD("tensor-duplicate-name", OWL_ERR_INPUT, "appears twice", bb_free(&s.infos); tensor_info(&s.infos, "a", 1, ne1, 0, 0); tensor_info(&s.infos, "a", 1, ne1, 0, 32));
    BAD("data-offset-past-eof", OWL_ERR_INPUT, "past the end of the file", bb_free(&s.data); s.truncate_at = 0; s.align = 1);
}

/* Every prefix of a real file, cut inside each section, must be refused
   cleanly: header, metadata, tensor infos, padding, data. */
static void test_truncated_everywhere(void) {
    owl_mapped_file f;
    owl_error err = {0};
    const char *path = shared_path("models/stories260K/stories260K.gguf");
    CHECK(owl_map_file(path, &f, &err) == OWL_OK);
    if (!f.data) return;
    owl_gguf *g = NULL;
    CHECK(owl_gguf_parse(f.data, f.size, path, &g, &err) == OWL_OK);
    uint64_t data_off = g ? g->data_offset : 0;
    owl_gguf_free(g);
    int refused = 0, tried = 0;
    for (uint64_t cut = 0; cut < f.size; cut += (cut < data_off + 64 ? 1 : 4093)) {
        owl_gguf *h = NULL;
        owl_error e2 = {0};
        owl_status st = owl_gguf_parse(f.data, cut, "cut.gguf", &h, &e2);
        tried++;
        if (st != OWL_OK && strstr(e2.message, "cut.gguf: ")) refused++;
        owl_gguf_free(h);
    }
    CHECK(refused == tried, "%d of %d truncations refused with a message", refused, tried);
    CHECK(tried > 1000);
    owl_unmap_file(&f);
}

/* Many keys and tensors: duplicate detection and lookups stay n log n. */
static void test_many_entries(void) {
    enum { N = 100000 };
    bytebuf b = {0};
    bb_put(&b, "GGUF", 4);
    bb_u32(&b, 3);
    bb_u64(&b, N);
    bb_u64(&b, N + 1);
    char name[32];
    kv_str(&b, "general.architecture", "llama");
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "k.%06d", (int)(((long long)i * 7919) % N));
        kv_u32(&b, name, (uint32_t)i);
    }
    uint64_t ne[1] = {8};
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "t.%06d", (int)(((long long)i * 104729) % N));
        tensor_info(&b, name, 1, ne, OWL_F32, (uint64_t)i * 32);
    }
    bb_pad(&b, 32);
    bb_zeros(&b, (size_t)N * 32);
    owl_gguf *g = NULL;
    owl_error err = {0};
    CHECK(owl_gguf_parse(b.p, b.n, "many.gguf", &g, &err) == OWL_OK, "%s", err.message);
    int64_t v = -1;
    CHECK(g && owl_gguf_get_int(g, "k.007919", &v) && v == 1, "lookup gives %lld", (long long)v);
    int found = 0;
    for (int i = 0; g && i < 1000; i++) {
        snprintf(name, sizeof name, "k.%06d", i);
        found += owl_gguf_find(g, name) != NULL;
    }
    CHECK(found == 1000);
    CHECK(g && owl_gguf_find(g, "k.100000") == NULL);
    owl_gguf_free(g);
    bb_free(&b);
}

static void test_dtype_table(void) {
    uint64_t b;
    CHECK(owl_dtype_bytes(OWL_Q4_K, 512, &b) == OWL_OK && b == 288);
    CHECK(owl_dtype_bytes(OWL_Q8_0, 64, &b) == OWL_OK && b == 68);
    CHECK(owl_dtype_bytes(OWL_IQ4_NL, 32, &b) == OWL_OK && b == 18);
    CHECK(owl_dtype_bytes(OWL_Q6_K, 256, &b) == OWL_OK && b == 210);
    CHECK(owl_dtype_bytes(OWL_Q4_0, 33, &b) == OWL_ERR_INPUT);
    CHECK(owl_dtype_bytes(31, 32, &b) == OWL_ERR_UNSUPPORTED);
    CHECK(owl_dtype_bytes(OWL_F32, UINT64_MAX / 2, &b) == OWL_ERR_INPUT);
    CHECK(!strcmp(owl_dtype_name(OWL_BF16), "BF16") && !strcmp(owl_dtype_name(OWL_MXFP4), "MXFP4"));
    CHECK(owl_dtype_name(77) == NULL && owl_dtype_name(-1) == NULL);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/owl-test-gguf-XXXXXX");
    if (!mkdtemp(tmpdir)) return 2;
    RUN(test_dtype_table);
    RUN(test_stories_gguf);
    RUN(test_tiny_random_gguf);
    RUN(test_vocab_ggufs);
    RUN(test_reference_models);
    RUN(test_roundtrip);
    RUN(test_valid_spec_loads);
    RUN(test_malformed_header);
    RUN(test_malformed_metadata);
    RUN(test_malformed_tensors);
    RUN(test_truncated_everywhere);
    RUN(test_many_entries);
    printf("malformed GGUF files tried: %d\n", corpus_count);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    DONE("test_gguf");
}
