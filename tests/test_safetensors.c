/* test_safetensors.c: the safetensors reader on the real stories260K
 * checkpoint (figures computed independently with Python's json/struct),
 * the Hugging Face directory around it, hostile headers built in memory,
 * and sharded checkpoints (valid and malicious indexes) in a temp dir. */
#define _POSIX_C_SOURCE 200809L

#include "bytebuf.h"
#include "formats/safetensors.h"
#include "harness.h"
#include "model/model.h"
#include "model/names.h"
#include "testfiles.h"

/* ---- helpers ------------------------------------------------------------ */

/* A safetensors file: u64 LE header length, header, data_len data bytes (0, 1, 2, ...). */
static bytebuf st_bytes(const char *header, size_t data_len) {
    bytebuf b = {0};
    bb_u64(&b, strlen(header));
    bb_put(&b, header, strlen(header));
    for (size_t i = 0; i < data_len; i++) bb_u8(&b, (uint8_t)i);
    return b;
}

static owl_model *parse_bytes(const bytebuf *b, owl_status *st, owl_error *err) {
    owl_model *m = owl_model_new();
    int file = owl_model_add_file(m, "t.safetensors", "weights", NULL, b->n, err);
    *st = owl_safetensors_parse(m, file, b->p, b->n, "t.safetensors", NULL, err);
    return m;
}

static void expect_bytes_fail(const bytebuf *b, owl_status want, const char *substr) {
    owl_error err = {0};
    owl_status st;
    owl_model *m = parse_bytes(b, &st, &err);
    CHECK(st == want, "status %d, expected %d (%s)", st, want, err.message);
    CHECK(strstr(err.message, substr) != NULL, "message '%s' lacks '%s'", err.message, substr);
    owl_model_close(m);
}

static void expect_fail(const char *header, size_t data_len, owl_status want, const char *substr) {
    bytebuf b = st_bytes(header, data_len);
    expect_bytes_fail(&b, want, substr);
    bb_free(&b);
}

static void write_st(const char *rel, const char *header, size_t data_len) {
    bytebuf b = st_bytes(header, data_len);
    bb_write_file(&b, tmp_path(rel));
    bb_free(&b);
}

/* ---- the real checkpoint -------------------------------------------------- */

static void test_stories_file(void) {
    owl_model *m = NULL;
    owl_error err = {0};
    owl_status st = owl_model_open(shared_path("models/stories260K/hf/model.safetensors"), &m, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st) return;
    const owl_model_info *in = owl_model_get_info(m);
    CHECK(in->format == OWL_FORMAT_SAFETENSORS);
    CHECK(in->n_tensors == 47, "%zu tensors", in->n_tensors);
    uint64_t params, bytes;
    owl_model_totals(m, &params, &bytes);
    CHECK(params == 260032, "%llu", (unsigned long long)params);
    CHECK(bytes == 1040128, "%llu", (unsigned long long)bytes);
    /* header length 4936, so the data section starts at 8 + 4936 = 4944 */
    const owl_tensor *t = owl_model_find_tensor(m, "token_embd.weight");
    CHECK(t && strcmp(t->source_name, "model.embed_tokens.weight") == 0);
    if (t) {
        CHECK(t->dtype == OWL_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512);
        CHECK(t->offset == 4944 && t->n_bytes == 131072, "offset %llu", (unsigned long long)t->offset);
        float f[2];
        memcpy(f, t->data, sizeof f);
        CHECK(f[0] == -0.29474878311157227f && f[1] == 0.5618956089019775f, "%.9g %.9g", f[0], f[1]);
    }
    t = owl_model_find_tensor(m, "blk.0.attn_k.weight");
    CHECK(t && t->ne[0] == 64 && t->ne[1] == 32 && t->offset == 268624 && t->n_bytes == 8192);
    t = owl_model_find_tensor(m, "output_norm.weight");
    CHECK(t && t->n_dims == 1 && t->ne[0] == 64 && t->offset == 1044816);
    if (t) {
        float f;
        memcpy(&f, t->data, sizeof f);
        CHECK(f == 2.4583089351654053f, "%.9g", f);
    }
    t = owl_model_find_tensor(m, "blk.4.ffn_down.weight");
    CHECK(t && t->ne[0] == 172 && t->ne[1] == 64 && t->offset == 863312);
    CHECK(owl_model_find_tensor(m, "model.layers.0.self_attn.q_proj.weight") == NULL); /* canonical names only */
    char *md = NULL;
    CHECK(owl_model_metadata_json(m, 0, &md, &err) == OWL_OK);
    CHECK(md && strstr(md, "\"format\": \"pt\""), "%s", md ? md : "");
    free(md);
    owl_model_close(m);
}

