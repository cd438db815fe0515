/* bench.c: speed as owl reports it. A model's prompt processing (one batch
 * of n_prompt tokens) and generation (n_gen single-token steps) in tokens/s,
 * with the spread over repetitions, the bytes of weights each generated token
 * reads and the FLOPs each prompt token costs, so that speed can be stated as
 * a fraction of the machine's ceilings, which owl_bench_machine measures:
 * streaming read bandwidth and the peak of F32 FMA and int8 dot products. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "kernels/simd.h"
#include "model/engine.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* what one token reads: every weight matrix once (the embedding table only
   as one row, unless it is also the output matrix) */
static void per_token_costs(const owl_engine *e, uint64_t *bytes, double *flops) {
    const owl_model_info *in = owl_model_get_info(e->model);
    uint64_t b = 0, params = 0;
    for (size_t i = 0; i < in->n_tensors; i++) {
        const owl_tensor *t = &in->tensors[i];
        if (t->n_dims < 2) continue;
        if (!strcmp(t->name, "token_embd.weight")) {
            if (e->w.output.data == e->w.tok_embd.data) b += t->n_bytes, params += t->n_elements;
            continue;
        }
        b += t->n_bytes;
        params += t->n_elements;
    }
    if (e->d.n_expert > 0 && e->d.n_expert_used < e->d.n_expert) { /* only the chosen experts are read */
        uint64_t exp_bytes = 0, exp_params = 0;
        for (size_t i = 0; i < in->n_tensors; i++)
            if (strstr(in->tensors[i].name, "_exps.")) exp_bytes += in->tensors[i].n_bytes, exp_params += in->tensors[i].n_elements;
        double used = (double)e->d.n_expert_used / (double)e->d.n_expert;
        b -= (uint64_t)((double)exp_bytes * (1 - used));
        params -= (uint64_t)((double)exp_params * (1 - used));
    }
    *bytes = b;
    *flops = 2.0 * (double)params;
}

