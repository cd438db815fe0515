/* optim.h: AdamW over a flat parameter array, the learning-rate schedules
 * (warmup, then cosine, linear or constant, as transformers'
 * get_*_schedule_with_warmup), and global-norm gradient clipping. */
#ifndef OWL_TRAIN_OPTIM_H
#define OWL_TRAIN_OPTIM_H

#include <stdint.h>

typedef struct adamw {
    double lr, beta1, beta2, eps, weight_decay;
} adamw;

/* One update (t counts from 1) of n parameters with moments m and v. */
void adamw_step(const adamw *o, int64_t t, float *p, const float *g, float *m, float *v, int64_t n);

enum { OWL_SCHEDULE_COSINE = 0, OWL_SCHEDULE_LINEAR, OWL_SCHEDULE_CONSTANT };

/* The multiplier of the base learning rate for step s of total (0-based). */
double lr_schedule(int kind, int64_t s, int64_t warmup, int64_t total);

/* sqrt(sum g^2), summed in order in double. */
double grad_norm(const float *g, int64_t n);
/* Scales g to max_norm when its norm is larger; returns the norm before. */
double clip_grad_norm(float *g, int64_t n, double max_norm);

#endif
