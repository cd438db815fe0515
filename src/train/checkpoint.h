/* checkpoint.h: a fine-tuning run's whole state in one file, written
 * atomically: adapter parameters, AdamW moments, the step reached and the
 * loss history. Randomness is counter-based (a hash of seed and position),
 * so the step also fixes the data position and every later dropout mask. A
 * digest of the run's settings guards against resuming a different run. */
#ifndef OWL_TRAIN_CHECKPOINT_H
#define OWL_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"

typedef struct train_state {
    char config_digest[65];     /* SHA-256 of base, data and hyperparameters */
    int64_t step;               /* optimizer steps done */
    int64_t n_params;
    float *params, *m, *v;      /* borrowed on save; allocated by load */
    int64_t n_hist;             /* train loss of steps 1..n_hist */
    double *hist;
    int64_t n_eval;             /* (step, loss) pairs */
    int64_t *eval_step;
    double *eval_loss;
} train_state;

owl_status train_checkpoint_save(const char *path, const train_state *s, owl_error *err);
/* Reads into s (arrays malloc'd; free with train_state_free). */
owl_status train_checkpoint_load(const char *path, train_state *s, owl_error *err);
void train_state_free(train_state *s);

/* SHA-256 of a buffer as 64 hex digits. */
void train_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
