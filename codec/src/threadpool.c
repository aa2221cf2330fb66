/* A pthreads pool for a blocking parallel-for.
 *
 * Each run publishes (fn, arg, n_jobs) under the mutex and bumps a generation counter; workers
 * wake on the new generation and, like the caller, take job indices from a shared counter until
 * none are left.  The caller then waits until every worker has left the generation, so the
 * next run may reuse the shared fields.  Nothing is allocated per run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

struct LvcThreadPool {
    int n_threads;           /* including the caller */
    int n_workers;           /* threads created */
    pthread_t *workers;

    pthread_mutex_t run_lock; /* serialises callers of lvc_threadpool_run */
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* new generation or quit */
    pthread_cond_t done;     /* busy reached 0 */
    unsigned generation;
    int quit;
    int busy;                /* workers not yet finished with the current generation */

    LvcJobFn fn;
    void *arg;
    int n_jobs;
    atomic_int next_job;
};

/* Take and run jobs until none are left. */
static void run_jobs(LvcThreadPool *p, LvcJobFn fn, void *arg, int n_jobs)
{
    for (;;) {
        int job = atomic_fetch_add_explicit(&p->next_job, 1, memory_order_relaxed);
        if (job >= n_jobs)
            break;
        fn(arg, job);
    }
}

static void *worker_main(void *opaque)
{
    LvcThreadPool *p = opaque;
    unsigned seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->quit)
            break;
        seen = p->generation;
        LvcJobFn fn = p->fn;
        void *arg = p->arg;
        int n_jobs = p->n_jobs;
        pthread_mutex_unlock(&p->lock);

        run_jobs(p, fn, arg, n_jobs);

        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > LVC_THREADPOOL_MAX ? LVC_THREADPOOL_MAX : (int)n;
}

/* Stop and join the first n workers, then free everything. */
static void pool_free(LvcThreadPool *p, int n)
{
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    free(p->workers);
    free(p);
}

int lvc_threadpool_create(LvcThreadPool **out, int n_threads)
{
    if (!out || n_threads < 0)
        return lvc_error(LVC_EINVAL, "invalid thread count %d", n_threads);
    *out = NULL;
    if (n_threads == 0)
        n_threads = online_cpus();
    if (n_threads > LVC_THREADPOOL_MAX)
        n_threads = LVC_THREADPOOL_MAX;

    LvcThreadPool *p = calloc(1, sizeof(*p));
    if (!p)
        return lvc_error(LVC_ENOMEM, "out of memory");
    p->n_threads = n_threads;
    if (n_threads > 1 && !(p->workers = calloc((size_t)(n_threads - 1), sizeof(pthread_t)))) {
        free(p);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    int inited = 0;
    if (pthread_mutex_init(&p->run_lock, NULL) == 0 && ++inited &&
        pthread_mutex_init(&p->lock, NULL) == 0 && ++inited &&
        pthread_cond_init(&p->wake, NULL) == 0 && ++inited &&
        pthread_cond_init(&p->done, NULL) == 0)
        inited++;
    if (inited < 4) {
        if (inited > 2)
            pthread_cond_destroy(&p->wake);
        if (inited > 1)
            pthread_mutex_destroy(&p->lock);
        if (inited > 0)
            pthread_mutex_destroy(&p->run_lock);
        free(p->workers);
        free(p);
        return lvc_error(LVC_ENOMEM, "cannot initialise thread pool synchronisation");
    }
    atomic_init(&p->next_job, 0);
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
            pool_free(p, i);
            return lvc_error(LVC_ENOMEM, "cannot create worker thread %d of %d", i + 1,
                             n_threads - 1);
        }
        p->n_workers = i + 1;
    }
    *out = p;
    return 0;
}

void lvc_threadpool_destroy(LvcThreadPool *pool)
{
    if (pool)
        pool_free(pool, pool->n_workers);
}

int lvc_threadpool_threads(const LvcThreadPool *pool) { return pool ? pool->n_threads : 1; }

int lvc_threadpool_run(LvcThreadPool *pool, int n_jobs, LvcJobFn fn, void *arg)
{
    if (n_jobs < 0 || (!fn && n_jobs > 0))
        return lvc_error(LVC_EINVAL, "invalid parallel-for (%d jobs)", n_jobs);
    if (!pool || pool->n_workers == 0 || n_jobs <= 1) {
        for (int j = 0; j < n_jobs; j++)
            fn(arg, j);
        return 0;
    }
    pthread_mutex_lock(&pool->run_lock);
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n_jobs = n_jobs;
    atomic_store_explicit(&pool->next_job, 0, memory_order_relaxed);
    pool->busy = pool->n_workers;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    run_jobs(pool, fn, arg, n_jobs);

    pthread_mutex_lock(&pool->lock);
    while (pool->busy > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->run_lock);
    return 0;
}

int lvc_band_count(int h, int max_bands, int min_rows)
{
    if (min_rows < 1)
        min_rows = 1;
    int n = h / min_rows;
    if (n > max_bands)
        n = max_bands;
    return n < 1 ? 1 : n;
}

void lvc_band_range(int h, int n_bands, int i, int *y0, int *y1)
{
    *y0 = (int)((int64_t)h * i / n_bands);
    *y1 = (int)((int64_t)h * (i + 1) / n_bands);
}