static void test_stories_dir(void) {
    owl_model *m = NULL;
    owl_error err = {0};
    owl_status st = owl_model_open(shared_path("models/stories260K/hf"), &m, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st) return;
    const owl_model_info *in = owl_model_get_info(m);
    const owl_hparams *hp = &in->hp;
    CHECK(in->format == OWL_FORMAT_HF_DIR);
    CHECK(strcmp(in->family, "llama") == 0 && strcmp(in->architecture, "LlamaForCausalLM") == 0);
    CHECK(in->name && strcmp(in->name, "hf") == 0);
    CHECK(hp->n_embd == 64 && hp->n_layer == 5 && hp->n_head == 8 && hp->n_head_kv == 4 && hp->n_ff == 172);
    CHECK(hp->n_vocab == 512 && hp->n_ctx_train == 512 && hp->head_dim == 8 && hp->n_rot == 8);
    CHECK(hp->norm_eps == 1e-5 && hp->rope_theta == 10000.0 && hp->rope_style == OWL_ROPE_HALVES);
    CHECK(hp->tied_embeddings == 1);
    uint64_t params;
    owl_model_totals(m, &params, NULL);
    /* 292,800 in the GGUF, which stores a copy of token_embd as output.weight: 292800 - 512*64 */
    CHECK(params == 260032, "%llu", (unsigned long long)params);
    CHECK(in->n_tensors == 47);
    const owl_tensor *t = owl_model_find_tensor(m, "blk.0.attn_q.weight");
    CHECK(t && t->ne[0] == 64 && t->ne[1] == 64 && strcmp(t->source_name, "model.layers.0.self_attn.q_proj.weight") == 0);
    t = owl_model_find_tensor(m, "token_embd.weight");
    CHECK(t && t->ne[0] == 64 && t->ne[1] == 512);
    CHECK(owl_model_find_tensor(m, "blk.4.ffn_norm.weight") != NULL);
    CHECK(owl_model_find_tensor(m, "blk.2.attn_output.weight") != NULL);
    CHECK(owl_model_find_tensor(m, "output.weight") == NULL);
    /* tokenizer.model is read; tokenizer_config.json says add BOS, not EOS */
    CHECK(in->tokenizer.n_vocab == 512, "%lld", (long long)in->tokenizer.n_vocab);
    CHECK(in->tokenizer.add_bos == 1 && in->tokenizer.add_eos == 0);
    int have_bos = 0, have_eos = 0;
    for (size_t i = 0; i < in->tokenizer.n_special; i++) {
        const owl_special_token *s = &in->tokenizer.special[i];
        if (!strcmp(s->role, "bos")) have_bos = s->id == 1 && s->text && !strcmp(s->text, "<s>");
        if (!strcmp(s->role, "eos")) have_eos = s->id == 2 && s->text && !strcmp(s->text, "</s>");
    }
    CHECK(have_bos && have_eos);
    /* files: config, weights, tokenizer, tokenizer_config */
    const char *roles[] = {"config", "weights", "tokenizer", "tokenizer_config"};
    for (size_t r = 0; r < 4; r++) {
        int found = 0;
        for (size_t i = 0; i < in->n_files; i++) found |= !strcmp(in->files[i].role, roles[r]);
        CHECK(found, "no %s file", roles[r]);
    }
    for (size_t i = 0; i < in->n_files; i++)
        if (!strcmp(in->files[i].role, "weights")) CHECK(in->files[i].size == 1045072);
    char *md = NULL;
    CHECK(owl_model_metadata_json(m, 0, &md, &err) == OWL_OK);
    CHECK(md && strstr(md, "\"config\"") && strstr(md, "\"tokenizer_config\"") && strstr(md, "\"hidden_size\": 64"));
    free(md);
    owl_model_close(m);
}

