/* ops.c: forward / backward pairs of the blocks the Llama family trains
 * through: RMSNorm, RoPE, SwiGLU, causal attention, cross-entropy. Plain
 * scalar code, summing in double where a row is reduced, so gradients are
 * accurate enough for finite-difference checks and identical across runs. */
#include <math.h>
#include <string.h>

#include "owl.h"
#include "train/ops.h"
#include "train/train_kernels.h"

/* ---- RMSNorm --------------------------------------------------------------- */

void rmsnorm_train_forward(float *y, float *rstd, const float *x, const float *w, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float r = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * r * (w ? w[i] : 1.0f);
    *rstd = r;
}

/* dx_j = r * (dy_j w_j - x_j r^2 mean_i(dy_i w_i x_i)) */
void rmsnorm_train_backward(float *dx, const float *dy, const float *x, const float *w, float rstd, int64_t n) {
    double dot = 0;
    for (int64_t i = 0; i < n; i++) dot += (double)dy[i] * (w ? w[i] : 1.0f) * x[i];
    float c = (float)(dot / (double)n) * rstd * rstd;
    for (int64_t i = 0; i < n; i++) dx[i] += rstd * (dy[i] * (w ? w[i] : 1.0f) - x[i] * c);
}

/* ---- RoPE ------------------------------------------------------------------ */

static void rope_pair(float *x, const float *cs, int64_t n_rot, int style, int64_t i0, float **a, float **b) {
    int64_t half = n_rot / 2;
    *a = style == OWL_ROPE_HALVES ? &x[i0 / 2] : &x[i0];
    *b = style == OWL_ROPE_HALVES ? &x[i0 / 2 + half] : &x[i0 + 1];
    (void)cs;
}

void rope_train_forward(float *x, const float *cs, int64_t n_rot, int style) {
    for (int64_t i0 = 0; i0 < n_rot; i0 += 2) {
        float *a, *b, c = cs[i0], s = cs[i0 + 1];
        rope_pair(x, cs, n_rot, style, i0, &a, &b);
        float x0 = *a, x1 = *b;
        *a = x0 * c - x1 * s;
        *b = x0 * s + x1 * c;
    }
}

/* The transpose of the forward rotation (cs may carry a scale, so not its inverse). */
void rope_train_backward(float *dx, const float *cs, int64_t n_rot, int style) {
    for (int64_t i0 = 0; i0 < n_rot; i0 += 2) {
        float *a, *b, c = cs[i0], s = cs[i0 + 1];
        rope_pair(dx, cs, n_rot, style, i0, &a, &b);
        float d0 = *a, d1 = *b;
        *a = d0 * c + d1 * s;
        *b = -d0 * s + d1 * c;
    }
}

/* ---- SwiGLU ---------------------------------------------------------------- */

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

void swiglu_train_forward(float *out, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = g[i] * sigmoid(g[i]) * u[i];
}

void swiglu_train_backward(float *dg, float *du, const float *dout, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float sg = sigmoid(g[i]), silu = g[i] * sg;
        dg[i] += dout[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
        du[i] += dout[i] * silu;
    }
}

/* ---- attention ------------------------------------------------------------- */

static float dot(const float *a, const float *b, int64_t n) {
    if (n >= 32) return tk_dot(a, b, n);
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void attention_train_forward(float *out, float *p, const float *q, const float *k, const float *v, int64_t T, int64_t hd,
                             int64_t q_stride, int64_t kv_stride, int64_t out_stride, const int32_t *doc, float scale) {
    for (int64_t t = 0; t < T; t++) {
        float *pt = p + t * T, mx = -INFINITY;
        for (int64_t u = 0; u < T; u++) {
            if (u > t || (doc && doc[u] != doc[t])) {
                pt[u] = -INFINITY;
                continue;
            }
            pt[u] = scale * dot(q + t * q_stride, k + u * kv_stride, hd);
            if (pt[u] > mx) mx = pt[u];
        }
        double sum = 0;
        for (int64_t u = 0; u < T; u++) {
            pt[u] = pt[u] == -INFINITY ? 0.0f : expf(pt[u] - mx);
            sum += pt[u];
        }
        float inv = (float)(1.0 / sum);
        float *o = out + t * out_stride;
        memset(o, 0, (size_t)hd * sizeof(float));
        for (int64_t u = 0; u <= t; u++) {
            pt[u] *= inv;
            if (pt[u] == 0) continue;
            tk_axpy(o, pt[u], v + u * kv_stride, hd);
        }
    }
}

/* s = scale q.k, p = softmax(s), o = p v:
   dv_u += p_tu do_t; dp_tu = do_t . v_u; ds_tu = p_tu (dp_tu - sum_u' p_tu' dp_tu');
   dq_t += scale ds_tu k_u; dk_u += scale ds_tu q_t. */
void attention_train_backward(float *dq, float *dk, float *dv, const float *dout, const float *p, const float *q,
                              const float *k, const float *v, int64_t T, int64_t hd, int64_t q_stride,
                              int64_t kv_stride, int64_t out_stride, float scale, float *dp) {
    for (int64_t t = 0; t < T; t++) {
        const float *pt = p + t * T, *dot_ = dout + t * out_stride;
        double pdp = 0;
        for (int64_t u = 0; u <= t; u++) {
            dp[u] = pt[u] == 0 ? 0.0f : dot(dot_, v + u * kv_stride, hd);
            pdp += (double)pt[u] * dp[u];
        }
        for (int64_t u = 0; u <= t; u++) {
            if (pt[u] == 0) continue;
            float ds = pt[u] * (dp[u] - (float)pdp) * scale;
            tk_axpy(dv + u * kv_stride, pt[u], dot_, hd);
            tk_axpy(dq + t * q_stride, ds, k + u * kv_stride, hd);
            tk_axpy(dk + u * kv_stride, ds, q + t * q_stride, hd);
        }
    }
}

/* ---- loss ------------------------------------------------------------------ */

double cross_entropy_forward_backward(float *dlogits, const float *logits, int64_t n_vocab, int32_t target, float weight) {
    float mx = logits[0];
    for (int64_t i = 1; i < n_vocab; i++)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    if (dlogits) { /* each exp once: kept in dlogits, then scaled into the softmax */
        for (int64_t i = 0; i < n_vocab; i++) sum += dlogits[i] = expf(logits[i] - mx);
        float s = (float)(weight / sum);
        for (int64_t i = 0; i < n_vocab; i++) dlogits[i] *= s;
        dlogits[target] -= weight;
    } else {
        for (int64_t i = 0; i < n_vocab; i++) sum += expf(logits[i] - mx);
    }
    return log(sum) + mx - logits[target];
}
