/* ops.h: the training pass's blocks on plain float rows, each a forward /
 * backward pair written side by side (llm.c's train_gpt2.c). Backward
 * functions ADD into their input gradients, so a value used twice (the
 * residual stream, a shared norm output) collects both contributions.
 * Every sum runs in a fixed order, so results never depend on threads. */
#ifndef OWL_TRAIN_OPS_H
#define OWL_TRAIN_OPS_H

#include <stdint.h>

/* y = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps); *rstd saved for backward. */
void rmsnorm_train_forward(float *y, float *rstd, const float *x, const float *w, int64_t n, float eps);
void rmsnorm_train_backward(float *dx, const float *dy, const float *x, const float *w, float rstd, int64_t n);

/* Rotates the first n_rot values of one head by the angles in cs (cos, sin
   pairs from rope_cache); backward rotates the gradient back. */
void rope_train_forward(float *x, const float *cs, int64_t n_rot, int style);
void rope_train_backward(float *dx, const float *cs, int64_t n_rot, int style);

/* out = silu(g) * u */
void swiglu_train_forward(float *out, const float *g, const float *u, int64_t n);
void swiglu_train_backward(float *dg, float *du, const float *dout, const float *g, const float *u, int64_t n);

/* Causal attention of one head over T tokens of one sequence: rows of q, k,
   v are `stride` floats apart (head offsets already applied), hd floats
   each. doc[t] (or NULL) is the packed document of token t: a query sees
   only earlier keys of its own document. p receives the T x T attention
   probabilities (zero where masked) for backward. */
void attention_train_forward(float *out, float *p, const float *q, const float *k, const float *v, int64_t T, int64_t hd,
                             int64_t q_stride, int64_t kv_stride, int64_t out_stride, const int32_t *doc, float scale);
/* Adds into dq, dk, dv (same layouts as q, k, v); dp is T floats of scratch. */
void attention_train_backward(float *dq, float *dk, float *dv, const float *dout, const float *p, const float *q,
                              const float *k, const float *v, int64_t T, int64_t hd, int64_t q_stride,
                              int64_t kv_stride, int64_t out_stride, float scale, float *dp);

/* Softmax cross-entropy of one row of logits against target: returns the loss
   (natural log) and, when dlogits is not NULL, writes weight * (softmax - onehot). */
double cross_entropy_forward_backward(float *dlogits, const float *logits, int64_t n_vocab, int32_t target, float weight);

#endif
