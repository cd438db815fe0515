/* sampler.c: from logits to the next token, as a fixed chain in llama.cpp's
 * order: logit bias, repetition/frequency/presence penalties over the last
 * tokens, top-k, typical-p, top-p, min-p, temperature, then one draw from a
 * seeded generator. Temperature 0 is greedy (lowest id on ties). The state is
 * a candidate array and the recent-token window, both sized at creation, so
 * sampling allocates nothing. Log-probabilities are those of the model's
 * own distribution (log-softmax of the raw logits), as OpenAI reports them. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "owl.h"

#define MAX_VOCAB (1 << 24)
#define MAX_WINDOW 65536
#define MAX_BIAS 4096

struct owl_sampler {
    owl_sampler_params p;
    owl_logit_bias *bias;
    int64_t n_vocab;
    owl_candidate *cand;  /* n_vocab */
    int32_t *recent;      /* ring of the last penalty_last_n accepted tokens */
    int64_t n_recent, head;
    uint16_t *count;      /* n_vocab: occurrences in the window (penalties) */
    uint64_t rng[4];      /* xoshiro256** state */
};

owl_sampler_params owl_sampler_default_params(void) {
    owl_sampler_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.typical_p = 1.0f;
    p.repeat_penalty = 1.0f;
    p.penalty_last_n = 64;
    p.seed = 0;
    return p;
}

/* ---- random numbers: splitmix64 seeding xoshiro256** (same seed, same draws, on any machine) */
static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t next_u64(uint64_t *s) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return r;
}
/* uniform in [0, 1) with 53 random bits */
static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

static int check_params(const owl_sampler_params *p, owl_error *err) {
    if (!(p->temperature >= 0 && p->temperature <= 100)) return owl_fail(err, OWL_ERR_USAGE, "temperature %g: expected 0..100", p->temperature), 0;
    if (p->top_k < 0) return owl_fail(err, OWL_ERR_USAGE, "top_k %d: expected 0 (off) or more", p->top_k), 0;
    if (!(p->top_p > 0 && p->top_p <= 1)) return owl_fail(err, OWL_ERR_USAGE, "top_p %g: expected (0, 1]", p->top_p), 0;
    if (!(p->min_p >= 0 && p->min_p < 1)) return owl_fail(err, OWL_ERR_USAGE, "min_p %g: expected [0, 1)", p->min_p), 0;
    if (!(p->typical_p > 0 && p->typical_p <= 1)) return owl_fail(err, OWL_ERR_USAGE, "typical_p %g: expected (0, 1]", p->typical_p), 0;
    if (!(p->repeat_penalty > 0 && p->repeat_penalty <= 10))
        return owl_fail(err, OWL_ERR_USAGE, "repeat_penalty %g: expected (0, 10]", p->repeat_penalty), 0;
    if (!(fabsf(p->frequency_penalty) <= 10 && fabsf(p->presence_penalty) <= 10))
        return owl_fail(err, OWL_ERR_USAGE, "frequency and presence penalties: expected -10..10"), 0;
    if (p->penalty_last_n < 0 || p->penalty_last_n > MAX_WINDOW)
        return owl_fail(err, OWL_ERR_USAGE, "penalty_last_n %d: expected 0..%d", p->penalty_last_n, MAX_WINDOW), 0;
    if (p->n_logit_bias < 0 || p->n_logit_bias > MAX_BIAS || (p->n_logit_bias && !p->logit_bias))
        return owl_fail(err, OWL_ERR_USAGE, "logit_bias: at most %d entries", MAX_BIAS), 0;
    return 1;
}

