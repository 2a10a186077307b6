/*
 * mesh_sync.c: what the mesh does with the store. Heads (per-domain
 * contiguous seq), the receipt pipeline for summaries from peers, and
 * picking what a peer lacks from the domains' logs (Scuttlebutt-style:
 * cost follows the difference, not the catalog size).
 *
 * Key layouts used here (see catalog.c): SEQ domain -> seq (BE8);
 * LOG domain 0 seq(BE8) -> envelope; REF "peer" 0 url -> "".
 */
#include "node/index.h"
#include "node/mesh.h"
#include "node/prep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct heads_ctx {
    pv_arena  *a;
    pv        *heads;
    store_txn *t;
    bool       ts;
    weft_err   err;
} heads_ctx;

/*
 * tip is the first 8 bytes of the hash of dom's summary at seq: two nodes
 * with one seq but different tips hold an equivocation. A domain already
 * flagged has no tip (nil), so flagged nodes stop comparing it.
 */
static pv *
tip(pv_arena *a, store_txn *t, const char *dom, uint64_t seq)
{
    store_val v;
    uint8_t   h[32], k[WEFT_DOMAIN_MAX + 6];
    size_t    dl = strlen(dom);

    memcpy(k, "flag", 5);
    memcpy(k + 5, dom, dl);
    if (seq == 0 || store_get(t, STORE_REF, k, dl + 5, &v) == WEFT_OK
        || catalog_log_get(t, dom, seq, &v) != WEFT_OK)
        return pv_nil(a);
    crypto_blake2b(v.p, v.n, h);
    return pv_bin(a, h, 8);
}

static int
heads_cb(void *ctx, store_val k, store_val v)
{
    heads_ctx *h = ctx;
    char       dom[WEFT_DOMAIN_MAX + 1];
    pv        *e;
    int64_t    hts = 0;
    uint64_t   hseq;

    if (k.n > WEFT_DOMAIN_MAX || v.n != 8)
        return 0;
    memcpy(dom, k.p, k.n);
    dom[k.n] = 0;
    if (h->ts && !catalog_head_held(h->t, dom, &hts, &hseq))
        hts = 0;
    /* Each head is [seq, tip], or [seq, tip, signed head's ts]. */
    if ((e = pv_arr(h->a)) == NULL
        || pv_push(h->a, e, pv_int(h->a, (int64_t) store_be_u64(v.p)))
        || pv_push(h->a, e, tip(h->a, h->t, dom, store_be_u64(v.p)))
        || (h->ts && pv_push(h->a, e, pv_int(h->a, hts))))
        return h->err = WEFT_ENOMEM;
    return h->err = pv_set(h->a, h->heads, dom, e);
}

weft_err
mesh__heads(node *n, pv_arena *a, pv *heads, bool ts)
{
    heads_ctx  h = { a, heads, NULL, ts, WEFT_OK };
    store_txn *t;
    weft_err   err;

    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    h.t = t;
    err = store_each(t, STORE_SEQ, NULL, 0, false, heads_cb, &h);
    store_abort(t);
    /* The policy held rides along as the entry "" (no domain has that
     * name): [version]. A newer one on either side turns a round full,
     * and the full round carries it. */
    if (err == WEFT_OK && gov_version(n) > 0) {
        pv *e = pv_arr(a);

        if (e == NULL || pv_push(a, e, pv_int(a, gov_version(n)))
            || pv_set(a, heads, "", e))
            err = WEFT_ENOMEM;
    }
    return err;
}

weft_err
mesh__bind(node *n, const char *dom, const uint8_t key[32])
{
    store_txn *t;
    weft_err   err;

    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        return err;
    if ((err = catalog_bind_key(n, t, dom, key, NULL)) != WEFT_OK) {
        store_abort(t);
        return err;
    }
    return store_commit(t);
}

typedef struct recv {
    uint8_t **env;
    size_t   *len;
    size_t    n;
} recv;

static void
recv_add(recv *r, const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len);

    if (c == NULL)
        return;
    memcpy(c, p, len);
    r->env[r->n] = c;
    r->len[r->n++] = len;
}

