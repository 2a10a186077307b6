/*
 * mesh_head.c: signed domain heads. Each node signs, now and then and on
 * every publish, "my log ends at seq S with tip T, as of TS" and gossips
 * it like a summary; every node keeps the newest head of each domain. The
 * age of that head is how stale a node's view of the domain is: a domain
 * whose node is down stops refreshing its head, and its age grows.
 *
 * Key layout: REF "head" 0 domain -> ts(BE8) seq(BE8) signed head.
 */
#include "node/mesh_int.h"

#include <string.h>
#include <time.h>

static size_t
head_key(uint8_t *k, const char *dom)
{
    size_t dl = strlen(dom);

    memcpy(k, "head", 5);
    memcpy(k + 5, dom, dl);
    return dl + 5;
}

bool
catalog_head_held(store_txn *t, const char *dom, int64_t *ts, uint64_t *seq)
{
    uint8_t   k[WEFT_DOMAIN_MAX + 6];
    store_val v;

    if (strlen(dom) > WEFT_DOMAIN_MAX
        || store_get(t, STORE_REF, k, head_key(k, dom), &v) != WEFT_OK
        || v.n < 16)
        return false;
    *ts = (int64_t) store_be_u64(v.p);
    *seq = store_be_u64((const uint8_t *) v.p + 8);
    return true;
}

/* keep stores a head newer than the one held; *newer says if it was. */
static weft_err
keep(store_txn *t, const char *dom, int64_t ts, uint64_t seq, const uint8_t *p,
    size_t len, bool *newer)
{
    uint8_t  k[WEFT_DOMAIN_MAX + 6], v[16 + PROTO_PEER_RECORD_MAX];
    int64_t  hts;
    uint64_t hseq;

    *newer = false;
    if (len > PROTO_PEER_RECORD_MAX)
        return WEFT_ETOOBIG;
    if (catalog_head_held(t, dom, &hts, &hseq)
        && (hts > ts || (hts == ts && hseq >= seq)))
        return WEFT_OK;
    store_u64_be(v, (uint64_t) ts);
    store_u64_be(v + 8, seq);
    memcpy(v + 16, p, len);
    *newer = true;
    return store_put(t, STORE_REF, k, head_key(k, dom), v, len + 16);
}

weft_err
mesh__head_sign(node *n, weft_buf *out)
{
    store_txn *t;
    store_val  e;
    uint8_t    tip[32];
    uint64_t   seq = 0, hseq;
    int64_t    ts = (int64_t) time(NULL), hts;
    bool       newer;
    weft_err   err;

    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        return err;
    if (store_get(t, STORE_SEQ, n->domain, strlen(n->domain), &e) == WEFT_OK
        && e.n == 8)
        seq = store_be_u64(e.p);
    if (seq > 0 && catalog_log_get(t, n->domain, seq, &e) == WEFT_OK)
        crypto_blake2b(e.p, e.n, tip);
    else
        seq = 0;
    /* Never older than the head held (a clock stepped back). */
    if (catalog_head_held(t, n->domain, &hts, &hseq) && hts > ts)
        ts = hts;
    out->len = 0;
    if ((err = proto_head_seal(
             n->key, n->domain, seq, seq ? tip : NULL, ts, out))
        || (err = keep(t, n->domain, ts, seq, out->p, out->len, &newer))) {
        store_abort(t);
        return err;
    }
    return store_commit(t);
}

size_t
mesh__heads_receive(node *n, const pv *heads, const uint8_t *from, bool forward,
    uint64_t *refused)
{
    pv_arena  *a = pv_arena_new(1 << 20);
    store_txn *t = NULL;
    uint8_t   *fwd[MESH_HEADS_MAX];
    size_t     fl[MESH_HEADS_MAX], nf = 0, kept = 0;
    int64_t    now = (int64_t) time(NULL);

    if (a == NULL || heads->type != PV_ARR || heads->u.a.n > MESH_HEADS_MAX
        || store_begin(n->st, true, &t) != WEFT_OK) {
        *refused += a != NULL; /* not a list, or too long a one */
        n->stats.refused[REFUSED_HEAD] += a != NULL;
        pv_arena_free(a);
        return 0;
    }
    for (uint32_t i = 0; i < heads->u.a.n; i++) {
        const pv   *e = heads->u.a.v[i];
        pv         *h;
        const char *dom;
        bool        newer = false;
        weft_diag   d = { "" };

        pv_arena_reset(a);
        if (e->type != PV_BIN
            || proto_head_open(
                   a, (const uint8_t *) e->u.s.p, e->u.s.len, now, &h, &d)
                != WEFT_OK
            || catalog_bind_key(n, t, (dom = pv_getstr(h, "domain")),
                   (const uint8_t *) pv_get(h, "key")->u.s.p, &d)
                != WEFT_OK
            || keep(t, dom, pv_getint(h, "ts", 0),
                   (uint64_t) pv_getint(h, "seq", 0),
                   (const uint8_t *) e->u.s.p, e->u.s.len, &newer)
                != WEFT_OK) {
            log_msg(LOG_DEBUG, "domain head refused: %s", d.msg);
            (*refused)++;
            n->stats.refused[REFUSED_HEAD]++;
            continue;
        }
        if (newer) {
            kept++;
            if (forward && strcmp(dom, n->domain) != 0) {
                fwd[nf] = (uint8_t *) e->u.s.p;
                fl[nf++] = e->u.s.len;
            }
        }
    }
    if (store_commit(t) == WEFT_OK)
        mesh__forward_kind(n, OUT_HEAD, fwd, fl, nf, from, MESH_HEAD_FANOUT);
    else
        kept = 0;
    pv_arena_free(a);
    return kept;
}

typedef struct newer_ctx {
    pv_arena *a;
    const pv *theirs;
    pv       *out;
    size_t    budget, used;
} newer_ctx;

static int
newer_cb(void *ctx, store_val k, store_val v)
{
    newer_ctx *c = ctx;
    char       dom[WEFT_DOMAIN_MAX + 1];
    const pv  *h;
    int64_t    ts;

    if (k.n <= 5 || k.n - 5 > WEFT_DOMAIN_MAX || v.n <= 16)
        return 0;
    memcpy(dom, (const char *) k.p + 5, k.n - 5);
    dom[k.n - 5] = 0;
    ts = (int64_t) store_be_u64(v.p);
    h = pv_get(c->theirs, dom);
    /* Theirs is [seq, tip, head ts]; a peer without our head gets it. */
    if (h != NULL && h->type == PV_ARR && h->u.a.n >= 3
        && h->u.a.v[2]->type == PV_INT && h->u.a.v[2]->u.i >= ts)
        return 0;
    if (c->used + v.n - 16 > c->budget || c->out->u.a.n >= MESH_HEADS_MAX)
        return -1;
    c->used += v.n - 16;
    return pv_push(
               c->a, c->out, pv_bin(c->a, (const uint8_t *) v.p + 16, v.n - 16))
        ? -1
        : 0;
}

void
mesh__heads_newer(
    node *n, pv_arena *a, const pv *theirs, size_t budget, pv *out)
{
    newer_ctx  c = { a, theirs, out, budget, 0 };
    store_txn *t;

    if (store_begin(n->st, false, &t) != WEFT_OK)
        return;
    store_each(t, STORE_REF, "head", 5, false, newer_cb, &c);
    store_abort(t);
}
