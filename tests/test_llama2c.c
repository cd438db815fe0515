/* test_llama2c.c: llama2.c checkpoints and tokenizer .bin files: the real 260K
 * models against Python-computed figures and llama.cpp's GGUF of the same
 * model, generated v0/v1/v2 files, and malformed headers and records. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "bytebuf.h"
#include "formats/llama2c.h"
#include "formats/tokenizer_files.h"
#include "harness.h"
#include "model/model.h"
#include "owl.h"
#include "testfiles.h"

static char tmpdir[256];

static float f32_at(const owl_tensor *t, size_t i) {
    float f;
    memcpy(&f, (const uint8_t *)t->data + 4 * i, 4);
    return f;
}

static const owl_tensor *tensor(const owl_model *m, const char *name) {
    const owl_tensor *t = owl_model_find_tensor(m, name);
    CHECK(t != NULL, "no tensor %s", name);
    return t;
}

static int64_t special_id(const owl_model_info *in, const char *role, const char **text) {
    for (size_t i = 0; i < in->tokenizer.n_special; i++)
        if (!strcmp(in->tokenizer.special[i].role, role)) {
            if (text) *text = in->tokenizer.special[i].text;
            return in->tokenizer.special[i].id;
        }
    return -1;
}

static int token_is(const owl_model *m, size_t id, const char *s) {
    return id < m->vocab.n_tokens && m->vocab.tokens[id].len == strlen(s) &&
           memcmp(m->vocab.tokens[id].p, s, strlen(s)) == 0;
}

/* tok512.bin: the pieces of "Once upon a time" (ids from ref/once.json),
   with SentencePiece's U+2581 where the file has a space. */
static void check_tok512(const owl_model *m) {
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(m->vocab.n_tokens == 512 && in->tokenizer.n_vocab == 512, "%zu", m->vocab.n_tokens);
    CHECK(strcmp(in->tokenizer.kind, "llama") == 0 && in->tokenizer.add_bos == 1 && in->tokenizer.add_eos == 0);
    CHECK(token_is(m, 0, "<unk>") && token_is(m, 1, "<s>") && token_is(m, 2, "</s>") && token_is(m, 3, "<0x00>"));
    CHECK(token_is(m, 403, "\xe2\x96\x81Once") && token_is(m, 407, "\xe2\x96\x81upon") && token_is(m, 261, "\xe2\x96\x81" "a") &&
          token_is(m, 378, "\xe2\x96\x81time"));
    CHECK(m->vocab.scores && m->vocab.scores[403] == -144.0f && m->vocab.scores[407] == -148.0f &&
          m->vocab.scores[261] == -2.0f && m->vocab.scores[511] == -252.0f);
    CHECK(m->vocab.types && m->vocab.types[0] == OWL_TOKEN_UNKNOWN && m->vocab.types[1] == OWL_TOKEN_CONTROL &&
          m->vocab.types[3] == OWL_TOKEN_BYTE && m->vocab.types[258] == OWL_TOKEN_BYTE && m->vocab.types[259] == OWL_TOKEN_NORMAL);
    const char *text = NULL;
    CHECK(special_id(in, "bos", &text) == 1 && text && !strcmp(text, "<s>"));
    CHECK(special_id(in, "eos", &text) == 2 && text && !strcmp(text, "</s>"));
    CHECK(special_id(in, "unk", &text) == 0 && text && !strcmp(text, "<unk>"));
}

/* The same vocabulary as another loaded model holds it (tokens, scores, types). */
static void check_same_vocab(const owl_model *a, const owl_model *b, const char *what) {
    CHECK(a->vocab.n_tokens == b->vocab.n_tokens, "%s: %zu vs %zu tokens", what, a->vocab.n_tokens, b->vocab.n_tokens);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < a->vocab.n_tokens && i < b->vocab.n_tokens; i++) {
        const owl_strview *x = &a->vocab.tokens[i], *y = &b->vocab.tokens[i];
        int same = x->len == y->len && memcmp(x->p, y->p, x->len) == 0 && a->vocab.scores[i] == b->vocab.scores[i] &&
                   a->vocab.types[i] == b->vocab.types[i];
        if (!same && !bad++) first = i;
    }
    CHECK(bad == 0, "%s: %zu tokens differ, first at id %zu", what, bad, first);
}