/*
 * A summary a peer sent, as a helper makes it ahead of the loop thread:
 * opened (strict decoding, shape and signature: most of the work of
 * taking summaries in), checked for time, and its words and keys found
 * for the index. The loop thread then stores each in order.
 */
typedef struct inslot {
    pv_arena  *a;
    pv        *sum;
    index_doc *ix;   /* NULL: index_put finds them itself */
    weft_err   open; /* decoding, shape, signature */
    weft_err   late; /* proto_summary_timely */
    bool       held; /* the log holds these exact bytes */
    weft_diag  d;
} inslot;

typedef struct inctx {
    node     *n;
    const pv *envs;
    int64_t   now;
} inctx;

/*
 * held says whether the store's log holds exactly the n bytes p of
 * summary sum. Those were checked when they were stored, and the log only
 * grows, so an echo (the same summary from a second peer, or pushed while
 * we pull it) is not checked again: most of the cost of an echo is its
 * signature. A read transaction of its own: this runs on the helpers.
 */
static bool
held(node *n, const pv *sum, const uint8_t *p, size_t len)
{
    const char *dom = pv_getstr(sum, "domain");
    int64_t     seq = pv_getint(sum, "seq", 0);
    store_txn  *t;
    store_val   v;
    bool        yes;

    if (dom == NULL || seq <= 0 || store_begin(n->st, false, &t) != WEFT_OK)
        return false;
    yes = catalog_log_get(t, dom, (uint64_t) seq, &v) == WEFT_OK && v.n == len
        && memcmp(v.p, p, len) == 0;
    store_abort(t);
    return yes;
}

static void
make_in(void *ctx, size_t i, void *slot)
{
    const inctx   *c = ctx;
    inslot        *s = slot;
    const pv      *e = c->envs->u.a.v[i];
    const uint8_t *p;

    pv_arena_reset(s->a);
    index_doc_free(s->ix);
    s->ix = NULL;
    s->sum = NULL;
    s->late = WEFT_OK;
    s->held = false;
    s->d.msg[0] = 0;
    if (e->type != PV_BIN) {
        s->open = WEFT_EINVAL;
        return;
    }
    p = (const uint8_t *) e->u.s.p;
    s->open = proto_envelope_read(s->a, p, e->u.s.len, &s->sum, NULL);
    if (s->open == WEFT_OK && (s->held = held(c->n, s->sum, p, e->u.s.len)))
        return;
    if (s->open == WEFT_OK)
        s->open = proto_envelope_verify(s->a, p, e->u.s.len, s->sum, NULL);
    if (s->open == WEFT_OK)
        s->late = proto_summary_timely(s->sum, c->now, &s->d);
    if (s->open == WEFT_OK && s->late == WEFT_OK)
        s->ix = index_doc_new(s->sum);
}

/* Summaries opened ahead of the loop thread, at most: a sync reply's
 * worth of them is made while the loop commits the reply before it
 * (mesh__prefetch), so a bulk copy keeps both cores busy. */
#define IN_RING 1024

/*
 * A list of envelopes being opened by the helpers (mesh__in_start) until
 * the loop thread stores them (mesh__in_store). It refers to envs, which
 * must outlive it.
 */
struct mesh_in {
    inslot *ring;
    void  **slots;
    size_t  nring;
    inctx   ic;
    prep   *pp;
};

void
mesh__in_free(mesh_in *in)
{
    if (in == NULL)
        return;
    prep_stop(in->pp);
    for (size_t k = 0; in->ring != NULL && k < in->nring; k++) {
        pv_arena_free(in->ring[k].a);
        index_doc_free(in->ring[k].ix);
    }
    free(in->ring);
    free(in->slots);
    free(in);
}

