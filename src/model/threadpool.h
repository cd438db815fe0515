/* threadpool.h: a small pthread pool for the forward pass. owl_pool_for
 * splits [0, n) into one contiguous chunk per thread; every index is computed
 * by the same code whatever the split, so results do not depend on the
 * number of threads. */
#ifndef OWL_MODEL_THREADPOOL_H
#define OWL_MODEL_THREADPOOL_H

#include <stdint.h>

typedef struct owl_pool owl_pool;

/* fn processes indices [i0, i1); thread is 0..n_threads-1 (for per-thread scratch). */
typedef void (*owl_pool_fn)(void *ctx, int64_t i0, int64_t i1, int thread);

/* n_threads >= 1; the calling thread is thread 0. NULL if threads cannot start. */
owl_pool *owl_pool_new(int n_threads);
void owl_pool_free(owl_pool *p);
int owl_pool_threads(const owl_pool *p);

/* Runs fn over [0, n) and returns when all of it is done. Chunks are rounded
   to multiples of grain (>= 1); with little work fewer threads take part. */
void owl_pool_for(owl_pool *p, int64_t n, int64_t grain, owl_pool_fn fn, void *ctx);

#endif