owl_status owl_bench_model(const owl_model *m, const owl_bench_params *bp, owl_bench_result *r, owl_error *err) {
    if (!m || !bp || !r) return owl_fail(err, OWL_ERR_USAGE, "owl_bench_model: model, params and result must not be NULL");
    memset(r, 0, sizeof *r);
    if (bp->n_prompt < 0 || bp->n_gen < 0 || bp->n_prompt + bp->n_gen < 1 || bp->reps < 1 || bp->reps > 100)
        return owl_fail(err, OWL_ERR_USAGE, "bench: n_prompt and n_gen >= 0 (not both 0), 1..100 repetitions");
    owl_engine_params p = owl_engine_default_params();
    p.n_threads = bp->n_threads;
    p.kv_type = bp->kv_type;
    p.n_ctx = bp->n_prompt + bp->n_gen + 1;
    p.n_batch = bp->n_prompt > 0 ? bp->n_prompt : 1;
    owl_engine *e = NULL;
    owl_status st = owl_engine_new(m, &p, &e, err);
    if (st) return st;
    int64_t V = owl_engine_n_vocab(e), n = p.n_batch;
    int32_t *tok = malloc((size_t)n * sizeof *tok);
    double *pp = calloc((size_t)bp->reps, sizeof *pp), *tg = calloc((size_t)bp->reps, sizeof *tg);
    if (!tok || !pp || !tg) {
        st = owl_fail(err, OWL_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint64_t x = 12345; /* the same pseudo-random tokens every run */
    for (int64_t i = 0; i < n; i++) tok[i] = (int32_t)((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 33) % (int32_t)V;
    for (int rep = -1; rep < bp->reps; rep++) { /* rep -1 warms the caches and the page cache */
        owl_engine_seq_drop(e, 0, 0, -1, err);
        double t0 = now();
        if (bp->n_prompt) {
            owl_batch b = {.n_tokens = bp->n_prompt, .tokens = tok};
            if ((st = owl_engine_decode(e, &b, err))) goto done;
        }
        double t1 = now();
        int32_t next = tok[0];
        for (int64_t i = 0; i < bp->n_gen; i++) {
            owl_batch b = {.n_tokens = 1, .tokens = &next};
            if ((st = owl_engine_decode(e, &b, err))) goto done;
            next = (int32_t)((next * 31 + 7) % V);
        }
        double t2 = now();
        if (rep < 0) continue;
        pp[rep] = bp->n_prompt ? (double)bp->n_prompt / (t1 - t0) : 0;
        tg[rep] = bp->n_gen ? (double)bp->n_gen / (t2 - t1) : 0;
    }
    mean_sd(pp, bp->reps, &r->pp_tokens_per_s, &r->pp_sd);
    mean_sd(tg, bp->reps, &r->tg_tokens_per_s, &r->tg_sd);
    per_token_costs(e, &r->bytes_per_token, &r->flops_per_token);
    r->n_threads = p.n_threads ? p.n_threads : e->p.n_threads;
    r->isa = owl_kernels_isa();
done:
    free(tok);
    free(pp);
    free(tg);
    owl_engine_free(e);
    return st;
}

/* ---- the machine's ceilings ----------------------------------------------- */

typedef struct probe_job {
    const float *buf;
    size_t n;
    int what; /* 0 read, 1 fma, 2 int8 */
    double result;
} probe_job;

#if OWL_HAVE_X86_SIMD
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static double read_avx2(const float *p, size_t n) {
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps(), c = _mm256_setzero_ps(), d = _mm256_setzero_ps();
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a = _mm256_add_ps(a, _mm256_load_ps(p + i));
        b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
        c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
        d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
    }
    float o[8];
    _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
    return o[0];
}
/* 12 independent 16-wide FMA chains (2 FMA units x latency 4 need 8+): 384 FLOPs an iteration */
#define CHAINS(OP)                                                                                     \
    do {                                                                                               \
        v0 = OP(v0); v1 = OP(v1); v2 = OP(v2); v3 = OP(v3); v4 = OP(v4); v5 = OP(v5);                  \
        v6 = OP(v6); v7 = OP(v7); v8 = OP(v8); v9 = OP(v9); v10 = OP(v10); v11 = OP(v11);              \
    } while (0)
__attribute__((target("avx512f"))) static double fma_avx512(size_t iters) {
    const __m512 m = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-7f);
    __m512 v0 = _mm512_set1_ps(1), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0, v8 = v0, v9 = v0,
           v10 = v0, v11 = v0;
#define FMA512(x) _mm512_fmadd_ps(x, m, add)
    for (size_t i = 0; i < iters; i++) CHAINS(FMA512);
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(v0, v1), _mm512_add_ps(v2, v3)),
                             _mm512_add_ps(_mm512_add_ps(v4, v5), _mm512_add_ps(v6, v7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(v8, v9), _mm512_add_ps(v10, v11)));
    return (double)_mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) static double fma_avx2(size_t iters) {
    const __m256 m = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
    __m256 v0 = _mm256_set1_ps(1), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0, v8 = v0, v9 = v0,
           v10 = v0, v11 = v0;
#define FMA256(x) _mm256_fmadd_ps(x, m, add)
    for (size_t i = 0; i < iters; i++) CHAINS(FMA256);
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3)),
                             _mm256_add_ps(_mm256_add_ps(v4, v5), _mm256_add_ps(v6, v7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(v8, v9), _mm256_add_ps(v10, v11)));
    float o[8];
    _mm256_storeu_ps(o, s);
    return o[0];
}
/* 12 chains of 64 u8 x s8 products: 1536 int8 multiply-adds an iteration */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni_avx512(size_t iters) {
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    __m512i v0 = _mm512_set1_epi32(1), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0, v8 = v0, v9 = v0,
            v10 = v0, v11 = v0;
#define DP512(x) _mm512_dpbusd_epi32(x, a, b)
    for (size_t i = 0; i < iters; i++) CHAINS(DP512);
    __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(v0, v1), _mm512_add_epi32(v2, v3)),
                                 _mm512_add_epi32(_mm512_add_epi32(v4, v5), _mm512_add_epi32(v6, v7)));
    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(v8, v9), _mm512_add_epi32(v10, v11)));
    uint32_t lanes[16], sum = 0; /* the chains wrap around: sum as unsigned */
    _mm512_storeu_si512(lanes, s);
    for (int i = 0; i < 16; i++) sum += lanes[i];
    return (double)sum;
}
#endif