mesh_in *
mesh__in_start(node *n, const pv *envs)
{
    mesh_in *in = calloc(1, sizeof(*in));
    size_t   nr = envs->u.a.n < PREP_RING ? PREP_RING : envs->u.a.n;

    if (in == NULL)
        return NULL;
    in->nring = nr < IN_RING ? nr : IN_RING;
    in->ic = (inctx) { n, envs, (int64_t) time(NULL) };
    if ((in->ring = calloc(in->nring, sizeof(*in->ring))) == NULL
        || (in->slots = calloc(in->nring, sizeof(*in->slots))) == NULL) {
        mesh__in_free(in);
        return NULL;
    }
    for (size_t k = 0; k < in->nring; k++) {
        if ((in->ring[k].a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64))
            == NULL) {
            mesh__in_free(in);
            return NULL;
        }
        in->slots[k] = &in->ring[k];
    }
    /* Helpers open the summaries ahead, outside the write txn, while
     * the loop thread stores them in order. */
    if ((in->pp = prep_start(envs->u.a.n, NULL, 0, prep_helpers(), make_in,
             &in->ic, in->slots, in->nring))
        == NULL) {
        mesh__in_free(in);
        return NULL;
    }
    return in;
}

size_t
mesh__receive(node *n, const pv *envs, const uint8_t *from, bool forward,
    uint64_t *refused)
{
    *refused = 0;
    return mesh__in_store(
        n, mesh__in_start(n, envs), from, forward, false, refused);
}

size_t
mesh__in_store(node *n, mesh_in *in, const uint8_t *from, bool forward,
    bool bulk, uint64_t *refused)
{
    pv_arena      *a = pv_arena_new((size_t) MESH_MSG_MAX * 4);
    store_txn     *t = NULL;
    recv           fwd = { NULL, NULL, 0 };
    size_t         fresh_count = 0;
    accept_outcome out;
    const pv      *envs = in != NULL ? in->ic.envs : NULL;
    prep          *pp = in != NULL ? in->pp : NULL;

    *refused = 0;
    if (a == NULL || in == NULL || store_begin(n->st, true, &t) != WEFT_OK)
        goto done;
    /* More of a copy follows: the index merges once it ends (and the
     * idle merger waits for that), rather than at every commit. */
    if (bulk) {
        n->copying_ms = weft_now_us() / 1000 + MESH_COPY_QUIET_MS;
        if (index_defer(t) != WEFT_OK)
            goto done;
    }
    fwd.env = calloc(2 * envs->u.a.n + 1, sizeof(*fwd.env));
    fwd.len = calloc(2 * envs->u.a.n + 1, sizeof(*fwd.len));
    for (uint32_t i = 0; fwd.env && fwd.len && i < envs->u.a.n; i++) {
        const pv *e = envs->u.a.v[i];
        inslot   *s = prep_get(pp, i);
        pv       *sum = s->sum;
        weft_diag d = { "" };

        /* Bounded decode, signature, shape, time (not ahead;
         * an expired summary is history like any other), binding, replay,
         * equivocation: each refusal is counted. Governance judges what
         * becomes current (catalog_accept keeps the verdict). */
        if (s->open != WEFT_OK) {
            log_msg(LOG_DEBUG, "summary refused: %s", weft_strerror(s->open));
            (*refused)++;
            n->stats.refused[REFUSED_SIGNATURE]++;
            prep_release(pp, i);
            continue;
        }
        if (s->held) { /* an echo of what we hold: a replay */
            prep_release(pp, i);
            continue;
        }
        pv_arena_reset(a);
        if (s->late != WEFT_OK
            || catalog_accept(n, t, a, sum, (const uint8_t *) e->u.s.p,
                   e->u.s.len, NULL, 0, s->ix, &out, &d)
                != WEFT_OK) {
            log_msg(LOG_DEBUG, "summary refused: %s",
                s->late != WEFT_OK ? s->d.msg : d.msg);
            (*refused)++;
            n->stats.refused[REFUSED_SUMMARY]++;
            prep_release(pp, i);
            continue;
        }
        if (out == ACCEPT_EQUIVOCATION) {
            store_val held;

            /* Spread the proof: both summaries go to the next peers, so
             * every node that sees them flags the domain. */
            (*refused)++;
            n->stats.refused[REFUSED_EQUIVOCATION]++;
            recv_add(&fwd, (const uint8_t *) e->u.s.p, e->u.s.len);
            if (catalog_log_get(t, pv_getstr(sum, "domain"),
                    (uint64_t) pv_getint(sum, "seq", 0), &held)
                == WEFT_OK)
                recv_add(&fwd, held.p, held.n);
        }
        if (out == ACCEPT_ADDED || out == ACCEPT_LOGGED)
            fresh_count++;
        if (out == ACCEPT_ADDED && forward)
            recv_add(&fwd, (const uint8_t *) e->u.s.p, e->u.s.len);
        prep_release(pp, i);
    }
    /* The next reply of a copy has most likely arrived by now: the
     * helpers start opening it while this thread commits (this list's
     * slots let go of first: one list's worth of memory at a time). */
    mesh__in_free(in);
    in = NULL;
    if (n->mesh != NULL)
        mesh__prefetch(n->mesh);
    if (store_commit(t) != WEFT_OK) {
        t = NULL;
        fresh_count = 0;
        goto done;
    }
    t = NULL;
    if (fresh_count > 0)
        watch_kick(n); /* news for watchers */
    /* Forward once: only what became current here, never what we held;
     * and only news that was pushed to us (what anti-entropy brings, it
     * brings to every node by itself, and a bulk copy stays a copy).
     * Equivocation proofs always go on. */
    mesh__forward(n, fwd.env, fwd.len, fwd.n, from);
done:
    store_abort(t);
    mesh__in_free(in);
    for (size_t i = 0; i < fwd.n; i++)
        free(fwd.env[i]);
    free(fwd.env);
    free(fwd.len);
    pv_arena_free(a);
    return fresh_count;
}

