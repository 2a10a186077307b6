/*
 * overview.c: what a node can say about the whole catalog it holds: the
 * catalog digest (one hash, equal on two nodes exactly when they hold the
 * same current summaries) and the per-domain view (key, seq, products,
 * how stale, equivocation flags).
 */
#include "node/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

weft_err
catalog_digest(node *n, pv_arena *a, pv *out)
{
    store_txn *t;
    uint8_t    acc[64], h[32];
    char       hex[65];
    weft_err   err;

    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    err = catalog_digest_sum(t, false, acc);
    store_abort(t);
    if (err != WEFT_OK)
        return err;
    crypto_blake2b(acc, sizeof(acc), h);
    crypto_hex(h, 32, hex);
    return pv_setstr(a, out, "catalog_digest", hex);
}

typedef struct dom_ctx {
    node      *n;
    store_txn *t;
    pv_arena  *a;
    pv        *list;
    int64_t    count;
} dom_ctx;

static int
domain_cb(void *ctx, store_val k, store_val v)
{
    dom_ctx  *c = ctx;
    char      dom[WEFT_DOMAIN_MAX + 2], fp[CRYPTO_FP_CHARS + 1];
    uint8_t   fk[WEFT_DOMAIN_MAX + 8];
    store_val sv;
    uint64_t  seq = 0, hseq = 0;
    int64_t   hts = 0;
    bool      have;
    pv       *m = pv_map(c->a);

    if (k.n > WEFT_DOMAIN_MAX || v.n != 32 || m == NULL)
        return 0;
    memcpy(dom, k.p, k.n);
    dom[k.n] = '/';
    dom[k.n] = 0;
    c->count = catalog_count(c->t, dom);
    if (store_get(c->t, STORE_SEQ, dom, k.n, &sv) == WEFT_OK && sv.n == 8)
        seq = store_be_u64(sv.p);
    have = catalog_head_held(c->t, dom, &hts, &hseq);
    memcpy(fk, "flag", 5);
    memcpy(fk + 5, dom, k.n);
    crypto_fingerprint(v.p, fp);
    if (pv_setstr(c->a, m, "domain", dom)
        || pv_setstr(c->a, m, "fingerprint", fp)
        || pv_setint(c->a, m, "seq", (int64_t) seq)
        || pv_setint(c->a, m, "products", c->count)
        || pv_setint(c->a, m, "head_seq", have ? (int64_t) hseq : -1)
        || pv_setint(c->a, m, "head_ts", have ? hts : -1)
        || pv_setint(c->a, m, "stale_s",
            have ? (time(NULL) > hts ? (int64_t) time(NULL) - hts : 0) : -1)
        || pv_set(c->a, m, "behind", pv_bool(c->a, have && hseq > seq))
        || pv_set(c->a, m, "equivocation",
            pv_bool(
                c->a, store_get(c->t, STORE_REF, fk, k.n + 5, &sv) == WEFT_OK))
        || pv_setstr(
            c->a, m, "self", strcmp(dom, c->n->domain) == 0 ? "yes" : "no")
        || pv_push(c->a, c->list, m))
        return WEFT_ENOMEM;
    return 0;
}

weft_err
catalog_domains(node *n, pv_arena *a, pv *list)
{
    dom_ctx  c = { n, NULL, a, list, 0 };
    weft_err err;

    if ((err = store_begin(n->st, false, &c.t)) != WEFT_OK)
        return err;
    err = store_each(c.t, STORE_DKEY, NULL, 0, false, domain_cb, &c);
    store_abort(c.t);
    return err;
}
