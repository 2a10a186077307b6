/*
 * index_test: the search index's segments (node/index.c) against a model.
 * Products are indexed, indexed again with other words, in many small
 * transactions (many segments, merges under way), and after each one
 * every word, prefix, filter, comparison and facet must answer exactly
 * what the model holds; then corrupted segment records and blocks must
 * give WEFT_ESTORE, not a crash or a wrong answer. A bulk copy's commits
 * (index_defer) pile segments up to a bound, merged when idle.
 */
#include "node/index.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>

#define NDOCS  600
#define NWORDS 24
#define ROUNDS 160

static const char *const words[NWORDS] = { "orders", "order", "ordinal",
    "customer", "customers", "custody", "shipment", "shipping", "ship",
    "revenue", "review", "return", "invoice", "invoices", "inventory", "ledger",
    "legal", "lead", "payment", "payroll", "pay", "stock", "store", "story" };
static const char *const states[3] = { "active", "deprecated", "retired" };

typedef struct doc {
    bool     in;
    unsigned has; /* bit i: words[i] in the description */
    unsigned count[NWORDS];
    int      state;
    int      score; /* completeness */
} doc;

static doc      model[NDOCS];
static uint64_t rng = 0x9e3779b97f4a7c15u;
static store   *st;

/* The catalog is not linked here: this store holds no current summaries,
 * so a rebuild's walk over them finds none to resolve. */
weft_err
catalog_cur_env(store_txn *t, store_val k, store_val v, store_val *env)
{
    (void) t;
    (void) k;
    (void) v;
    (void) env;
    return WEFT_ESTORE;
}

static uint32_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t) (rng >> 11);
}

/* summary builds doc i's summary as the model says. */
static pv *
summary(pv_arena *a, int i)
{
    char   id[32], name[32], desc[512];
    pv    *m = pv_map(a), *q = pv_map(a);
    size_t n = 0;

    snprintf(id, sizeof(id), "test/p%d", i);
    snprintf(name, sizeof(name), "product %d", i);
    desc[0] = 0;
    for (int w = 0; w < NWORDS; w++)
        for (unsigned c = 0; c < model[i].count[w]; c++)
            n += (size_t) snprintf(desc + n, sizeof(desc) - n, "%s ", words[w]);
    pv_setstr(a, m, "id", id);
    pv_setstr(a, m, "name", name);
    pv_setstr(a, m, "desc", desc);
    pv_setstr(a, m, "domain", "test");
    pv_setstr(a, m, "status", states[model[i].state]);
    pv_setint(a, q, "completeness", model[i].score);
    pv_set(a, m, "quality", q);
    return m;
}

/* put indexes sum, with its words found ahead (index_doc_new) or not. */
static weft_err
put(store_txn *t, const pv *old, const pv *sum, bool ahead)
{
    index_doc *d = ahead ? index_doc_new(sum) : NULL;
    weft_err   err;

    CHECK(!ahead || d != NULL);
    err = index_put(t, old, sum, d);
    index_doc_free(d);
    return err;
}

/* change gives doc i new words, state and score. */
static void
change(int i)
{
    model[i].has = 0;
    memset(model[i].count, 0, sizeof(model[i].count));
    for (int k = 0, n = 1 + (int) (next() % 5); k < n; k++) {
        int w = (int) (next() % NWORDS);

        model[i].has |= 1u << w;
        model[i].count[w]++;
    }
    model[i].state = (int) (next() % 3);
    model[i].score = (int) (next() % 101);
}