static void *probe(void *arg) {
    probe_job *j = arg;
    const size_t iters = 20000000;
#if OWL_HAVE_X86_SIMD
    int has512 = owl_cpu_has_avx512vnni(), has2 = owl_cpu_has_avx2();
#else
    int has512 = 0, has2 = 0; /* no SIMD probes: the ceilings stay 0 */
#endif
    (void)has512, (void)has2, (void)iters;
    double t0 = now(), sink = 0;
    if (j->what == 0) {
        for (int rep = 0; rep < 3; rep++) {
#if OWL_HAVE_X86_SIMD
            if (has2) sink += read_avx2(j->buf, j->n);
            else
#endif
                for (size_t i = 0; i < j->n; i++) sink += j->buf[i];
        }
        j->result = 3.0 * (double)j->n * sizeof(float) / (now() - t0);
    } else if (j->what == 1) {
#if OWL_HAVE_X86_SIMD
        if (has512) sink = fma_avx512(iters), j->result = 384.0 * (double)iters / (now() - t0);
        else if (has2) sink = fma_avx2(iters), j->result = 192.0 * (double)iters / (now() - t0);
#endif
    } else {
#if OWL_HAVE_X86_SIMD
        if (has512) sink = vnni_avx512(iters), j->result = 1536.0 * (double)iters / (now() - t0);
#endif
    }
    if (sink == 12345.678) j->result += 1e-30; /* keeps the loops from being optimised away */
    return NULL;
}

/* Runs the probe on n threads at once and sums their rates. */
static double run_probe(int n_threads, int what, const float *buf, size_t per_thread) {
    pthread_t th[64];
    probe_job jobs[64];
    double total = 0;
    for (int i = 0; i < n_threads; i++) {
        jobs[i] = (probe_job){buf + (size_t)i * per_thread, per_thread, what, 0};
        if (pthread_create(&th[i], NULL, probe, &jobs[i])) n_threads = i;
    }
    for (int i = 0; i < n_threads; i++) {
        pthread_join(th[i], NULL);
        total += jobs[i].result;
    }
    return total;
}

owl_status owl_bench_machine(int n_threads, owl_machine_limits *out, owl_error *err) {
    if (!out || n_threads < 1 || n_threads > 64) return owl_fail(err, OWL_ERR_USAGE, "bench --machine: 1..64 threads");
    memset(out, 0, sizeof *out);
    const size_t per_thread = (size_t)1 << 28; /* floats: 1 GiB per thread, past every cache */
    float *buf = aligned_alloc(64, per_thread * sizeof(float) * (size_t)n_threads);
    if (!buf) return owl_fail(err, OWL_ERR_NOMEM, "bench --machine: cannot allocate %d GiB to measure bandwidth", n_threads);
    for (size_t i = 0; i < per_thread * (size_t)n_threads; i++) buf[i] = (float)(i & 7); /* touch every page */
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double r = run_probe(n_threads, 0, buf, per_thread);
        if (r > best) best = r;
    }
    free(buf);
    out->read_bytes_per_s = best;
    out->fma_flops = run_probe(n_threads, 1, NULL, 0);
    out->int8_ops = run_probe(n_threads, 2, NULL, 0);
    out->n_threads = n_threads;
    out->isa = owl_kernels_isa();
    return OWL_OK;
}