typedef struct miss {
    pv_arena  *a;
    const pv  *heads;
    pv        *envs;
    pv        *upto; /* domain -> [last seq sent, its tip]; may be NULL */
    size_t     budget, used;
    bool       full;
    store_txn *t;
    uint64_t   last; /* the seq of the last envelope log_cb took */
    store_val  lastv;
} miss;

/* take appends envelope v (seq: its seq in its domain's log, or 0). */
static int
take(miss *m, store_val v, uint64_t seq)
{
    if (m->used + v.n > m->budget) {
        m->full = true;
        return -1;
    }
    m->used += v.n;
    m->last = seq;
    m->lastv = v;
    return pv_push(m->a, m->envs, pv_bin(m->a, v.p, v.n)) == WEFT_OK ? 0 : -1;
}

/* log_cb takes the log entry k (domain 0 seq(BE8)) -> v. */
static int
log_cb(void *ctx, store_val k, store_val v)
{
    return take(
        ctx, v, k.n >= 9 ? store_be_u64((const uint8_t *) k.p + k.n - 8) : 0);
}

/* upto_add notes that the envelopes of dom sent end at seq m->last. */
static void
upto_add(miss *m, const char *dom)
{
    uint8_t h[32];
    pv     *e;

    if (m->upto == NULL || m->last == 0)
        return;
    crypto_blake2b(m->lastv.p, m->lastv.n, h);
    if ((e = pv_arr(m->a)) == NULL
        || pv_push(m->a, e, pv_int(m->a, (int64_t) m->last))
        || pv_push(m->a, e, pv_bin(m->a, h, 8))
        || pv_set(m->a, m->upto, dom, e))
        m->upto = NULL; /* out of memory: no hint */
}

static int
domain_cb(void *ctx, store_val k, store_val v)
{
    miss     *m = ctx;
    char      dom[WEFT_DOMAIN_MAX + 1];
    uint8_t   from[WEFT_DOMAIN_MAX + 9];
    int64_t   theirs;
    uint64_t  ours;
    const pv *head;

    if (k.n > WEFT_DOMAIN_MAX || v.n != 8 || m->full)
        return m->full ? -1 : 0;
    memcpy(dom, k.p, k.n);
    dom[k.n] = 0;
    ours = store_be_u64(v.p);
    head = pv_get(m->heads, dom);
    if (head != NULL
        && (head->type != PV_ARR || head->u.a.n < 2 || head->u.a.n > 3
            || head->u.a.v[0]->type != PV_INT))
        return 0; /* malformed: skip the domain */
    theirs = head ? head->u.a.v[0]->u.i : 0;
    if (theirs >= 0 && (uint64_t) theirs == ours && ours > 0) {
        /* Same seq: send ours if the tips differ (an equivocation). */
        pv *mine = tip(m->a, m->t, dom, ours);

        if (!pv_equal(mine, head->u.a.v[1])) {
            store_val e;

            if (catalog_log_get(m->t, dom, ours, &e) == WEFT_OK)
                take(m, e, 0); /* the peer's head stays as it is */
        }
        return m->full ? -1 : 0;
    }
    if (theirs < 0 || (uint64_t) theirs >= ours)
        return 0;
    memcpy(from, dom, k.n);
    from[k.n] = 0;
    store_u64_be(from + k.n + 1, (uint64_t) theirs + 1);
    m->last = 0;
    store_range(m->t, STORE_LOG, from, k.n + 1, from, k.n + 9, log_cb, m);
    upto_add(m, dom);
    return m->full ? -1 : 0;
}