/* ids maps the set bits of a bitmap to doc numbers of the model. */
static bool
same_set(store_txn *t, const uint64_t *bits, size_t nw,
    bool (*want)(int, const void *), const void *arg, const char *what)
{
    bool got[NDOCS] = { false }, ok = true;
    char id[WEFT_ID_MAX + 1];

    for (size_t w = 0; w < nw; w++)
        for (int b = 0; b < 64; b++)
            if (bits[w] >> b & 1) {
                int i = -1;

                if (ix_id(t, (uint32_t) (w * 64 + (size_t) b), id) != WEFT_OK
                    || sscanf(id, "test/p%d", &i) != 1 || i < 0 || i >= NDOCS) {
                    fprintf(stderr, "%s: docno %zu has no product\n", what,
                        w * 64 + (size_t) b);
                    return false;
                }
                got[i] = true;
            }
    for (int i = 0; i < NDOCS; i++)
        if (got[i] != (model[i].in && want(i, arg))) {
            fprintf(stderr, "%s: product %d %s\n", what, i,
                got[i] ? "found, not wanted" : "wanted, not found");
            ok = false;
        }
    return ok;
}

static bool
has_word(int i, const void *arg)
{
    return model[i].has >> *(const int *) arg & 1;
}

static bool
has_prefix(int i, const void *arg)
{
    const char *p = arg;

    for (int w = 0; w < NWORDS; w++)
        if ((model[i].has >> w & 1) && strncmp(words[w], p, strlen(p)) == 0)
            return true;
    return false;
}

static bool
in_state(int i, const void *arg)
{
    return model[i].state == *(const int *) arg;
}

static bool
at_least(int i, const void *arg)
{
    return model[i].score >= *(const int *) arg;
}

typedef struct fcheck {
    uint64_t count[3];
    int      other;
} fcheck;

static void
facet_fn(void *ctx, const char *v, uint64_t c)
{
    fcheck *f = ctx;

    for (int s = 0; s < 3; s++)
        if (strcmp(v, states[s]) == 0) {
            f->count[s] += c;
            return;
        }
    f->other++;
}

/* check asks the index everything the model knows. */
static void
check(const char *when)
{
    store_txn *t;
    uint32_t   ndocs;
    uint64_t   len[QF_COUNT];
    size_t     nw;
    uint64_t  *bits;
    char       what[96];

    CHECK(store_begin(st, false, &t) == WEFT_OK);
    CHECK(ix_info(t, &ndocs, len) == WEFT_OK);
    nw = ndocs / 64 + 1;
    bits = calloc(nw, sizeof(*bits));
    for (int w = 0; w < NWORDS; w++) {
        ix_list l = { NULL, 0, 0 };
        bool    sorted = true;

        memset(bits, 0, nw * sizeof(*bits));
        snprintf(what, sizeof(what), "%s: word %s", when, words[w]);
        CHECK(ix_word(t, words[w], bits, nw, &l) == WEFT_OK);
        CHECK(same_set(t, bits, nw, has_word, &w, what));
        for (size_t k = 1; k < l.n; k++)
            sorted = sorted && l.p[k - 1].doc < l.p[k].doc;
        CHECK(sorted);
        for (size_t k = 0; k < l.n; k++) {
            char id[WEFT_ID_MAX + 1];
            int  i = -1;

            if (ix_id(t, l.p[k].doc, id) == WEFT_OK
                && sscanf(id, "test/p%d", &i) == 1 && i >= 0 && i < NDOCS)
                CHECK_EQ_INT(l.p[k].tf[QF_DESC], model[i].count[w]);
        }
        free(l.p);
    }
    for (int w = 0; w < NWORDS; w++) {
        char    p[4];
        ix_list l = { NULL, 0, 0 };
        bool    sorted = true;

        snprintf(p, sizeof(p), "%.3s", words[w]);
        memset(bits, 0, nw * sizeof(*bits));
        snprintf(what, sizeof(what), "%s: prefix %s*", when, p);
        CHECK(ix_prefix(t, p, bits, nw, &l) == WEFT_OK);
        CHECK(same_set(t, bits, nw, has_prefix, p, what));
        for (size_t k = 1; k < l.n; k++)
            sorted = sorted && l.p[k - 1].doc < l.p[k].doc;
        CHECK(sorted); /* and one posting per product */
        free(l.p);
    }
    for (int s = 0; s < 3; s++) {
        memset(bits, 0, nw * sizeof(*bits));
        snprintf(what, sizeof(what), "%s: status:%s", when, states[s]);
        CHECK(ix_filter(t, "status", states[s], bits, nw) == WEFT_OK);
        CHECK(same_set(t, bits, nw, in_state, &s, what));
    }
    {
        int    at = 50;
        fcheck f = { { 0, 0, 0 }, 0 };

        memset(bits, 0, nw * sizeof(*bits));
        snprintf(what, sizeof(what), "%s: completeness>=50", when);
        CHECK(ix_cmp(t, "completeness", ">=", at, bits, nw) == WEFT_OK);
        CHECK(same_set(t, bits, nw, at_least, &at, what));
        /* Facets over everything: the model's counts. */
        memset(bits, 0xff, nw * sizeof(*bits));
        CHECK(ix_facet(t, "status", bits, nw, facet_fn, &f) == WEFT_OK);
        for (int s = 0; s < 3; s++) {
            uint64_t want = 0;

            for (int i = 0; i < NDOCS; i++)
                want += model[i].in && model[i].state == s;
            CHECK_EQ_INT(f.count[s], want);
        }
        CHECK_EQ_INT(f.other, 0);
    }
    free(bits);
    store_abort(t);
}

