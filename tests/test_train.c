/* test_train.c: the training pass's gradients against finite differences,
 * op by op and for a whole small model (stories260K with LoRA on every
 * linear map), the training forward against the inference engine's logits,
 * and gradients that do not depend on the number of threads. */
#include <math.h>

#include "harness.h"
#include "model/arch.h"
#include "model/layers.h"
#include "owl.h"
#include "train/lora_model.h"
#include "train/ops.h"
#include "train/data.h"
#include "train/rng.h"
#include "train/train_kernels.h"

static uint64_t rng_state = 1;
static float frand(void) { return 2.0f * owl_rng_unit(owl_rng_hash(12345, rng_state++)) - 1.0f; }
static void fill(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = frand() * scale;
}

/* |numeric - analytic| within 1e-3 + 2% of the larger: float forward passes
   differenced over h = 1e-3 carry noise near 1e-4. */
static int close_grad(double num, double ana, double *worst) {
    double err = fabs(num - ana) / (1e-3 + 0.02 * fmax(fabs(num), fabs(ana)));
    if (err > *worst) *worst = err;
    return err <= 1.0;
}

/* ---- ops ------------------------------------------------------------------- */

#define N 24
static float c_out[4096];

static double loss_rmsnorm(const float *x, const float *w) {
    float y[N], r;
    rmsnorm_train_forward(y, &r, x, w, N, 1e-5f);
    double l = 0;
    for (int i = 0; i < N; i++) l += (double)y[i] * c_out[i];
    return l;
}

static void test_rmsnorm_grad(void) {
    float x[N], w[N], dx[N] = {0}, y[N], r;
    fill(x, N, 1.5f);
    fill(w, N, 1.0f);
    fill(c_out, N, 1.0f);
    rmsnorm_train_forward(y, &r, x, w, N, 1e-5f);
    rmsnorm_train_backward(dx, c_out, x, w, r, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        float keep = x[i], h = 1e-3f;
        x[i] = keep + h;
        double lp = loss_rmsnorm(x, w);
        x[i] = keep - h;
        double lm = loss_rmsnorm(x, w);
        x[i] = keep;
        CHECK(close_grad((lp - lm) / (2 * h), dx[i], &worst), "x[%d]: numeric %g analytic %g", i, (lp - lm) / (2 * h), dx[i]);
    }
    printf("rmsnorm: worst error %.3f of tolerance\n", worst);
}

static double loss_rope(const float *x, const float *cs, int style) {
    float y[N];
    memcpy(y, x, sizeof y);
    rope_train_forward(y, cs, N, style);
    double l = 0;
    for (int i = 0; i < N; i++) l += (double)y[i] * c_out[i];
    return l;
}

static void test_rope_grad(void) {
    for (int style = OWL_ROPE_INTERLEAVED; style <= OWL_ROPE_HALVES; style++) {
        owl_rope_params rp = {1, 10000.0f, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f, 512, NULL};
        float cs[N], x[N], dx[N];
        rope_cache(cs, 7, N, &rp);
        fill(x, N, 1.0f);
        fill(c_out, N, 1.0f);
        memcpy(dx, c_out, sizeof dx);
        rope_train_backward(dx, cs, N, style);
        double worst = 0;
        for (int i = 0; i < N; i++) {
            float keep = x[i], h = 1e-3f;
            x[i] = keep + h;
            double lp = loss_rope(x, cs, style);
            x[i] = keep - h;
            double lm = loss_rope(x, cs, style);
            x[i] = keep;
            CHECK(close_grad((lp - lm) / (2 * h), dx[i], &worst), "style %d x[%d]", style, i);
        }
        printf("rope (style %d): worst error %.3f of tolerance\n", style, worst);
    }
}

static double loss_swiglu(const float *g, const float *u) {
    float y[N];
    swiglu_train_forward(y, g, u, N);
    double l = 0;
    for (int i = 0; i < N; i++) l += (double)y[i] * c_out[i];
    return l;
}

