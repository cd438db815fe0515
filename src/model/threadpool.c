/* threadpool.c: the caller posts a job by bumping a generation number; each
 * thread takes its fixed chunk and the last one to finish lets the caller go.
 * A forward pass posts a hundred small jobs per token, so a futex wake-up per
 * job (tens of microseconds in a VM) would cost more than the work: workers
 * and the caller spin briefly on atomics and only then sleep on a condition
 * variable, so a busy pool syncs in nanoseconds and an idle one uses no CPU
 * after SPIN_NS. No work stealing: the split is a pure function of n, grain
 * and the thread count. */
#define _POSIX_C_SOURCE 200809L
#include "model/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* how long a thread polls before it sleeps: longer than the gap between two
   jobs of one token, far shorter than a person's pause between requests */
#define SPIN_NS 2000000

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
    _Atomic uint64_t generation;
    atomic_int pending, stop, sleepers;
    /* the current job: written before generation is released, read after it is acquired */
    owl_pool_fn fn;
    void *ctx;
    int64_t n, chunk;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_chunk(owl_pool *p, int t) {
    int64_t i0 = (int64_t)t * p->chunk, i1 = i0 + p->chunk;
    if (i1 > p->n) i1 = p->n;
    if (i0 < i1) p->fn(p->ctx, i0, i1, t);
}

/* Polls until generation moves past seen (1) or SPIN_NS passes (0). */
static int spin_for_job(owl_pool *p, uint64_t seen) {
    uint64_t t0 = 0;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
            atomic_load_explicit(&p->stop, memory_order_relaxed))
            return 1;
        CPU_RELAX();
        if ((i & 255) == 0) {
            uint64_t t = now_ns();
            if (!t0) t0 = t;
            else if (t - t0 > SPIN_NS) return 0;
        }
    }
}

static void *worker_main(void *arg) {
    worker *w = arg;
    owl_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        if (!spin_for_job(p, seen)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            /* checked under the lock the poster takes after bumping generation: no lost wake-up */
            while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        run_chunk(p, w->index);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            /* the last one out: wake the caller if it went to sleep */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
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
        atomic_store(&p->stop, 1);
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
    atomic_store_explicit(&p->pending, t - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_chunk(p, 0);
    /* the chunks are equal, so the others are usually done or nearly: poll, then sleep */
    uint64_t t0 = 0;
    for (unsigned i = 1; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; i++) {
        CPU_RELAX();
        if ((i & 255) == 0) {
            uint64_t tn = now_ns();
            if (!t0) t0 = tn;
            else if (tn - t0 > SPIN_NS) {
                pthread_mutex_lock(&p->mu);
                while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
                pthread_mutex_unlock(&p->mu);
                break;
            }
        }
    }
}
