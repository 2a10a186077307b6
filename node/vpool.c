/*
 * vpool.c: a fixed set of helper threads that open envelopes alongside
 * the caller. One batch at a time (the loop thread is the only caller):
 * the caller publishes the batch, wakes the helpers, and every thread
 * takes chunks of it through an atomic cursor until none are left; the
 * caller then waits for the helpers to leave the batch. Each thread
 * decodes into its own arena, so nothing is shared but the cursor and
 * the result slots, each written by one thread.
 */
#include "node/vpool.h"
#include "proto/proto.h"

#include <pthread.h>
#include <stdlib.h>

#define CHUNK 16 /* envelopes taken per grab of the cursor */

/* A batch, as each thread copies it under the mutex. */
typedef struct batch {
    const uint8_t *const *env;
    const size_t         *len;
    size_t                n;
    size_t               *next; /* the shared cursor (atomic) */
    weft_err             *err;
} batch;

struct vpool {
    pthread_mutex_t       mtx;
    pthread_cond_t        go, done;
    pthread_t             th[VPOOL_HELPERS_MAX];
    int                   nth;
    bool                  stop;
    uint64_t              gen;  /* batch number: helpers wait for a new one */
    int                   busy; /* helpers inside the batch */
    const uint8_t *const *env;
    const size_t         *len;
    size_t                n;
    size_t                next; /* the cursor (atomic) */
    weft_err             *err;
};

/* work opens envelopes of batch b until none are left. */
static void
work(batch b, pv_arena *a)
{
    size_t i, end;

    while ((i = __atomic_fetch_add(b.next, CHUNK, __ATOMIC_RELAXED)) < b.n) {
        end = i + CHUNK < b.n ? i + CHUNK : b.n;
        for (; i < end; i++) {
            pv *sum;

            pv_arena_reset(a);
            b.err[i] = proto_envelope_open(a, b.env[i], b.len[i], &sum, NULL);
        }
    }
}

static batch
current(vpool *p)
{
    batch b = { p->env, p->len, p->n, &p->next, p->err };

    return b;
}

static void *
helper(void *arg)
{
    vpool    *p = arg;
    pv_arena *a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64);
    uint64_t  seen = 0;
    batch     b;

    pthread_mutex_lock(&p->mtx);
    for (;;) {
        while (!p->stop && p->gen == seen)
            pthread_cond_wait(&p->go, &p->mtx);
        if (p->stop)
            break;
        seen = p->gen;
        p->busy++;
        b = current(p);
        pthread_mutex_unlock(&p->mtx);
        /* A helper late for a batch finds n = 0, and must not touch the
         * cursor: the next batch may already have reset it. */
        if (a != NULL && b.n > 0)
            work(b, a);
        pthread_mutex_lock(&p->mtx);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mtx);
    pv_arena_free(a);
    return NULL;
}

int
vpool_helpers(void)
{
    return weft_helpers(VPOOL_HELPERS_MAX);
}

vpool *
vpool_new(int helpers)
{
    vpool *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->mtx, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    if (helpers > VPOOL_HELPERS_MAX)
        helpers = VPOOL_HELPERS_MAX;
    for (; p->nth < helpers; p->nth++)
        if (pthread_create(&p->th[p->nth], NULL, helper, p) != 0)
            break; /* fewer helpers: still correct */
    return p;
}

void
vpool_free(vpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mtx);
    p->stop = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mtx);
    for (int i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mtx);
    free(p);
}

void
vpool_open(vpool *p, const uint8_t *const *env, const size_t *len, size_t n,
    weft_err *err)
{
    size_t    cursor = 0;
    batch     b = { env, len, n, &cursor, err };
    pv_arena *a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64);

    if (a == NULL) {
        for (size_t i = 0; i < n; i++)
            err[i] = WEFT_ENOMEM;
        return;
    }
    if (p == NULL || p->nth == 0 || n < VPOOL_MIN_BATCH) {
        work(b, a);
        pv_arena_free(a);
        return;
    }
    pthread_mutex_lock(&p->mtx);
    p->env = env;
    p->len = len;
    p->n = n;
    p->err = err;
    __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
    p->gen++;
    b = current(p);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mtx);
    work(b, a);
    /* Helpers that woke late find the cursor past the end and leave. */
    pthread_mutex_lock(&p->mtx);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mtx);
    p->n = 0;
    pthread_mutex_unlock(&p->mtx);
    pv_arena_free(a);
}
