/* layers.h: the blocks of the forward pass on plain float arrays, each named
 * after the math it does and written as xxx_forward so that xxx_backward can
 * stand beside it. Rounding follows ggml's CPU ops (sums of squares in double,
 * scale then weight, tanh GELU through F16) so logits match llama.cpp's. */
#ifndef OWL_MODEL_LAYERS_H
#define OWL_MODEL_LAYERS_H

#include <math.h>
#include <stdint.h>

#include "model/weights.h"

/* out = x / sqrt(mean(x^2) + eps) * w (w NULL: unweighted). out may be x. */
void rmsnorm_forward(float *out, const float *x, const float *w, int64_t n, float eps);
/* out = (x - mean) / sqrt(var + eps) * w + b (w, b may be NULL). out may be x. */
void layernorm_forward(float *out, const float *x, const float *w, const float *b, int64_t n, float eps);
/* The family's norm kind with weights nw (per-head weights: head selects them). */
void norm_forward(int kind, float *out, const float *x, const owl_normw *nw, int64_t head, float eps);

/* cos/sin of every rotated pair at position pos: cs[2i] = cos, cs[2i+1] = sin
   (ggml's rope cache: YaRN ramp, frequency factors, attention factor). */
void rope_cache(float *cs, int64_t pos, int64_t n_rot, const owl_rope_params *rp);
/* Rotates the first n_rot values of one head in place. */
void rope_forward(float *x, const float *cs, int64_t n_rot, int style);

void silu_forward(float *x, int64_t n);
/* out = silu(gate) * up */
void swiglu_forward(float *out, const float *gate, const float *up, int64_t n);
/* tanh GELU as ggml's F16 table gives it (input and output rounded to F16). out may be x. */
void gelu_forward(float *out, const float *x, int64_t n);
/* out = gelu(gate) * up */
void geglu_forward(float *out, const float *gate, const float *up, int64_t n);
/* In place; sum in double as ggml. */
void softmax_forward(float *x, int64_t n);
void sigmoid_forward(float *x, int64_t n);
/* cap * tanh(x / cap) over n values */
void softcap_forward(float *x, int64_t n, float cap);

/* Whether a query at q_pos sees the key at pos: causal, within the sliding
   window (n_swa > 0), within the query's chunk (chunk > 0). */
static inline int attn_key_visible(int64_t pos, int64_t q_pos, int64_t n_swa, int64_t chunk) {
    if (pos > q_pos) return 0;
    if (n_swa > 0 && q_pos - pos >= n_swa) return 0;
    if (chunk > 0 && pos < q_pos / chunk * chunk) return 0;
    return 1;
}

/* Llama 4's attention temperature for NoPE layers: 1 below the floor, then
   growing with log(position / floor). */
static inline float attn_temperature(int64_t pos) {
    return OWL_LLAMA4_TEMP_SCALE * logf(floorf((float)(pos + 1) / (float)OWL_LLAMA4_TEMP_FLOOR) + 1.0f) + 1.0f;
}

/* The keys one query sees. k and v rows are floats, k_stride / v_stride apart
   per cell index; pos[c] is each listed cell's position. */
typedef struct owl_attn_keys {
    const int64_t *cells;
    const int64_t *pos;
    int64_t n;
    const float *k, *v;
    int64_t k_stride, v_stride;
} owl_attn_keys;

/* One head of one query: out[0..dv) = softmax(scale * q.k (soft-capped, minus
   slope * distance)) . v over the listed keys; scores is n floats of scratch.
   q_type: OWL_F16 / OWL_Q8_0 round q to the cache's type first, as llama.cpp's
   flash attention does against an F16 / Q8_0 cache; OWL_F32 leaves it. */
void attention_forward(float *out, const float *q, int64_t dk, int64_t dv, const owl_attn_keys *keys, int64_t q_pos,
                       float scale, float softcap, float alibi_slope, int q_type, float *scores);

#endif
