/* optim.c: AdamW (Loshchilov & Hutter; PyTorch's torch.optim.AdamW update
 * order: decay, moments, bias-corrected step), schedules, clipping. */
#include <math.h>

#include "train/optim.h"

void adamw_step(const adamw *o, int64_t t, float *p, const float *g, float *m, float *v, int64_t n) {
    double c1 = 1.0 - pow(o->beta1, (double)t), c2 = 1.0 - pow(o->beta2, (double)t);
    float b1 = (float)o->beta1, b2 = (float)o->beta2;
    float step = (float)(o->lr / c1), decay = (float)(1.0 - o->lr * o->weight_decay), rc2 = (float)(1.0 / sqrt(c2));
    for (int64_t i = 0; i < n; i++) {
        p[i] *= decay;
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i]) * rc2 + (float)o->eps);
    }
}

double lr_schedule(int kind, int64_t s, int64_t warmup, int64_t total) {
    if (s < warmup) return (double)s / (double)(warmup > 1 ? warmup : 1);
    if (kind == OWL_SCHEDULE_CONSTANT) return 1.0;
    double left = (double)(total - warmup > 1 ? total - warmup : 1);
    double progress = (double)(s - warmup) / left;
    if (kind == OWL_SCHEDULE_LINEAR) return fmax(0.0, 1.0 - progress);
    return fmax(0.0, 0.5 * (1.0 + cos(3.14159265358979323846 * progress)));
}

double grad_norm(const float *g, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double clip_grad_norm(float *g, int64_t n, double max_norm) {
    double norm = grad_norm(g, n);
    if (max_norm > 0 && norm > max_norm) {
        float c = (float)(max_norm / (norm + 1e-6));
        for (int64_t i = 0; i < n; i++) g[i] *= c;
    }
    return norm;
}
