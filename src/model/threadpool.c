/* threadpool.c: workers sleep on a condition variable until the caller posts
 * a job (a generation number), each takes its fixed chunk, and the last one to
 * finish wakes the caller. No work stealing: the split is a pure function of
 * n, grain and the thread count. */
#include "model/threadpool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct worker {
    owl_pool *pool;
    int index;
    pthread_t thread;
} worker;

struct owl_pool {
    int n_threads;
    worker *workers; /* n_threads - 1 of them; thread 0 is the caller */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    uint64_t generation;
    int pending, stop;
    /* the current job */
    owl_pool_fn fn;
    void *ctx;
    int64_t n, chunk;
};

static void run_chunk(owl_pool *p, int t) {
    int64_t i0 = (int64_t)t * p->chunk, i1 = i0 + p->chunk;
    if (i1 > p->n) i1 = p->n;
    if (i0 < i1) p->fn(p->ctx, i0, i1, t);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    owl_pool *p = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_chunk(p, w->index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

owl_pool *owl_pool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    owl_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) {
            owl_pool_free(p);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            worker *w = &p->workers[i - 1];
            w->pool = p;
            w->index = i;
            if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                p->n_threads = i; /* only these started; free joins them */
                owl_pool_free(p);
                return NULL;
            }
        }
    }
    return p;
}

void owl_pool_free(owl_pool *p) {
    if (!p) return;
    if (p->workers) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n_threads; i++) pthread_join(p->workers[i - 1].thread, NULL);
        free(p->workers);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int owl_pool_threads(const owl_pool *p) { return p ? p->n_threads : 1; }

void owl_pool_for(owl_pool *p, int64_t n, int64_t grain, owl_pool_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t chunks = (n + grain - 1) / grain;
    int t = p ? p->n_threads : 1;
    if (t == 1 || chunks == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = ((chunks + t - 1) / t) * grain;
    pthread_mutex_lock(&p->mu);
    p->pending = t - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
