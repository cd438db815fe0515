/* synth.c: random-weight models of real shapes, so that benchmarks and
 * tests need no download. Weights are N(0, 1/fan_in) (norms near 1) from a
 * seeded generator, quantized with ggml's reference quantizers; the file
 * carries the architecture's metadata and a synthetic SentencePiece
 * vocabulary (<unk>, <s>, </s>, the 256 byte tokens, then filler pieces), as
 * llama.cpp expects of a GGUF it loads. Written atomically through the GGUF
 * writer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "kernels/kernels.h"
#include "model/model.h"

typedef struct shape {
    const char *name, *arch, *what;
    int64_t vocab, embd, layers, heads, kv_heads, head_dim, ff, ctx, experts, experts_used;
    double rope_base;
    int tied, qk_norm;
} shape;

static const shape SHAPES[] = {
    {"tinyllama-1.1b", "llama", "TinyLlama 1.1B", 32000, 2048, 22, 32, 4, 64, 5632, 2048, 0, 0, 10000, 0, 0},
    {"llama-3.2-1b", "llama", "Llama 3.2 1B (tied embeddings)", 128256, 2048, 16, 32, 8, 64, 8192, 8192, 0, 0, 500000, 1, 0},
    {"qwen3-0.6b", "qwen3", "Qwen3 0.6B (q/k norms, tied)", 151936, 1024, 28, 16, 8, 128, 3072, 8192, 0, 0, 1000000, 1, 1},
    {"stories110m", "llama", "llama2.c stories110M (tied)", 32000, 768, 12, 12, 12, 64, 2048, 1024, 0, 0, 10000, 1, 0},
    {"moe-tiny", "llama", "a small Mixtral-style MoE: 8 experts, top 2", 32000, 512, 8, 8, 4, 64, 1024, 2048, 8, 2, 10000, 0, 0},
    {"test-tiny", "llama", "a 0.1M-parameter model for tests", 320, 64, 2, 4, 2, 16, 128, 256, 0, 0, 10000, 0, 0},
    {"test-qwen3", "qwen3", "a 0.1M-parameter Qwen3 (q/k norms, tied) for tests", 320, 64, 2, 4, 2, 16, 128, 256, 0, 0, 1000000, 1, 1},
    {"test-k", "llama", "rows of 256 for K-quant tests (the shape of ../shared/reference dtype_*)", 512, 256, 2, 4, 2, 64, 512, 512, 0, 0, 10000, 0, 0},
};

const char *owl_synth_shapes(size_t i, const char **description) {
    if (i >= sizeof SHAPES / sizeof SHAPES[0]) return NULL;
    if (description) *description = SHAPES[i].what;
    return SHAPES[i].name;
}

/* xoshiro-style generator and a normal deviate from it (Box-Muller) */
typedef struct rng {
    uint64_t s;
} rng;
static uint64_t next64(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float normal(rng *r) {
    double u1 = ((double)(next64(r) >> 11) + 0.5) / 9007199254740992.0, u2 = (double)(next64(r) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

typedef struct builder {
    owl_gguf_kv *kv;
    size_t n_kv, cap_kv;
    owl_gguf_out_tensor *t;
    size_t n_t, cap_t;
    void **owned;
    size_t n_owned, cap_owned;
    int type;      /* every matrix in this type, unless ftype names a recipe */
    int ftype;     /* llama_ftype written as general.file_type, -1 none */
    int recipe;    /* 1: choose per tensor as llama-quantize does for ftype */
    int64_t n_layer, n_gqa, n_expert;
    int tied;
    rng r;
    owl_error *err;
} builder;

static void *keep(builder *b, void *p) {
    if (!p) return NULL;
    if (b->n_owned == b->cap_owned) {
        size_t cap = b->cap_owned ? 2 * b->cap_owned : 64;
        void **q = realloc(b->owned, cap * sizeof *q);
        if (!q) { free(p); return NULL; }
        b->owned = q;
        b->cap_owned = cap;
    }
    return b->owned[b->n_owned++] = p;
}

static const char *own_str(builder *b, const char *s) {
    char *p = keep(b, malloc(strlen(s) + 1));
    if (p) strcpy(p, s);
    return p;
}

static int add_kv(builder *b, const char *key, owl_gguf_value v) {
    if (b->n_kv == b->cap_kv) {
        size_t cap = b->cap_kv ? 2 * b->cap_kv : 32;
        owl_gguf_kv *p = realloc(b->kv, cap * sizeof *p);
        if (!p) return 0;
        b->kv = p;
        b->cap_kv = cap;
    }
    const char *k = own_str(b, key);
    if (!k) return 0;
    b->kv[b->n_kv++] = (owl_gguf_kv){{k, strlen(k)}, v, 0};
    return 1;
}
static int kv_u32(builder *b, const char *key, uint64_t v) { return add_kv(b, key, (owl_gguf_value){.type = GGUF_U32, .u = v}); }
static int kv_f32(builder *b, const char *key, double v) { return add_kv(b, key, (owl_gguf_value){.type = GGUF_F32, .f = v}); }
static int kv_bool(builder *b, const char *key, int v) { return add_kv(b, key, (owl_gguf_value){.type = GGUF_BOOL, .u = (uint64_t)v}); }
static int kv_str(builder *b, const char *key, const char *v) {
    const char *s = own_str(b, v);
    return s && add_kv(b, key, (owl_gguf_value){.type = GGUF_STRING, .s = {s, strlen(s)}});
}


/* llama.cpp's use_more_bits: the first and last eighth of the layers and
 * every third one between get the bigger type. */
static int use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* The per-tensor type of llama.cpp's K-quant recipes, after
 * llama_tensor_get_type in src/llama-quant.cpp (llama.cpp, mid-2026), for the
 * tensors owl synth writes, no imatrix, no overrides, not Falcon, not 70B:
 *  - output.weight (token_embd.weight when tied): Q6_K;
 *  - attn_v: Q2_K: Q4_K if n_gqa >= 4 else Q3_K; Q3_K_M: Q5_K for the first
 *    two layers, then Q4_K; Q3_K_L: Q5_K; Q4_K_M/Q5_K_M: Q6_K on the
 *    use_more_bits layers; Q4_K_S: Q5_K for the first four; 8 experts: Q8_0;
 *  - attn_k with 8 experts: Q8_0;
 *  - ffn_down: Q2_K: Q3_K; Q3_K_M: Q5_K below n_layer/16, else Q4_K (llama.cpp
 *    tests "arch != FALCON || use_more_bits", true for every non-Falcon layer);
 *    Q3_K_L: Q5_K; Q4_K_M/Q5_K_M: Q6_K on use_more_bits layers; Q4_K_S: Q5_K
 *    below n_layer/8;
 *  - attn_output: 8 experts: Q5_K for Q2_K, Q3_K_S/M, Q4_K_S/M; otherwise
 *    Q2_K: Q3_K, Q3_K_M: Q4_K, Q3_K_L: Q5_K;
 *  - everything else the recipe's base type.
 * A row length that is not a multiple of 256 falls back as llama.cpp does
 * (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> IQ4_NL), and the
 * output tensor takes Q8_0 then. Verified against llama-quantize's own files
 * in tests/test_synth.c. */
static int recipe_type(const builder *b, const char *name, int64_t n_in) {
    enum { Q2K = OWL_FTYPE_Q2_K, Q3S = OWL_FTYPE_Q3_K_S, Q3M = OWL_FTYPE_Q3_K_M, Q3L = OWL_FTYPE_Q3_K_L,
           Q4S = OWL_FTYPE_Q4_K_S, Q4M = OWL_FTYPE_Q4_K_M, Q5S = OWL_FTYPE_Q5_K_S, Q5M = OWL_FTYPE_Q5_K_M };
    const int f = b->ftype;
    int t = f == Q2K ? OWL_Q2_K : f <= Q3L ? OWL_Q3_K : f <= Q4M ? OWL_Q4_K : f <= Q5M ? OWL_Q5_K : OWL_Q6_K;
    int layer = -1;
    if (sscanf(name, "blk.%d.", &layer) != 1) layer = -1;
    const int64_t L = b->n_layer, il = layer;
    const int e8 = b->n_expert == 8;
    if (!strcmp(name, "output.weight") || (b->tied && !strcmp(name, "token_embd.weight"))) {
        if (n_in % 256) return OWL_Q8_0;
        return OWL_Q6_K;
    } else if (!strcmp(name, "token_embd.weight")) {
    } else if (strstr(name, "attn_v.weight")) {
        if (f == Q2K) t = b->n_gqa >= 4 ? OWL_Q4_K : OWL_Q3_K;
        else if (f == Q3M) t = il < 2 ? OWL_Q5_K : OWL_Q4_K;
        else if (f == Q3L) t = OWL_Q5_K;
        else if ((f == Q4M || f == Q5M) && use_more_bits(il, L)) t = OWL_Q6_K;
        else if (f == Q4S && il < 4) t = OWL_Q5_K;
        if (e8) t = OWL_Q8_0;
    } else if (strstr(name, "attn_k.weight")) {
        if (e8) t = OWL_Q8_0;
    } else if (strstr(name, "ffn_down")) {
        if (f == Q2K) t = OWL_Q3_K;
        else if (f == Q3M) t = il < L / 16 ? OWL_Q5_K : OWL_Q4_K;
        else if (f == Q3L) t = OWL_Q5_K;
        else if (f == Q4M) { if (use_more_bits(il, L)) t = OWL_Q6_K; }
        else if (f == Q5M && use_more_bits(il, L)) t = OWL_Q6_K;
        else if (f == Q4S && il < L / 8) t = OWL_Q5_K;
    } else if (strstr(name, "attn_output.weight")) {
        if (e8) {
            if (f == Q2K || f == Q3S || f == Q3M || f == Q4S || f == Q4M) t = OWL_Q5_K;
        } else if (f == Q2K) t = OWL_Q3_K;
        else if (f == Q3M) t = OWL_Q4_K;
        else if (f == Q3L) t = OWL_Q5_K;
    }
    (void)Q5S;
    if (n_in % 256) t = t == OWL_Q4_K ? OWL_Q5_0 : t == OWL_Q5_K ? OWL_Q5_1 : t == OWL_Q6_K ? OWL_Q8_0
                      : t == OWL_Q2_K || t == OWL_Q3_K ? OWL_IQ4_NL : t;
    return t;
}

/* a tensor of n_out rows of n_in; matrices in the chosen type, vectors F32 */
static int add_tensor(builder *b, const char *name, int64_t n_in, int64_t n_out, int64_t n_mat, int is_norm, float scale) {
    int type = n_out == 1 ? OWL_F32 : b->recipe ? recipe_type(b, name, n_in) : b->type;
    const owl_kernel_traits *k = owl_kernels_get_reference(type);
    size_t row = owl_row_bytes(type, n_in);
    const char *tname = owl_dtype_name(type) ? owl_dtype_name(type) : "this type";
    if (k && !row)
        return owl_fail(b->err, OWL_ERR_UNSUPPORTED, "synth: %s: %s needs rows of a multiple of %lld values, not %lld", name,
                        tname, (long long)k->block_size, (long long)n_in), 0;
    if (!k || (type != OWL_F32 && !k->from_float))
        return owl_fail(b->err, OWL_ERR_UNSUPPORTED, "synth: %s: owl cannot write %s weights yet", name, tname), 0;
    uint64_t rows = (uint64_t)n_out * (uint64_t)n_mat;
    uint8_t *data = keep(b, malloc(row * rows));
    float *x = malloc((size_t)n_in * sizeof *x);
    if (!data || !x) {
        free(x);
        return owl_fail(b->err, OWL_ERR_NOMEM, "synth: out of memory for %s", name), 0;
    }
    for (uint64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < n_in; i++) x[i] = is_norm ? 1.0f + 0.1f * normal(&b->r) : normal(&b->r) * scale;
        k->from_float(x, data + r * row, n_in);
    }
    free(x);
    if (b->n_t == b->cap_t) {
        size_t cap = b->cap_t ? 2 * b->cap_t : 64;
        owl_gguf_out_tensor *p = realloc(b->t, cap * sizeof *p);
        if (!p) return owl_fail(b->err, OWL_ERR_NOMEM, "out of memory"), 0;
        b->t = p;
        b->cap_t = cap;
    }
    const char *nm = own_str(b, name);
    if (!nm) return 0;
    owl_gguf_out_tensor t = {{nm, strlen(nm)}, n_mat > 1 ? 3u : n_out > 1 ? 2u : 1u, {(uint64_t)n_in, (uint64_t)n_out, (uint64_t)n_mat, 1},
                             (uint32_t)type, data, row * rows};
    if (n_out == 1) t.ne[1] = 1;
    b->t[b->n_t++] = t;
    return 1;
}

static int add_vocab(builder *b, int64_t n_vocab) {
    owl_strview *toks = keep(b, calloc((size_t)n_vocab, sizeof *toks));
    float *scores = keep(b, malloc((size_t)n_vocab * sizeof *scores));
    int32_t *types = keep(b, malloc((size_t)n_vocab * sizeof *types));
    char *blob = keep(b, malloc((size_t)n_vocab * 16));
    if (!toks || !scores || !types || !blob) return 0;
    char *p = blob;
    for (int64_t i = 0; i < n_vocab; i++) {
        int len;
        if (i == 0) len = sprintf(p, "<unk>"), types[i] = 2;
        else if (i == 1) len = sprintf(p, "<s>"), types[i] = 3;
        else if (i == 2) len = sprintf(p, "</s>"), types[i] = 3;
        else if (i < 259) len = sprintf(p, "<0x%02X>", (unsigned)(i - 3)), types[i] = 6;
        else { /* "▁a", "a", "▁b", ...: distinct pieces in base 26 */
            int64_t k = i - 259;
            char word[16];
            int w = 0;
            for (int64_t v = k / 2 + 1; v > 0 && w < 12; v = (v - 1) / 26) word[w++] = (char)('a' + (v - 1) % 26);
            len = 0;
            if (k % 2 == 0) memcpy(p, "\xe2\x96\x81", 3), len = 3;
            while (w > 0) p[len++] = word[--w];
            p[len] = '\0';
            types[i] = 1;
        }
        toks[i] = (owl_strview){p, (size_t)len};
        scores[i] = i < 259 ? 0.0f : -(float)(i - 258);
        p += len + 1;
    }
    owl_gguf_value tv = {.type = GGUF_ARRAY}, sv = {.type = GGUF_ARRAY}, yv = {.type = GGUF_ARRAY};
    tv.arr.elem_type = GGUF_STRING, tv.arr.n = (uint64_t)n_vocab, tv.arr.strs = toks;
    sv.arr.elem_type = GGUF_F32, sv.arr.n = (uint64_t)n_vocab, sv.arr.raw = (const uint8_t *)scores;
    yv.arr.elem_type = GGUF_I32, yv.arr.n = (uint64_t)n_vocab, yv.arr.raw = (const uint8_t *)types;
    return kv_str(b, "tokenizer.ggml.model", "llama") && add_kv(b, "tokenizer.ggml.tokens", tv) &&
           add_kv(b, "tokenizer.ggml.scores", sv) && add_kv(b, "tokenizer.ggml.token_type", yv) &&
           kv_u32(b, "tokenizer.ggml.bos_token_id", 1) && kv_u32(b, "tokenizer.ggml.eos_token_id", 2) &&
           kv_u32(b, "tokenizer.ggml.unknown_token_id", 0) && kv_bool(b, "tokenizer.ggml.add_bos_token", 1) &&
           kv_bool(b, "tokenizer.ggml.add_eos_token", 0);
}

/* llama_ftype names and numbers (include/llama.h), and the weight type a
 * uniform file of that type holds (-1: a recipe only). */
static const struct { const char *name; int ftype, dtype; } FTYPES[] = {
    {"F32", OWL_FTYPE_F32, OWL_F32},       {"F16", OWL_FTYPE_F16, OWL_F16},       {"BF16", OWL_FTYPE_BF16, OWL_BF16},
    {"Q4_0", OWL_FTYPE_Q4_0, OWL_Q4_0},    {"Q4_1", OWL_FTYPE_Q4_1, OWL_Q4_1},    {"Q8_0", OWL_FTYPE_Q8_0, OWL_Q8_0},
    {"Q5_0", OWL_FTYPE_Q5_0, OWL_Q5_0},    {"Q5_1", OWL_FTYPE_Q5_1, OWL_Q5_1},    {"Q2_K", OWL_FTYPE_Q2_K, OWL_Q2_K},
    {"Q3_K_S", OWL_FTYPE_Q3_K_S, OWL_Q3_K}, {"Q3_K_M", OWL_FTYPE_Q3_K_M, -1},    {"Q3_K_L", OWL_FTYPE_Q3_K_L, -1},
    {"Q4_K_S", OWL_FTYPE_Q4_K_S, OWL_Q4_K}, {"Q4_K_M", OWL_FTYPE_Q4_K_M, -1},    {"Q5_K_S", OWL_FTYPE_Q5_K_S, OWL_Q5_K},
    {"Q5_K_M", OWL_FTYPE_Q5_K_M, -1},      {"Q6_K", OWL_FTYPE_Q6_K, OWL_Q6_K},    {"IQ4_NL", OWL_FTYPE_IQ4_NL, OWL_IQ4_NL},
};
#define N_FTYPES (sizeof FTYPES / sizeof FTYPES[0])

int owl_ftype_by_name(const char *name) {
    for (size_t i = 0; name && i < N_FTYPES; i++)
        if (!strcmp(FTYPES[i].name, name)) return FTYPES[i].ftype;
    return -1;
}

const char *owl_ftype_name(int ftype) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (FTYPES[i].ftype == ftype) return FTYPES[i].name;
    return NULL;
}

static int ftype_of_dtype(int dtype) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (FTYPES[i].dtype == dtype) return FTYPES[i].ftype;
    return -1;
}

