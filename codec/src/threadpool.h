/* A small pthreads pool for a blocking parallel-for, and row-band splitting.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_THREADPOOL_H
#define LVC_THREADPOOL_H

#define LVC_THREADPOOL_MAX 64

typedef struct LvcThreadPool LvcThreadPool;

/* A job of a parallel-for: called once for each job index 0..n_jobs − 1, on any thread. */
typedef void (*LvcJobFn)(void *arg, int job);

/* Create a pool that runs jobs on n_threads threads in all: the calling thread of
 * lvc_threadpool_run and n_threads − 1 workers.  n_threads = 0 means the number of online
 * CPUs; the count is capped at LVC_THREADPOOL_MAX.  Returns 0 and *out, or LVC_EINVAL /
 * LVC_ENOMEM. */
int lvc_threadpool_create(LvcThreadPool **out, int n_threads);

/* Join the workers and free the pool.  NULL is accepted.  No run may be in progress. */
void lvc_threadpool_destroy(LvcThreadPool *pool);

/* The number of threads jobs run on (≥ 1). */
int lvc_threadpool_threads(const LvcThreadPool *pool);

/* Call fn(arg, job) for every job in 0..n_jobs − 1, each exactly once, spread over the pool's
 * threads with the caller taking part, and return when all have finished.  Jobs must not call
 * back into the same pool.  Calls from several threads are serialised.  Allocates nothing.
 * pool may be NULL (everything runs on the caller).  Returns 0 or LVC_EINVAL. */
int lvc_threadpool_run(LvcThreadPool *pool, int n_jobs, LvcJobFn fn, void *arg);

/* Row bands: the number of bands to split h rows into for up to max_bands workers so that
 * every band has at least min_rows rows (at least 1 band), and the rows [*y0, *y1) of band i
 * of n.  Bands are contiguous, in order, cover 0..h and differ in height by at most one. */
int lvc_band_count(int h, int max_bands, int min_rows);
void lvc_band_range(int h, int n_bands, int i, int *y0, int *y1);

#endif