static void test_swiglu_grad(void) {
    float g[N], u[N], dg[N] = {0}, du[N] = {0};
    fill(g, N, 3.0f);
    fill(u, N, 2.0f);
    fill(c_out, N, 1.0f);
    swiglu_train_backward(dg, du, c_out, g, u, N);
    double worst = 0;
    for (int i = 0; i < 2 * N; i++) {
        float *x = i < N ? &g[i] : &u[i - N], keep = *x, h = 1e-3f;
        *x = keep + h;
        double lp = loss_swiglu(g, u);
        *x = keep - h;
        double lm = loss_swiglu(g, u);
        *x = keep;
        double ana = i < N ? dg[i] : du[i - N];
        CHECK(close_grad((lp - lm) / (2 * h), ana, &worst), "input %d", i);
    }
    printf("swiglu: worst error %.3f of tolerance\n", worst);
}

#define AT 7
#define AHD 5
static const int32_t att_doc[AT] = {0, 0, 0, 1, 1, 1, 1}; /* two packed documents */

static double loss_attention(const float *q, const float *k, const float *v) {
    float out[AT * AHD], p[AT * AT];
    attention_train_forward(out, p, q, k, v, AT, AHD, AHD, AHD, AHD, att_doc, 0.4f);
    double l = 0;
    for (int i = 0; i < AT * AHD; i++) l += (double)out[i] * c_out[i];
    return l;
}

static void test_attention_grad(void) {
    float q[AT * AHD], k[AT * AHD], v[AT * AHD], out[AT * AHD], p[AT * AT], dp[AT];
    float dq[AT * AHD] = {0}, dk[AT * AHD] = {0}, dv[AT * AHD] = {0};
    fill(q, AT * AHD, 1.5f);
    fill(k, AT * AHD, 1.5f);
    fill(v, AT * AHD, 1.0f);
    fill(c_out, AT * AHD, 1.0f);
    attention_train_forward(out, p, q, k, v, AT, AHD, AHD, AHD, AHD, att_doc, 0.4f);
    CHECK(p[3 * AT + 2] == 0 && p[3 * AT + 3] == 1.0f, "token 3 starts a document: sees only itself (%g %g)", p[3 * AT + 2], p[3 * AT + 3]);
    attention_train_backward(dq, dk, dv, c_out, p, q, k, v, AT, AHD, AHD, AHD, AHD, 0.4f, dp);
    double worst = 0;
    float *in[3] = {q, k, v}, *grad[3] = {dq, dk, dv};
    for (int w = 0; w < 3; w++)
        for (int i = 0; i < AT * AHD; i++) {
            float keep = in[w][i], h = 1e-3f;
            in[w][i] = keep + h;
            double lp = loss_attention(q, k, v);
            in[w][i] = keep - h;
            double lm = loss_attention(q, k, v);
            in[w][i] = keep;
            CHECK(close_grad((lp - lm) / (2 * h), grad[w][i], &worst), "%c[%d]: numeric %g analytic %g", "qkv"[w], i,
                  (lp - lm) / (2 * h), grad[w][i]);
        }
    printf("attention: worst error %.3f of tolerance\n", worst);
}

static void test_cross_entropy_grad(void) {
    float z[N], dz[N];
    fill(z, N, 4.0f);
    double l0 = cross_entropy_forward_backward(dz, z, N, 5, 0.5f);
    double sum = 0;
    for (int i = 0; i < N; i++) sum += exp(z[i]);
    CHECK(fabs(l0 - (log(sum) - z[5])) < 1e-6, "loss %g", l0);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        float keep = z[i], h = 1e-3f;
        z[i] = keep + h;
        double lp = 0.5 * cross_entropy_forward_backward(NULL, z, N, 5, 0.5f);
        z[i] = keep - h;
        double lm = 0.5 * cross_entropy_forward_backward(NULL, z, N, 5, 0.5f);
        z[i] = keep;
        CHECK(close_grad((lp - lm) / (2 * h), dz[i], &worst), "z[%d]", i);
    }
    printf("cross-entropy: worst error %.3f of tolerance\n", worst);
}

/* ---- kernels: the SIMD paths against their scalar twins, over many shapes ---- */

