/* layers.c: norms, RoPE, activations, softmax and attention for one row at a
 * time, in ggml's order of operations (ggml-cpu/ops.cpp, vec.h) so that owl's
 * logits agree with llama.cpp's to float rounding. */
#include "model/layers.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"

/* ---- norms --------------------------------------------------------------- */

void rmsnorm_forward(float *out, const float *x, const float *w, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) out[i] = w ? (x[i] * scale) * w[i] : x[i] * scale;
}

void layernorm_forward(float *out, const float *x, const float *w, const float *b, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i];
    const float mean = (float)(sum / (double)n);
    double sum2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] - mean;
        out[i] = v;
        sum2 += (double)(v * v);
    }
    const float variance = (float)(sum2 / (double)n);
    const float scale = 1.0f / sqrtf(variance + eps);
    for (int64_t i = 0; i < n; i++) {
        float y = out[i] * scale;
        if (w) y = y * w[i];
        if (b) y = y + b[i];
        out[i] = y;
    }
}

void norm_forward(int kind, float *out, const float *x, const owl_normw *nw, int64_t head, float eps) {
    const float *w = nw->w ? nw->w + head * nw->stride : NULL;
    const float *b = nw->b ? nw->b + head * nw->stride : NULL;
    if (kind == OWL_NORM_LAYER) layernorm_forward(out, x, w, b, nw->n, eps);
    else rmsnorm_forward(out, x, w, nw->n, eps);
}

/* ---- rotary embeddings ----------------------------------------------------- */

static float yarn_ramp(float low, float high, int64_t i0) {
    const float y = (float)(i0 / 2 - low) / fmaxf(0.001f, high - low);
    return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

static float yarn_corr_dim(int64_t n_dims, int64_t n_ctx_orig, float n_rot, float base) {
    return (float)n_dims * logf((float)n_ctx_orig / (n_rot * 2.0f * 3.14159265358979323846f)) / (2.0f * logf(base));
}

void rope_cache(float *cs, int64_t pos, int64_t n_rot, const owl_rope_params *rp) {
    const float theta_scale = powf(rp->base, -2.0f / (float)n_rot);
    float corr[2] = {0, 0};
    if (rp->ext_factor != 0.0f) {
        float start = floorf(yarn_corr_dim(n_rot, rp->n_ctx_orig, rp->beta_fast, rp->base));
        float end = ceilf(yarn_corr_dim(n_rot, rp->n_ctx_orig, rp->beta_slow, rp->base));
        corr[0] = fmaxf(0.0f, start);
        corr[1] = fminf((float)(n_rot - 1), end);
    }
    float theta = (float)pos;
    for (int64_t i0 = 0; i0 < n_rot; i0 += 2) {
        const float ff = rp->freq_factors ? rp->freq_factors[i0 / 2] : 1.0f;
        const float theta_extrap = theta / ff;
        const float theta_interp = rp->freq_scale * theta_extrap;
        float t = theta_interp, mscale = rp->attn_factor;
        if (rp->ext_factor != 0.0f) {
            const float mix = yarn_ramp(corr[0], corr[1], i0) * rp->ext_factor;
            t = theta_interp * (1 - mix) + theta_extrap * mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / rp->freq_scale);
        }
        cs[i0] = cosf(t) * mscale;
        cs[i0 + 1] = sinf(t) * mscale;
        theta *= theta_scale;
    }
}

void rope_forward(float *x, const float *cs, int64_t n_rot, int style) {
    const int64_t half = n_rot / 2;
    for (int64_t i0 = 0; i0 < n_rot; i0 += 2) {
        const float c = cs[i0], s = cs[i0 + 1];
        float *a = style == OWL_ROPE_HALVES ? &x[i0 / 2] : &x[i0];
        float *b = style == OWL_ROPE_HALVES ? &x[i0 / 2 + half] : &x[i0 + 1];
        const float x0 = *a, x1 = *b;
        *a = x0 * c - x1 * s;
        *b = x0 * s + x1 * c;
    }
}

/* ---- activations ------------------------------------------------------------ */

static float silu(float x) { return x / (1.0f + expf(-x)); }

void silu_forward(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = silu(x[i]);
}

void swiglu_forward(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = silu(gate[i]) * up[i];
}

/* ggml_vec_gelu_f32 with GGML_GELU_FP16: the table entry of the F16-rounded
   input, which is the F16 rounding of the float tanh GELU of that input. */
