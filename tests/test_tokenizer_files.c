/* test_tokenizer_files.c: tokenizer.json, SentencePiece .model and encoder.json
 * + vocab.bpe readers on the real files (against Python-computed figures and
 * llama.cpp's vocabulary GGUFs), then hand-built good and bad files. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytebuf.h"
#include "formats/protobuf.h"
#include "formats/tokenizer_files.h"
#include "harness.h"
#include "model/model.h"
#include "owl.h"

static char tmpdir[256];

static owl_model *open_ok(const char *path) {
    owl_error err = {0};
    owl_model *m = NULL;
    owl_status st = owl_model_open(path, &m, &err);
    CHECK(st == OWL_OK, "%s: %s", path, err.message);
    return m;
}

static int token_is(const owl_model *m, size_t id, const char *s) {
    return id < m->vocab.n_tokens && m->vocab.tokens[id].len == strlen(s) &&
           memcmp(m->vocab.tokens[id].p, s, strlen(s)) == 0;
}

static int merge_is(const owl_model *m, size_t i, const char *s) {
    return i < m->vocab.n_merges && m->vocab.merges[i].len == strlen(s) && memcmp(m->vocab.merges[i].p, s, strlen(s)) == 0;
}

static int64_t special_id(const owl_model *m, const char *role, const char **text) {
    const owl_tokenizer_info *t = &owl_model_get_info(m)->tokenizer;
    for (size_t i = 0; i < t->n_special; i++)
        if (!strcmp(t->special[i].role, role)) {
            if (text) *text = t->special[i].text;
            return t->special[i].id;
        }
    return -1;
}

static size_t count_type(const owl_model *m, int32_t type) {
    size_t n = 0;
    for (size_t i = 0; i < m->vocab.n_tokens; i++) n += m->vocab.types[i] == type;
    return n;
}

/* Same tokens (and merges, scores, types where both have them) as another model. */
static void check_same_vocab(const owl_model *a, const owl_model *b, int scores, const char *what) {
    CHECK(a->vocab.n_tokens == b->vocab.n_tokens, "%s: %zu vs %zu tokens", what, a->vocab.n_tokens, b->vocab.n_tokens);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < a->vocab.n_tokens && i < b->vocab.n_tokens; i++) {
        const owl_strview *x = &a->vocab.tokens[i], *y = &b->vocab.tokens[i];
        int same = x->len == y->len && memcmp(x->p, y->p, x->len) == 0 && a->vocab.types[i] == b->vocab.types[i] &&
                   (!scores || a->vocab.scores[i] == b->vocab.scores[i]);
        if (!same && !bad++) first = i;
    }
    CHECK(bad == 0, "%s: %zu tokens differ, first at id %zu", what, bad, first);
    CHECK(a->vocab.n_merges == b->vocab.n_merges, "%s: %zu vs %zu merges", what, a->vocab.n_merges, b->vocab.n_merges);
    bad = 0;
    for (size_t i = 0; i < a->vocab.n_merges && i < b->vocab.n_merges; i++)
        bad += a->vocab.merges[i].len != b->vocab.merges[i].len ||
               memcmp(a->vocab.merges[i].p, b->vocab.merges[i].p, a->vocab.merges[i].len) != 0;
    CHECK(bad == 0, "%s: %zu merges differ", what, bad);
}

/* ---- SentencePiece ------------------------------------------------------- */