bool
mesh__missing(
    node *n, pv_arena *a, const pv *heads, size_t budget, pv *envs, pv *upto)
{
    miss m = { a, heads, envs, upto, budget, 0, false, NULL, 0, { NULL, 0 } };

    if (store_begin(n->st, false, &m.t) != WEFT_OK)
        return false;
    store_each(m.t, STORE_SEQ, NULL, 0, false, domain_cb, &m);
    store_abort(m.t);
    return m.full;
}

int
mesh__sync_reply(node *n, plink *l, const pv *rep, mesh_in *in)
{
    const pv *envs = pv_get(rep, "envs"), *heads = pv_get(rep, "heads");
    const pv *more = pv_get(rep, "more"), *same = pv_get(rep, "same");
    const pv *sheads = pv_get(rep, "sheads"), *pol = pv_get(rep, "policy");
    pv_arena *a;
    pv       *lack;
    uint64_t  refused = 0;
    size_t    got = 0;

    if (same != NULL && same->type == PV_BOOL) {
        mesh__in_free(in);
        return same->u.b ? 0 : 1; /* a light round: go full if they differ */
    }
    if (envs != NULL && envs->type == PV_ARR)
        got = mesh__in_store(n, in != NULL ? in : mesh__in_start(n, envs),
            mesh__link_key(l), false,
            more != NULL && more->type == PV_BOOL && more->u.b, &refused);
    else
        mesh__in_free(in);
    if (sheads != NULL)
        mesh__heads_receive(n, sheads, mesh__link_key(l), false, &refused);
    if (pol != NULL && pol->type == PV_BIN)
        refused += (uint64_t) mesh__policy_receive(
            n, (const uint8_t *) pol->u.s.p, pol->u.s.len, mesh__link_key(l));
    mesh__link_refused(l, refused);
    if (heads != NULL && heads->type == PV_MAP
        && (a = pv_arena_new((size_t) MESH_MSG_MAX * 2)) != NULL) {
        if ((lack = pv_arr(a)) != NULL) {
            mesh__missing(n, a, heads, MESH_BATCH_BYTES, lack, NULL);
            for (uint32_t i = 0; i < lack->u.a.n; i++)
                mesh__queue(l, OUT_ENV, (const uint8_t *) lack->u.a.v[i]->u.s.p,
                    lack->u.a.v[i]->u.s.len);
        }
        /* Our policy, if the peer's is older. */
        if (gov_bundle(n) != NULL) {
            const pv *e = pv_get(heads, "");
            int64_t   theirs = e && e->type == PV_ARR && e->u.a.n >= 1
                    && e->u.a.v[0]->type == PV_INT
                  ? e->u.a.v[0]->u.i
                  : 0;

            if (theirs < gov_version(n))
                mesh__queue(
                    l, OUT_POLICY, gov_bundle(n)->p, gov_bundle(n)->len);
        }
        /* And the signed heads it lacks (it had none or older ones). */
        pv_arena_reset(a);
        if ((lack = pv_arr(a)) != NULL) {
            mesh__heads_newer(n, a, heads, MESH_BATCH_BYTES / 4, lack);
            for (uint32_t i = 0; i < lack->u.a.n; i++)
                mesh__queue(l, OUT_HEAD,
                    (const uint8_t *) lack->u.a.v[i]->u.s.p,
                    lack->u.a.v[i]->u.s.len);
        }
        pv_arena_free(a);
    }
    return more != NULL && more->type == PV_BOOL && more->u.b && got > 0;
}