/* ---- valid small files ----------------------------------------------------- */

static void test_valid_small(void) {
    /* every dtype, a scalar, a zero-size tensor where the next one starts,
       ne reversed from the row-major shape, null __metadata__, space padding */
    const char *h = "{\"__metadata__\":null,"
                    "\"z\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[0,0]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3,4],\"data_offsets\":[0,96]},"
                    "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[96,104]},"
                    "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[104,108]},"
                    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[108,112]},"
                    "\"i8\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[112,113]},"
                    "\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[113,114]},"
                    "\"i16\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[114,116]},"
                    "\"i32\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[116,120]},"
                    "\"i64\":{\"dtype\":\"I64\",\"shape\":[1,1,1,1],\"data_offsets\":[120,128]}}      ";
    bytebuf b = st_bytes(h, 128);
    owl_error err = {0};
    owl_status st;
    owl_model *m = parse_bytes(&b, &st, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    CHECK(m->n_tensors == 10, "%zu", m->n_tensors);
    uint64_t start = 8 + strlen(h);
    int seen = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const owl_tensor *t = &m->tensors[i];
        if (!strcmp(t->name, "a")) {
            seen++;
            CHECK(t->n_dims == 3 && t->ne[0] == 4 && t->ne[1] == 3 && t->ne[2] == 2 && t->ne[3] == 1);
            CHECK(t->n_elements == 24 && t->offset == start && t->data == b.p + start);
        } else if (!strcmp(t->name, "s")) {
            seen++;
            CHECK(t->dtype == OWL_F64 && t->n_dims == 0 && t->n_elements == 1 && t->offset == start + 96);
        } else if (!strcmp(t->name, "z")) {
            seen++;
            CHECK(t->n_elements == 0 && t->n_bytes == 0 && t->ne[0] == 4 && t->ne[1] == 0);
        } else if (!strcmp(t->name, "b")) {
            seen++;
            CHECK(t->dtype == OWL_BF16);
        } else if (!strcmp(t->name, "u8")) {
            seen++;
            CHECK(t->dtype == OWL_U8);
        } else if (!strcmp(t->name, "i64")) {
            seen++;
            CHECK(t->dtype == OWL_I64 && t->n_dims == 4);
        }
    }
    CHECK(seen == 6);
    owl_model_close(m);
    bb_free(&b);
}

/* ---- hostile headers ------------------------------------------------------ */

static void test_header_length(void) {
    bytebuf b = {0};
    bb_put(&b, "\x01\x02\x03", 3);
    expect_bytes_fail(&b, OWL_ERR_INPUT, "too short for the 8-byte header length");
    bb_free(&b);
    bb_u64(&b, 1000);
    bb_put(&b, "{}", 2);
    expect_bytes_fail(&b, OWL_ERR_INPUT, "header length 1000 runs past the end of the file (2 bytes");
    bb_free(&b);
    bb_u64(&b, UINT64_MAX);
    bb_put(&b, "{}", 2);
    expect_bytes_fail(&b, OWL_ERR_INPUT, "header length 18446744073709551615 is too large");
    bb_free(&b);
    bb_u64(&b, 100000001);
    expect_bytes_fail(&b, OWL_ERR_INPUT, "too large (owl accepts up to 100000000 bytes)");
    bb_free(&b);
    bb_u64(&b, 0);
    expect_bytes_fail(&b, OWL_ERR_INPUT, "not valid JSON");
    bb_free(&b);
}