static void test_kernels_match_scalar(void) {
    float x[1100], y1[1100], y2[1100];
    int bad_axpy = 0, bad_dot = 0;
    for (int n = 0; n <= 1090; n += (n < 70 ? 1 : 37)) {
        fill(x, n, 2.0f);
        fill(y1, n, 1.0f);
        memcpy(y2, y1, (size_t)n * sizeof(float));
        float a = frand();
        tk_axpy(y1, a, x, n);
        tk_axpy_ref(y2, a, x, n);
        bad_axpy += memcmp(y1, y2, (size_t)n * sizeof(float)) != 0; /* unfused multiply-add: the same bits */
        double ref = 0, mag = 0;
        for (int i = 0; i < n; i++) ref += (double)x[i] * y1[i], mag += fabs((double)x[i] * y1[i]);
        bad_dot += fabs(tk_dot(x, y1, n) - ref) > 1e-5 * mag + 1e-6;
        bad_dot += fabs(tk_dot_ref(x, y1, n) - ref) > 1e-5 * mag + 1e-6;
    }
    CHECK(bad_axpy == 0, "%d shapes where %s axpy differs from the scalar loop", bad_axpy, tk_isa());
    CHECK(bad_dot == 0, "%d shapes where a dot product is off", bad_dot);
    printf("train kernels (%s): axpy bit-identical to scalar and dot within 1e-5 over 98 lengths\n", tk_isa());
}

/* ---- the whole model ----------------------------------------------------------- */

static const int32_t story[] = {1, 403, 407, 261, 378, 410, 297, 429, 267, 286, 331, 275, 443, 285, 264, 361};
#define ST ((int64_t)(sizeof story / sizeof story[0]) - 1)

static owl_model *open_stories(void) {
    owl_model *m = NULL;
    owl_error err = {0};
    if (owl_model_open(shared_path("models/stories260K/stories260K.gguf"), &m, &err)) {
        fprintf(stderr, "FATAL: %s\n", err.message);
        exit(3);
    }
    return m;
}

static lora_model *make_lm(const owl_model *m, int threads, double dropout) {
    lora_config c = {4, 8.0, dropout, 0, (1u << LORA_N_SLOTS) - 1, 7};
    lora_model *lm = NULL;
    owl_error err = {0};
    owl_status st = lora_model_new(m, &c, 32, threads, &lm, &err);
    CHECK(st == OWL_OK, "%s", err.message);
    if (st) exit(1);
    return lm;
}

static double model_loss(lora_model *lm, int backward) {
    float w[ST];
    int32_t pos[ST];
    for (int64_t t = 0; t < ST; t++) {
        w[t] = t < 3 ? 0.0f : 1.0f / (float)(ST - 3); /* the first tokens unscored, as a chat prompt */
        pos[t] = (int32_t)t;
    }
    lm->dropout_key = 99;
    return lora_model_sequence(lm, story, story + 1, w, pos, NULL, ST, backward);
}

static void test_model_grad(void) {
    owl_model *m = open_stories();
    lora_model *lm = make_lm(m, 2, 0.0);
    /* a trained-looking adapter: B random too, so A's gradients are not zero */
    for (int64_t i = 0; i < lm->n_params; i++) lm->params[i] = frand() * 0.1f;
    memset(lm->grads, 0, (size_t)lm->n_params * sizeof(float));
    double l0 = model_loss(lm, 1);
    CHECK(l0 > 1.0 && l0 < 12.0, "loss %g", l0);
    double worst = 0;
    int checked = 0;
    /* every slot of the first and last layer, A and B, a few entries each */
    for (int64_t si = 0; si < lm->d.n_layer * LORA_N_SLOTS; si++) {
        int64_t layer = si / LORA_N_SLOTS;
        if (layer != 0 && layer != lm->d.n_layer - 1) continue;
        const lora_slot *s = &lm->slots[si];
        for (int part = 0; part < 2; part++)
            for (int k = 0; k < 3; k++) {
                int64_t size = part ? s->n_out * lm->rank : lm->rank * s->n_in;
                int64_t idx = (part ? s->off_b : s->off_a) + (int64_t)(owl_rng_hash(si * 7 + part, k) % (uint64_t)size);
                float keep = lm->params[idx], h = 1e-2f;
                lm->params[idx] = keep + h;
                double lp = model_loss(lm, 0);
                lm->params[idx] = keep - h;
                double lmn = model_loss(lm, 0);
                lm->params[idx] = keep;
                double num = (lp - lmn) / (2 * h);
                CHECK(close_grad(num, lm->grads[idx], &worst), "layer %lld %s.%c[%lld]: numeric %g analytic %g",
                      (long long)layer, owl_lora_slot_names[si % LORA_N_SLOTS], part ? 'B' : 'A',
                      (long long)(idx - (part ? s->off_b : s->off_a)), num, lm->grads[idx]);
                checked++;
            }
    }
    printf("stories260K LoRA (all 7 targets, rank 4): loss %.4f, %d gradients checked, worst error %.3f of tolerance\n",
           l0, checked, worst);
    lora_model_free(lm);
    owl_model_close(m);
}