#define GELU_CHUNK 64
static void gelu_f16(float *out, const float *x, int64_t n) {
    const owl_kernel_traits *h = owl_kernels_get(OWL_F16);
    uint16_t half[GELU_CHUNK];
    float xr[GELU_CHUNK], g[GELU_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += GELU_CHUNK) {
        int64_t m = n - i0 < GELU_CHUNK ? n - i0 : GELU_CHUNK;
        h->from_float(x + i0, half, m);
        h->to_float(half, xr, m);
        for (int64_t i = 0; i < m; i++) {
            const float v = xr[i];
            g[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286535587989211986876f * v * (1.0f + 0.044715f * v * v)));
        }
        h->from_float(g, half, m);
        h->to_float(half, g, m);
        for (int64_t i = 0; i < m; i++) {
            const float v = x[i0 + i];
            out[i0 + i] = v <= -10.0f ? 0.0f : v >= 10.0f ? v : g[i];
        }
    }
}

void gelu_forward(float *out, const float *x, int64_t n) { gelu_f16(out, x, n); }

void geglu_forward(float *out, const float *gate, const float *up, int64_t n) {
    float g[GELU_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += GELU_CHUNK) {
        int64_t m = n - i0 < GELU_CHUNK ? n - i0 : GELU_CHUNK;
        gelu_f16(g, gate + i0, m);
        for (int64_t i = 0; i < m; i++) {
            const float v = gate[i0 + i];
            /* ggml_vec_geglu_f32: x >= 10 passes x * up, as gelu(x) = x there */
            out[i0 + i] = (v >= 10.0f ? v : g[i]) * up[i0 + i];
        }
    }
}

void softmax_forward(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = fmaxf(max, x[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float v = expf(x[i] - max);
        sum += (double)v;
        x[i] = v;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void sigmoid_forward(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

void softcap_forward(float *x, int64_t n, float cap) {
    for (int64_t i = 0; i < n; i++) x[i] = tanhf(x[i] * (1.0f / cap)) * cap;
}

/* ---- attention ---------------------------------------------------------------- */

#define Q_CHUNK 256

static float dot(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void attention_forward(float *out, const float *q, int64_t dk, int64_t dv, const owl_attn_keys *keys, int64_t q_pos,
                       float scale, float softcap, float alibi_slope, int q_type, float *scores) {
    float qr[Q_CHUNK];
    const owl_kernel_traits *h = owl_kernels_get(q_type == OWL_Q8_0 ? OWL_Q8_0 : OWL_F16);
    uint16_t half[Q_CHUNK]; /* room for Q_CHUNK halves, or Q_CHUNK / 32 Q8_0 blocks (34 bytes each) */
    int q_f16 = q_type == OWL_F16 || (q_type == OWL_Q8_0 && dk % 32 == 0);
    for (int64_t j = 0; j < keys->n; j++) scores[j] = 0.0f;
    /* q . k, chunk by chunk of the head so q may be rounded to F16 in a small buffer */
    for (int64_t d0 = 0; d0 < dk; d0 += Q_CHUNK) {
        int64_t m = dk - d0 < Q_CHUNK ? dk - d0 : Q_CHUNK;
        const float *qc = q + d0;
        if (q_f16) {
            if (q_type == OWL_Q8_0) owl_quantize_activations(OWL_Q8_0, qc, half, m);
            else h->from_float(qc, half, m);
            h->to_float(half, qr, m);
            qc = qr;
        }
        for (int64_t j = 0; j < keys->n; j++) scores[j] += dot(qc, keys->k + keys->cells[j] * keys->k_stride + d0, m);
    }
    for (int64_t j = 0; j < keys->n; j++) {
        float s = scores[j] * scale;
        if (softcap > 0) s = tanhf(s * (1.0f / softcap)) * softcap;
        if (alibi_slope != 0) s += alibi_slope * -(float)llabs(q_pos - keys->pos[j]);
        scores[j] = s;
    }
    softmax_forward(scores, keys->n);
    for (int64_t e = 0; e < dv; e++) out[e] = 0.0f;
    for (int64_t j = 0; j < keys->n; j++) {
        const float p = scores[j], *v = keys->v + keys->cells[j] * keys->v_stride;
        for (int64_t e = 0; e < dv; e++) out[e] += p * v[e];
    }
}