uint64_t
mesh__own_seq(node *n)
{
    store_txn *t;
    store_val  v;
    uint64_t   seq = 0;

    if (store_begin(n->st, false, &t) != WEFT_OK)
        return 0;
    if (store_get(t, STORE_SEQ, n->domain, strlen(n->domain), &v) == WEFT_OK
        && v.n == 8)
        seq = store_be_u64(v.p);
    store_abort(t);
    return seq;
}

typedef struct own {
    uint64_t  to;
    uint8_t **env;
    size_t   *len;
    size_t    n, cap;
} own;

static int
own_cb(void *ctx, store_val k, store_val v)
{
    own *o = ctx;

    if (store_be_u64(k.p + k.n - 8) > o->to)
        return -1;
    if (o->n == o->cap) {
        size_t    cap = o->cap ? o->cap * 2 : 16;
        uint8_t **e = realloc(o->env, cap * sizeof(*e));
        size_t   *l;

        if (e == NULL)
            return -1;
        o->env = e;
        if ((l = realloc(o->len, cap * sizeof(*l))) == NULL)
            return -1;
        o->len = l;
        o->cap = cap;
    }
    if ((o->env[o->n] = malloc(v.n)) == NULL)
        return -1;
    memcpy(o->env[o->n], v.p, v.n);
    o->len[o->n++] = v.n;
    return 0;
}

void
mesh__own_log(node *n, uint64_t from, uint64_t to, uint8_t ***envs,
    size_t **lens, size_t *count)
{
    own        o = { to, NULL, NULL, 0, 0 };
    uint8_t    k[WEFT_DOMAIN_MAX + 9];
    size_t     dl = strlen(n->domain);
    store_txn *t;

    memcpy(k, n->domain, dl);
    k[dl] = 0;
    store_u64_be(k + dl + 1, from);
    if (store_begin(n->st, false, &t) == WEFT_OK) {
        store_range(t, STORE_LOG, k, dl + 1, k, dl + 9, own_cb, &o);
        store_abort(t);
    }
    *envs = o.env;
    *lens = o.len;
    *count = o.n;
}

void
mesh__remember(node *n, const char *url, bool keep)
{
    uint8_t    k[MESH_URL_MAX + 8];
    int        kl = snprintf((char *) k, sizeof(k), "peer%c%s", 0, url);
    store_txn *t;

    if (kl <= 0 || (size_t) kl >= sizeof(k)
        || store_begin(n->st, true, &t) != WEFT_OK)
        return;
    if (keep)
        store_put(t, STORE_REF, k, (size_t) kl, "", 0);
    else
        store_del(t, STORE_REF, k, (size_t) kl);
    store_commit(t);
}

typedef struct rem {
    void (*fn)(void *ctx, const char *url);
    void *ctx;
} rem;

static int
rem_cb(void *ctx, store_val k, store_val v)
{
    rem   *r = ctx;
    size_t n = k.n - 5;
    char   url[MESH_URL_MAX];

    (void) v;
    if (n == 0 || n >= MESH_URL_MAX)
        return 0;
    memcpy(url, k.p + 5, n);
    url[n] = 0;
    r->fn(r->ctx, url);
    return 0;
}

void
mesh__remembered(node *n, void (*fn)(void *ctx, const char *url), void *ctx)
{
    rem        r = { fn, ctx };
    store_txn *t;

    if (store_begin(n->st, false, &t) != WEFT_OK)
        return;
    store_each(t, STORE_REF, "peer", 5, false, rem_cb, &r);
    store_abort(t);
}

pv *
mesh__descriptor(node *n, pv_arena *a, const char *id)
{
    store_txn *t;
    pv        *desc, *v = NULL;
    weft_buf   b;

    if (store_begin(n->st, false, &t) != WEFT_OK)
        return pv_nil(a);
    weft_buf_init(&b, WEFT_DESC_MAX);
    if (catalog_descriptor(n, t, a, id, NULL, &desc, NULL) == WEFT_OK
        && proto_encode(desc, &b) == WEFT_OK)
        v = pv_bin(a, b.p, b.len);
    weft_buf_free(&b);
    store_abort(t);
    return v ? v : pv_nil(a);
}