/* The whole-model check on synthetic models of the other supported shapes:
   Qwen3 (per-head q/k norms, tied embeddings) and a Q8_0 base (QLoRA). */
static void grad_check_synth(const char *shape, int dtype, const char *what) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/owl_test_train_%d_%s.gguf", (int)getpid(), shape);
    owl_error err = {0};
    CHECK(owl_synth(shape, dtype, 5, path, &err) == OWL_OK, "%s", err.message);
    owl_model *m = NULL;
    CHECK(owl_model_open(path, &m, &err) == OWL_OK, "%s", err.message);
    if (!m) return;
    lora_model *lm = make_lm(m, 1, 0.0);
    if (!strcmp(shape, "test-qwen3")) CHECK(lm->w.layers[0].q_norm.w && lm->w.layers[1].k_norm.w, "q/k norms bound");
    CHECK(lm->w.layers[0].q.dtype == dtype, "base matrices in %s", what);
    for (int64_t i = 0; i < lm->n_params; i++) lm->params[i] = frand() * 0.1f;
    static const int32_t toks[] = {1, 17, 250, 33, 90, 4, 301, 77, 12, 5, 64};
    int64_t T = 10;
    float w[10];
    int32_t pos[10];
    for (int64_t t = 0; t < T; t++) w[t] = 0.1f, pos[t] = (int32_t)t;
    memset(lm->grads, 0, (size_t)lm->n_params * sizeof(float));
    double l0 = lora_model_sequence(lm, toks, toks + 1, w, pos, NULL, T, 1);
    double worst = 0;
    int checked = 0;
    for (int64_t si = 0; si < lm->d.n_layer * LORA_N_SLOTS; si++) {
        const lora_slot *s = &lm->slots[si];
        for (int part = 0; part < 2; part++)
            for (int k = 0; k < 2; k++) {
                int64_t size = part ? s->n_out * lm->rank : lm->rank * s->n_in;
                int64_t idx = (part ? s->off_b : s->off_a) + (int64_t)(owl_rng_hash(si * 5 + part, k) % (uint64_t)size);
                float keep = lm->params[idx], h = 1e-2f;
                lm->params[idx] = keep + h;
                double lp = lora_model_sequence(lm, toks, toks + 1, w, pos, NULL, T, 0);
                lm->params[idx] = keep - h;
                double ln = lora_model_sequence(lm, toks, toks + 1, w, pos, NULL, T, 0);
                lm->params[idx] = keep;
                double num = (lp - ln) / (2 * h);
                CHECK(close_grad(num, lm->grads[idx], &worst), "%s %s slot %lld %s.%c: numeric %g analytic %g", shape,
                      what, (long long)si, owl_lora_slot_names[si % LORA_N_SLOTS], part ? 'B' : 'A', num, lm->grads[idx]);
                checked++;
            }
    }
    printf("%s (%s): loss %.4f, %d gradients checked, worst error %.3f of tolerance\n", shape, what, l0, checked, worst);
    lora_model_free(lm);
    owl_model_close(m);
    unlink(path);
}

