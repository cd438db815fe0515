/* test_lora.c: LoRA adapters on stories260K. The q/k row permutation on a
 * tiny case; a seeded adapter (r = 4, all seven projections of every layer)
 * applied from memory, from the PEFT and GGUF files owl writes, from an MLX
 * directory, on the GGUF, Hugging Face and llama2.c bases (the first and
 * last store q/k interleaved, the second rotate-half); merging; and the
 * refusals (shapes, targets, partners), each naming the tensor.
 * `test_lora --write-peft DIR` only writes the seeded adapter (tests/cli/lora.sh
 * hands it to an independent implementation). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>

#include "model/lora.h"
#include "testfiles.h"

#define N_IDS 5
#define VOCAB 512
static const int32_t ids[N_IDS] = {1, 403, 407, 261, 378};

/* ---- the seeded adapter --------------------------------------------------- */

static uint64_t rng_state;
static float uniform(void) { /* splitmix64 -> [-1, 1) */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

#define N_LAYERS 5
#define N_T (7 * N_LAYERS)
typedef struct adapter {
    owl_lora_tensor t[N_T];
    char names[N_T][48];
    float *a[N_T], *b[N_T];
    owl_lora_desc d;
} adapter;

/* stories260K: n_embd 64, 8 heads and 4 KV heads of 8, n_ff 172. B rows in
   Hugging Face's order unless interleaved (then permuted here, by the
   definition, independently of owl's code). */
static void make_adapter(adapter *ad, uint64_t seed, int interleaved) {
    static const struct { const char *kind; int64_t n_in, n_out; } kinds[7] = {
        {"attn_q", 64, 64}, {"attn_k", 64, 32}, {"attn_v", 64, 32}, {"attn_output", 64, 64},
        {"ffn_gate", 64, 172}, {"ffn_up", 64, 172}, {"ffn_down", 172, 64},
    };
    memset(ad, 0, sizeof *ad);
    rng_state = seed;
    const int64_t r = 4, hd = 8;
    for (int l = 0; l < N_LAYERS; l++)
        for (int k = 0; k < 7; k++) {
            int i = l * 7 + k;
            owl_lora_tensor *t = &ad->t[i];
            snprintf(ad->names[i], sizeof ad->names[i], "blk.%d.%s.weight", l, kinds[k].kind);
            t->target = ad->names[i];
            t->rank = r;
            t->n_in = kinds[k].n_in;
            t->n_out = kinds[k].n_out;
            ad->a[i] = malloc((size_t)(r * t->n_in) * sizeof(float));
            ad->b[i] = malloc((size_t)(r * t->n_out) * sizeof(float));
            for (int64_t j = 0; j < r * t->n_in; j++) ad->a[i][j] = 0.1f * uniform();
            for (int64_t j = 0; j < r * t->n_out; j++) ad->b[i][j] = 0.1f * uniform();
            if (interleaved && k < 2) { /* gguf_row(h, 2i) = hf_row(h, i), gguf_row(h, 2i+1) = hf_row(h, i + hd/2) */
                float *p = malloc((size_t)(r * t->n_out) * sizeof(float));
                for (int64_t h = 0; h < t->n_out / hd; h++)
                    for (int64_t q = 0; q < hd / 2; q++) {
                        memcpy(p + (h * hd + 2 * q) * r, ad->b[i] + (h * hd + q) * r, (size_t)r * sizeof(float));
                        memcpy(p + (h * hd + 2 * q + 1) * r, ad->b[i] + (h * hd + q + hd / 2) * r, (size_t)r * sizeof(float));
                    }
                free(ad->b[i]);
                ad->b[i] = p;
            }
            t->a = ad->a[i];
            t->b = ad->b[i];
        }
    ad->d = (owl_lora_desc){.base_model = "stories260K", .rank = r, .alpha = 8, .dropout = 0, .use_rslora = 0,
                            .base_rows_interleaved = interleaved, .n_head = 8, .n_head_kv = 4, .head_dim = hd,
                            .t = ad->t, .n = N_T, .architecture = "llama"};
}

static void free_adapter(adapter *ad) {
    for (int i = 0; i < N_T; i++) {
        free(ad->a[i]);
        free(ad->b[i]);
    }
}

/* ---- running -------------------------------------------------------------- */

static owl_model *open_model(const char *path) {
    owl_model *m = NULL;
    owl_error err = {0};
    CHECK(owl_model_open(path, &m, &err) == OWL_OK, "%s: %s", path, err.message);
    return m;
}

static owl_engine *engine_of(const owl_model *base) {
    owl_engine_params p = owl_engine_default_params();
    p.n_threads = 2;
    p.kv_type = OWL_KV_F32;
    p.n_ctx = 16;
    owl_engine *e = NULL;
    owl_error err = {0};
    CHECK(base && owl_engine_new(base, &p, &e, &err) == OWL_OK, "%s", err.message);
    return e;
}

/* All positions' logits of the prompt; 0 on failure. */
static int logits_of(owl_engine *e, float *out) {
    if (!e) return 0;
    int8_t want[N_IDS] = {1, 1, 1, 1, 1};
    owl_batch b = {.n_tokens = N_IDS, .tokens = ids, .logits = want};
    owl_error err = {0};
    owl_status st = owl_engine_decode(e, &b, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st) return 0;
    for (int i = 0; i < N_IDS; i++) memcpy(out + i * VOCAB, owl_engine_logits(e, i), VOCAB * sizeof(float));
    return 1;
}

static double max_diff(const float *x, const float *y) {
    double m = 0;
    for (int i = 0; i < N_IDS * VOCAB; i++) m = fmax(m, fabs((double)x[i] - (double)y[i]));
    return m;
}

/* Logits of base with the adapter file at path added at scale; 0 on failure. */
static int logits_with_file(const owl_model *base, const char *path, float scale, float *out) {
    owl_model *ad = open_model(path);
    owl_engine *e = ad ? engine_of(base) : NULL;
    owl_error err = {0};
    int ok = e && owl_engine_add_lora(e, ad, scale, &err) == OWL_OK;
    CHECK(ok, "%s: %s", path, err.message);
    ok = ok && owl_engine_n_loras(e) == 1 && logits_of(e, out);
    owl_engine_free(e);
    owl_model_close(ad);
    return ok;
}

static int logits_with_desc(const owl_model *base, const owl_lora_desc *d, float scale, float *out) {
    owl_engine *e = engine_of(base);
    owl_error err = {0};
    int ok = e && owl_engine_add_lora_desc(e, d, scale, &err) == OWL_OK;
    CHECK(ok, "%s", err.message);
    ok = ok && logits_of(e, out);
    owl_engine_free(e);
    return ok;
}

static int same_file(const char *p, const char *q) {
    FILE *a = fopen(p, "rb"), *b = fopen(q, "rb");
    int same = a && b;
    while (same) {
        int x = fgetc(a), y = fgetc(b);
        if (x != y) same = 0;
        if (x == EOF || y == EOF) break;
    }
    if (a) fclose(a);
    if (b) fclose(b);
    return same;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_permutation(void) {
    /* 2 heads of 4 rows, 1 column: rotate-half rows 0..7 */
    float hf[8] = {0, 1, 2, 3, 4, 5, 6, 7}, gg[8], back[8];
    owl_lora_permute_rows(hf, gg, 2, 4, 1, 1);
    static const float want[8] = {0, 2, 1, 3, 4, 6, 5, 7}; /* pairs (0,2), (1,3) of each head side by side */
    for (int i = 0; i < 8; i++) CHECK(gg[i] == want[i], "row %d: %g, want %g", i, gg[i], want[i]);
    owl_lora_permute_rows(gg, back, 2, 4, 1, 0);
    for (int i = 0; i < 8; i++) CHECK(back[i] == hf[i], "round trip row %d", i);
    /* head_dim 8 with 2 columns: rows move whole */
    float m[16], p[16];
    for (int i = 0; i < 16; i++) m[i] = (float)i;
    owl_lora_permute_rows(m, p, 1, 8, 2, 1);
    static const int rows[8] = {0, 4, 1, 5, 2, 6, 3, 7};
    for (int i = 0; i < 8; i++) CHECK(p[2 * i] == m[2 * rows[i]] && p[2 * i + 1] == m[2 * rows[i] + 1], "row %d", i);
    CHECK(owl_lora_family_permutes("llama") && owl_lora_family_permutes("granite") && !owl_lora_family_permutes("qwen2") &&
          !owl_lora_family_permutes("llama4") && !owl_lora_family_permutes(NULL));
}

static float L0[N_IDS * VOCAB], Lpeft[N_IDS * VOCAB], L[N_IDS * VOCAB];

static void test_apply(void) {
    owl_model *gguf = open_model(shared_path("models/stories260K/stories260K.gguf"));
    owl_model *hf = open_model(shared_path("models/stories260K/hf"));
    owl_model *l2c = open_model(shared_path("models/stories260K/stories260K.bin"));
    if (!gguf || !hf || !l2c) goto done;
    CHECK(owl_lora_base_interleaved(gguf) && owl_lora_base_interleaved(l2c) && !owl_lora_base_interleaved(hf));
    adapter ad, il;
    make_adapter(&ad, 1, 0);
    make_adapter(&il, 1, 1);
    owl_error err = {0};
    owl_engine *e = engine_of(gguf);
    CHECK(logits_of(e, L0));
    owl_engine_free(e);

    /* the PEFT directory owl writes, on the interleaved GGUF base: owl permutes */
    CHECK(owl_lora_save_peft(&ad.d, tmp_path("peft"), &err) == OWL_OK, "%s", err.message);
    CHECK(logits_with_file(gguf, tmp_path("peft"), 1.0f, Lpeft));
    double effect = max_diff(Lpeft, L0);
    printf("adapter effect on the logits: max |with - without| = %.4f\n", effect);
    CHECK(effect > 0.5, "the seeded adapter barely changes the logits (%g)", effect);

    /* the description in memory, in either row order, gives the same */
    CHECK(logits_with_desc(gguf, &ad.d, 1.0f, L) && max_diff(L, Lpeft) < 1e-6, "rotate-half description: %g", max_diff(L, Lpeft));
    CHECK(logits_with_desc(gguf, &il.d, 1.0f, L) && max_diff(L, Lpeft) < 1e-6, "interleaved description: %g", max_diff(L, Lpeft));
    /* and a wrong order is visible: rotate-half rows claimed to be interleaved */
    ad.d.base_rows_interleaved = 1;
    CHECK(logits_with_desc(gguf, &ad.d, 1.0f, L));
    double wrong = max_diff(L, Lpeft);
    printf("unpermuted q/k rows on the GGUF base: max diff %.4f\n", wrong);
    CHECK(wrong > 1e-2, "the permutation makes no difference (%g)", wrong);
    ad.d.base_rows_interleaved = 0;

    /* both orders write the same files */
    CHECK(owl_lora_save_peft(&il.d, tmp_path("peft_il"), &err) == OWL_OK, "%s", err.message);
    CHECK(same_file(tmp_path("peft/adapter_model.safetensors"), tmp_path("peft_il/adapter_model.safetensors")));
    CHECK(same_file(tmp_path("peft/adapter_config.json"), tmp_path("peft_il/adapter_config.json")));
    CHECK(owl_lora_save_gguf(&ad.d, tmp_path("a.gguf"), &err) == OWL_OK, "%s", err.message);
    CHECK(owl_lora_save_gguf(&il.d, tmp_path("il.gguf"), &err) == OWL_OK, "%s", err.message);
    CHECK(same_file(tmp_path("a.gguf"), tmp_path("il.gguf")));

    /* the GGUF LoRA (interleaved rows) on the GGUF base: no permutation */
    CHECK(logits_with_file(gguf, tmp_path("a.gguf"), 1.0f, L) && max_diff(L, Lpeft) < 1e-6, "GGUF LoRA: %g", max_diff(L, Lpeft));

    /* the Hugging Face base (rotate-half): PEFT as is, the GGUF LoRA permuted back */
    float Lhf0[N_IDS * VOCAB];
    e = engine_of(hf);
    CHECK(logits_of(e, Lhf0));
    owl_engine_free(e);
    printf("bases: GGUF vs Hugging Face without adapter: max diff %.2g\n", max_diff(Lhf0, L0));
    CHECK(logits_with_file(hf, tmp_path("peft"), 1.0f, L) && max_diff(L, Lpeft) < 1e-4, "PEFT on HF: %g", max_diff(L, Lpeft));
    CHECK(logits_with_file(hf, tmp_path("a.gguf"), 1.0f, L) && max_diff(L, Lpeft) < 1e-4, "GGUF LoRA on HF: %g", max_diff(L, Lpeft));
    /* llama2.c (Meta's interleaved order, like the GGUF) */
    CHECK(logits_with_file(l2c, tmp_path("peft"), 1.0f, L) && max_diff(L, Lpeft) < 1e-4, "PEFT on llama2.c: %g", max_diff(L, Lpeft));

    /* scale: 0 is the base exactly; two halves are one whole */
    CHECK(logits_with_file(gguf, tmp_path("peft"), 0.0f, L) && max_diff(L, L0) == 0, "scale 0: %g", max_diff(L, L0));
    owl_model *p1 = open_model(tmp_path("peft"));
    e = engine_of(gguf);
    CHECK(e && p1 && owl_engine_add_lora(e, p1, 0.5f, &err) == OWL_OK && owl_engine_add_lora(e, p1, 0.5f, &err) == OWL_OK,
          "%s", err.message);
    CHECK(owl_engine_n_loras(e) == 2 && logits_of(e, L) && max_diff(L, Lpeft) < 1e-4, "0.5 + 0.5: %g", max_diff(L, Lpeft));
    owl_engine_free(e);
    owl_model_close(p1);

    /* rsLoRA: alpha / sqrt(r); alpha 4 with r 4 equals plain alpha 8 */
    ad.d.use_rslora = 1;
    ad.d.alpha = 4;
    CHECK(logits_with_desc(gguf, &ad.d, 1.0f, L) && max_diff(L, Lpeft) < 1e-5, "rsLoRA: %g", max_diff(L, Lpeft));
    CHECK(owl_lora_save_gguf(&ad.d, tmp_path("rs.gguf"), &err) == OWL_OK, "%s", err.message);
    owl_model *rs = open_model(tmp_path("rs.gguf"));
    CHECK(rs && owl_model_get_info(rs)->adapter && owl_model_get_info(rs)->adapter->alpha == 8.0, "folded alpha");
    owl_model_close(rs);
    CHECK(logits_with_file(gguf, tmp_path("rs.gguf"), 1.0f, L) && max_diff(L, Lpeft) < 1e-5, "rsLoRA GGUF: %g", max_diff(L, Lpeft));
    CHECK(owl_lora_save_peft(&ad.d, tmp_path("rs_peft"), &err) == OWL_OK, "%s", err.message);
    CHECK(logits_with_file(gguf, tmp_path("rs_peft"), 1.0f, L) && max_diff(L, Lpeft) < 1e-5, "rsLoRA PEFT: %g", max_diff(L, Lpeft));
    ad.d.use_rslora = 0;
    ad.d.alpha = 8;
    free_adapter(&ad);
    free_adapter(&il);
done:
    owl_model_close(gguf);
    owl_model_close(hf);
    owl_model_close(l2c);
}

/* What the writers put in the files, read back through owl_model_open. */
static void test_files(void) {
    owl_model *m = open_model(tmp_path("peft"));
    if (m) {
        const owl_model_info *in = owl_model_get_info(m);
        CHECK(in->format == OWL_FORMAT_PEFT_ADAPTER && in->n_tensors == 2 * N_T, "%zu tensors", in->n_tensors);
        const owl_adapter_info *a = in->adapter;
        CHECK(a && a->rank == 4 && a->alpha == 8 && !a->use_rslora && !a->fan_in_fan_out && a->base_model &&
              !strcmp(a->base_model, "stories260K"));
        static const char *const want[7] = {"down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"};
        CHECK(a && a->n_targets == 7, "%zu targets", a ? a->n_targets : 0);
        for (size_t i = 0; a && i < 7 && i < a->n_targets; i++) CHECK(!strcmp(a->targets[i], want[i]), "%s", a->targets[i]);
        const owl_tensor *t = owl_model_find_tensor(m, "blk.2.attn_k.weight.lora_b");
        CHECK(t && !strcmp(t->source_name, "base_model.model.model.layers.2.self_attn.k_proj.lora_B.weight") &&
              t->dtype == OWL_F32 && t->ne[0] == 4 && t->ne[1] == 32);
        t = owl_model_find_tensor(m, "blk.4.ffn_down.weight.lora_a");
        CHECK(t && !strcmp(t->source_name, "base_model.model.model.layers.4.mlp.down_proj.lora_A.weight") &&
              t->ne[0] == 172 && t->ne[1] == 4);
        char *md = NULL;
        owl_error err = {0};
        CHECK(owl_model_metadata_json(m, 1, &md, &err) == OWL_OK);
        CHECK(md && strstr(md, "\"task_type\": \"CAUSAL_LM\"") && strstr(md, "\"bias\": \"none\"") &&
              strstr(md, "\"lora_dropout\": 0.0"), "%s", md ? md : "");
        free(md);
        owl_model_close(m);
    }
    m = open_model(tmp_path("a.gguf"));
    if (m) {
        const owl_model_info *in = owl_model_get_info(m);
        CHECK(in->format == OWL_FORMAT_GGUF && in->family && !strcmp(in->family, "llama"));
        CHECK(in->adapter && in->adapter->rank == 4 && in->adapter->alpha == 8 && in->adapter->n_targets == 7);
        const owl_tensor *t = owl_model_find_tensor(m, "blk.0.attn_q.weight.lora_a");
        CHECK(t && t->ne[0] == 64 && t->ne[1] == 4); /* llama.cpp: lora_a ne [n_in, r] */
        t = owl_model_find_tensor(m, "blk.0.attn_q.weight.lora_b");
        CHECK(t && t->ne[0] == 4 && t->ne[1] == 64); /* lora_b ne [r, n_out] */
        char *md = NULL;
        owl_error err = {0};
        CHECK(owl_model_metadata_json(m, 1, &md, &err) == OWL_OK);
        CHECK(md && strstr(md, "\"general.type\": \"adapter\"") && strstr(md, "\"adapter.type\": \"lora\""), "%s", md ? md : "");
        free(md);
        owl_model_close(m);
    }
}

/* MLX's layout (A [n_in, r], B [r, n_out], scale = alpha / r) from the same numbers. */
static void test_mlx(void) {
    adapter ad;
    make_adapter(&ad, 1, 0);
    mkdir(tmp_path("mlx"), 0755);
    write_text("mlx/adapter_config.json", "{\"lora_parameters\": {\"rank\": 4, \"scale\": 2.0, \"dropout\": 0.0}, \"num_layers\": 5}");
    static const char *const hf[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                      "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
    bytebuf data = {0}, h = {0};
    bb_put(&h, "{", 1);
    for (int i = 0; i < N_T; i++) {
        const owl_lora_tensor *t = &ad.t[i];
        char entry[400];
        size_t a0 = data.n;
        for (int64_t x = 0; x < t->n_in; x++)
            for (int64_t j = 0; j < t->rank; j++) bb_f32(&data, t->a[j * t->n_in + x]);
        size_t b0 = data.n;
        for (int64_t j = 0; j < t->rank; j++)
            for (int64_t o = 0; o < t->n_out; o++) bb_f32(&data, t->b[o * t->rank + j]);
        int n = snprintf(entry, sizeof entry,
                         "%s\"model.layers.%d.%s.lora_a\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]},"
                         "\"model.layers.%d.%s.lora_b\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
                         i ? "," : "", i / 7, hf[i % 7], (long long)t->n_in, (long long)t->rank, a0, b0, i / 7, hf[i % 7],
                         (long long)t->rank, (long long)t->n_out, b0, data.n);
        bb_put(&h, entry, (size_t)n);
    }
    bb_put(&h, "}", 1);
    bytebuf f = {0};
    bb_u64(&f, h.n);
    bb_put(&f, h.p, h.n);
    bb_put(&f, data.p, data.n);
    bb_write_file(&f, tmp_path("mlx/adapters.safetensors"));
    bb_free(&f);
    bb_free(&h);
    bb_free(&data);
    owl_model *gguf = open_model(shared_path("models/stories260K/stories260K.gguf"));
    if (gguf) CHECK(logits_with_file(gguf, tmp_path("mlx"), 1.0f, L) && max_diff(L, Lpeft) < 1e-5, "MLX: %g", max_diff(L, Lpeft));
    owl_model_close(gguf);
    free_adapter(&ad);
}

static void test_merge(void) {
    owl_model *gguf = open_model(shared_path("models/stories260K/stories260K.gguf"));
    owl_model *peft = open_model(tmp_path("peft"));
    if (!gguf || !peft) goto done;
    const owl_model *ads[1] = {peft};
    owl_merge_params p = {.adapters = ads, .n_adapters = 1, .dtype = -1};
    owl_merge_result r;
    owl_error err = {0};
    CHECK(owl_lora_merge(gguf, &p, tmp_path("merged.gguf"), &r, &err) == OWL_OK, "%s", err.message);
    CHECK(r.n_tensors == 48 && r.n_merged == N_T && r.bytes > 1000000, "%zu %zu %llu", r.n_tensors, r.n_merged,
          (unsigned long long)r.bytes);
    owl_model *m = open_model(tmp_path("merged.gguf"));
    owl_engine *e = m ? engine_of(m) : NULL;
    if (e && logits_of(e, L)) {
        printf("merged F32 vs unmerged: max diff %.2g\n", max_diff(L, Lpeft));
        CHECK(max_diff(L, Lpeft) < 1e-4, "%g", max_diff(L, Lpeft));
    }
    owl_engine_free(e);
    owl_model_close(m);
    /* Q8_0 merged weights, the rest kept */
    p.dtype = OWL_Q8_0;
    CHECK(owl_lora_merge(gguf, &p, tmp_path("merged_q8.gguf"), &r, &err) == OWL_OK, "%s", err.message);
    m = open_model(tmp_path("merged_q8.gguf"));
    if (m) {
        const owl_tensor *q = owl_model_find_tensor(m, "blk.0.attn_q.weight"), *o = owl_model_find_tensor(m, "output.weight");
        const owl_tensor *dn = owl_model_find_tensor(m, "blk.0.ffn_down.weight"); /* rows of 172: not whole blocks */
        CHECK(q && q->dtype == OWL_Q8_0 && o && o->dtype == OWL_F32 && dn && dn->dtype == OWL_F32);
        e = engine_of(m);
        if (e && logits_of(e, L)) {
            printf("merged Q8_0 vs unmerged: max diff %.2g\n", max_diff(L, Lpeft));
            CHECK(max_diff(L, Lpeft) < 0.5, "%g", max_diff(L, Lpeft));
        }
        owl_engine_free(e);
        owl_model_close(m);
    }
    /* refusals: a base that is not GGUF, a type owl cannot quantize to */
    owl_model *hf = open_model(shared_path("models/stories260K/hf"));
    p.dtype = -1;
    CHECK(hf && owl_lora_merge(hf, &p, tmp_path("x.gguf"), &r, &err) == OWL_ERR_UNSUPPORTED && strstr(err.message, "GGUF base"),
          "%s", err.message);
    owl_model_close(hf);
    p.dtype = OWL_IQ2_XXS;
    CHECK(owl_lora_merge(gguf, &p, tmp_path("x.gguf"), &r, &err) == OWL_ERR_UNSUPPORTED, "%s", err.message);
    CHECK(access(tmp_path("x.gguf"), F_OK) != 0);
done:
    owl_model_close(peft);
    owl_model_close(gguf);
}

/* Adding must fail with status want and a message holding substr, and leave the engine as it was. */
static void expect_desc_fail(const owl_model *base, const owl_lora_desc *d, owl_status want, const char *substr) {
    owl_engine *e = engine_of(base);
    owl_error err = {0};
    owl_status st = e ? owl_engine_add_lora_desc(e, d, 1.0f, &err) : OWL_ERR_IO;
    CHECK(st == want && strstr(err.message, substr), "status %d (want %d): %s", st, want, err.message);
    CHECK(owl_engine_n_loras(e) == 0);
    CHECK(logits_of(e, L) && max_diff(L, L0) == 0, "a refused adapter changed the engine");
    owl_engine_free(e);
}

static void test_errors(void) {
    owl_model *gguf = open_model(shared_path("models/stories260K/stories260K.gguf"));
    if (!gguf) return;
    owl_error err = {0};
    owl_engine *e = engine_of(gguf);
    CHECK(e && owl_engine_add_lora(e, gguf, 1.0f, &err) == OWL_ERR_USAGE && strstr(err.message, "not a LoRA adapter"), "%s",
          err.message);
    owl_engine_free(e);

    adapter ad;
    make_adapter(&ad, 2, 0);
    /* the last tensor bad: nothing of the adapter is attached */
    ad.t[N_T - 1].n_in = 171;
    expect_desc_fail(gguf, &ad.d, OWL_ERR_INPUT, "blk.4.ffn_down.weight");
    ad.t[N_T - 1].n_in = 172;
    ad.t[3].target = "blk.9.attn_q.weight";
    expect_desc_fail(gguf, &ad.d, OWL_ERR_INPUT, "blk.9.attn_q.weight, which the base");
    static float rows512[512 * 4]; /* B of a [64, 512] weight */
    ad.t[3].target = "token_embd.weight";
    ad.t[3].n_out = 512;
    ad.t[3].b = rows512;
    expect_desc_fail(gguf, &ad.d, OWL_ERR_UNSUPPORTED, "token_embd.weight");
    ad.t[3].target = ad.names[0]; /* twice the same target */
    ad.t[3].n_out = 64;
    ad.t[3].b = ad.b[3];
    expect_desc_fail(gguf, &ad.d, OWL_ERR_INPUT, "two LoRA pairs target blk.0.attn_q.weight");
    ad.t[3].target = ad.names[3];

    /* a PEFT file for another model: opens, but does not fit */
    ad.t[0].n_out = 48; /* 6 heads of 8 */
    ad.d.n_head = 6;
    CHECK(owl_lora_save_peft(&ad.d, tmp_path("wrong"), &err) == OWL_OK, "%s", err.message);
    owl_model *w = open_model(tmp_path("wrong"));
    e = engine_of(gguf);
    CHECK(w && e && owl_engine_add_lora(e, w, 1.0f, &err) == OWL_ERR_INPUT && strstr(err.message, "blk.0.attn_q.weight") &&
          strstr(err.message, "another model"), "%s", err.message);
    owl_engine_free(e);
    owl_model_close(w);
    ad.t[0].n_out = 64;
    ad.d.n_head = 8;

    /* writers refuse what they cannot write */
    ad.d.head_dim = 6;
    CHECK(owl_lora_save_gguf(&ad.d, tmp_path("bad.gguf"), &err) == OWL_ERR_USAGE && strstr(err.message, "blk.0.attn_q.weight"),
          "%s", err.message);
    ad.d.head_dim = 8;
    ad.t[5].target = "blk.0.ffn_up";
    CHECK(owl_lora_save_peft(&ad.d, tmp_path("bad"), &err) == OWL_ERR_USAGE && strstr(err.message, "blk.0.ffn_up"), "%s",
          err.message);
    ad.t[5].target = "blk.0.no_such.weight";
    CHECK(owl_lora_save_peft(&ad.d, tmp_path("bad"), &err) == OWL_ERR_USAGE && strstr(err.message, "no Hugging Face module"),
          "%s", err.message);
    ad.t[5].target = ad.names[5];
    CHECK(access(tmp_path("bad.gguf"), F_OK) != 0 && access(tmp_path("bad/adapter_config.json"), F_OK) != 0);
    free_adapter(&ad);

    /* a lora_A without its lora_B */
    mkdir(tmp_path("lonely"), 0755);
    write_text("lonely/adapter_config.json", "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 2}");
    write_safetensors_zeros("lonely/adapter_model.safetensors",
                            "{\"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight\":"
                            "{\"dtype\":\"F32\",\"shape\":[2,64],\"data_offsets\":[0,512]}}", 512);
    w = open_model(tmp_path("lonely"));
    e = engine_of(gguf);
    CHECK(w && e && owl_engine_add_lora(e, w, 1.0f, &err) == OWL_ERR_INPUT && strstr(err.message, "has no partner"), "%s",
          err.message);
    owl_engine_free(e);
    owl_model_close(w);
    owl_model_close(gguf);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-peft")) { /* the seeded adapter for tests/cli/lora.sh */
        adapter ad;
        owl_error err = {0};
        make_adapter(&ad, 1, 0);
        owl_status st = owl_lora_save_peft(&ad.d, argv[2], &err);
        free_adapter(&ad);
        if (st) fprintf(stderr, "%s\n", err.message);
        return st ? 1 : 0;
    }
    tmpdir_create("test_lora");
    RUN(test_permutation);
    RUN(test_apply);
    RUN(test_files);
    RUN(test_mlx);
    RUN(test_merge);
    RUN(test_errors);
    tmpdir_remove();
    DONE("test_lora");
}