static void test_sentencepiece_tok512(void) {
    owl_model *m = open_ok(shared_path("models/stories260K/tok512.model"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(in->format == OWL_FORMAT_SENTENCEPIECE && in->n_tensors == 0 && in->n_files == 1);
    CHECK(!strcmp(in->tokenizer.kind, "llama") && in->tokenizer.n_vocab == 512 && in->tokenizer.n_merges == 0);
    CHECK(in->tokenizer.add_bos == -1 && in->tokenizer.add_eos == -1, "a .model does not say");
    CHECK(token_is(m, 1, "<s>") && token_is(m, 259, "\xe2\x96\x81t") && token_is(m, 511, "\xe2\x80\x8a"));
    CHECK(m->vocab.scores[511] == -252.0f && m->vocab.types[3] == OWL_TOKEN_BYTE);
    CHECK(count_type(m, OWL_TOKEN_BYTE) == 256 && count_type(m, OWL_TOKEN_CONTROL) == 2 &&
          count_type(m, OWL_TOKEN_UNKNOWN) == 1 && count_type(m, OWL_TOKEN_NORMAL) == 253);
    const char *text;
    CHECK(special_id(m, "unk", &text) == 0 && !strcmp(text, "<unk>"));
    CHECK(special_id(m, "bos", &text) == 1 && !strcmp(text, "<s>"));
    CHECK(special_id(m, "eos", &text) == 2 && !strcmp(text, "</s>"));
    CHECK(special_id(m, "pad", NULL) == -1, "pad_id defaults to -1");
    /* the trainer and normalizer flags, from the file or the .proto defaults */
    CHECK(m->metadata && !strcmp(json_string_value(json_object_get(m->metadata, "sentencepiece.model_type")), "BPE"));
    CHECK(json_is_true(json_object_get(m->metadata, "sentencepiece.byte_fallback")));
    CHECK(json_is_true(json_object_get(m->metadata, "sentencepiece.normalizer.add_dummy_prefix")));
    CHECK(json_is_true(json_object_get(m->metadata, "sentencepiece.normalizer.remove_extra_whitespaces")));
    CHECK(json_integer_value(json_object_get(m->metadata, "sentencepiece.vocab_size")) == 512);
    /* llama.cpp's GGUF of stories260K holds this vocabulary */
    owl_model *g = open_ok(shared_path("models/stories260K/stories260K.gguf"));
    if (g) check_same_vocab(m, g, 1, "tok512.model vs stories260K.gguf");
    owl_model_close(g);
    owl_model_close(m);
}

static void test_sentencepiece_llama2(void) {
    owl_model *m = open_ok(shared_path("tokenizers/llama2-32k/tokenizer.model"));
    if (!m) return;
    CHECK(m->vocab.n_tokens == 32000 && !strcmp(owl_model_get_info(m)->tokenizer.kind, "llama"));
    CHECK(token_is(m, 13, "<0x0A>") && token_is(m, 29871, "\xe2\x96\x81") && token_is(m, 29889, "."));
    CHECK(m->vocab.scores[29871] == -1e9f && m->vocab.scores[29889] == -29630.0f && token_is(m, 31999, "\xe7\xbb\x99"));
    CHECK(count_type(m, OWL_TOKEN_NORMAL) == 31741 && count_type(m, OWL_TOKEN_BYTE) == 256);
    CHECK(json_is_false(json_object_get(m->metadata, "sentencepiece.normalizer.remove_extra_whitespaces")));
    CHECK(json_is_true(json_object_get(m->metadata, "sentencepiece.normalizer.add_dummy_prefix")));
    owl_model *g = open_ok(shared_path("vocab/ggml-vocab-llama-spm.gguf"));
    if (g) check_same_vocab(m, g, 1, "llama2 tokenizer.model vs ggml-vocab-llama-spm.gguf");
    owl_model_close(g);
    owl_model_close(m);
}

static void test_sentencepiece_mistral(void) {
    static const struct {
        const char *file;
        size_t n, normal, control, user, byte;
        size_t probe;
        const char *text;
    } cases[] = {
        {"tokenizer.model.v1", 32000, 31741, 2, 0, 256, 31999, "\xe6\xa2\xa6"},
        {"mistral_instruct_tokenizer_240216.model.v2", 32768, 31741, 770, 0, 256, 3, "[INST]"},
        {"mistral_instruct_tokenizer_240323.model.v3", 32768, 31741, 750, 20, 256, 10, "[IMG]"},
        {"mistral_instruct_tokenizer_241114.model.v7", 32768, 31741, 748, 22, 256, 32767, "\xe6\xa2\xa6"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tokenizers/mistral/%s", cases[i].file);
        owl_model *m = open_ok(shared_path(rel));
        if (!m) continue;
        CHECK(m->vocab.n_tokens == cases[i].n, "%s: %zu", cases[i].file, m->vocab.n_tokens);
        CHECK(count_type(m, OWL_TOKEN_NORMAL) == cases[i].normal && count_type(m, OWL_TOKEN_CONTROL) == cases[i].control &&
                  count_type(m, OWL_TOKEN_USER_DEFINED) == cases[i].user && count_type(m, OWL_TOKEN_BYTE) == cases[i].byte &&
                  count_type(m, OWL_TOKEN_UNKNOWN) == 1,
              "%s: type counts", cases[i].file);
        CHECK(token_is(m, cases[i].probe, cases[i].text), "%s: id %zu", cases[i].file, cases[i].probe);
        CHECK(special_id(m, "bos", NULL) == 1 && special_id(m, "eos", NULL) == 2 && special_id(m, "unk", NULL) == 0);
        owl_model_close(m);
    }
}

/* ---- tokenizer.json ------------------------------------------------------ */

static void test_json_smollm2(void) {
    owl_model *m = open_ok(shared_path("tokenizers/smollm2-135m/tokenizer.json"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(in->format == OWL_FORMAT_TOKENIZER_JSON && !strcmp(in->tokenizer.kind, "gpt2"));
    CHECK(in->tokenizer.n_vocab == 49152 && in->tokenizer.n_merges == 48900 && in->tokenizer.n_added == 0);
    CHECK(token_is(m, 0, "<|endoftext|>") && token_is(m, 1, "<|im_start|>") && token_is(m, 17, "!") &&
          token_is(m, 100, "t") && token_is(m, 49151, "ectable"));
    CHECK(merge_is(m, 0, "\xc4\xa0 t") && merge_is(m, 48899, "ect able"));
    CHECK(count_type(m, OWL_TOKEN_CONTROL) == 17 && count_type(m, OWL_TOKEN_NORMAL) == 49135);
    CHECK(in->tokenizer.add_bos == 0 && in->tokenizer.add_eos == 0, "no post-processor: nothing added");
    /* bos/eos come from the config.json beside it */
    const char *text;
    CHECK(special_id(m, "bos", &text) == 0 && !strcmp(text, "<|endoftext|>"));
    CHECK(special_id(m, "eos", &text) == 0 && !strcmp(text, "<|endoftext|>"));
    CHECK(in->n_files == 2 && !strcmp(in->files[1].role, "config"));
    owl_model_close(m);
}

static void test_json_olmo_gpt2(void) {
    owl_model *m = open_ok(shared_path("tokenizers/olmo-test-model/tokenizer.json"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(!strcmp(in->tokenizer.kind, "gpt2") && in->tokenizer.n_vocab == 50257 && in->tokenizer.n_merges == 50000);
    CHECK(merge_is(m, 0, "\xc4\xa0 t") && merge_is(m, 49999, "\xc4\xa0g azed"), "[a, b] pairs joined with a space");
    const char *text;
    CHECK(special_id(m, "eos", &text) == 50256 && !strcmp(text, "<|endoftext|>"), "from tokenizer_config.json");
    CHECK(special_id(m, "pad", NULL) == 50256 && special_id(m, "bos", NULL) == -1);
    CHECK(in->tokenizer.add_bos == 0 && in->tokenizer.add_eos == 0);
    /* GPT-2's vocabulary: llama.cpp's ggml-vocab-gpt-2.gguf has the same tokens, merges and types */
    owl_model *g = open_ok(shared_path("vocab/ggml-vocab-gpt-2.gguf"));
    if (g) check_same_vocab(m, g, 0, "olmo-test-model tokenizer.json vs ggml-vocab-gpt-2.gguf");
    owl_model_close(g);
    owl_model_close(m);
}

static void test_json_olmo_tokenizers(void) {
    static const struct {
        const char *file;
        int64_t n, merges, added;
        size_t control, user;
        size_t probe;
        const char *text;
        int32_t probe_type;
    } cases[] = {
        {"allenai_dolma2.json", 100278, 100000, 0, 8, 14, 100257, "<|endoftext|>", OWL_TOKEN_CONTROL},
        {"allenai_eleuther-ai-gpt-neox-20b-pii-special.json", 50280, 50009, 26, 2, 26, 50279, "|||IP_ADDRESS|||",
         OWL_TOKEN_USER_DEFINED},
        {"allenai_gpt-neox-olmo-dolma-v1_5.json", 50280, 50009, 0, 2, 26, 0, "|||IP_ADDRESS|||", OWL_TOKEN_USER_DEFINED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tokenizers/olmo-tokenizers/%s", cases[i].file);
        owl_model *m = open_ok(shared_path(rel));
        if (!m) continue;
        const owl_tokenizer_info *t = &owl_model_get_info(m)->tokenizer;
        CHECK(!strcmp(t->kind, "gpt2") && t->n_vocab == cases[i].n && t->n_merges == cases[i].merges &&
                  t->n_added == cases[i].added,
              "%s: %lld %lld %lld", cases[i].file, (long long)t->n_vocab, (long long)t->n_merges, (long long)t->n_added);
        CHECK(count_type(m, OWL_TOKEN_CONTROL) == cases[i].control && count_type(m, OWL_TOKEN_USER_DEFINED) == cases[i].user,
              "%s: types", cases[i].file);
        CHECK(token_is(m, cases[i].probe, cases[i].text) && m->vocab.types[cases[i].probe] == cases[i].probe_type,
              "%s: id %zu", cases[i].file, cases[i].probe);
        CHECK(merge_is(m, (size_t)cases[i].merges - 1, i == 0 ? "\xc4\xa0" "Con veyor" : "\xc4\xa0Out comes"));
        owl_model_close(m);
    }
}

static void test_bpe_files(void) {
    const char *paths[] = {shared_path("tokenizers/llama3.2-bpe"), shared_path("tokenizers/llama3.2-bpe/vocab.bpe"),
                           shared_path("tokenizers/llama3.2-bpe/encoder.json")};
    for (size_t i = 0; i < 3; i++) {
        owl_model *m = open_ok(paths[i]);
        if (!m) continue;
        const owl_model_info *in = owl_model_get_info(m);
        CHECK(in->format == OWL_FORMAT_BPE_FILES && !strcmp(in->tokenizer.kind, "gpt2"));
        CHECK(in->tokenizer.n_vocab == 128000 && in->tokenizer.n_merges == 280147, "%lld %lld",
              (long long)in->tokenizer.n_vocab, (long long)in->tokenizer.n_merges);
        CHECK(token_is(m, 0, "!") && token_is(m, 220, "\xc4\xa0") && token_is(m, 9906, "Hello") &&
              token_is(m, 127999, "\xc3\xa9\xc4\xb6\xc2\xa6"));
        CHECK(merge_is(m, 0, "\xc4\xa0 \xc4\xa0") && merge_is(m, 280146, "\xc3\xa9\xc4\xb6 \xc2\xa6"));
        CHECK(in->n_files == 2 && strstr(in->tokenizer.source, "encoder.json"));
        owl_model_close(m);
    }
}

/* ---- hand-built SentencePiece models ------------------------------------- */

static void pb_varint(bytebuf *b, uint64_t v) {
    while (v >= 0x80) {
        bb_u8(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    bb_u8(b, (uint8_t)v);
}
static void pb_key(bytebuf *b, uint32_t field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }
static void pb_bytes(bytebuf *b, uint32_t field, const void *p, size_t n) {
    pb_key(b, field, OWL_PB_LEN);
    pb_varint(b, n);
    bb_put(b, p, n);
}
static void pb_uint(bytebuf *b, uint32_t field, uint64_t v) {
    pb_key(b, field, OWL_PB_VARINT);
    pb_varint(b, v);
}
static void pb_float(bytebuf *b, uint32_t field, float f) {
    pb_key(b, field, OWL_PB_I32);
    bb_f32(b, f);
}
static void pb_piece(bytebuf *b, const char *piece, float score, int type) {
    bytebuf p = {0};
    pb_bytes(&p, 1, piece, strlen(piece));
    pb_float(&p, 2, score);
    if (type) pb_uint(&p, 3, (uint64_t)type);
    pb_key(&p, 200, OWL_PB_I64); /* an extension field: skipped */
    bb_u64(&p, 7);
    pb_bytes(b, 1, p.p, p.n);
    bb_free(&p);
}

/* A five-piece BPE model; `trainer_extra` bytes go inside TrainerSpec. */
static void small_model(bytebuf *b, const bytebuf *trainer_extra) {
    pb_piece(b, "<unk>", 0, 2);
    pb_piece(b, "<s>", 0, 3);
    pb_piece(b, "</s>", 0, 3);
    pb_piece(b, "<0x41>", 0, 6);
    pb_piece(b, "\xe2\x96\x81" "a", -1.5f, 0);
    bytebuf t = {0};
    pb_bytes(&t, 1, "corpus.txt", 10); /* repeated string input: skipped */
    pb_uint(&t, 3, 2);
    pb_uint(&t, 4, 5);
    pb_uint(&t, 35, 1);
    pb_uint(&t, 43, UINT64_MAX); /* pad_id = -1, a sign-extended 10-byte varint */
    if (trainer_extra) bb_put(&t, trainer_extra->p, trainer_extra->n);
    pb_bytes(b, 2, t.p, t.n);
    bytebuf n = {0};
    pb_bytes(&n, 1, "identity", 8);
    pb_uint(&n, 3, 0);
    pb_bytes(b, 3, n.p, n.n);
    pb_key(b, 4, OWL_PB_I32); /* unknown top-level fields of every wire type: skipped */
    bb_u32(b, 1);
    pb_uint(b, 99, 5);
    bb_free(&t);
    bb_free(&n);
}

static owl_status spm_parse(const bytebuf *b, owl_error *err) {
    owl_model *m = owl_model_new();
    owl_status st = owl_sentencepiece_parse(m, b->p, b->n, "mem.model", err);
    if (st == OWL_OK) st = owl_model_finish(m, err);
    owl_model_close(m);
    return st;
}

static void expect_spm(const char *what, const bytebuf *b, owl_status status, const char *want) {
    owl_error err = {0};
    owl_status st = spm_parse(b, &err);
    CHECK(st == status && strstr(err.message, want), "%s: %d '%s', wanted '%s'", what, st, err.message, want);
}

static void test_spm_handmade(void) {
    bytebuf b = {0};
    small_model(&b, NULL);
    owl_model *m = owl_model_new();
    owl_error err = {0};
    CHECK(owl_sentencepiece_parse(m, b.p, b.n, "mem.model", &err) == OWL_OK, "%s", err.message);
    CHECK(owl_model_finish(m, &err) == OWL_OK);
    CHECK(m->vocab.n_tokens == 5 && token_is(m, 4, "\xe2\x96\x81" "a") && m->vocab.scores[4] == -1.5f);
    CHECK(m->vocab.types[3] == OWL_TOKEN_BYTE && m->vocab.types[4] == OWL_TOKEN_NORMAL);
    CHECK(special_id(m, "pad", NULL) == -1 && special_id(m, "bos", NULL) == 1);
    CHECK(json_is_false(json_object_get(m->metadata, "sentencepiece.normalizer.add_dummy_prefix")));
    CHECK(owl_model_get_info(m)->format == OWL_FORMAT_SENTENCEPIECE && !strcmp(owl_model_get_info(m)->tokenizer.kind, "llama"));
    owl_model_close(m);
    size_t good = b.n;

    /* framing errors */
    bytebuf x = {0};
    bb_put(&x, b.p, good);
    bb_u8(&x, 0x0a);
    bb_u8(&x, 0x80);
    expect_spm("truncated varint", &x, OWL_ERR_INPUT, "varint runs past the end of the message");
    x.n = good;
    bb_u8(&x, 0x20);
    for (int i = 0; i < 10; i++) bb_u8(&x, 0xff);
    bb_u8(&x, 0x01);
    expect_spm("11-byte varint", &x, OWL_ERR_INPUT, "varint longer than 10 bytes");
    x.n = good;
    bb_u8(&x, 0x20);
    for (int i = 0; i < 9; i++) bb_u8(&x, 0xff);
    bb_u8(&x, 0x02);
    expect_spm("varint past 2^64", &x, OWL_ERR_INPUT, "varint overflows 64 bits");
    x.n = good;
    bb_put(&x, "\x0a\x05" "a", 3);
    expect_spm("length past end", &x, OWL_ERR_INPUT, "is 5 bytes long, past the end of its message (1 bytes left)");
    x.n = good;
    bb_u8(&x, 0x0b);
    expect_spm("group", &x, OWL_ERR_INPUT, "field 1 is a group (wire type 3)");
    x.n = good;
    bb_u8(&x, 0x0e);
    expect_spm("wire type 6", &x, OWL_ERR_INPUT, "field 1 has invalid wire type 6");
    x.n = good;
    bb_put(&x, "\x02\x00", 2);
    expect_spm("field 0", &x, OWL_ERR_INPUT, "invalid field number 0");
    x.n = good;
    pb_key(&x, 7, OWL_PB_I64);
    bb_u32(&x, 0);
    expect_spm("short fixed64", &x, OWL_ERR_INPUT, "field 7 needs 8 bytes, 4 left");

    /* wrong wire types for known fields */
    x.n = good;
    pb_uint(&x, 1, 1);
    expect_spm("pieces as varint", &x, OWL_ERR_INPUT, "pieces (field 1) is varint, expected length-delimited");
    x.n = 0;
    bb_put(&x, "\x0a\x02\x08\x01", 4);
    expect_spm("piece text as varint", &x, OWL_ERR_INPUT, "piece (field 1) is varint, expected length-delimited");
    x.n = 0;
    bb_put(&x, "\x0a\x05\x0a\x01z\x10\x01", 7);
    expect_spm("score as varint", &x, OWL_ERR_INPUT, "score (field 2) is varint, expected 32-bit");
    bytebuf extra = {0};
    pb_bytes(&extra, 3, "x", 1);
    x.n = 0;
    small_model(&x, &extra);
    expect_spm("model_type as bytes", &x, OWL_ERR_INPUT, "trainer_spec.model_type (field 3) is length-delimited, expected varint");
    x.n = 0;
    pb_piece(&x, "a", 0, 0);
    pb_uint(&x, 2, 1);
    expect_spm("trainer_spec as varint", &x, OWL_ERR_INPUT, "trainer_spec (field 2) is varint");

    /* content errors */
    x.n = 0;
    pb_piece(&x, "a", 0, 7);
    expect_spm("type 7", &x, OWL_ERR_INPUT, "piece 0 has type 7 (expected 1..6)");
    x.n = 0;
    pb_piece(&x, "", 0, 0);
    expect_spm("empty piece", &x, OWL_ERR_INPUT, "piece 0 is empty");
    x.n = 0;
    pb_piece(&x, "a", 0, 0);
    pb_piece(&x, "b", 0, 0);
    pb_piece(&x, "a", 0, 0);
    expect_spm("duplicate", &x, OWL_ERR_INPUT, "pieces 0 and 2 are both \"a\"");
    x.n = 0;
    expect_spm("empty file", &x, OWL_ERR_INPUT, "no pieces");
    bb_put(&x, "IQ== 0\nIg== 1\n", 14);
    expect_spm("tiktoken", &x, OWL_ERR_UNSUPPORTED, "a tiktoken BPE file");
    extra.n = 0;
    pb_uint(&extra, 41, 9);
    x.n = 0;
    small_model(&x, &extra);
    expect_spm("bos out of range", &x, OWL_ERR_INPUT, "trainer_spec.bos_id 9 is outside the 5 pieces");
    extra.n = 0;
    pb_uint(&extra, 3, 3);
    x.n = 0;
    small_model(&x, &extra);
    expect_spm("WORD model", &x, OWL_ERR_UNSUPPORTED, "SentencePiece WORD models are not supported");
    extra.n = 0;
    pb_uint(&extra, 3, 1); /* UNIGRAM: kind t5 */
    x.n = 0;
    small_model(&x, &extra);
    m = owl_model_new();
    CHECK(owl_sentencepiece_parse(m, x.p, x.n, "mem.model", &err) == OWL_OK && !strcmp(m->info.tokenizer.kind, "t5"));
    owl_model_close(m);
    bb_free(&extra);
    bb_free(&x);
    bb_free(&b);
}

static void test_protobuf_depth(void) {
    /* 40 messages, each the only field of the one around it */
    bytebuf b = {0};
    for (int i = 0; i < 40; i++) {
        bytebuf outer = {0};
        pb_bytes(&outer, 1, b.p, b.n);
        bb_free(&b);
        b = outer;
    }
    owl_pb_reader r, sub;
    owl_pb_field f;
    owl_error err = {0};
    owl_pb_init(&r, b.p, b.n, "nested.pb");
    int depth = 0;
    owl_status st = OWL_OK;
    while (owl_pb_next(&r, &f, &err) == 1 && (st = owl_pb_enter(&r, &f, &sub, &err)) == OWL_OK) {
        r = sub;
        depth++;
    }
    CHECK(depth == OWL_PB_MAX_DEPTH && st == OWL_ERR_INPUT && strstr(err.message, "messages nested more than 32 deep"),
          "depth %d: %s", depth, err.message);
    bb_free(&b);
    /* the int32 of a sign-extended varint, and a float */
    CHECK(owl_pb_int32(UINT64_MAX) == -1 && owl_pb_int32(0xffffffff80000000ull) == INT32_MIN && owl_pb_int32(7) == 7);
    CHECK(owl_pb_float(0x3fc00000u) == 1.5f);
}

/* ---- hand-built tokenizer.json ------------------------------------------- */

static owl_model *json_parse(const char *text, owl_error *err, owl_status *st) {
    owl_model *m = owl_model_new();
    *st = owl_tokenizer_json_parse(m, text, strlen(text), "mem.json", err);
    if (*st == OWL_OK) *st = owl_model_finish(m, err);
    return m;
}

static void expect_json(const char *what, const char *text, owl_status status, const char *want) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = json_parse(text, &err, &st);
    CHECK(st == status && strstr(err.message, want), "%s: %d '%s', wanted '%s'", what, st, err.message, want);
    owl_model_close(m);
}

#define BPE_MODEL "\"model\": {\"type\": \"BPE\", \"vocab\": "
#define BPE_HEAD "{" BPE_MODEL

static void test_json_shapes(void) {
    owl_error err = {0};
    owl_status st;
    /* SentencePiece-style BPE with a template adding <s> ... </s>, pair merges with a space inside */
    owl_model *m = json_parse(
        "{\"added_tokens\": [{\"id\": 0, \"content\": \"<s>\", \"special\": true},"
        "                   {\"id\": 5, \"content\": \"<extra>\", \"special\": false}],"
        " \"pre_tokenizer\": {\"type\": \"Metaspace\"},"
        " \"post_processor\": {\"type\": \"TemplateProcessing\","
        "   \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
        "                {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}],"
        "   \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [0], \"tokens\": [\"<s>\"]},"
        "                        \"</s>\": {\"id\": \"</s>\", \"ids\": [1], \"tokens\": [\"</s>\"]}}},"
        " \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"unk_token\": \"<unk>\","
        "   \"vocab\": {\"<s>\": 0, \"</s>\": 1, \"<unk>\": 2, \"<0x41>\": 3, \"a b\": 4},"
        "   \"merges\": [[\"a\", \"b\"], [\"a b\", \"c\"], \"x y\"]}}",
        &err, &st);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st == OWL_OK) {
        const owl_tokenizer_info *t = &m->info.tokenizer;
        CHECK(!strcmp(t->kind, "llama") && t->n_vocab == 6 && t->n_added == 1 && t->n_merges == 3);
        CHECK(t->add_bos == 1 && t->add_eos == 1 && special_id(m, "bos", NULL) == 0 && special_id(m, "eos", NULL) == 1);
        CHECK(special_id(m, "unk", NULL) == 2 && m->vocab.types[2] == OWL_TOKEN_UNKNOWN && m->vocab.types[3] == OWL_TOKEN_BYTE);
        CHECK(m->vocab.types[0] == OWL_TOKEN_CONTROL && m->vocab.types[5] == OWL_TOKEN_USER_DEFINED && token_is(m, 5, "<extra>"));
        CHECK(merge_is(m, 0, "a b") && merge_is(m, 1, "a\xc4\xa0" "b c") && merge_is(m, 2, "x y"));
        CHECK(owl_model_get_info(m)->format == OWL_FORMAT_TOKENIZER_JSON && m->vocab.scores != NULL); /* SentencePiece-style BPE: scores from merge ranks */
    }
    owl_model_close(m);
    /* Llama 3 style: Sequence[ByteLevel, Template(BOS $A)] */
    m = json_parse("{\"decoder\": {\"type\": \"ByteLevel\"}, \"post_processor\": {\"type\": \"Sequence\", \"processors\": ["
                   "{\"type\": \"ByteLevel\"}, {\"type\": \"TemplateProcessing\", \"single\": ["
                   "{\"SpecialToken\": {\"id\": \"<|begin|>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
                   "\"special_tokens\": {}}]}," BPE_MODEL "{\"a\": 0, \"<|begin|>\": 1}, \"merges\": []}}",
                   &err, &st);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st == OWL_OK)
        CHECK(!strcmp(m->info.tokenizer.kind, "gpt2") && m->info.tokenizer.add_bos == 1 && m->info.tokenizer.add_eos == 0 &&
              special_id(m, "bos", NULL) == 1, "bos found through the vocabulary");
    owl_model_close(m);
    /* WordPiece with BertProcessing */
    m = json_parse("{\"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 2], \"cls\": [\"[CLS]\", 1]},"
                   " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\","
                   " \"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"##a\": 3}}}",
                   &err, &st);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st == OWL_OK)
        CHECK(!strcmp(m->info.tokenizer.kind, "bert") && special_id(m, "cls", NULL) == 1 && special_id(m, "sep", NULL) == 2 &&
              special_id(m, "unk", NULL) == 0 && m->info.tokenizer.add_bos == 1);
    owl_model_close(m);
    /* Unigram: [piece, score] pairs */
    m = json_parse("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 1, \"vocab\": [[\"<pad>\", 0.0], [\"<unk>\", 0], "
                   "[\"\\u2581a\", -2.5]]}}",
                   &err, &st);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st == OWL_OK)
        CHECK(!strcmp(m->info.tokenizer.kind, "t5") && m->vocab.n_tokens == 3 && m->vocab.scores[2] == -2.5f &&
              token_is(m, 2, "\xe2\x96\x81" "a") && special_id(m, "unk", NULL) == 1);
    owl_model_close(m);
    /* the type inferred from the fields; an embedded NUL kept in a piece */
    m = json_parse("{\"model\": {\"vocab\": [[\"a\\u0000b\", 0]]}}", &err, &st);
    CHECK(st == OWL_OK && !strcmp(m->info.tokenizer.kind, "t5") && m->vocab.tokens[0].len == 3, "%s", err.message);
    owl_model_close(m);
    m = json_parse("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}", &err, &st);
    CHECK(st == OWL_OK && !strcmp(m->info.tokenizer.kind, "llama"), "%s", err.message);
    owl_model_close(m);

    expect_json("not JSON", "{\"model\": ", OWL_ERR_INPUT, "mem.json: line 1");
    expect_json("array", "[1, 2]", OWL_ERR_INPUT, "the top level is an array, not an object");
    expect_json("no model", "{\"version\": \"1.0\"}", OWL_ERR_INPUT, "no \"model\" object");
    expect_json("duplicate ids", BPE_HEAD "{\"a\": 0, \"b\": 0}}}", OWL_ERR_INPUT, "tokens \"a\" and \"b\" both have id 0");
    expect_json("hole", "{\"added_tokens\": [{\"id\": 2, \"content\": \"b\"}], " BPE_MODEL "{\"a\": 0, \"b\": 2}}}",
                OWL_ERR_INPUT, "id 1 has no token, but ids run up to 2 (a vocabulary must have no gaps)");
    expect_json("id past the entries", BPE_HEAD "{\"a\": 0, \"b\": 7}}}", OWL_ERR_INPUT,
                "token \"b\" has id 7, but the file defines only 2 tokens, so ids must lie in 0..1 without gaps");
    expect_json("NUL in a key", BPE_HEAD "{\"a\\u0000\": 0}}}", OWL_ERR_INPUT, "NUL byte in object key");
    expect_json("negative id", BPE_HEAD "{\"a\": -1}}}", OWL_ERR_INPUT, "token \"a\" has a negative id -1");
    expect_json("real id", BPE_HEAD "{\"a\": 0.5}}}", OWL_ERR_INPUT, "has a real number for its id (expected an integer)");
    expect_json("string id", BPE_HEAD "{\"a\": \"0\"}}}", OWL_ERR_INPUT, "has a string for its id");
    expect_json("vocab array", BPE_HEAD "[[\"a\", 0]]}}", OWL_ERR_INPUT,
                "model.vocab must be an object mapping tokens to ids for a BPE model (found an array)");
    expect_json("vocab missing", "{\"model\": {\"type\": \"BPE\"}}", OWL_ERR_INPUT, "(found nothing)");
    expect_json("empty vocab", BPE_HEAD "{}}}", OWL_ERR_INPUT, "defines no tokens");
    expect_json("unigram object", "{\"model\": {\"type\": \"Unigram\", \"vocab\": {\"a\": 0}}}", OWL_ERR_INPUT,
                "must be an array of [piece, score]");
    expect_json("unigram entry", "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}", OWL_ERR_INPUT,
                "model.vocab[0] must be a [piece, score] pair");
    expect_json("duplicate key", BPE_HEAD "{\"a\": 0, \"a\": 1}}}", OWL_ERR_INPUT, "duplicate object key");
    expect_json("merges object", BPE_HEAD "{\"a\": 0}, \"merges\": {}}}", OWL_ERR_INPUT, "model.merges must be an array");
    expect_json("merge number", BPE_HEAD "{\"a\": 0}, \"merges\": [[1, 2]]}}", OWL_ERR_INPUT,
                "model.merges[0] must be a string \"a b\" or a pair [\"a\", \"b\"] (found an array)");
    expect_json("merge triple", BPE_HEAD "{\"a\": 0}, \"merges\": [[\"a\", \"b\", \"c\"]]}}", OWL_ERR_INPUT,
                "model.merges[0] must be");
    expect_json("merge three words", BPE_HEAD "{\"a\": 0}, \"merges\": [\"a b\", \"a b c\"]}}", OWL_ERR_INPUT,
                "model.merges[1] is \"a b c\", expected two tokens separated by one space");
    expect_json("merge one word", BPE_HEAD "{\"a\": 0}, \"merges\": [\"ab\"]}}", OWL_ERR_INPUT, "expected two tokens");
    expect_json("added not array", "{\"added_tokens\": {}, " BPE_MODEL "{\"a\": 0}}}", OWL_ERR_INPUT,
                "added_tokens must be an array");
    expect_json("added no id", "{\"added_tokens\": [{\"content\": \"x\"}], " BPE_MODEL "{\"a\": 0}}}", OWL_ERR_INPUT,
                "added_tokens[0] must be an object with an integer id");
    expect_json("added conflict", "{\"added_tokens\": [{\"id\": 0, \"content\": \"x\"}], " BPE_MODEL "{\"a\": 0}}}",
                OWL_ERR_INPUT, "added_tokens[0]: token \"x\" has id 0, which model.vocab gives to \"a\"");
    expect_json("added twice", "{\"added_tokens\": [{\"id\": 1, \"content\": \"x\"}, {\"id\": 1, \"content\": \"y\"}], " BPE_MODEL
                "{\"a\": 0}}}",
                OWL_ERR_INPUT, "which an earlier added token gives to \"x\"");
    expect_json("added negative", "{\"added_tokens\": [{\"id\": -3, \"content\": \"x\"}], " BPE_MODEL "{\"a\": 0}}}",
                OWL_ERR_INPUT, "has a negative id -3");
    expect_json("word level", "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}}", OWL_ERR_UNSUPPORTED,
                "WordLevel tokenizers are not supported");
    /* the same id listed in model.vocab and added_tokens is one token */
    m = json_parse("{\"added_tokens\": [{\"id\": 0, \"content\": \"a\", \"special\": true}], " BPE_MODEL "{\"a\": 0}}}", &err, &st);
    CHECK(st == OWL_OK && m->info.tokenizer.n_added == 0 && m->vocab.types[0] == OWL_TOKEN_CONTROL, "%s", err.message);
    owl_model_close(m);
}

/* ---- files in directories ------------------------------------------------ */

static const char *tmp_path(const char *rel) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", tmpdir, rel);
    return p;
}

static void write_text(const char *rel, const char *text) {
    FILE *f = fopen(tmp_path(rel), "wb");
    CHECK(f != NULL, "cannot write %s", rel);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void test_directories_and_siblings(void) {
    CHECK(mkdir(tmp_path("tj"), 0700) == 0 && mkdir(tmp_path("bpe"), 0700) == 0);
    write_text("tj/tokenizer.json", BPE_HEAD "{\"<s>\": 0, \"</s>\": 1, \"a\": 2}, \"merges\": []}}");
    write_text("tj/tokenizer_config.json",
               "{\"bos_token\": {\"content\": \"<s>\", \"__type\": \"AddedToken\"}, \"eos_token\": \"</s>\", "
               "\"add_bos_token\": true, \"model_max_length\": 1000000000000000019884624838656}");
    owl_model *m = open_ok(tmp_path("tj"));
    if (m) {
        const owl_model_info *in = owl_model_get_info(m);
        CHECK(in->format == OWL_FORMAT_TOKENIZER_JSON && in->tokenizer.add_bos == 1 && in->tokenizer.add_eos == 0);
        const char *text;
        CHECK(special_id(m, "bos", &text) == 0 && !strcmp(text, "<s>") && special_id(m, "eos", NULL) == 1);
        CHECK(in->n_files == 2 && strstr(in->files[1].path, "tokenizer_config.json"));
        owl_model_close(m);
    }
    write_text("tj/tokenizer_config.json", "{\"bos_token\": ");
    owl_error err = {0};
    m = NULL;
    CHECK(owl_model_open(tmp_path("tj/tokenizer.json"), &m, &err) == OWL_ERR_INPUT && strstr(err.message, "tokenizer_config.json: line 1"),
          "%s", err.message);
    unlink(tmp_path("tj/tokenizer_config.json"));
    /* a model directory's loader calls in after registering its own files:
       the format it set stays, and sibling configs are its business */
    m = owl_model_new();
    m->info.format = OWL_FORMAT_HF_DIR;
    CHECK(owl_model_add_file(m, tmp_path("tj/config.json"), "config", NULL, 0, &err) == 0);
    CHECK(owl_load_tokenizer_file(m, tmp_path("tj/tokenizer.json"), &err) == OWL_OK, "%s", err.message);
    CHECK(m->info.format == OWL_FORMAT_HF_DIR && m->vocab.n_tokens == 3 && m->n_files == 2);
    /* one vocabulary per model */
    CHECK(owl_load_tokenizer_file(m, shared_path("models/stories260K/tok512.model"), &err) == OWL_ERR_USAGE &&
              strstr(err.message, "a vocabulary was already loaded from"),
          "%s", err.message);
    owl_model_close(m);

    /* encoder.json + vocab.bpe */
    write_text("bpe/encoder.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}");
    write_text("bpe/vocab.bpe", "#version: 0.2\r\na b\r\n");
    m = open_ok(tmp_path("bpe"));
    if (m) CHECK(m->vocab.n_merges == 1 && merge_is(m, 0, "a b") && m->vocab.n_tokens == 3, "CRLF line ends");
    owl_model_close(m);
    write_text("bpe/vocab.bpe", "a b\n\nab c\n");
    m = NULL;
    CHECK(owl_model_open(tmp_path("bpe"), &m, &err) == OWL_ERR_INPUT && strstr(err.message, "vocab.bpe: line 2 is \"\""),
          "%s", err.message);
    write_text("bpe/vocab.bpe", "a b\nab  c\n");
    CHECK(owl_model_open(tmp_path("bpe"), &m, &err) == OWL_ERR_INPUT && strstr(err.message, "line 2 is \"ab  c\", expected two tokens"),
          "%s", err.message);
    write_text("bpe/vocab.bpe", "");
    write_text("bpe/encoder.json", "{\"a\": 0, \"b\": \"1\"}");
    CHECK(owl_model_open(tmp_path("bpe/encoder.json"), &m, &err) == OWL_ERR_INPUT &&
              strstr(err.message, "token \"b\" has a non-integer id"),
          "%s", err.message);
    write_text("bpe/encoder.json", "{\"a\": 0, \"b\": 1.0}");
    CHECK(owl_model_open(tmp_path("bpe/encoder.json"), &m, &err) == OWL_ERR_INPUT && strstr(err.message, "non-integer id"),
          "%s", err.message);
    write_text("bpe/encoder.json", "[\"a\"]");
    CHECK(owl_model_open(tmp_path("bpe/encoder.json"), &m, &err) == OWL_ERR_INPUT &&
              strstr(err.message, "must be an object mapping tokens to ids"),
          "%s", err.message);
    unlink(tmp_path("bpe/vocab.bpe"));
    CHECK(owl_model_open(tmp_path("bpe/encoder.json"), &m, &err) == OWL_ERR_INPUT &&
              strstr(err.message, "needs both encoder.json and vocab.bpe"),
          "%s", err.message);
    /* a .json that is not a tokenizer at all */
    write_text("config.json", "{\"hidden_size\": 64}");
    CHECK(owl_model_open(tmp_path("config.json"), &m, &err) == OWL_ERR_INPUT && strstr(err.message, "no \"model\" object"),
          "%s", err.message);
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/owl_test_tokenizers_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_sentencepiece_tok512);
    RUN(test_sentencepiece_llama2);
    RUN(test_sentencepiece_mistral);
    RUN(test_json_smollm2);
    RUN(test_json_olmo_gpt2);
    RUN(test_json_olmo_tokenizers);
    RUN(test_bpe_files);
    RUN(test_spm_handmade);
    RUN(test_protobuf_depth);
    RUN(test_json_shapes);
    RUN(test_directories_and_siblings);
    remove_tree(tmpdir);
    DONE("test_tokenizer_files");
}