static void test_model_grad_qwen3(void) { grad_check_synth("test-qwen3", OWL_F32, "F32"); }
static void test_model_grad_q8_0_base(void) { grad_check_synth("test-tiny", OWL_Q8_0, "Q8_0 base"); }

/* With B = 0 the adapted model is the base: its logits are the engine's. */
static void test_model_matches_engine(void) {
    owl_model *m = open_stories();
    lora_model *lm = make_lm(m, 1, 0.0);
    int64_t V = lm->d.n_vocab;
    float *ours = malloc((size_t)(ST * V) * sizeof(float));
    lora_model_logits(lm, story, ST, ours);
    owl_engine_params p = owl_engine_default_params();
    p.kv_type = OWL_KV_F32;
    p.n_threads = 1;
    owl_engine *e = NULL;
    owl_error err = {0};
    CHECK(owl_engine_new(m, &p, &e, &err) == OWL_OK, "%s", err.message);
    int8_t want[ST];
    memset(want, 1, sizeof want);
    owl_batch b = {ST, story, NULL, NULL, want};
    CHECK(owl_engine_decode(e, &b, &err) == OWL_OK, "%s", err.message);
    double worst = 0;
    for (int64_t t = 0; t < ST; t++) {
        const float *ref = owl_engine_logits(e, t);
        for (int64_t v = 0; v < V; v++) worst = fmax(worst, fabs(ref[v] - ours[t * V + v]));
    }
    CHECK(worst < 2e-4, "max |logit difference| %g", worst);
    printf("training forward vs engine (stories260K, %lld positions): max |diff| %.2e\n", (long long)ST, worst);
    owl_engine_free(e);
    free(ours);
    lora_model_free(lm);
    owl_model_close(m);
}

/* Same inputs, 1 and 2 threads, dropout on: bit-identical gradients. */
static void test_threads_bit_identical(void) {
    owl_model *m = open_stories();
    lora_model *a = make_lm(m, 1, 0.1), *b = make_lm(m, 2, 0.1);
    for (int64_t i = 0; i < a->n_params; i++) a->params[i] = b->params[i] = frand() * 0.2f;
    double la = model_loss(a, 1), lb = model_loss(b, 1);
    CHECK(la == lb, "loss %.17g vs %.17g", la, lb);
    CHECK(memcmp(a->grads, b->grads, (size_t)a->n_params * sizeof(float)) == 0, "gradients differ between 1 and 2 threads");
    double g = 0;
    for (int64_t i = 0; i < a->n_params; i++) g += fabs(a->grads[i]);
    CHECK(g > 0, "gradients are all zero");
    lora_model_free(a);
    lora_model_free(b);
    owl_model_close(m);
}

static void test_refuses_bad_config(void) {
    owl_model *m = open_stories();
    lora_config c = {0, 8.0, 0.0, 0, 1, 1};
    lora_model *lm = NULL;
    owl_error err = {0};
    CHECK(lora_model_new(m, &c, 32, 1, &lm, &err) == OWL_ERR_USAGE && strstr(err.message, "rank"), "%s", err.message);
    c.rank = 4;
    c.targets = 0;
    CHECK(lora_model_new(m, &c, 32, 1, &lm, &err) == OWL_ERR_USAGE && strstr(err.message, "target"), "%s", err.message);
    c.targets = 1;
    c.dropout = 1.0;
    CHECK(lora_model_new(m, &c, 32, 1, &lm, &err) == OWL_ERR_USAGE, "%s", err.message);
    owl_model_close(m);
}

/* ---- data ------------------------------------------------------------------------ */

static const char *write_file(const char *name, const char *text) {
    static char path[8][256];
    static int k;
    char *p = path[k++ & 7];
    snprintf(p, 256, "/tmp/owl_test_train_%d_%s", (int)getpid(), name);
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
    return p;
}

static owl_tokenizer *stories_tokenizer(owl_model *m) {
    owl_tokenizer *tk = NULL;
    owl_error err = {0};
    if (owl_tokenizer_new(m, &tk, &err)) {
        fprintf(stderr, "FATAL: %s\n", err.message);
        exit(3);
    }
    return tk;
}