static void test_stories_float(void) {
    owl_model *m = open_ok(shared_path("models/stories260K/stories260K.bin"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    uint64_t params, bytes;
    owl_model_totals(m, &params, &bytes);
    CHECK(in->format == OWL_FORMAT_LLAMA2C && !strcmp(in->architecture, "llama2.c") && !strcmp(in->family, "llama"));
    CHECK(in->name && !strcmp(in->name, "stories260K"), "%s", in->name);
    const owl_hparams *hp = &in->hp;
    CHECK(hp->n_embd == 64 && hp->n_ff == 172 && hp->n_layer == 5 && hp->n_head == 8 && hp->n_head_kv == 4);
    CHECK(hp->n_vocab == 512 && hp->n_ctx_train == 512 && hp->head_dim == 8 && hp->n_rot == 8);
    CHECK(hp->norm_eps == 1e-5 && hp->rope_theta == 10000.0 && hp->rope_style == OWL_ROPE_INTERLEAVED);
    CHECK(hp->tied_embeddings == 1 && hp->quant_group_size == 0);
    CHECK(in->n_tensors == 47, "%zu", in->n_tensors);
    CHECK(params == 260032, "%llu", (unsigned long long)params);
    CHECK(bytes == 1040128, "%llu", (unsigned long long)bytes);
    CHECK(in->n_files == 2 && in->files[0].size == 1056540 && !strcmp(in->files[0].role, "weights"));
    CHECK(in->n_files == 2 && !strcmp(in->files[1].role, "tokenizer") && strstr(in->files[1].path, "/tok512.bin"));
    CHECK(owl_model_find_tensor(m, "output.weight") == NULL, "tied: no output.weight");
    /* offsets and first values computed with Python's struct from the file */
    const owl_tensor *t = tensor(m, "token_embd.weight");
    if (t) {
        CHECK(t->dtype == OWL_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 && t->offset == 28);
        CHECK(f32_at(t, 0) == -0.29474878311157227f && f32_at(t, 1) == 0.5618956089019775f);
        CHECK(!strcmp(t->source_name, "token_embedding_table"));
    }
    if ((t = tensor(m, "blk.0.attn_norm.weight")))
        CHECK(t->n_dims == 1 && t->ne[0] == 64 && t->offset == 131100 && f32_at(t, 0) == 0.9722429513931274f);
    if ((t = tensor(m, "blk.0.attn_q.weight")))
        CHECK(t->ne[0] == 64 && t->ne[1] == 64 && t->offset == 132380 && f32_at(t, 0) == 0.04439278692007065f &&
              !strcmp(t->source_name, "wq[0]"));
    if ((t = tensor(m, "blk.2.attn_k.weight")))
        CHECK(t->ne[0] == 64 && t->ne[1] == 32 && t->offset == 230684 && f32_at(t, 0) == 0.05322672799229622f);
    if ((t = tensor(m, "blk.4.ffn_down.weight")))
        CHECK(t->ne[0] == 172 && t->ne[1] == 64 && t->offset == 775708 && f32_at(t, 0) == -0.04791264981031418f &&
              !strcmp(t->source_name, "w2[4]"));
    if ((t = tensor(m, "blk.4.ffn_up.weight")))
        CHECK(t->ne[0] == 64 && t->ne[1] == 172 && t->offset == 995868 && f32_at(t, 2) == -0.11145710200071335f);
    if ((t = tensor(m, "output_norm.weight")))
        CHECK(t->offset == 1039900 && f32_at(t, 0) == 2.4583089351654053f);
    check_tok512(m);

    /* llama.cpp converted this very file to stories260K.gguf: every tensor and
       the whole vocabulary must agree with it */
    owl_model *g = open_ok(shared_path("models/stories260K/stories260K.gguf"));
    if (g) {
        size_t same = 0;
        for (size_t i = 0; i < in->n_tensors; i++) {
            const owl_tensor *a = &in->tensors[i], *b = owl_model_find_tensor(g, a->name);
            int ok = b && b->dtype == a->dtype && b->n_bytes == a->n_bytes && b->ne[0] == a->ne[0] &&
                     b->ne[1] == a->ne[1] && memcmp(a->data, b->data, a->n_bytes) == 0;
            CHECK(ok, "%s differs from the GGUF", a->name);
            same += ok;
        }
        CHECK(same == 47);
        check_same_vocab(m, g, "tok512.bin vs stories260K.gguf");
        owl_model_close(g);
    }
    owl_model_close(m);
}

static void test_stories_int8(void) {
    owl_model *m = open_ok(shared_path("models/stories260K/stories260K_q80.bin"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    uint64_t params, bytes;
    owl_model_totals(m, &params, &bytes);
    CHECK(in->format == OWL_FORMAT_LLAMA2C_INT8 && in->hp.quant_group_size == 32 && in->hp.tied_embeddings == 1);
    CHECK(in->hp.n_embd == 64 && in->hp.n_layer == 5 && in->hp.n_head_kv == 4 && in->hp.n_vocab == 512);
    CHECK(in->n_tensors == 83, "%zu", in->n_tensors);
    CHECK(params == 260032, "scales are not parameters: %llu", (unsigned long long)params);
    CHECK(bytes == 294816 - 256, "%llu", (unsigned long long)bytes);
    const owl_tensor *t = tensor(m, "token_embd.weight"), *s = tensor(m, "token_embd.weight.scales");
    if (t) {
        const int8_t *q = t->data;
        CHECK(t->dtype == OWL_I8 && t->ne[0] == 64 && t->ne[1] == 512 && t->offset == 3072 && t->n_bytes == 32768);
        CHECK(q[0] == -42 && q[1] == 81 && q[2] == 25 && q[3] == 49);
    }
    if (s) {
        CHECK(s->dtype == OWL_F32 && s->n_dims == 1 && s->ne[0] == 1024 && s->offset == 35840 && (s->flags & OWL_TENSOR_AUX));
        CHECK(f32_at(s, 0) == 0.006935544777661562f && f32_at(s, 1) == 0.006793651729822159f);
    }
    if ((t = tensor(m, "blk.0.attn_q.weight")))
        CHECK(t->dtype == OWL_I8 && t->offset == 39936 && !strcmp(t->source_name, "wq[0]"));
    if ((t = tensor(m, "blk.0.attn_q.weight.scales")))
        CHECK(t->ne[0] == 128 && t->offset == 44032 && !strcmp(t->source_name, "wq[0].s"));
    if ((t = tensor(m, "blk.4.ffn_up.weight"))) CHECK(t->offset == 282432 && t->ne[0] == 64 && t->ne[1] == 172);
    if ((t = tensor(m, "blk.4.ffn_up.weight.scales"))) CHECK(t->offset == 293440 && t->ne[0] == 344);
    if ((t = tensor(m, "blk.0.attn_norm.weight"))) CHECK(t->dtype == OWL_F32 && t->offset == 256 && f32_at(t, 0) == 0.9722429513931274f);
    if ((t = tensor(m, "output_norm.weight"))) CHECK(t->offset == 2816 && f32_at(t, 0) == 2.4583089351654053f);
    check_tok512(m);

    /* dequantised weights lie within half a step of the float model's */
    owl_model *f = open_ok(shared_path("models/stories260K/stories260K.bin"));
    if (f) {
        size_t checked = 0, bad = 0;
        for (size_t i = 0; i < in->n_tensors; i++) {
            const owl_tensor *q = &in->tensors[i];
            if (q->dtype != OWL_I8) continue;
            char name[160];
            snprintf(name, sizeof name, "%s.scales", q->name);
            const owl_tensor *sc = owl_model_find_tensor(m, name), *w = owl_model_find_tensor(f, q->name);
            if (!sc || !w || w->n_elements != q->n_elements) {
                bad++;
                continue;
            }
            for (uint64_t k = 0; k < q->n_elements; k++) {
                float scale = f32_at(sc, k / 32), deq = (float)((const int8_t *)q->data)[k] * scale;
                if (fabsf(deq - f32_at(w, k)) > scale * 0.5f + 1e-7f) bad++;
            }
            checked++;
        }
        CHECK(checked == 36 && bad == 0, "%zu tensors, %zu values off", checked, bad);
        owl_model_close(f);
    }
    owl_model_close(m);
}

static void test_aidreams(void) {
    owl_model *m = open_ok(shared_path("models/aidreams260K/aidreams260K.bin"));
    if (!m) return;
    const owl_model_info *in = owl_model_get_info(m);
    uint64_t params;
    owl_model_totals(m, &params, NULL);
    CHECK(in->hp.n_embd == 64 && in->hp.n_ff == 172 && in->hp.n_layer == 4 && in->hp.n_head == 4 && in->hp.n_head_kv == 4);
    CHECK(in->hp.n_vocab == 512 && in->hp.n_ctx_train == 128 && in->hp.head_dim == 16);
    CHECK(in->n_tensors == 38 && params == 230976, "%zu %llu", in->n_tensors, (unsigned long long)params);
    const owl_tensor *t = tensor(m, "token_embd.weight");
    if (t) CHECK(f32_at(t, 0) == 0.10804883390665054f && f32_at(t, 1) == 0.15735304355621338f);
    if ((t = tensor(m, "blk.3.attn_v.weight"))) CHECK(t->ne[0] == 64 && t->ne[1] == 64);
    CHECK(in->n_files == 2 && strstr(in->files[1].path, "aidreams_tok512.bin"), "the tokenizer beside it");
    CHECK(m->vocab.n_tokens == 512 && token_is(m, 259, "in") && token_is(m, 1, "<s>"));
    CHECK(m->vocab.scores[511] == -252.0f && token_is(m, 511, "\xce\xbc"));
    owl_model_close(m);
}

static void test_tokenizer_bin_alone(void) {
    owl_model *m = open_ok(shared_path("models/stories260K/tok512.bin"));
    if (m) {
        const owl_model_info *in = owl_model_get_info(m);
        CHECK(in->format == OWL_FORMAT_LLAMA2C_TOKENIZER && in->n_tensors == 0 && in->n_files == 1);
        CHECK(!strcmp(in->files[0].role, "tokenizer") && in->tokenizer.source && strstr(in->tokenizer.source, "tok512.bin"));
        check_tok512(m);
        /* the same 512 pieces as the SentencePiece model they came from */
        owl_model *sp = open_ok(shared_path("models/stories260K/tok512.model"));
        if (sp) check_same_vocab(m, sp, "tok512.bin vs tok512.model");
        owl_model_close(sp);
        owl_model_close(m);
    }
    m = open_ok(shared_path("tokenizers/llama2-32k/tokenizer.bin"));
    if (m) {
        CHECK(m->vocab.n_tokens == 32000 && owl_model_get_info(m)->format == OWL_FORMAT_LLAMA2C_TOKENIZER);
        CHECK(token_is(m, 29871, "\xe2\x96\x81") && token_is(m, 259, "\xe2\x96\x81\xe2\x96\x81") && token_is(m, 13, "<0x0A>"));
        CHECK(m->vocab.scores[29871] == -1e9f && m->vocab.scores[31999] == -31740.0f && token_is(m, 31999, "\xe7\xbb\x99"));
        owl_model *sp = open_ok(shared_path("tokenizers/llama2-32k/tokenizer.model"));
        if (sp) check_same_vocab(m, sp, "tokenizer.bin vs tokenizer.model");
        owl_model_close(sp);
        owl_model_close(m);
    }
    /* through owl_load_tokenizer_file, as a model directory's loader calls it */
    m = owl_model_new();
    owl_error err = {0};
    CHECK(owl_load_tokenizer_file(m, shared_path("models/aidreams260K/aidreams_tok512.bin"), &err) == OWL_OK, "%s", err.message);
    CHECK(m->vocab.n_tokens == 512 && token_is(m, 259, "in"));
    owl_model_close(m);
}

/* ---- generated files ----------------------------------------------------- */

typedef struct cfg {
    int32_t dim, hidden, layers, heads, kv_heads, vocab, seq;
} cfg;

static const cfg tiny = {8, 12, 2, 2, 1, 6, 4};

static void put_i32(bytebuf *b, int32_t v) { bb_u32(b, (uint32_t)v); }

/* n floats or int8 q + scales, with values that name the tensor */
static void put_tensor(bytebuf *b, uint64_t n, int tag, int version, int32_t group, int matrix) {
    if (version == 2 && matrix) {
        for (uint64_t i = 0; i < n; i++) bb_u8(b, (uint8_t)(int8_t)((i + (uint64_t)tag) % 255 - 127));
        for (uint64_t i = 0; i < n / (uint64_t)group; i++) bb_f32(b, (float)tag + 0.5f);
    } else {
        for (uint64_t i = 0; i < n; i++) bb_f32(b, (float)tag + (float)i / 1024.0f);
    }
}

/* A llama2.c file in export.py's layout for each version. */
static void build(bytebuf *b, cfg c, int version, int shared, int32_t group) {
    int64_t hs = c.dim / c.heads, kv = hs * c.kv_heads, L = c.layers;
    uint64_t d = (uint64_t)c.dim, h = (uint64_t)c.hidden, v = (uint64_t)(c.vocab < 0 ? -c.vocab : c.vocab);
    if (version == 0) {
        int32_t p[7] = {c.dim, c.hidden, c.layers, c.heads, c.kv_heads, shared ? c.vocab : -c.vocab, c.seq};
        for (int i = 0; i < 7; i++) put_i32(b, p[i]);
        put_tensor(b, v * d, 1, 0, 0, 1);
        for (int k = 0; k < 9; k++)
            for (int64_t l = 0; l < L; l++) {
                uint64_t n[9] = {d, d * d, d * (uint64_t)kv, d * (uint64_t)kv, d * d, d, d * h, h * d, d * h};
                put_tensor(b, n[k], 10 * (k + 2) + (int)l, 0, 0, 1);
            }
        put_tensor(b, d, 200, 0, 0, 0);
        put_tensor(b, (uint64_t)c.seq * (uint64_t)hs, 300, 0, 0, 0); /* freq_cis real + imag */
        if (!shared) put_tensor(b, v * d, 400, 0, 0, 1);
        return;
    }
    bb_u32(b, OWL_LLAMA2C_MAGIC);
    put_i32(b, version);
    int32_t p[7] = {c.dim, c.hidden, c.layers, c.heads, c.kv_heads, c.vocab, c.seq};
    for (int i = 0; i < 7; i++) put_i32(b, p[i]);
    bb_u8(b, (uint8_t)shared);
    if (version == 2) put_i32(b, group);
    bb_zeros(b, 256 - b->n);
    for (int64_t l = 0; l < 2 * L; l++) put_tensor(b, d, 500 + (int)l, version, group, 0);
    put_tensor(b, d, 600, version, group, 0);
    put_tensor(b, v * d, 1, version, group, 1);
    for (int k = 0; k < 7; k++)
        for (int64_t l = 0; l < L; l++) {
            uint64_t n[7] = {d * d, d * (uint64_t)kv, d * (uint64_t)kv, d * d, d * h, h * d, d * h};
            put_tensor(b, n[k], 10 * (k + 2) + (int)l, version, group, 1);
        }
    if (!shared) put_tensor(b, v * d, 400, version, group, 1);
}

static const char *tmp_file(const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static const char *write_tmp(const char *name, const bytebuf *b) {
    const char *p = tmp_file(name);
    CHECK(bb_write_file(b, p) == 0, "cannot write %s", p);
    return p;
}

static void test_generated_versions(void) {
    static const struct { int version, shared; uint64_t size; } cases[] = {
        {0, 1, 4284}, {0, 0, 4476}, {1, 1, 4448}, {1, 0, 4640}, {2, 1, 2432}, {2, 0, 2528},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytebuf b = {0};
        build(&b, tiny, cases[i].version, cases[i].shared, 4);
        CHECK(b.n == cases[i].size, "case %zu: built %zu bytes", i, b.n);
        char name[64];
        snprintf(name, sizeof name, "gen_v%d_%d.bin", cases[i].version, cases[i].shared);
        owl_model *m = open_ok(write_tmp(name, &b));
        bb_free(&b);
        if (!m) continue;
        const owl_model_info *in = owl_model_get_info(m);
        uint64_t params;
        owl_model_totals(m, &params, NULL);
        CHECK(in->hp.tied_embeddings == cases[i].shared && in->hp.n_vocab == 6 && in->hp.head_dim == 4);
        CHECK(params == (cases[i].shared ? 1048u : 1096u), "case %zu: %llu", i, (unsigned long long)params);
        CHECK(in->format == (cases[i].version == 2 ? OWL_FORMAT_LLAMA2C_INT8 : OWL_FORMAT_LLAMA2C));
        CHECK(in->n_files == 1 && m->vocab.n_tokens == 0, "no tokenizer beside it");
        const owl_tensor *e = tensor(m, "token_embd.weight"), *o = owl_model_find_tensor(m, "output.weight");
        CHECK(cases[i].shared ? o == NULL : o != NULL);
        if (e && cases[i].version == 0) CHECK(e->offset == 28 && f32_at(e, 0) == 1.0f);
        if (e && cases[i].version == 1) CHECK(e->offset == 416 && f32_at(e, 0) == 1.0f);
        if (e && cases[i].version == 2) CHECK(e->offset == 416 && e->dtype == OWL_I8);
        if (o && cases[i].version == 0) CHECK(o->offset == 4284 && f32_at(o, 0) == 400.0f && o->ne[0] == 8 && o->ne[1] == 6);
        if (o && cases[i].version == 1) CHECK(o->offset == 4448 && f32_at(o, 0) == 400.0f);
        if (o && cases[i].version == 2) {
            const owl_tensor *s = tensor(m, "output.weight.scales");
            CHECK(o->offset == 2432 && s && s->offset == 2480 && s->ne[0] == 12 && f32_at(s, 0) == 400.5f);
        }
        const owl_tensor *k = tensor(m, "blk.1.attn_k.weight");
        if (k) CHECK(k->ne[0] == 8 && k->ne[1] == 4, "kv_dim = dim * n_kv_heads / n_heads");
        const owl_tensor *w2 = tensor(m, "blk.1.ffn_down.weight");
        if (w2 && cases[i].version < 2) /* tags: v0 writes w2 as the 8th per-layer kind, v1 as the 6th */
            CHECK(w2->ne[0] == 12 && w2->ne[1] == 8 && f32_at(w2, 0) == (cases[i].version ? 71.0f : 91.0f));
        owl_model_close(m);
    }
}

/* The tokenizer beside a checkpoint must fit its vocabulary to be taken. */
static void test_sibling_tokenizer_choice(void) {
    char dir[300];
    snprintf(dir, sizeof dir, "%s/sib", tmpdir);
    CHECK(mkdir(dir, 0700) == 0);
    bytebuf b = {0};
    build(&b, tiny, 0, 1, 0);
    char path[400];
    snprintf(path, sizeof path, "%s/model.bin", dir);
    CHECK(bb_write_file(&b, path) == 0);
    bb_free(&b);
    /* tokenizer.bin with 3 records: belongs to some other model */
    bytebuf t3 = {0}, t6 = {0};
    put_i32(&t3, 2);
    put_i32(&t6, 3);
    for (int i = 0; i < 6; i++) {
        if (i < 3) {
            bb_f32(&t3, 0);
            put_i32(&t3, 1);
            bb_u8(&t3, 'a');
        }
        bb_f32(&t6, (float)-i);
        put_i32(&t6, 3);
        bb_put(&t6, i == 5 ? "x y" : "abc", 3);
    }
    char p3[400], p6[400];
    snprintf(p3, sizeof p3, "%s/tokenizer.bin", dir);
    snprintf(p6, sizeof p6, "%s/my_tok6.bin", dir);
    CHECK(bb_write_file(&t3, p3) == 0 && bb_write_file(&t6, p6) == 0);
    owl_model *m = open_ok(path);
    if (m) {
        const owl_model_info *in = owl_model_get_info(m);
        CHECK(in->n_files == 2 && strstr(in->files[1].path, "my_tok6.bin"), "took %s",
              in->n_files > 1 ? in->files[1].path : "nothing");
        CHECK(m->vocab.n_tokens == 6 && token_is(m, 5, "x\xe2\x96\x81y") && m->vocab.scores[4] == -4.0f);
        owl_model_close(m);
    }
    unlink(p6);
    m = open_ok(path);
    if (m) CHECK(m->vocab.n_tokens == 0 && owl_model_get_info(m)->n_files == 1, "a 3-token tokenizer.bin does not fit");
    owl_model_close(m);
    unlink(p3);
    unlink(path);
    rmdir(dir);
    bb_free(&t3);
    bb_free(&t6);
}

/* ---- malformed files ----------------------------------------------------- */

static void v0_with(const char *name, int32_t dim, int32_t hidden, int32_t layers, int32_t heads, int32_t kv,
                    int32_t vocab, int32_t seq, const char *want) {
    bytebuf b = {0};
    int32_t p[7] = {dim, hidden, layers, heads, kv, vocab, seq};
    for (int i = 0; i < 7; i++) put_i32(&b, p[i]);
    bb_zeros(&b, 64);
    expect_open_fail(write_tmp(name, &b), OWL_ERR_INPUT, want);
    bb_free(&b);
}

static void test_bad_headers(void) {
    bytebuf b = {0};
    bb_zeros(&b, 10);
    b.p[0] = 8;
    expect_open_fail(write_tmp("short.bin", &b), OWL_ERR_INPUT, "truncated header: 10 bytes");
    bb_free(&b);
    v0_with("neg_dim.bin", -64, 12, 2, 2, 1, 6, 4, "dim -64 is out of range");
    v0_with("zero_dim.bin", 0, 12, 2, 2, 1, 6, 4, "dim 0 is out of range");
    v0_with("huge_dim.bin", 1 << 21, 12, 2, 2, 1, 6, 4, "dim 2097152 is out of range");
    v0_with("zero_layers.bin", 8, 12, 0, 2, 1, 6, 4, "n_layers 0 is out of range");
    v0_with("neg_hidden.bin", 8, -1, 2, 2, 1, 6, 4, "hidden_dim -1 is out of range");
    v0_with("many_layers.bin", 8, 12, 5000, 2, 1, 6, 4, "n_layers 5000 is out of range");
    v0_with("heads.bin", 64, 12, 2, 6, 1, 6, 4, "n_heads 6 does not divide dim 64");
    v0_with("kv_heads.bin", 64, 12, 2, 8, 3, 6, 4, "n_kv_heads 3 does not divide n_heads 8");
    v0_with("kv_more.bin", 64, 12, 2, 4, 8, 6, 4, "n_kv_heads 8 is out of range");
    v0_with("zero_heads.bin", 64, 12, 2, 0, 1, 6, 4, "n_heads 0 is out of range");
    v0_with("zero_vocab.bin", 8, 12, 2, 2, 1, 0, 4, "vocab_size is 0");
    v0_with("huge_vocab.bin", 8, 12, 2, 2, 1, INT32_MIN, 4, "vocab_size -2147483648 is out of range");
    v0_with("zero_seq.bin", 8, 12, 2, 2, 1, 6, 0, "seq_len 0 is out of range");
    v0_with("odd_head.bin", 12, 12, 2, 4, 1, 6, 4, "head size 3 (dim / n_heads) is odd");
    v0_with("dim_2_30.bin", 1 << 30, 1 << 30, 4096, 2, 2, 1 << 24, 1 << 24, "dim 1073741824 is out of range");
    /* each field within its cap, but 4096 layers of 2^20 x 2^30 floats pass 2^64 bytes */
    v0_with("overflow.bin", 1 << 20, 1 << 30, 4096, 1 << 10, 1 << 10, 1 << 24, 1 << 24, "overflow 64 bits");
    v0_with("mismatch.bin", 8, 12, 2, 2, 1, 6, 4,
            "expected 4284 bytes for this llama2.c v0 header (dim 8, hidden_dim 12, n_layers 2, n_heads 2, n_kv_heads 1, "
            "vocab_size 6, seq_len 4), file has 92");
}

static void test_bad_sizes(void) {
    static const struct { int version, shared; const char *expected; } cases[] = {
        {0, 1, "expected 4284 bytes"}, {0, 0, "expected 4476 bytes"}, {1, 1, "expected 4448 bytes"},
        {2, 1, "expected 2432 bytes"}, {2, 0, "expected 2528 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytebuf b = {0};
        build(&b, tiny, cases[i].version, cases[i].shared, 4);
        size_t n = b.n;
        char want[128];
        b.n = n - 1; /* one byte short */
        snprintf(want, sizeof want, "file has %zu", n - 1);
        expect_open_fail(write_tmp("short_by_one.bin", &b), OWL_ERR_INPUT, cases[i].expected);
        expect_open_fail(write_tmp("short_by_one.bin", &b), OWL_ERR_INPUT, want);
        b.n = n;
        bb_u8(&b, 0); /* one byte long */
        snprintf(want, sizeof want, "file has %zu", n + 1);
        expect_open_fail(write_tmp("long_by_one.bin", &b), OWL_ERR_INPUT, want);
        bb_free(&b);
    }
}

/* Builds an int8 file, lets `edit` change its header, and expects `want`. */
static void int8_with(const char *name, size_t at, const void *bytes, size_t n, owl_status status, const char *want) {
    bytebuf b = {0};
    build(&b, tiny, 2, 1, 4);
    memcpy(b.p + at, bytes, n);
    expect_open_fail(write_tmp(name, &b), status, want);
    bb_free(&b);
}

static void test_bad_int8(void) {
    int32_t v3 = 3, v0 = 0, g0 = 0, g5 = 5, gneg = -4, vneg = -6;
    uint8_t two = 2, junk = 0x5a;
    int8_with("version3.bin", 4, &v3, 4, OWL_ERR_UNSUPPORTED, "export version 3 is not supported");
    int8_with("version0.bin", 4, &v0, 4, OWL_ERR_UNSUPPORTED, "export version 0 is not supported");
    int8_with("group0.bin", 37, &g0, 4, OWL_ERR_INPUT, "group_size 0 is out of range");
    int8_with("groupneg.bin", 37, &gneg, 4, OWL_ERR_INPUT, "group_size -4 is out of range");
    int8_with("group5.bin", 37, &g5, 4, OWL_ERR_INPUT, "token_embedding_table has 48 elements, not a multiple of group_size 5");
    int8_with("shared2.bin", 36, &two, 1, OWL_ERR_INPUT, "shared_classifier is 2");
    int8_with("padding.bin", 200, &junk, 1, OWL_ERR_INPUT, "byte 200: header padding is 0x5a");
    int8_with("neg_vocab.bin", 28, &vneg, 4, OWL_ERR_INPUT, "vocab_size -6 is out of range (expected 1..");
    bytebuf b = {0};
    build(&b, tiny, 2, 1, 4);
    b.n = 100;
    expect_open_fail(write_tmp("ak42_short.bin", &b), OWL_ERR_INPUT, "truncated header: 100 bytes, an \"ak42\" llama2.c header is 256");
    bb_free(&b);
    /* v1 has no group field: its padding starts right after the flag */
    build(&b, tiny, 1, 1, 0);
    b.p[40] = 1;
    expect_open_fail(write_tmp("v1_pad.bin", &b), OWL_ERR_INPUT, "byte 40: header padding is 0x01");
    bb_free(&b);
}

/* A tokenizer .bin through owl_load_tokenizer_file must fail with `want`; the
   same bytes opened as a model report the checkpoint error instead. */
static void tok_bin_with(const char *name, const bytebuf *b, const char *want) {
    const char *p = write_tmp(name, b);
    owl_model *m = owl_model_new();
    owl_error err = {0};
    owl_status st = owl_load_tokenizer_file(m, p, &err);
    CHECK(st == OWL_ERR_INPUT && strstr(err.message, want), "%s: %d '%s', wanted '%s'", name, st, err.message, want);
    owl_model_close(m);
    m = NULL;
    st = owl_model_open(p, &m, &err);
    CHECK(st == OWL_ERR_INPUT && !m && (strstr(err.message, "llama2.c") || strstr(err.message, "truncated header")),
          "%s opened as a model: '%s'", name, err.message);
}

static void test_bad_tokenizer_bin(void) {
    bytebuf b = {0};
    put_i32(&b, 4);
    for (int i = 0; i < 3; i++) {
        bb_f32(&b, 0);
        put_i32(&b, 2);
        bb_put(&b, "ab", 2);
    }
    size_t good = b.n;
    tok_bin_with("tok_good_then_junk.bin", &(bytebuf){b.p, good - 1, b.cap}, "token record 2 is truncated (2 bytes of text, 1 left)");
    bb_f32(&b, 0);
    put_i32(&b, -1);
    tok_bin_with("tok_neg.bin", &b, "token record 3 has a negative length -1");
    b.n = good;
    bb_f32(&b, 0);
    put_i32(&b, 5);
    bb_put(&b, "abcde", 5);
    tok_bin_with("tok_long.bin", &b, "token record 3 is 5 bytes long, more than max_token_length 4");
    b.n = good;
    bb_f32(&b, 0);
    put_i32(&b, INT32_MAX);
    tok_bin_with("tok_huge.bin", &b, "more than max_token_length");
    b.n = good;
    bb_f32(&b, 0);
    put_i32(&b, 0);
    tok_bin_with("tok_zero.bin", &b, "token record 3 is empty");
    b.n = good;
    bb_u8(&b, 1);
    tok_bin_with("tok_partial.bin", &b, "token record 3 is truncated (score and length need 8 bytes, 1 left)");
    memcpy(b.p, &(int32_t){0}, 4);
    b.n = good;
    tok_bin_with("tok_maxlen0.bin", &b, "max_token_length 0 is out of range");
    memcpy(b.p, &(int32_t){1 << 20}, 4);
    tok_bin_with("tok_maxlen_huge.bin", &b, "max_token_length 1048576 is out of range");
    b.n = 4;
    memcpy(b.p, &(int32_t){4}, 4);
    tok_bin_with("tok_empty.bin", &b, "holds no tokens");
    bb_free(&b);
    /* in memory, with the vocabulary size a checkpoint gives */
    bytebuf t = {0};
    put_i32(&t, 1);
    for (int i = 0; i < 4; i++) {
        bb_f32(&t, 1.5f);
        put_i32(&t, 1);
        bb_u8(&t, (uint8_t)('a' + i));
    }
    owl_model *m = owl_model_new();
    owl_error err = {0};
    CHECK(owl_llama2c_tokenizer_parse(m, t.p, t.n, 3, "mem.bin", &err) == OWL_ERR_INPUT &&
              strstr(err.message, "3 token records end at byte 31, but the file has 40 bytes"),
          "%s", err.message);
    owl_model_close(m);
    m = owl_model_new();
    CHECK(owl_llama2c_tokenizer_parse(m, t.p, t.n, 4, "mem.bin", &err) == OWL_OK, "%s", err.message);
    CHECK(m->vocab.n_tokens == 4 && token_is(m, 3, "d") && m->vocab.scores[3] == 1.5f);
    owl_model_close(m);
    bb_free(&t);
}

/* Checkpoints parsed from memory, as the fuzzer drives them. */
static void test_parse_from_memory(void) {
    bytebuf b = {0};
    build(&b, tiny, 2, 0, 4);
    owl_model *m = owl_model_new();
    owl_error err = {0};
    CHECK(owl_llama2c_parse(m, b.p, b.n, "mem.bin", &err) == OWL_OK, "%s", err.message);
    CHECK(owl_model_finish(m, &err) == OWL_OK, "%s", err.message);
    CHECK(m->n_tensors == 5 + 2 * 16, "%zu", m->n_tensors);
    owl_model_close(m);
    m = owl_model_new();
    CHECK(owl_llama2c_parse(m, b.p, b.n - 4, "mem.bin", &err) == OWL_ERR_INPUT && strstr(err.message, "expected 2528 bytes"));
    owl_model_close(m);
    bb_free(&b);
}

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(tmp_file(e->d_name));
    closedir(d);
    rmdir(tmpdir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/owl_test_llama2c_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_stories_float);
    RUN(test_stories_int8);
    RUN(test_aidreams);
    RUN(test_tokenizer_bin_alone);
    RUN(test_generated_versions);
    RUN(test_sibling_tokenizer_choice);
    RUN(test_bad_headers);
    RUN(test_bad_sizes);
    RUN(test_bad_int8);
    RUN(test_bad_tokenizer_bin);
    RUN(test_parse_from_memory);
    remove_tmpdir();
    DONE("test_llama2c");
}