static void test_header_json(void) {
    expect_fail("{\"a\": nope}", 0, OWL_ERR_INPUT, "header is not valid JSON");
    expect_fail("[1, 2]", 0, OWL_ERR_INPUT, "header must be a JSON object of tensors, found an array");
    /* a header cut short inside an entry */
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_off", 4, OWL_ERR_INPUT, "header is not valid JSON");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                8, OWL_ERR_INPUT, "duplicate");
    /* invalid UTF-8 (a lone 0xFF) inside a tensor name */
    expect_fail("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT,
                "header is not valid UTF-8");
    /* an overlong encoding of '/' */
    expect_fail("{\"a\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT,
                "not valid UTF-8");
    expect_fail("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT,
                "name is 0 bytes long");
    expect_fail("{\"a\":[1]}", 0, OWL_ERR_INPUT, "tensor 'a': expected an object with dtype, shape and data_offsets");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT, "tensor 'a': missing field 'shape'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, OWL_ERR_INPUT,
                "unexpected field 'x'");
    expect_fail("{\"__metadata__\":{\"format\":1}}", 0, OWL_ERR_INPUT,
                "__metadata__: value of 'format' is 1, expected a string");
    expect_fail("{\"__metadata__\":[\"pt\"]}", 0, OWL_ERR_INPUT, "__metadata__: expected an object of strings");
}

static void test_dtype(void) {
    expect_fail("{\"w.e\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, OWL_ERR_UNSUPPORTED,
                "t.safetensors: tensor 'w.e': dtype F8_E4M3 is not supported");
    expect_fail("{\"mask\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, OWL_ERR_UNSUPPORTED,
                "tensor 'mask': dtype BOOL is not supported");
    expect_fail("{\"a\":{\"dtype\":\"Q4_0\",\"shape\":[32],\"data_offsets\":[0,18]}}", 18, OWL_ERR_UNSUPPORTED,
                "dtype Q4_0 is not supported");
    expect_fail("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT,
                "tensor 'a': dtype: expected a string, found 7");
}

static void test_shape(void) {
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT,
                "tensor 'a': shape[0]: expected a non-negative integer, found -1");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT,
                "shape[0]: expected a non-negative integer, found 1.5");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,\"3\"],\"data_offsets\":[0,4]}}", 4, OWL_ERR_INPUT,
                "shape[1]: expected a non-negative integer, found string \"3\"");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,4]}}", 4,
                OWL_ERR_INPUT, "too big integer");
    expect_fail("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
                OWL_ERR_INPUT, "shape [4294967296, 4294967296] has more elements than fit in 64 bits");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4,
                OWL_ERR_INPUT, "needs more bytes than fit in 64 bits");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, OWL_ERR_UNSUPPORTED,
                "shape: rank 5 is above owl's limit of 4 dimensions");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16, OWL_ERR_INPUT,
                "shape: expected an array of integers, found 4");
}

static void test_offsets(void) {
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, OWL_ERR_INPUT,
                "data_offsets [8, 4] are reversed");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}}", 16, OWL_ERR_INPUT,
                "data_offsets [0, 1000] run past the end of the data section (16 bytes)");
    expect_fail("{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[5,6],\"data_offsets\":[0,100]}}", 120, OWL_ERR_INPUT,
                "t.safetensors: tensor 'a.weight': data_offsets [0, 100] hold 100 bytes but shape [5, 6] of F32 needs 120");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, OWL_ERR_INPUT,
                "data_offsets: expected 2 integers, found 1");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, OWL_ERR_INPUT,
                "data_offsets: expected 2 integers, found 3");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4, OWL_ERR_INPUT,
                "data_offsets[0]: expected a non-negative integer");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                12, OWL_ERR_INPUT, "overlap");
    /* a zero-size tensor inside another's bytes is refused too; at its edge it is fine */
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                8, OWL_ERR_INPUT, "overlap");
}

