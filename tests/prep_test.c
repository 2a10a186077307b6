/*
 * prep_test.c: the helpers that make items ahead of the caller hand every
 * item over once, in order, in the slot it was made in; never run more
 * than the ring ahead (a slot is not remade before its item is released);
 * work with no helpers, one and the most, with lists shorter than
 * PREP_MIN_ITEMS and far longer than the ring, with a caller slower and
 * faster than the helpers; never hold more than the budget's worth of
 * items made and not released (but for one item over it alone); and stop
 * cleanly before the last item. A caller that finds its item not made yet
 * makes the next ones nobody has taken (within the ring) rather than
 * wait; with no list of costs there is no budget. Rings of other sizes
 * than PREP_RING (one slot, a few, a whole list's worth) work alike.
 */
#include "node/prep.h"
#include "test.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N        5000
#define RING_MAX 1024

static size_t RING = PREP_RING; /* the ring's size in the runs below */

typedef struct slot {
    size_t item;  /* the item it holds */
    int    made;  /* times made */
    bool   taken; /* released by the caller: may be remade */
} slot;

typedef struct ctx {
    slot           *ring;
    pthread_mutex_t mtx;
    int             made[N];
    int             overrun; /* a slot remade while its item was held */
    int             spin;    /* busy work per item, helper side */
    const size_t   *cost;
    size_t          budget;
    size_t          held, nheld; /* cost and count made, not released */
    int             over;        /* times held went past the budget */
    pthread_t       caller;
    int             by_caller; /* items the caller made itself */
} ctx;

static void
busy(int n)
{
    volatile unsigned x = 0;

    for (int i = 0; i < n; i++)
        x += (unsigned) i * 2654435761u;
}

static void
make(void *arg, size_t i, void *s)
{
    ctx  *c = arg;
    slot *sl = s;

    pthread_mutex_lock(&c->mtx);
    if (sl->made > 0 && !sl->taken)
        c->overrun++;
    c->made[i]++;
    if (pthread_equal(pthread_self(), c->caller))
        c->by_caller++;
    c->held += c->cost[i];
    c->nheld++;
    if (c->held > c->budget && c->nheld > 1)
        c->over++;
    pthread_mutex_unlock(&c->mtx);
    busy(c->spin);
    sl->item = i;
    sl->made++;
    sl->taken = false;
}

static size_t COST[N];

/* run_budget runs n items (pcost: the costs prep_start is told of) and
 * returns how many the caller made itself. */
static int
run_budget(size_t n, int helpers, int spin, int caller_spin, size_t stop_at,
    size_t budget, const size_t *pcost)
{
    static slot ring[RING_MAX];
    void       *slots[RING_MAX];
    ctx         c = { .ring = ring,
                .spin = spin,
                .cost = COST,
                .budget = budget,
                .caller = pthread_self() };
    prep       *p;
    int         wrong = 0;

    pthread_mutex_init(&c.mtx, NULL);
    memset(ring, 0, sizeof(ring));
    for (size_t k = 0; k < RING; k++)
        slots[k] = &ring[k];
    p = prep_start(n, pcost, budget, helpers, make, &c, slots, RING);
    CHECK(p != NULL);
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < n && i < stop_at; i++) {
        slot *s = prep_get(p, i);

        if (s != &ring[i % RING] || s->item != i)
            wrong++;
        busy(caller_spin);
        pthread_mutex_lock(&c.mtx);
        s->taken = true;
        c.held -= COST[i];
        c.nheld--;
        pthread_mutex_unlock(&c.mtx);
        prep_release(p, i);
    }
    prep_stop(p);
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(c.overrun, 0);
    CHECK_EQ_INT(c.over, 0);
    for (size_t i = 0; i < n; i++) {
        if (i < stop_at && c.made[i] != 1)
            wrong++;
        if (stop_at < n && i >= stop_at + RING && c.made[i] != 0)
            wrong++; /* made further ahead than the ring allows */
    }
    CHECK_EQ_INT(wrong, 0);
    pthread_mutex_destroy(&c.mtx);
    return c.by_caller;
}

static int
run(size_t n, int helpers, int spin, int caller_spin, size_t stop_at)
{
    return run_budget(n, helpers, spin, caller_spin, stop_at, SIZE_MAX, COST);
}

int
main(void)
{
    size_t sizes[] = { 0, 1, PREP_MIN_ITEMS - 1, PREP_MIN_ITEMS, PREP_RING,
        PREP_RING + 1, N };

    for (int h = 0; h <= PREP_HELPERS; h++)
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            run(sizes[k], h, 0, 0, SIZE_MAX);    /* both fast */
            run(sizes[k], h, 2000, 0, SIZE_MAX); /* slow helpers */
            run(sizes[k], h, 0, 2000, SIZE_MAX); /* slow caller */
        }
    /* The caller stops early: helpers stop within the ring. */
    for (int h = 0; h <= PREP_HELPERS; h++) {
        run(N, h, 0, 0, 10);
        run(N, h, 0, 500, 300);
        run(N, h, 500, 0, 0);
    }
    /* Helpers slower than the caller: it makes items too. No costs: no
     * budget. */
    CHECK(run(N, 1, 4000, 0, SIZE_MAX) > 0);
    CHECK_EQ_INT(run(N, 0, 0, 0, SIZE_MAX), N);
    for (int h = 0; h <= PREP_HELPERS; h++) {
        run_budget(N, h, 500, 0, SIZE_MAX, SIZE_MAX, NULL);
        run_budget(N, h, 0, 500, SIZE_MAX, SIZE_MAX, NULL);
    }
    /* Items of every weight, some over the budget alone: what is held
     * stays within it. */
    for (size_t i = 0; i < N; i++)
        COST[i] = i % 97 == 0 ? 5000 : (i * 7919) % 600;
    for (int h = 0; h <= PREP_HELPERS; h++) {
        run_budget(N, h, 0, 500, SIZE_MAX, 2000, COST);
        run_budget(N, h, 500, 0, SIZE_MAX, 2000, COST);
        run_budget(N, h, 0, 0, 400, 1000, COST);
    }
    /* Rings of one slot, a few, and more than the list's items. */
    for (size_t r = 0; r < 3; r++) {
        static const size_t rings[] = { 1, 3, RING_MAX };

        RING = rings[r];
        for (int h = 0; h <= PREP_HELPERS; h++) {
            run(N, h, 0, 0, SIZE_MAX);
            run(N, h, 500, 0, SIZE_MAX);
            run(N, h, 0, 500, SIZE_MAX);
            run(N, h, 0, 0, 300);
            run(RING_MAX / 2, h, 0, 200, SIZE_MAX);
        }
    }
    RING = PREP_RING;
    CHECK(prep_start(10, NULL, 0, 1, make, NULL, NULL, 0) == NULL);
    CHECK(prep_helpers() >= 0 && prep_helpers() <= PREP_HELPERS);
    return test_done("prep_test");
}