int
main(void)
{
    char      dir[] = "/tmp/weft-index-XXXXXX";
    weft_diag d = { "" };
    node      n;
    pv_arena *a = pv_arena_new(1 << 20);
    size_t    segs = 0, most = 0;
    bool      merging = false, more = true;
    int       merges_seen = 0;

    if (mkdtemp(dir) == NULL || a == NULL)
        return 2;
    CHECK(store_open(dir, (uint64_t) 1 << 30, false, &st, &d) == WEFT_OK);
    memset(&n, 0, sizeof(n));
    n.st = st;
    n.mapped_keep = STORE_MAPPED_MAX;
    CHECK(index_check(&n, false) == WEFT_OK);

    /* Small transactions: a segment each; new products, and products
     * indexed again (their old postings dead until merged away). */
    for (int r = 0; r < ROUNDS; r++) {
        store_txn *t;
        int        k = 1 + (int) (next() % 12);

        CHECK(store_begin(st, true, &t) == WEFT_OK);
        for (int j = 0; j < k; j++) {
            int i = (int) (next() % NDOCS);
            pv *old = NULL, *sum;

            pv_arena_reset(a);
            if (model[i].in)
                old = summary(a, i);
            change(i);
            sum = summary(a, i);
            /* Half found ahead (as a helper does), half by index_put. */
            CHECK(put(t, old, sum, next() % 2 == 0) == WEFT_OK);
            model[i].in = true;
            /* Now and then the same product twice in one transaction. */
            if (next() % 8 == 0) {
                old = sum;
                change(i);
                CHECK(put(t, old, summary(a, i), next() % 2 == 0) == WEFT_OK);
            }
        }
        CHECK(store_commit(t) == WEFT_OK);
        CHECK(store_begin(st, false, &t) == WEFT_OK);
        CHECK(ix_segments(t, &segs, &merging) == WEFT_OK);
        store_abort(t);
        most = segs > most ? segs : most;
        merges_seen += merging;
        if (r % 16 == 0 || r == ROUNDS - 1) {
            char when[32];

            snprintf(when, sizeof(when), "round %d", r);
            check(when);
        }
    }
    printf("index_test: at most %zu segments; merging after %d of %d "
           "commits\n",
        most, merges_seen, ROUNDS);
    CHECK(merges_seen > 0);
    CHECK(most < 32); /* far from IX_SEGS_MAX, where commits stall */

    /* What is left merged when idle, in turns, each a good index. */
    for (int turns = 0; more && turns < 1000; turns++) {
        CHECK(index_merge(&n, &more) == WEFT_OK);
        if (turns % 8 == 0)
            check("idle merging");
    }
    CHECK(!more);
    check("merged");
    {
        store_txn *t;

        CHECK(store_begin(st, false, &t) == WEFT_OK);
        CHECK(ix_segments(t, &segs, &merging) == WEFT_OK);
        store_abort(t);
        CHECK(!merging && segs >= 1);
    }

    /* A bulk copy's commits (index_defer): each adds its segments and
     * merges nothing, up to IX_SEGS_DEFER; past it they merge again. The
     * answers stay right; idle turns merge the pile afterwards. */
    {
        size_t first = segs, grew = 0;

        most = 0;
        for (int r = 0; r < 3 * IX_SEGS_DEFER; r++) {
            store_txn *t;
            size_t     was = segs;

            CHECK(store_begin(st, true, &t) == WEFT_OK);
            CHECK(index_defer(t) == WEFT_OK);
            for (int j = 0; j < 3; j++) {
                int i = (int) (next() % NDOCS);
                pv *old = NULL;

                pv_arena_reset(a);
                if (model[i].in)
                    old = summary(a, i);
                change(i);
                CHECK(put(t, old, summary(a, i), j % 2 == 0) == WEFT_OK);
                model[i].in = true;
            }
            CHECK(store_commit(t) == WEFT_OK);
            CHECK(store_begin(st, false, &t) == WEFT_OK);
            CHECK(ix_segments(t, &segs, &merging) == WEFT_OK);
            store_abort(t);
            if (was + 8 < IX_SEGS_DEFER) {
                CHECK(segs > was && !merging); /* nothing merged */
                grew++;
            }
            most = segs > most ? segs : most;
            if (r % 8 == 0)
                check("deferred merging");
        }
        printf("index_test: deferring, %zu segments grew to at most %zu\n",
            first, most);
        CHECK(grew > 0);
        CHECK(most >= IX_SEGS_DEFER - 1 && most < IX_SEGS_DEFER + 8);
        more = true;
        for (int turns = 0; more && turns < 4000; turns++) {
            CHECK(index_merge(&n, &more) == WEFT_OK);
            if (turns % 32 == 0)
                check("idle merging after a copy");
        }
        CHECK(!more);
        check("merged after a copy");
    }

    /* Corruption: a segment list that is cut, a block that is cut. */
    {
        store_txn *t;
        store_val  v;
        uint8_t   *keep = NULL, bad[4] = { 0xff, 0xff, 0xff, 0xff };
        size_t     nkeep = 0;
        uint64_t   bits[16] = { 0 };
        ix_list    l = { NULL, 0, 0 };

        CHECK(store_begin(st, true, &t) == WEFT_OK);
        CHECK(store_get(t, STORE_META, "ix_segs", 7, &v) == WEFT_OK);
        keep = malloc(v.n);
        memcpy(keep, v.p, v.n);
        nkeep = v.n;
        CHECK(store_put(t, STORE_META, "ix_segs", 7, keep, 5) == WEFT_OK);
        CHECK(ix_word(t, "orders", bits, 16, &l) == WEFT_ESTORE);
        CHECK(ix_facet(t, "status", bits, 16, facet_fn, &(fcheck) { 0 })
            == WEFT_ESTORE);
        CHECK(store_put(t, STORE_META, "ix_segs", 7, keep, nkeep) == WEFT_OK);
        /* A block of the first segment, a word's, made a cut varint. */
        {
            uint8_t k[64];
            size_t  kl;

            memcpy(k, keep + 4 + 2 + 202, 4); /* the first record's number */
            k[4] = 't';
            memcpy(k + 5, "orders", 6);
            k[11] = 0;
            memset(k + 12, 0, 4);
            kl = 16;
            CHECK(store_put(t, keep[4 + 2 + 202 + 4] ? STORE_SEGM : STORE_SEGN,
                      k, kl, bad, 4)
                == WEFT_OK);
        }
        l.n = 0;
        CHECK(ix_word(t, "orders", bits, 16, &l) == WEFT_ESTORE);
        store_abort(t); /* nothing of it stays */
        free(keep);
        free(l.p);
    }
    check("after the corrupt transaction was abandoned");

    store_close(st);
    pv_arena_free(a);
    {
        char cmd[64];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return test_done("index_test");
}
