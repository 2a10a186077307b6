/*
 * prep.c: helpers that make items ahead of the caller, into a ring.
 * Everything shared is under one mutex: an item takes tens of
 * microseconds, next to which a lock is nothing. A wake-up is not
 * (waking the other core costs ~50 us here, LIMITS.md): nobody is
 * signalled unless it waits, and a helper that found the ring full waits
 * for half of it to free up, so it is woken once per half a ring of items.
 */
#include "node/prep.h"
#include "util/weft.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct prep {
    pthread_mutex_t mtx;
    pthread_cond_t  room;  /* a slot was released, or stop */
    pthread_cond_t  ready; /* an item was made */
    pthread_t       th[PREP_HELPERS];
    int             nth;
    int             idle;    /* helpers waiting for room */
    bool            waiting; /* the caller waits for an item */
    bool            stop;
    size_t          n;
    size_t          claim;    /* the next item to make */
    size_t          released; /* items the caller gave back */
    const size_t   *cost;
    size_t          budget;
    size_t          weight; /* the cost of items claimed, not released */
    prep_fn         fn;
    void           *ctx;
    void          **slots;
    size_t          ring;
    bool           *done; /* slot holds its current item */
};

/* cost is what item i weighs (nothing without a list of costs). */
static size_t
cost(const prep *p, size_t i)
{
    return p->cost != NULL ? p->cost[i] : 0;
}

/* full: no helper may take the next item now (the ring or the budget). */
static bool
full(const prep *p)
{
    return p->claim < p->n
        && (p->claim >= p->released + p->ring
            || (p->weight > 0 && p->weight + cost(p, p->claim) > p->budget));
}

/* roomy: a helper that found it full may go on (half the ring free, and
 * the next item within the budget). */
static bool
roomy(const prep *p)
{
    return p->claim >= p->n
        || (p->claim < p->released + (p->ring + 1) / 2
            && (p->weight == 0 || p->weight + cost(p, p->claim) <= p->budget));
}

/* make_one makes item j into its slot, with p's mutex held on entry and
 * on return (not while it works). */
static void
make_one(prep *p, size_t j)
{
    p->claim++;
    p->weight += cost(p, j);
    pthread_mutex_unlock(&p->mtx);
    p->fn(p->ctx, j, p->slots[j % p->ring]);
    pthread_mutex_lock(&p->mtx);
    p->done[j % p->ring] = true;
    if (p->waiting)
        pthread_cond_broadcast(&p->ready);
}

static void *
helper(void *arg)
{
    prep *p = arg;

    pthread_mutex_lock(&p->mtx);
    for (;;) {
        if (full(p))
            while (!p->stop && !roomy(p)) {
                p->idle++;
                pthread_cond_wait(&p->room, &p->mtx);
                p->idle--;
            }
        if (p->stop || p->claim >= p->n)
            break;
        make_one(p, p->claim);
    }
    pthread_mutex_unlock(&p->mtx);
    return NULL;
}

int
prep_helpers(void)
{
    return weft_helpers(PREP_HELPERS);
}

prep *
prep_start(size_t n, const size_t *cost, size_t budget, int helpers, prep_fn fn,
    void *ctx, void **slots, size_t ring)
{
    prep *p = calloc(1, sizeof(*p));

    if (p == NULL || ring == 0
        || (p->done = calloc(ring, sizeof(*p->done))) == NULL) {
        free(p);
        return NULL;
    }
    p->ring = ring;
    p->n = n;
    p->cost = cost;
    p->budget = budget;
    p->fn = fn;
    p->ctx = ctx;
    p->slots = slots;
    if (pthread_mutex_init(&p->mtx, NULL) != 0) {
        free(p->done);
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->room, NULL) != 0) {
        pthread_mutex_destroy(&p->mtx);
        free(p->done);
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->ready, NULL) != 0) {
        pthread_cond_destroy(&p->room);
        pthread_mutex_destroy(&p->mtx);
        free(p->done);
        free(p);
        return NULL;
    }
    if (n < PREP_MIN_ITEMS)
        helpers = 0;
    if (helpers > PREP_HELPERS)
        helpers = PREP_HELPERS;
    for (; p->nth < helpers; p->nth++)
        if (pthread_create(&p->th[p->nth], NULL, helper, p) != 0)
            break; /* fewer helpers, or none: the caller makes the rest */
    return p;
}

void *
prep_get(prep *p, size_t i)
{
    void *slot = p->slots[i % p->ring];

    pthread_mutex_lock(&p->mtx);
    /* Item i not made yet: rather than wait for the helper making it
     * (a sleep and a wake-up cost more than an item here), make the next
     * one nobody has taken, while the ring has room for it. */
    while (!p->done[i % p->ring] && p->claim < p->n && !full(p))
        make_one(p, p->claim);
    while (!p->done[i % p->ring]) {
        p->waiting = true;
        pthread_cond_wait(&p->ready, &p->mtx);
        p->waiting = false;
    }
    pthread_mutex_unlock(&p->mtx);
    return slot;
}

void
prep_release(prep *p, size_t i)
{
    pthread_mutex_lock(&p->mtx);
    p->done[i % p->ring] = false;
    p->released = i + 1;
    p->weight -= cost(p, i);
    if (p->idle > 0 && roomy(p))
        pthread_cond_broadcast(&p->room);
    pthread_mutex_unlock(&p->mtx);
}

void
prep_stop(prep *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mtx);
    p->stop = true;
    pthread_cond_broadcast(&p->room);
    pthread_mutex_unlock(&p->mtx);
    for (int i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->room);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->mtx);
    free(p->done);
    free(p);
}