owl_status owl_sampler_new(const owl_sampler_params *p, int64_t n_vocab, owl_sampler **out, owl_error *err) {
    if (!p || !out) return owl_fail(err, OWL_ERR_USAGE, "owl_sampler_new: params and out must not be NULL");
    *out = NULL;
    if (n_vocab < 1 || n_vocab > MAX_VOCAB) return owl_fail(err, OWL_ERR_USAGE, "n_vocab %lld: expected 1..%d", (long long)n_vocab, MAX_VOCAB);
    if (!check_params(p, err)) return err ? err->status : OWL_ERR_USAGE;
    for (int i = 0; i < p->n_logit_bias; i++)
        if (p->logit_bias[i].token < 0 || p->logit_bias[i].token >= n_vocab || isnan(p->logit_bias[i].bias))
            return owl_fail(err, OWL_ERR_USAGE, "logit_bias: token %d is not in the vocabulary (0..%lld) or its bias is not a number",
                            p->logit_bias[i].token, (long long)n_vocab - 1);
    owl_sampler *s = calloc(1, sizeof *s);
    if (!s) return owl_fail(err, OWL_ERR_NOMEM, "out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->count = calloc((size_t)n_vocab, sizeof *s->count);
    s->recent = malloc((size_t)(p->penalty_last_n ? p->penalty_last_n : 1) * sizeof *s->recent);
    s->bias = p->n_logit_bias ? malloc((size_t)p->n_logit_bias * sizeof *s->bias) : NULL;
    if (!s->cand || !s->count || !s->recent || (p->n_logit_bias && !s->bias)) {
        owl_sampler_free(s);
        return owl_fail(err, OWL_ERR_NOMEM, "out of memory for a sampler over %lld tokens", (long long)n_vocab);
    }
    if (p->n_logit_bias) memcpy(s->bias, p->logit_bias, (size_t)p->n_logit_bias * sizeof *s->bias);
    s->p.logit_bias = s->bias;
    owl_sampler_reset(s);
    *out = s;
    return OWL_OK;
}

void owl_sampler_free(owl_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->count);
    free(s->recent);
    free(s->bias);
    free(s);
}

void owl_sampler_reset(owl_sampler *s) {
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix(&x);
    s->n_recent = s->head = 0;
    memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
}

void owl_sampler_accept(owl_sampler *s, int32_t token) {
    int64_t w = s->p.penalty_last_n;
    if (!w || token < 0 || token >= s->n_vocab) return;
    if (s->n_recent == w) { /* the oldest leaves the window */
        int32_t old = s->recent[s->head];
        if (s->count[old]) s->count[old]--;
    } else {
        s->n_recent++;
    }
    s->recent[s->head] = token;
    s->head = (s->head + 1) % w;
    if (s->count[token] < UINT16_MAX) s->count[token]++;
}