/* ---- sharded checkpoints --------------------------------------------------- */

#define SHARD1 "{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"
#define SHARD2                                                                  \
    "{\"model.layers.0.self_attn.q_proj.weight\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}," \
    "\"lm_head.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}"

static void make_shards(const char *sub) {
    char rel[128];
    mkdir(tmp_path(sub), 0755);
    snprintf(rel, sizeof rel, "%s/model-00001-of-00002.safetensors", sub);
    write_st(rel, SHARD1, 16);
    snprintf(rel, sizeof rel, "%s/model-00002-of-00002.safetensors", sub);
    write_st(rel, SHARD2, 12);
}

static owl_status load_index(const char *sub, const char *weight_map, owl_error *err, owl_model **out) {
    char rel[128], text[2048];
    make_shards(sub);
    snprintf(rel, sizeof rel, "%s/model.safetensors.index.json", sub);
    snprintf(text, sizeof text, "{\"metadata\":{\"total_size\":36},\"weight_map\":%s}", weight_map);
    write_text(rel, text);
    owl_model *m = owl_model_new();
    owl_status st = owl_safetensors_load_index(m, tmp_path(rel), NULL, err);
    if (out) *out = m;
    else owl_model_close(m);
    return st;
}

#define GOOD_MAP                                                                          \
    "{\"a.weight\":\"model-00001-of-00002.safetensors\","                                 \
    "\"model.layers.0.self_attn.q_proj.weight\":\"model-00002-of-00002.safetensors\","   \
    "\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}"

static void test_sharded(void) {
    owl_error err = {0};
    owl_model *m = NULL;
    CHECK(load_index("ok", GOOD_MAP, &err, &m) == OWL_OK, "%s", err.message);
    CHECK(m->n_tensors == 3 && m->n_files == 3, "%zu tensors, %zu files", m->n_tensors, m->n_files);
    owl_model_close(m);

    /* a whole directory: config.json + index, opened like any model */
    write_text("ok/config.json", "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
                                 "\"hidden_size\":4,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
                                 "\"vocab_size\":1}");
    CHECK(owl_model_open(tmp_path("ok"), &m, &err) == OWL_OK, "%s", err.message);
    if (m) {
        const owl_tensor *t = owl_model_find_tensor(m, "blk.0.attn_q.weight");
        CHECK(t && t->dtype == OWL_F16 && t->ne[0] == 4);
        CHECK(owl_model_find_tensor(m, "output.weight") && owl_model_find_tensor(m, "a.weight"));
        CHECK(m->info.hp.tied_embeddings == 0 && m->info.hp.head_dim == 2);
        owl_model_close(m);
    }
}

static void expect_index_fail(const char *sub, const char *map, const char *substr) {
    owl_error err = {0};
    owl_status st = load_index(sub, map, &err, NULL);
    CHECK(st == OWL_ERR_INPUT, "status %d (%s)", st, err.message);
    CHECK(strstr(err.message, substr) != NULL, "message '%s' lacks '%s'", err.message, substr);
}

