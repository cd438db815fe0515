/* bench_train.c: fine-tuning speed. The two training kernels against their
 * scalar twins, then LoRA training steps (forward + backward + AdamW) on
 * stories260K and on the stories110M shape in F32 and Q8_0 (QLoRA), in
 * tokens/s and achieved GFLOP/s (4 x matmul parameters x tokens: a frozen base needs
 * forward and input gradients only; plus
 * attention), at 1 and 2 threads. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "owl.h"
#include "train/lora_model.h"
#include "train/train_kernels.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench_kernels(void) {
    enum { N = 4096, REPS = 20000 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = (float)(i % 7) * 0.1f, y[i] = 0;
    double t0 = now();
    for (int r = 0; r < REPS; r++) tk_axpy_ref(y, 1e-6f, x, N);
    double ref = now() - t0;
    t0 = now();
    for (int r = 0; r < REPS; r++) tk_axpy(y, 1e-6f, x, N);
    double fast = now() - t0;
    double bytes = 3.0 * N * sizeof(float) * REPS;
    printf("train kernels: axpy n=%d: scalar %.1f GB/s, %s %.1f GB/s (%.1fx)\n", N, bytes / ref / 1e9, tk_isa(),
           bytes / fast / 1e9, ref / fast);
    volatile float sink = 0;
    t0 = now();
    for (int r = 0; r < REPS; r++) sink += tk_dot_ref(x, y, N);
    ref = now() - t0;
    t0 = now();
    for (int r = 0; r < REPS; r++) sink += tk_dot(x, y, N);
    fast = now() - t0;
    double flops = 2.0 * N * REPS;
    printf("train kernels: dot n=%d: scalar %.1f GFLOP/s, vec_dot %.1f GFLOP/s (%.1fx)\n", N, flops / ref / 1e9,
           flops / fast / 1e9, ref / fast);
    (void)sink;
    free(x);
    free(y);
}

static void bench_model(const char *label, const char *path, int64_t T, int steps, int threads) {
    owl_error err = {0};
    owl_model *m = NULL;
    if (owl_model_open(path, &m, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.message);
        exit(1);
    }
    lora_config c = {8, 16.0, 0.0, 0, (1u << LORA_N_SLOTS) - 1, 1};
    lora_model *lm = NULL;
    if (lora_model_new(m, &c, T, threads, &lm, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.message);
        exit(1);
    }
    int32_t *tok = malloc((size_t)(T + 1) * sizeof *tok), *pos = malloc((size_t)T * sizeof *pos);
    float *w = malloc((size_t)T * sizeof *w);
    for (int64_t t = 0; t <= T; t++) tok[t] = (int32_t)((t * 7919 + 1) % lm->d.n_vocab);
    for (int64_t t = 0; t < T; t++) pos[t] = (int32_t)t, w[t] = 1.0f / (float)T;
    uint64_t params = 0, bytes = 0;
    owl_model_totals(m, &params, &bytes);
    double matmul = 0; /* parameters of the matrices the pass multiplies by (embedding lookup excluded) */
    for (int64_t l = 0; l < lm->d.n_layer; l++) {
        const owl_layer *L = &lm->w.layers[l];
        const owl_linear *v[] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
        for (int i = 0; i < 7; i++) matmul += (double)v[i]->n_in * (double)v[i]->n_out;
    }
    matmul += (double)lm->d.n_embd * (double)lm->d.n_vocab;
    double attn = 2.0 * lm->d.n_layer * (double)T * (double)lm->d.q_dim; /* q.k and p.v per token, causal half, x3 */
    lora_model_sequence(lm, tok, tok + 1, w, pos, NULL, T, 1); /* warm */
    double t0 = now();
    for (int s = 0; s < steps; s++) lora_model_sequence(lm, tok, tok + 1, w, pos, NULL, T, 1);
    double dt = now() - t0, tps = (double)(steps * T) / dt;
    double gflops = tps * (4.0 * matmul + 3.0 * attn) / 1e9; /* frozen base: forward and input gradients only */
    printf("train %-22s T=%-4lld threads %d: %8.1f tokens/s  %6.1f GFLOP/s\n", label, (long long)T, threads, tps, gflops);
    free(tok);
    free(pos);
    free(w);
    lora_model_free(lm);
    owl_model_close(m);
}

int main(void) {
    const char *shared = getenv("OWL_SHARED") ? getenv("OWL_SHARED") : "../shared";
    char path[4096];
    bench_kernels();
    snprintf(path, sizeof path, "%s/models/stories260K/stories260K.gguf", shared);
    for (int t = 1; t <= 2; t++) bench_model("stories260K F32", path, 64, 40, t);
    const char *types[2] = {"F32", "Q8_0"};
    int dtypes[2] = {OWL_F32, OWL_Q8_0};
    for (int i = 0; i < 2; i++) {
        char synth[128], label[64];
        snprintf(synth, sizeof synth, "/tmp/owl_bench_train_%d.gguf", (int)getpid());
        owl_error err = {0};
        if (owl_synth("stories110m", dtypes[i], 1, synth, &err)) {
            fprintf(stderr, "bench_train: %s\n", err.message);
            return 1;
        }
        snprintf(label, sizeof label, "stories110M %s", types[i]);
        for (int t = 1; t <= 2; t++) bench_model(label, synth, 128, 1, t);
        unlink(synth);
    }
    return 0;
}