static owl_status synth_model(const char *shape_name, int type, int ftype, int recipe, uint64_t seed, const char *path,
                              owl_error *err);

owl_status owl_synth(const char *shape_name, int type, uint64_t seed, const char *path, owl_error *err) {
    return synth_model(shape_name, type, ftype_of_dtype(type), 0, seed, path, err);
}

owl_status owl_synth_ftype(const char *shape_name, int ftype, uint64_t seed, const char *path, owl_error *err) {
    if (!owl_ftype_name(ftype)) return owl_fail(err, OWL_ERR_USAGE, "synth: unknown file type %d", ftype);
    int recipe = ftype >= OWL_FTYPE_Q2_K && ftype <= OWL_FTYPE_Q6_K;
    int dtype = -1;
    for (size_t i = 0; i < N_FTYPES; i++)
        if (FTYPES[i].ftype == ftype) dtype = FTYPES[i].dtype;
    return synth_model(shape_name, dtype, ftype, recipe, seed, path, err);
}

static owl_status synth_model(const char *shape_name, int type, int ftype, int recipe, uint64_t seed, const char *path,
                              owl_error *err) {
    const shape *sh = NULL;
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        if (shape_name && !strcmp(SHAPES[i].name, shape_name)) sh = &SHAPES[i];
    if (!sh) return owl_fail(err, OWL_ERR_USAGE, "synth: unknown shape '%s' (owl synth --list names them)", shape_name ? shape_name : "");
    if (!path) return owl_fail(err, OWL_ERR_USAGE, "synth: no output path");
    builder b = {.type = type, .ftype = ftype, .recipe = recipe, .n_layer = sh->layers,
                 .n_gqa = sh->kv_heads ? sh->heads / sh->kv_heads : 1, .n_expert = sh->experts, .tied = sh->tied,
                 .r = {seed * 0x2545F4914F6CDD1Dull + 1}, .err = err};
    char key[128], name[128];
    const char *a = sh->arch;
    int64_t q = sh->heads * sh->head_dim, kvd = sh->kv_heads * sh->head_dim;
    int ok = kv_str(&b, "general.architecture", a) && kv_str(&b, "general.name", sh->name) &&
             kv_str(&b, "general.description", "random weights from owl synth") && kv_u32(&b, "general.alignment", 32) &&
             (ftype < 0 || kv_u32(&b, "general.file_type", (uint64_t)ftype));
#define AK(suffix) (snprintf(key, sizeof key, "%s.%s", a, suffix), key)
    ok = ok && kv_u32(&b, AK("context_length"), (uint64_t)sh->ctx) && kv_u32(&b, AK("embedding_length"), (uint64_t)sh->embd) &&
         kv_u32(&b, AK("block_count"), (uint64_t)sh->layers) && kv_u32(&b, AK("feed_forward_length"), (uint64_t)sh->ff) &&
         kv_u32(&b, AK("attention.head_count"), (uint64_t)sh->heads) && kv_u32(&b, AK("attention.head_count_kv"), (uint64_t)sh->kv_heads) &&
         kv_u32(&b, AK("attention.key_length"), (uint64_t)sh->head_dim) && kv_u32(&b, AK("attention.value_length"), (uint64_t)sh->head_dim) &&
         kv_u32(&b, AK("rope.dimension_count"), (uint64_t)sh->head_dim) && kv_f32(&b, AK("rope.freq_base"), sh->rope_base) &&
         kv_f32(&b, AK("attention.layer_norm_rms_epsilon"), 1e-5) && kv_u32(&b, AK("vocab_size"), (uint64_t)sh->vocab);
    if (ok && sh->experts)
        ok = kv_u32(&b, AK("expert_count"), (uint64_t)sh->experts) && kv_u32(&b, AK("expert_used_count"), (uint64_t)sh->experts_used);
    ok = ok && add_vocab(&b, sh->vocab);
    float se = 1.0f / sqrtf((float)sh->embd);
    ok = ok && add_tensor(&b, "token_embd.weight", sh->embd, sh->vocab, 1, 0, sh->tied ? 2 * se : 1.0f) &&
         add_tensor(&b, "output_norm.weight", sh->embd, 1, 1, 1, 0) &&
         (sh->tied || add_tensor(&b, "output.weight", sh->embd, sh->vocab, 1, 0, 2 * se));
    for (int64_t l = 0; ok && l < sh->layers; l++) {
#define T(base) (snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l, base), name)
        ok = add_tensor(&b, T("attn_norm"), sh->embd, 1, 1, 1, 0) && add_tensor(&b, T("attn_q"), sh->embd, q, 1, 0, se) &&
             add_tensor(&b, T("attn_k"), sh->embd, kvd, 1, 0, se) && add_tensor(&b, T("attn_v"), sh->embd, kvd, 1, 0, se) &&
             add_tensor(&b, T("attn_output"), q, sh->embd, 1, 0, 1.0f / sqrtf((float)q)) &&
             add_tensor(&b, T("ffn_norm"), sh->embd, 1, 1, 1, 0);
        if (ok && sh->qk_norm)
            ok = add_tensor(&b, T("attn_q_norm"), sh->head_dim, 1, 1, 1, 0) && add_tensor(&b, T("attn_k_norm"), sh->head_dim, 1, 1, 1, 0);
        float sf = 1.0f / sqrtf((float)sh->ff);
        if (ok && sh->experts)
            ok = add_tensor(&b, T("ffn_gate_inp"), sh->embd, sh->experts, 1, 0, se) &&
                 add_tensor(&b, T("ffn_gate_exps"), sh->embd, sh->ff, sh->experts, 0, se) &&
                 add_tensor(&b, T("ffn_up_exps"), sh->embd, sh->ff, sh->experts, 0, se) &&
                 add_tensor(&b, T("ffn_down_exps"), sh->ff, sh->embd, sh->experts, 0, sf);
        else if (ok)
            ok = add_tensor(&b, T("ffn_gate"), sh->embd, sh->ff, 1, 0, se) && add_tensor(&b, T("ffn_up"), sh->embd, sh->ff, 1, 0, se) &&
                 add_tensor(&b, T("ffn_down"), sh->ff, sh->embd, 1, 0, sf);
#undef T
    }
#undef AK
    owl_status st = OWL_OK;
    if (!ok) st = err && err->status ? err->status : owl_fail(err, OWL_ERR_NOMEM, "synth: out of memory");
    else st = owl_gguf_write(path, 3, b.kv, b.n_kv, b.t, b.n_t, 32, err);
    for (size_t i = 0; i < b.n_owned; i++) free(b.owned[i]);
    free(b.owned);
    free(b.kv);
    free(b.t);
    return st;
}