static void test_sharded_hostile(void) {
    expect_index_fail("up", "{\"a.weight\":\"../model-00001-of-00002.safetensors\"}", "names another directory");
    expect_index_fail("abs", "{\"a.weight\":\"/etc/passwd\"}", "is an absolute path");
    expect_index_fail("dot", "{\"a.weight\":\"..\"}", "is not a file name");
    expect_index_fail("missing", "{\"a.weight\":\"model-00003-of-00002.safetensors\"}",
                      "weight_map names shard 'model-00003-of-00002.safetensors', which does not exist");
    expect_index_fail("wrong",
                      "{\"a.weight\":\"model-00002-of-00002.safetensors\","
                      "\"model.layers.0.self_attn.q_proj.weight\":\"model-00002-of-00002.safetensors\","
                      "\"lm_head.weight\":\"model-00001-of-00002.safetensors\"}",
                      "weight_map puts tensor 'a.weight' in model-00002-of-00002.safetensors, but that shard does "
                      "not hold it");
    expect_index_fail("ghost",
                      "{\"a.weight\":\"model-00001-of-00002.safetensors\","
                      "\"b.weight\":\"model-00001-of-00002.safetensors\"}",
                      "tensor 'b.weight' in model-00001-of-00002.safetensors, but no shard holds it");
    expect_index_fail("unlisted", "{\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}",
                      "shard model-00002-of-00002.safetensors holds tensor "
                      "'model.layers.0.self_attn.q_proj.weight', which the weight_map does not list");
    expect_index_fail("notmap", "[]", "weight_map: expected an object");
    expect_index_fail("notstr", "{\"a.weight\":7}", "tensor 'a.weight': expected a shard file name, found 7");

    /* the same tensor in two shards */
    owl_error err = {0};
    mkdir(tmp_path("twice"), 0755);
    write_st("twice/s1.safetensors", SHARD1, 16);
    write_st("twice/s2.safetensors", SHARD1, 16);
    write_text("twice/model.safetensors.index.json",
               "{\"weight_map\":{\"a.weight\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
    owl_model *m = owl_model_new();
    owl_status st = owl_safetensors_load_index(m, tmp_path("twice/model.safetensors.index.json"), NULL, &err);
    CHECK(st == OWL_ERR_INPUT && strstr(err.message, "tensor 'a.weight' appears in two shards: s1.safetensors and "
                                                     "s2.safetensors"), "%s", err.message);
    owl_model_close(m);
}

/* A directory with several .safetensors and no index is ambiguous; a pickle is refused. */
static void test_dir_weights(void) {
    owl_error err = {0};
    owl_model *m = NULL;
    const char *cfg = "{\"model_type\":\"llama\",\"hidden_size\":4,\"num_attention_heads\":2}";
    mkdir(tmp_path("two"), 0755);
    write_text("two/config.json", cfg);
    write_st("two/x.safetensors", SHARD1, 16);
    write_st("two/y.safetensors", SHARD1, 16);
    CHECK(owl_model_open(tmp_path("two"), &m, &err) == OWL_ERR_INPUT && strstr(err.message, "several .safetensors"),
          "%s", err.message);
    mkdir(tmp_path("one"), 0755);
    write_text("one/config.json", cfg);
    write_st("one/weights.safetensors", SHARD1, 16);
    CHECK(owl_model_open(tmp_path("one"), &m, &err) == OWL_OK, "%s", err.message);
    if (m) {
        CHECK(m->n_tensors == 1);
        owl_model_close(m);
    }
    mkdir(tmp_path("pickle"), 0755);
    write_text("pickle/config.json", cfg);
    write_text("pickle/pytorch_model.bin", "not read");
    CHECK(owl_model_open(tmp_path("pickle"), &m, &err) == OWL_ERR_UNSUPPORTED &&
              strstr(err.message, "pickle files are not loaded for safety; convert to safetensors"),
          "%s", err.message);
    mkdir(tmp_path("noconfig"), 0755);
    write_st("noconfig/model.safetensors", SHARD1, 16);
    CHECK(owl_model_open(tmp_path("noconfig"), &m, &err) == OWL_ERR_INPUT && strstr(err.message, "no config.json"),
          "%s", err.message);
}

int main(void) {
    tmpdir_create("test_safetensors");
    RUN(test_stories_file);
    RUN(test_stories_dir);
    RUN(test_valid_small);
    RUN(test_header_length);
    RUN(test_header_json);
    RUN(test_dtype);
    RUN(test_shape);
    RUN(test_offsets);
    RUN(test_sharded);
    RUN(test_sharded_hostile);
    RUN(test_dir_weights);
    tmpdir_remove();
    DONE("test_safetensors");
}