/* descending logit, then ascending id: a total order, so results never depend on qsort's whims */
static int by_logit(const void *a, const void *b) {
    const owl_candidate *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Moves the k best candidates (by_logit's order) to c[0..k) through a
   min-heap of size k; returns k. The heap's root is the worst kept one. */
static void sift(owl_candidate *h, int64_t k, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, w = i;
        if (l < k && by_logit(&h[l], &h[w]) > 0) w = l;
        if (l + 1 < k && by_logit(&h[l + 1], &h[w]) > 0) w = l + 1;
        if (w == i) return;
        owl_candidate t = h[i];
        h[i] = h[w], h[w] = t, i = w;
    }
}
static int64_t select_top(owl_candidate *c, int64_t n, int64_t k) {
    for (int64_t i = k / 2; i-- > 0;) sift(c, k, i);
    for (int64_t i = k; i < n; i++)
        if (by_logit(&c[i], &c[0]) < 0) { /* better than the worst kept */
            c[0] = c[i];
            sift(c, k, 0);
        }
    return k;
}

/* softmax over the first n candidates (sorted), into p */
static void softmax(owl_candidate *c, int64_t n) {
    double sum = 0;
    float max = c[0].logit;
    for (int64_t i = 0; i < n; i++) sum += (c[i].p = expf(c[i].logit - max));
    for (int64_t i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
}

int64_t owl_sampler_candidates(owl_sampler *s, const float *logits, owl_candidate **out) {
    const owl_sampler_params *p = &s->p;
    owl_candidate *c = s->cand;
    int64_t n = s->n_vocab;
    for (int64_t i = 0; i < n; i++) c[i] = (owl_candidate){(int32_t)i, logits[i], 0, 0};
    for (int i = 0; i < p->n_logit_bias; i++) c[p->logit_bias[i].token].logit += p->logit_bias[i].bias;
    if (s->n_recent && (p->repeat_penalty != 1 || p->frequency_penalty != 0 || p->presence_penalty != 0))
        for (int64_t i = 0; i < n; i++) {
            int cnt = s->count[i];
            if (!cnt) continue;
            float l = c[i].logit;
            l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty; /* as llama.cpp and the CTRL paper */
            c[i].logit = l - (float)cnt * p->frequency_penalty - p->presence_penalty;
        }
    /* drop what can never be drawn (logit bias of -inf), then sort */
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (c[i].logit > -INFINITY) c[m++] = c[i];
    if (!m) c[m++] = (owl_candidate){0, 0, 0, 0}; /* everything banned: token 0 rather than nothing */
    n = m;
    if (p->temperature <= 0) { /* greedy: the best, lowest id on ties */
        int64_t best = 0;
        for (int64_t i = 1; i < n; i++)
            if (c[i].logit > c[best].logit || (c[i].logit == c[best].logit && c[i].id < c[best].id)) best = i;
        c[0] = c[best];
        c[0].p = 1;
        *out = c;
        return 1;
    }
    if (p->top_k > 0 && p->top_k < n) n = select_top(c, n, p->top_k); /* O(V log k), not a full sort per token */
    qsort(c, (size_t)n, sizeof *c, by_logit);
    softmax(c, n);
    if (p->typical_p < 1) { /* locally typical: closest to the entropy first, until typical_p of the mass */
        double ent = 0;
        for (int64_t i = 0; i < n; i++) ent -= c[i].p > 0 ? (double)c[i].p * log(c[i].p) : 0;
        for (int64_t i = 0; i < n; i++) c[i].score = (float)fabs(-log(c[i].p > 0 ? c[i].p : FLT_MIN) - ent);
        /* stable selection by score: insertion sort is fine for the top-k sizes used */
        for (int64_t i = 1; i < n; i++) {
            owl_candidate x = c[i];
            int64_t j = i;
            while (j > 0 && c[j - 1].score > x.score) c[j] = c[j - 1], j--;
            c[j] = x;
        }
        double cum = 0;
        int64_t keep = n;
        for (int64_t i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= p->typical_p) { keep = i + 1; break; }
        }
        n = keep;
        qsort(c, (size_t)n, sizeof *c, by_logit);
        softmax(c, n);
    }
    if (p->top_p < 1) { /* the smallest head whose mass reaches top_p */
        double cum = 0;
        for (int64_t i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= p->top_p) { n = i + 1; break; }
        }
        softmax(c, n);
    }
    if (p->min_p > 0) { /* keep tokens at least min_p times as likely as the best */
        int64_t keep = 1;
        while (keep < n && c[keep].p >= p->min_p * c[0].p) keep++;
        n = keep;
    }
    for (int64_t i = 0; i < n; i++) c[i].logit /= p->temperature;
    softmax(c, n);
    *out = c;
    return n;
}

int32_t owl_sampler_sample(owl_sampler *s, const float *logits) {
    if (!s || !logits) return -1;
    owl_candidate *c;
    int64_t n = owl_sampler_candidates(s, logits, &c);
    if (n == 1) return c[0].id;
    double u = next_unit(s->rng), cum = 0;
    for (int64_t i = 0; i < n; i++) {
        cum += c[i].p;
        if (u < cum) return c[i].id;
    }
    return c[n - 1].id; /* rounding left u past the last sum */
}

void owl_logprobs(const float *logits, int64_t n_vocab, int32_t chosen, int n_top, owl_token_logprob *top,
                  float *chosen_logprob) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n_vocab; i++) max = fmaxf(max, logits[i]);
    double sum = 0;
    for (int64_t i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - max);
    const double lse = max + log(sum);
    if (chosen_logprob) *chosen_logprob = chosen >= 0 && chosen < n_vocab ? (float)(logits[chosen] - lse) : -INFINITY;
    /* the n_top best by a partial selection (n_top is small) */
    for (int k = 0; k < n_top; k++) top[k] = (owl_token_logprob){-1, -INFINITY};
    for (int64_t i = 0; i < n_vocab; i++) {
        float lp = (float)(logits[i] - lse);
        int k = n_top;
        while (k > 0 && (lp > top[k - 1].logprob || (lp == top[k - 1].logprob && top[k - 1].id > (int32_t)i))) k--;
        if (k >= n_top) continue;
        memmove(top + k + 1, top + k, (size_t)(n_top - k - 1) * sizeof *top);
        top[k] = (owl_token_logprob){(int32_t)i, lp};
    }
}