static void test_data_text_record(void) {
    owl_model *m = open_stories();
    owl_tokenizer *tk = stories_tokenizer(m);
    const char *path = write_file("text.jsonl", "{\"text\": \"Once upon a time\"}\n\n{\"text\": \"Zog\"}\n");
    train_data d;
    owl_error err = {0};
    CHECK(train_data_load(path, m, tk, NULL, &d, &err) == OWL_OK, "%s", err.message);
    CHECK(d.n_docs == 2, "%lld records (the blank line is no record)", (long long)d.n_docs);
    static const int32_t want[] = {1, 403, 407, 261, 378, 2};
    CHECK(d.docs[0].n == 6 && !memcmp(d.docs[0].tok, want, sizeof want), "BOS, the text's ids (llama.cpp's), EOS");
    CHECK(d.docs[0].scored[0] == 0 && d.docs[0].scored[1] && d.docs[0].scored[5], "all but BOS scored");
    CHECK(d.n_scored == d.n_tokens - 2, "%lld of %lld", (long long)d.n_scored, (long long)d.n_tokens);
    CHECK(strlen(d.digest) == 64, "data digest");
    train_data_free(&d);
    unlink(path);
    owl_tokenizer_free(tk);
    owl_model_close(m);
}

static const char tmpl[] =
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

static void test_data_chat_scores_only_answers(void) {
    owl_model *m = open_stories();
    owl_tokenizer *tk = stories_tokenizer(m);
    const char *path = write_file("chat.jsonl",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Who is the hero?\"}, {\"role\": \"assistant\", \"content\": \"Zog is.\"},"
        " {\"role\": \"user\", \"content\": \"And then?\"}, {\"role\": \"assistant\", \"content\": \"Zog ran home.\"}]}\n");
    train_data d;
    owl_error err = {0};
    CHECK(train_data_load(path, m, tk, tmpl, &d, &err) == OWL_OK, "%s", err.message);
    if (d.n_docs == 1) {
        const train_doc *doc = &d.docs[0];
        int32_t sc[256], un[256];
        size_t ns = 0, nu = 0;
        for (int64_t i = 0; i < doc->n && i < 256; i++) {
            if (doc->scored[i]) sc[ns++] = doc->tok[i];
            else un[nu++] = doc->tok[i];
        }
        char *a = NULL, *b = NULL;
        size_t la, lb;
        owl_detokenize(tk, sc, ns, 0, &a, &la, &err);
        owl_detokenize(tk, un, nu, 0, &b, &lb, &err);
        CHECK(a && strcmp(a, "Zog is.\nZog ran home.\n") == 0 && strstr(b, "Who is the hero?") && !strstr(b, "Zog"),
              "scored '%s' / not scored '%s'", a, b);
        CHECK(doc->tok[0] == 1, "BOS first (the tokenizer adds one; the template has none)");
        free(a);
        free(b);
    }
    train_data_free(&d);
    /* a record whose template cannot be cut turn by turn, and one with no answer */
    path = write_file("chat2.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
    CHECK(train_data_load(path, m, tk, tmpl, &d, &err) == OWL_ERR_INPUT && strstr(err.message, ":1:") &&
              strstr(err.message, "no assistant"), "%s", err.message);
    unlink(path);
    owl_tokenizer_free(tk);
    owl_model_close(m);
}

static void test_data_bad_records_name_their_line(void) {
    owl_model *m = open_stories();
    owl_tokenizer *tk = stories_tokenizer(m);
    train_data d;
    owl_error err = {0};
    const char *p1 = write_file("bad1.jsonl", "{\"text\": \"a b c\"}\n\n{\"text\": 5}\n");
    CHECK(train_data_load(p1, m, tk, NULL, &d, &err) == OWL_ERR_INPUT && strstr(err.message, "bad1.jsonl:3:") &&
              strstr(err.message, "\"text\""), "%s", err.message);
    const char *p2 = write_file("bad2.jsonl", "{\"text\": \"a b c\"}\n{\"text\": \"x\"\n");
    CHECK(train_data_load(p2, m, tk, NULL, &d, &err) == OWL_ERR_INPUT && strstr(err.message, "bad2.jsonl:2:") &&
              strstr(err.message, "invalid JSON"), "%s", err.message);
    const char *p3 = write_file("bad3.jsonl", "{\"messages\": [{\"role\": \"user\"}]}\n");
    CHECK(train_data_load(p3, m, tk, tmpl, &d, &err) == OWL_ERR_INPUT && strstr(err.message, ":1:") &&
              strstr(err.message, "content"), "%s", err.message);
    CHECK(train_data_load("/nonexistent/train.jsonl", m, tk, NULL, &d, &err) == OWL_ERR_IO, "%s", err.message);
    unlink(p1);
    unlink(p2);
    unlink(p3);
    owl_tokenizer_free(tk);
    owl_model_close(m);
}

/* Packed sequences: no target crosses a record, positions restart per record,
   and a query only sees its own record. */
static void test_data_packing(void) {
    owl_model *m = open_stories();
    owl_tokenizer *tk = stories_tokenizer(m);
    const char *path = write_file("pack.jsonl", "{\"text\": \"Once upon a time\"}\n{\"text\": \"Once upon a time\"}\n");
    train_data d;
    owl_error err = {0};
    CHECK(train_data_load(path, m, tk, NULL, &d, &err) == OWL_OK, "%s", err.message);
    train_stream s;
    train_seq q;
    CHECK(train_stream_init(&s, &d, 8, 1, 1, &err) == OWL_OK && train_seq_alloc(&q, 8, &err) == OWL_OK, "%s", err.message);
    CHECK(s.n_seq == 2, "12 tokens in sequences of 8 inputs: %lld", (long long)s.n_seq);
    CHECK(train_stream_get(&s, 0, 0, &q, &err) == OWL_OK, "%s", err.message);
    /* file order: [1 403 407 261 378 2][1 403 ...]; input 5 is the EOS, its target the next BOS */
    CHECK(q.tokens[5] == 2 && q.targets[5] == 1 && q.w[5] == 0, "no loss across records (%d %d %g)", q.tokens[5], q.targets[5], q.w[5]);
    CHECK(q.w[0] == 1 && q.targets[0] == 403 && q.pos[6] == 0 && q.doc[6] != q.doc[5], "positions restart, documents differ");
    CHECK(q.n_scored == 7, "%lld scored", (long long)q.n_scored);
    CHECK(train_stream_get(&s, 1, 0, &q, &err) == OWL_OK && q.w[3] == 0 && q.tokens[3] == 0 && q.w[2] != 0,
          "the last sequence is padded (%g %d)", q.w[3], q.tokens[3]);
    /* epochs shuffle with the seed: the same seed, the same order */
    train_seq q2;
    train_stream s2;
    train_seq_alloc(&q2, 8, &err);
    train_stream_init(&s2, &d, 8, 1, 1, &err);
    train_stream_get(&s, 5, 1, &q, &err);
    train_stream_get(&s2, 5, 1, &q2, &err);
    CHECK(!memcmp(q.tokens, q2.tokens, 8 * sizeof(int32_t)) && !memcmp(q.w, q2.w, 8 * sizeof(float)), "seeded order");
    train_seq_free(&q);
    train_seq_free(&q2);
    train_stream_free(&s);
    train_stream_free(&s2);
    train_data_free(&d);
    unlink(path);
    owl_tokenizer_free(tk);
    owl_model_close(m);
}

int main(void) {
    RUN(test_rmsnorm_grad);
    RUN(test_rope_grad);
    RUN(test_swiglu_grad);
    RUN(test_attention_grad);
    RUN(test_cross_entropy_grad);
    RUN(test_kernels_match_scalar);
    RUN(test_model_grad);
    RUN(test_model_grad_qwen3);
    RUN(test_model_grad_q8_0_base);
    RUN(test_model_matches_engine);
    RUN(test_threads_bit_identical);
    RUN(test_refuses_bad_config);
    RUN(test_data_text_record);
    RUN(test_data_chat_scores_only_answers);
    RUN(test_data_bad_records_name_their_line);
    RUN(test_data_packing);
    DONE("test_train");
}
