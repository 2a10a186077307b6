/*
 * catalog.c: the rules of the catalog over the store. Publishing turns a
 * document into a descriptor (the normalized model, stored at every
 * revision), a signed summary (current per product, and in the domain's
 * log by seq), and the links that attach ODCS contracts to products.
 *
 * Key layouts (see store/store.h for the tables):
 *   DESC  id 0 seq(BE8)            -> canonical descriptor
 *   CUR   id                       -> seq(BE8) of its current summary
 *                                     in its domain's log (schema 2)
 *   LOG   domain 0 seq(BE8)        -> signed envelope
 *   SEQ   domain                   -> seq(BE8)
 *   DKEY  domain                   -> public key
 *   REF   "cid" 0 contract-id 0 product-id   (ODPS outputPorts contractId)
 *   REF   "dp" 0 product-id 0 contract-id    (ODCS dataProduct)
 */
#include "node/index.h"
#include "node/node.h"
#include "node/prep.h"
#include "proto/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 511

/*
 * The catalog digest is kept up to date as the current table changes:
 * META "digest" holds the sum, mod 2^512, of BLAKE2b-512(id 0
 * BLAKE2b-256(envelope)) over every current summary (a multiset hash in
 * the manner of Bellare and Micciancio's AdHash), so `status` reads it in
 * O(1) instead of hashing the whole catalog. Two nodes hold the same
 * current summaries exactly when (barring a collision) the sums match.
 */
static void
entry_hash(const char *id, const uint8_t *env, size_t n, uint8_t out[64])
{
    uint8_t buf[WEFT_ID_MAX + 1 + 32];
    size_t  il = strlen(id);

    if (il > WEFT_ID_MAX)
        il = WEFT_ID_MAX;
    memcpy(buf, id, il);
    buf[il] = 0;
    crypto_blake2b(env, n, buf + il + 1);
    crypto_blake2b512(buf, il + 33, out);
}

/* add512 adds (or subtracts) x to acc, both little-endian 512-bit. */
static void
add512(uint8_t acc[64], const uint8_t x[64], bool sub)
{
    unsigned carry = sub ? 1 : 0; /* a - x = a + ~x + 1 */

    for (int i = 0; i < 64; i++) {
        unsigned s = acc[i] + (unsigned) (sub ? (uint8_t) ~x[i] : x[i]) + carry;

        acc[i] = (uint8_t) s;
        carry = s >> 8;
    }
}

typedef struct sum_walk {
    store_txn *t;
    uint8_t   *acc;
} sum_walk;

static int
sum_cb(void *ctx, store_val k, store_val v)
{
    sum_walk *w = ctx;
    uint8_t   h[64];
    char      id[WEFT_ID_MAX + 1];
    store_val env;

    if (k.n > WEFT_ID_MAX)
        return 0;
    if (catalog_cur_env(w->t, k, v, &env) != WEFT_OK) {
        log_msg(LOG_WARN,
            "store: the current summary of '%.*s' is not in its domain's log: "
            "left out of the digest",
            (int) k.n, (const char *) k.p);
        return 0;
    }
    memcpy(id, k.p, k.n);
    id[k.n] = 0;
    entry_hash(id, env.p, env.n, h);
    add512(w->acc, h, false);
    return 0;
}

weft_err
catalog_digest_sum(store_txn *t, bool rebuild, uint8_t acc[64])
{
    store_val v;
    sum_walk  w = { t, acc };
    weft_err  err;

    if (!rebuild && store_get(t, STORE_META, "digest", 6, &v) == WEFT_OK
        && v.n == 64) {
        memcpy(acc, v.p, 64);
        return WEFT_OK;
    }
    memset(acc, 0, 64);
    if ((err = store_each(t, STORE_CUR, NULL, 0, false, sum_cb, &w)))
        return err;
    return WEFT_OK;
}

/*
 * Products per domain are counted as they come (REF "count" 0 domain ->
 * BE8), so `status` never walks the catalog; META "counted" says the
 * counts cover the whole store (catalog_counts_init builds them once for
 * a store from before).
 */
static size_t
count_key(uint8_t *k, const char *id)
{
    const char *slash = strchr(id, '/');
    size_t      dl = slash ? (size_t) (slash - id) : strlen(id);

    if (dl > WEFT_DOMAIN_MAX)
        dl = WEFT_DOMAIN_MAX;
    memcpy(k, "count", 6);
    memcpy(k + 6, id, dl);
    return dl + 6;
}

static weft_err
count_add(store_txn *t, const char *id, uint64_t by)
{
    uint8_t   k[WEFT_DOMAIN_MAX + 7], v[8];
    size_t    kl = count_key(k, id);
    store_val cv;
    uint64_t  c = 0;

    if (store_get(t, STORE_REF, k, kl, &cv) == WEFT_OK && cv.n == 8)
        c = store_be_u64(cv.p);
    store_u64_be(v, c + by);
    return store_put(t, STORE_REF, k, kl, v, 8);
}

int64_t
catalog_count(store_txn *t, const char *dom)
{
    uint8_t   k[WEFT_DOMAIN_MAX + 8];
    char      id[WEFT_DOMAIN_MAX + 2];
    store_val cv;

    snprintf(id, sizeof(id), "%s/", dom);
    if (store_get(t, STORE_REF, k, count_key(k, id), &cv) == WEFT_OK
        && cv.n == 8)
        return (int64_t) store_be_u64(cv.p);
    return 0;
}

static int
recount_cb(void *ctx, store_val k, store_val v)
{
    char id[WEFT_ID_MAX + 1];

    (void) v;
    if (k.n > WEFT_ID_MAX)
        return 0;
    memcpy(id, k.p, k.n);
    id[k.n] = 0;
    return count_add(ctx, id, 1);
}

weft_err
catalog_counts_init(node *n)
{
    store_txn *t;
    store_val  v;
    weft_err   err;

    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        return err;
    if (store_get(t, STORE_META, "counted", 7, &v) == WEFT_OK) {
        store_abort(t);
        return WEFT_OK;
    }
    if ((err = store_each(t, STORE_CUR, NULL, 0, false, recount_cb, t))
        || (err = store_put(t, STORE_META, "counted", 7, "1", 1))) {
        store_abort(t);
        return err;
    }
    return store_commit(t);
}

/* same_but_times: new differs from old (either may be NULL: no) only in
 * its seq and times, as when its domain signs it again before it
 * expires. */
static bool
same_but_times(const pv *old, const pv *new)
{
    static const char *const times[] = { "seq", "issued", "expires" };

    if (old == NULL || new == NULL || old->type != PV_MAP || new->type != PV_MAP
        || old->u.m.n != new->u.m.n)
        return false;
    for (uint32_t i = 0; i < new->u.m.n; i++) {
        const char *k = new->u.m.kv[i].k->u.s.p;
        size_t      j = 0;

        while (j < 3 && strcmp(k, times[j]) != 0)
            j++;
        if (j == 3
            && (pv_get(old, k) == NULL
                || !pv_equal(new->u.m.kv[i].v, pv_get(old, k))))
            return false;
    }
    return true;
}

/* cur_put makes env (summary sum, which the domain's log holds or is
 * about to hold under its seq) the current summary of id and updates the
 * digest, the domain's product count and the search index (ix: sum's
 * words and keys found ahead, or NULL). */
static weft_err
cur_put(store_txn *t, const char *id, const void *env, size_t n, const pv *sum,
    const index_doc *ix)
{
    const char *status = pv_getstr(sum, "status");
    uint8_t     acc[64], h[64], seqb[8];
    store_val   old;
    weft_err    err;
    bool        fresh = true, same;
    char        was[16] = "";
    pv_arena   *a = NULL;
    pv         *s = NULL;

    if ((err = catalog_digest_sum(t, false, acc)) != WEFT_OK)
        goto done;
    if ((err = catalog_cur_get(t, id, &old)) == WEFT_OK) {
        entry_hash(id, old.p, old.n, h);
        add512(acc, h, true);
        fresh = false;
        /* The status it had, for watchers (new, changed, deprecated). */
        if ((a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL) {
            err = WEFT_ENOMEM;
            goto done;
        }
        if ((err = proto_envelope_read(a, old.p, old.n, &s, NULL)))
            goto done; /* it was read when it was stored */
        snprintf(was, sizeof(was), "%s", pv_getstr(s, "status"));
    } else if (err != WEFT_ENOTFOUND)
        goto done;
    entry_hash(id, env, n, h);
    add512(acc, h, false);
    /* Watchers learn of it once it is stored: the note is in this txn.
     * A summary signed again as it was (renewal) is no news to them, nor
     * to the index (it holds nothing of seqs and times). */
    same = s != NULL && same_but_times(s, sum);
    if ((err = store_put(t, STORE_META, "digest", 6, acc, 64))
        || (fresh && (err = count_add(t, id, 1)))
        || (!same && (err = watch_note(t, id, fresh ? NULL : was, status)))
        || (!same && (err = index_put(t, s, sum, ix))))
        goto done;
    /* The envelope itself is in the domain's log, under this seq. */
    store_u64_be(seqb, (uint64_t) pv_getint(sum, "seq", 0));
    err = store_put(t, STORE_CUR, id, strlen(id), seqb, 8);
done:
    pv_arena_free(a);
    return err;
}

/* key3 writes a, 0, b[, 0, c] into k; returns its length or 0 if too long. */
static size_t
key3(uint8_t *k, const char *a, const char *b, const char *c)
{
    int n = c ? snprintf((char *) k, KEY_MAX + 1, "%s%c%s%c%s", a, 0, b, 0, c)
              : snprintf((char *) k, KEY_MAX + 1, "%s%c%s", a, 0, b);

    return n < 0 || n > KEY_MAX ? 0 : (size_t) n;
}

/* keyseq writes s, 0, seq(BE8) into k; returns its length or 0. */
static size_t
keyseq(uint8_t *k, const char *s, uint64_t seq)
{
    size_t n = strlen(s);

    if (n + 9 > KEY_MAX)
        return 0;
    memcpy(k, s, n);
    k[n] = 0;
    store_u64_be(k + n + 1, seq);
    return n + 9;
}

static weft_err
seq_get(store_txn *t, const char *domain, uint64_t *out)
{
    store_val v;
    weft_err  err = store_get(t, STORE_SEQ, domain, strlen(domain), &v);

    if (err == WEFT_ENOTFOUND) {
        *out = 0;
        return WEFT_OK;
    }
    if (err == WEFT_OK && v.n != 8)
        return WEFT_ESTORE;
    if (err == WEFT_OK)
        *out = store_be_u64(v.p);
    return err;
}

static weft_err
seq_put(store_txn *t, const char *domain, uint64_t seq)
{
    uint8_t b[8];

    store_u64_be(b, seq);
    return store_put(t, STORE_SEQ, domain, strlen(domain), b, 8);
}

weft_err
catalog_cur_env(store_txn *t, store_val k, store_val v, store_val *env)
{
    uint8_t        lk[KEY_MAX + 1];
    const uint8_t *slash = memchr(k.p, '/', k.n);
    size_t         dl = slash ? (size_t) (slash - k.p) : 0;

    if (v.n != 8 || dl == 0 || dl > WEFT_DOMAIN_MAX)
        return WEFT_ESTORE;
    memcpy(lk, k.p, dl);
    lk[dl] = 0;
    memcpy(lk + dl + 1, v.p, 8);
    return store_get(t, STORE_LOG, lk, dl + 9, env) == WEFT_OK ? WEFT_OK
                                                               : WEFT_ESTORE;
}

weft_err
catalog_cur_get(store_txn *t, const char *id, store_val *env)
{
    store_val k = { (const uint8_t *) id, strlen(id) }, v;
    weft_err  err = store_get(t, STORE_CUR, id, k.n, &v);

    return err != WEFT_OK ? err : catalog_cur_env(t, k, v, env);
}

weft_err
catalog_summary(node *n, store_txn *t, pv_arena *a, const char *id, pv **out)
{
    store_val v;
    weft_err  err = catalog_cur_get(t, id, &v);

    (void) n;
    if (err != WEFT_OK)
        return err;
    return proto_envelope_read(a, v.p, v.n, out, NULL);
}

/* ---- upgrading a store of an earlier layout --------------------------- */

static bool log_has(store_txn *t, const char *dom, uint64_t seq, store_val *v);

typedef struct upgrade {
    node      *node;
    store_txn *t;
    pv_arena  *a;
    char     **ids; /* entries to rewrite, and their seqs */
    uint64_t  *seqs;
    size_t     n, cap;
    weft_err   err;
} upgrade;

static weft_err mark(node *n, store_txn *t, const char *dom, uint64_t seq);

/* upgrade_bad says which entry stops the upgrade, and why. */
static int
upgrade_bad(upgrade *u, store_val k, const char *why)
{
    log_msg(LOG_ERROR, "store upgrade: current entry '%.*s': %s",
        (int) (k.n > WEFT_ID_MAX ? WEFT_ID_MAX : k.n), (const char *) k.p, why);
    return u->err = WEFT_ESTORE;
}

/* upgrade_fill puts a current envelope its domain's log lacks there
 * (a schema 1 store always put it in both: a damaged one), and moves the
 * domain's mark as a summary received would. */
static weft_err
upgrade_fill(upgrade *u, const char *dom, uint64_t seq, store_val v)
{
    uint8_t  lk[KEY_MAX + 1];
    size_t   kl = keyseq(lk, dom, seq);
    weft_err err;

    if (kl == 0)
        return WEFT_ESTORE;
    if ((err = store_put(u->t, STORE_LOG, lk, kl, v.p, v.n)) != WEFT_OK)
        return err;
    return mark(u->node, u->t, dom, seq);
}

/* upgrade_cb notes a schema 1 entry id -> envelope as id -> seq, with
 * the envelope in its domain's log (where it has always been put too);
 * an entry of this layout (a seq) is noted as it is. */
static int
upgrade_cb(void *ctx, store_val k, store_val v)
{
    upgrade    *u = ctx;
    pv         *sum;
    const char *dom;
    int64_t     seq;
    store_val   held;

    pv_arena_reset(u->a);
    if (k.n > WEFT_ID_MAX)
        return upgrade_bad(u, k, "id too long");
    if (v.n == 8)
        seq = (int64_t) store_be_u64(v.p);
    else if (proto_envelope_read(u->a, v.p, v.n, &sum, NULL) != WEFT_OK
        || (dom = pv_getstr(sum, "domain")) == NULL
        || (seq = pv_getint(sum, "seq", 0)) <= 0)
        return upgrade_bad(u, k, "not a signed summary");
    else if (log_has(u->t, dom, (uint64_t) seq, &held)) {
        if (held.n != v.n || memcmp(held.p, v.p, v.n) != 0)
            return upgrade_bad(
                u, k, "its domain's log holds another summary under its seq");
    } else if ((u->err = upgrade_fill(u, dom, (uint64_t) seq, v)) != WEFT_OK)
        return u->err;
    if (u->n == u->cap) {
        size_t    cap = u->cap ? u->cap * 2 : 1024;
        char    **ids = realloc(u->ids, cap * sizeof(*ids));
        uint64_t *seqs;

        if (ids != NULL)
            u->ids = ids;
        if (ids == NULL
            || (seqs = realloc(u->seqs, cap * sizeof(*seqs))) == NULL)
            return u->err = WEFT_ENOMEM;
        u->seqs = seqs;
        u->cap = cap;
    }
    if ((u->ids[u->n] = malloc(k.n + 1)) == NULL)
        return u->err = WEFT_ENOMEM;
    memcpy(u->ids[u->n], k.p, k.n);
    u->ids[u->n][k.n] = 0;
    u->seqs[u->n++] = (uint64_t) seq;
    return 0;
}

weft_err
catalog_upgrade(node *n)
{
    upgrade         u = { .node = n };
    store_val       v;
    uint8_t         b[8];
    struct timespec t0, t1;
    weft_err        err;

    if ((err = store_begin(n->st, true, &u.t)) != WEFT_OK)
        return err;
    /* None: a store made before schemas were recorded (schema 1). */
    if (store_get(u.t, STORE_META, "schema", 6, &v) == WEFT_OK) {
        bool now = v.n == strlen(CATALOG_SCHEMA)
            && memcmp(v.p, CATALOG_SCHEMA, v.n) == 0;

        if (now || v.n != 1 || memcmp(v.p, "1", 1) != 0) {
            /* Not one this weftd knows how to upgrade: a newer one's. */
            if (!now)
                log_msg(LOG_ERROR,
                    "the store is of schema '%.*s', which this weftd "
                    "(schema %s) does not know: run the weftd that wrote it",
                    (int) (v.n > 16 ? 16 : v.n), (const char *) v.p,
                    CATALOG_SCHEMA);
            store_abort(u.t);
            return now ? WEFT_OK : WEFT_ESTORE;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((u.a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL)
        err = WEFT_ENOMEM;
    else if ((err = store_each(u.t, STORE_CUR, NULL, 0, false, upgrade_cb, &u))
        == WEFT_OK)
        err = u.err;
    /* Written anew, in key order (the walk's), so its pages are full:
     * values made smaller in place would leave them as sparse as the
     * envelopes did. */
    if (err == WEFT_OK && u.n > 0)
        err = store_drop(u.t, STORE_CUR);
    for (size_t i = 0; err == WEFT_OK && i < u.n; i++) {
        store_u64_be(b, u.seqs[i]);
        err = store_append(u.t, STORE_CUR, u.ids[i], strlen(u.ids[i]), b, 8);
    }
    if (err == WEFT_OK)
        err = store_put(u.t, STORE_META, "schema", 6, CATALOG_SCHEMA,
            strlen(CATALOG_SCHEMA));
    for (size_t i = 0; i < u.n; i++)
        free(u.ids[i]);
    free(u.ids);
    free(u.seqs);
    pv_arena_free(u.a);
    if (err != WEFT_OK) {
        store_abort(u.t);
        return err;
    }
    if ((err = store_commit(u.t)) != WEFT_OK)
        return err;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (u.n > 0) /* a new store has nothing to tell */
        log_msg(LOG_INFO,
            "store upgraded to schema %s: %zu current summaries now kept once, "
            "in their domains' logs (%lld ms)",
            CATALOG_SCHEMA, u.n,
            (long long) ((t1.tv_sec - t0.tv_sec) * 1000
                + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    return WEFT_OK;
}

typedef struct desc_scan {
    pv_arena      *a;
    const char    *version; /* take the latest revision of this version */
    const uint8_t *body;    /* or the revision with this hash */
    pv            *desc;
    uint64_t       seq;
    weft_err       err;
} desc_scan;

static int
desc_cb(void *ctx, store_val k, store_val v)
{
    desc_scan *s = ctx;
    pv        *d;

    if (k.n < 9)
        return WEFT_ESTORE;
    if (s->body != NULL) {
        uint8_t h[32];

        /* Stored bytes are canonical: their hash is the body hash. */
        crypto_blake2b(v.p, v.n, h);
        if (memcmp(h, s->body, 32) != 0)
            return 0;
    }
    if ((s->err = proto_decode(s->a, v.p, v.n, &d, NULL)) != WEFT_OK)
        return s->err;
    if (s->version != NULL) {
        const char *ver = pv_getstr(d, "version");

        if (ver == NULL || strcmp(ver, s->version) != 0)
            return 0;
    }
    s->desc = d;
    s->seq = store_be_u64(k.p + k.n - 8);
    return -1; /* found: stop */
}

weft_err
catalog_descriptor(node *n, store_txn *t, pv_arena *a, const char *id,
    const char *version, pv **desc, uint64_t *seq)
{
    uint8_t   k[KEY_MAX + 1];
    size_t    kl = strlen(id) + 1;
    char      vn[80];
    desc_scan s = { a, NULL, NULL, NULL, 0, WEFT_OK };
    pv       *cur;
    weft_err  err;

    if (kl > KEY_MAX)
        return WEFT_ENOTFOUND;
    memcpy(k, id, kl);
    if (version != NULL) {
        if (proto_version_norm(version, vn, sizeof(vn)) != WEFT_OK)
            return WEFT_EINVAL;
        s.version = vn;
    } else {
        /* The current descriptor is the one the current summary signs,
         * not merely the newest stored (an import may hold an older). */
        if ((err = catalog_summary(n, t, a, id, &cur)) != WEFT_OK)
            return err;
        s.body = (const uint8_t *) pv_get(cur, "body")->u.s.p;
    }
    err = store_each(t, STORE_DESC, k, kl, true, desc_cb, &s);
    if (s.desc == NULL)
        return err != WEFT_OK && err != (weft_err) -1 ? err : WEFT_ENOTFOUND;
    *desc = s.desc;
    if (seq)
        *seq = s.seq;
    return WEFT_OK;
}

/* ---- effective model: a product with its contracts merged in ------- */

static int
class_rank(const char *c)
{
    static const char *const ranks[]
        = { "public", "internal", "confidential", "restricted" };

    for (int i = 0; c && i < 4; i++)
        if (strcmp(c, ranks[i]) == 0)
            return i;
    return -1;
}

/* shallow returns a copy of map m whose arrays are fresh (items shared). */
static pv *
shallow(pv_arena *a, const pv *m)
{
    pv *c = pv_map(a);

    for (uint32_t i = 0; c && i < m->u.m.n; i++) {
        const pv *v = m->u.m.kv[i].v;
        pv       *nv = (pv *) v;

        if (v->type == PV_ARR && (nv = pv_arr(a)) != NULL)
            for (uint32_t j = 0; j < v->u.a.n; j++)
                if (pv_push(a, nv, v->u.a.v[j]) != WEFT_OK)
                    return NULL;
        if (nv == NULL || pv_set(a, c, m->u.m.kv[i].k->u.s.p, nv))
            return NULL;
    }
    return c;
}

static weft_err
append_all(pv_arena *a, pv *dst, const pv *src, bool unique)
{
    weft_err err;

    if (dst == NULL || src == NULL || src->type != PV_ARR
        || dst->type != PV_ARR)
        return WEFT_OK;
    for (uint32_t i = 0; i < src->u.a.n; i++) {
        bool dup = false;

        for (uint32_t j = 0; unique && j < dst->u.a.n && !dup; j++)
            dup = pv_equal(dst->u.a.v[j], src->u.a.v[i]);
        if (!dup && (err = pv_push(a, dst, src->u.a.v[i])) != WEFT_OK)
            return err;
    }
    return WEFT_OK;
}

static weft_err
merge_contract(pv_arena *a, pv *eff, const pv *c)
{
    const char *cc = pv_getstr(c, "classification");
    const char *pc = pv_getstr(eff, "classification");
    pv         *q = pv_get(eff, "quality"), *cq = pv_get(c, "quality");
    weft_err    err;

    if ((err = append_all(
             a, pv_get(eff, "schemas"), pv_get(c, "schemas"), false))
        || (err = append_all(a, pv_get(eff, "tags"), pv_get(c, "tags"), true))
        || (err
            = append_all(a, pv_get(eff, "formats"), pv_get(c, "formats"), true))
        || (err = append_all(a, pv_get(eff, "sla"), pv_get(c, "sla"), false)))
        return err;
    if (class_rank(cc) > class_rank(pc)
        && (err = pv_setstr(a, eff, "classification", cc)))
        return err;
    if (q != NULL && q->type == PV_MAP && cq != NULL && cq->type == PV_MAP) {
        static const char *const keys[]
            = { "completeness", "accuracy", "freshness_s" };
        pv *nq = shallow(a, q);

        for (int i = 0; nq && i < 3; i++) {
            const pv *mine = pv_get(nq, keys[i]), *theirs = pv_get(cq, keys[i]);

            if ((mine == NULL || mine->type == PV_NIL) && theirs != NULL
                && pv_set(a, nq, keys[i], (pv *) theirs) != WEFT_OK)
                return WEFT_ENOMEM;
        }
        if (nq == NULL || pv_set(a, eff, "quality", nq) != WEFT_OK)
            return WEFT_ENOMEM;
    }
    return WEFT_OK;
}

typedef struct attach {
    node      *n;
    store_txn *t;
    pv_arena  *a;
    pv        *eff;
    pv        *ids; /* contract catalog ids merged so far */
} attach;

static weft_err
attach_one(attach *at, const char *cid)
{
    pv      *c, *sum, *s;
    weft_err err;

    for (uint32_t i = 0; i < at->ids->u.a.n; i++)
        if (strcmp(at->ids->u.a.v[i]->u.s.p, cid) == 0)
            return WEFT_OK;
    if (catalog_summary(at->n, at->t, at->a, cid, &sum) != WEFT_OK)
        return WEFT_OK; /* not published (yet): attaches when it is */
    if (strcmp(pv_getstr(sum, "kind"), "contract") != 0
        || strcmp(pv_getstr(sum, "status"), "retired") == 0)
        return WEFT_OK;
    err = catalog_descriptor(at->n, at->t, at->a, cid, NULL, &c, NULL);
    if (err != WEFT_OK)
        return err == WEFT_ENOTFOUND ? WEFT_OK : err;
    if ((err = merge_contract(at->a, at->eff, c)) != WEFT_OK)
        return err;
    if ((s = pv_strz(at->a, cid)) == NULL)
        return WEFT_ENOMEM;
    return pv_push(at->a, at->ids, s);
}

static int
attach_dp_cb(void *ctx, store_val k, store_val v)
{
    attach     *at = ctx;
    const char *cid = memchr(k.p + 3, 0, k.n - 3);
    char        id[KEY_MAX + 1];
    size_t      n;

    (void) v;
    if (cid == NULL)
        return 0;
    n = k.n - (size_t) ((const uint8_t *) cid + 1 - k.p);
    memcpy(id, cid + 1, n);
    id[n] = 0;
    return attach_one(at, id);
}

/*
 * effective builds the model a product's summary is made from: its own
 * descriptor plus every contract attached to it (by an output port's
 * contractId, or by the contract's dataProduct), plus the status and
 * deprecation that status changes set.
 */
static weft_err
effective(node *n, store_txn *t, pv_arena *a, const pv *desc,
    const pv *status_from, pv **out)
{
    attach    at = { n, t, a, shallow(a, desc), pv_arr(a) };
    const pv *cs = pv_get(desc, "contracts");
    uint8_t   k[KEY_MAX + 1];
    size_t    kl;
    char      cid[KEY_MAX + 1];
    weft_err  err;

    if (at.eff == NULL || at.ids == NULL)
        return WEFT_ENOMEM;
    if (strcmp(pv_getstr(desc, "kind"), "product") == 0) {
        for (uint32_t i = 0; cs && i < cs->u.a.n; i++) {
            char slug[160];

            if (proto_slug(cs->u.a.v[i]->u.s.p, slug, sizeof(slug)))
                continue;
            snprintf(
                cid, sizeof(cid), "%s/%s", pv_getstr(desc, "domain"), slug);
            if ((err = attach_one(&at, cid)) != WEFT_OK)
                return err;
        }
        if ((kl = key3(k, "dp", pv_getstr(desc, "id"), "")) == 0)
            return WEFT_ETOOBIG;
        err = store_each(t, STORE_REF, k, kl, false, attach_dp_cb, &at);
        if (err != WEFT_OK)
            return err;
        if ((err = pv_set(a, at.eff, "contracts", at.ids)) != WEFT_OK)
            return err;
    }
    if (status_from != NULL
        && ((err = pv_set(a, at.eff, "status", pv_get(status_from, "status")))
            || (err = pv_set(a, at.eff, "deprecation",
                    pv_get(status_from, "deprecation")))))
        return err;
    *out = at.eff;
    return WEFT_OK;
}

/* ---- writing a summary ---------------------------------------------- */

/*
 * META "renew_due" (8 bytes, BE) is a bound on when the next of this
 * domain's current summaries expires: no pass is needed before a third
 * of the lifetime ahead of it. A pass that reaches the end of the domain's
 * products sets it; whatever becomes current of this domain in between
 * lowers it (due_lower), and n->renew_low too, so that a pass under way
 * (which may have walked past that product) keeps it in the bound it
 * sets. Absent: a pass is needed.
 */
static weft_err
due_lower(node *n, store_txn *t, int64_t expires)
{
    store_val v;
    uint8_t   b[8];

    if (expires < n->renew_low)
        n->renew_low = expires;
    if (store_get(t, STORE_META, "renew_due", 9, &v) != WEFT_OK || v.n != 8
        || (int64_t) store_be_u64(v.p) <= expires)
        return WEFT_OK;
    store_u64_be(b, (uint64_t) expires);
    return store_put(t, STORE_META, "renew_due", 9, b, 8);
}

/* next_seq is the seq this domain signs next, within --domain-max. */
static weft_err
next_seq(node *n, store_txn *t, uint64_t *seq)
{
    weft_err err;

    if ((err = seq_get(t, n->domain, seq)) != WEFT_OK)
        return err;
    if (++*seq > n->domain_max) {
        log_msg(LOG_WARN,
            "domain '%s' has signed %llu summaries, as many as nodes keep "
            "of one domain (--domain-max): nothing more is published",
            n->domain, (unsigned long long) n->domain_max);
        return WEFT_ELIMIT;
    }
    return WEFT_OK;
}

/* ttl is this domain's summary lifetime (--summary-ttl; a node struct
 * made without weftd's options gets the protocol's). */
static int64_t
ttl(const node *n)
{
    return n->summary_ttl ? n->summary_ttl : PROTO_SUMMARY_TTL;
}

/* lifetime sets sum's expiry: ttl() after it was issued. */
static weft_err
lifetime(node *n, pv_arena *a, pv *sum)
{
    return pv_setint(a, sum, "expires", pv_getint(sum, "issued", 0) + ttl(n));
}

/* A summary made ahead of the loop thread by a helper (publishing):
 * what issue() would sign if it took seq and no contract attached to the
 * descriptor (eff: the model it was built from), sealed, and its words
 * for the index. */
typedef struct spec {
    uint64_t   seq; /* 0: none made */
    pv        *eff;
    pv        *sum;
    weft_buf   env;
    index_doc *ix;
} spec;

/*
 * sign_store judges, signs and stores sum (this domain's, with the next
 * seq) as the current summary of its product. It sets *dirty just before
 * its first write. pre, when not NULL, is sum made and sealed ahead.
 */
static weft_err
sign_store(node *n, store_txn *t, pv_arena *a, pv *sum, const spec *pre,
    pv **out, bool *dirty, pv **verdict)
{
    const char     *id = pv_getstr(sum, "id");
    uint64_t        seq = (uint64_t) pv_getint(sum, "seq", 0);
    uint8_t         k[KEY_MAX + 1];
    size_t          kl;
    weft_buf        sealed;
    const weft_buf *env = pre != NULL ? &pre->env : &sealed;
    pv             *v;
    int             sev;
    weft_err        err;

    /* Judged before anything is written: what the policy rejects is not
     * published at all (the caller reports the reasons). */
    if ((err = gov_judge(n, a, sum, &v)) != WEFT_OK)
        return err;
    if (verdict != NULL)
        *verdict = v;
    if (policy_verdict(v) == POLICY_REJECT)
        return WEFT_EPOLICY;
    weft_buf_init(&sealed, WEFT_SUMMARY_MAX + 256);
    if (pre == NULL && (err = proto_envelope_seal(sum, n->key, &sealed)))
        goto done;
    if ((kl = keyseq(k, n->domain, seq)) == 0) {
        err = WEFT_ETOOBIG;
        goto done;
    }
    /* Into the log first, never over what it holds (a current entry may
     * point at it): refused there, nothing is written. */
    if ((err = store_put_new(t, STORE_LOG, k, kl, env->p, env->len))
        == WEFT_EEXIST) {
        log_msg(LOG_ERROR,
            "domain '%s': its log already holds seq %llu: the store's seq "
            "(%llu) is behind its log; nothing published",
            n->domain, (unsigned long long) seq,
            (unsigned long long) (seq - 1));
        err = WEFT_ESTORE;
    }
    if (err != WEFT_OK)
        goto done;
    *dirty = true;
    if ((err = cur_put(t, id, env->p, env->len, sum, pre ? pre->ix : NULL))
        || (err = due_lower(n, t, pv_getint(sum, "expires", 0)))
        || (err = gov_record(n, t, a, sum, v, &sev))
        || (err = seq_put(t, n->domain, seq)))
        goto done;
    *out = sum;
done:
    weft_buf_free(&sealed);
    return err;
}

/*
 * issue signs and stores a new summary of eff with the next seq. It sets
 * *dirty just before its first write: a failure before that (a summary
 * that cannot be built) has changed nothing in t. pre (or NULL) is a
 * summary a helper made ahead: taken when it is exactly the one issue
 * would build (the same seq, the same model), else left.
 */
static weft_err
issue(node *n, store_txn *t, pv_arena *a, const pv *eff, const uint8_t body[32],
    const spec *pre, pv **out, bool *dirty, pv **verdict)
{
    uint64_t seq;
    pv      *sum;
    weft_err err;

    if ((err = next_seq(n, t, &seq)) != WEFT_OK)
        return err;
    if (pre != NULL && pre->seq == seq && pre->sum != NULL
        && memcmp(pv_get(pre->sum, "body")->u.s.p, body, 32) == 0
        && pv_equal(pre->eff, eff))
        return sign_store(n, t, a, pre->sum, pre, out, dirty, verdict);
    if ((err = proto_summary_build(a, eff, crypto_key_public(n->key), body, seq,
             (int64_t) time(NULL), &sum))
        || (err = lifetime(n, a, sum)))
        return err;
    return sign_store(n, t, a, sum, NULL, out, dirty, verdict);
}

/* same_content reports whether cur and a summary rebuilt from eff differ
 * only in seq and times. */
static bool
same_content(pv_arena *a, const pv *cur, const pv *eff, node *n)
{
    pv *re;

    return proto_summary_build(a, eff, crypto_key_public(n->key),
               (const uint8_t *) pv_get(cur, "body")->u.s.p,
               (uint64_t) pv_getint(cur, "seq", 0), pv_getint(cur, "issued", 0),
               &re)
        == WEFT_OK
        && same_but_times(cur, re);
}

/* reissue rebuilds product id's summary (a contract changed) if needed. */
static weft_err
reissue(node *n, store_txn *t, pv_arena *a, const char *id)
{
    pv      *cur, *desc, *eff, *sum;
    bool     dirty = false; /* reissue runs inside a batch already dirty */
    weft_err err;

    if (catalog_summary(n, t, a, id, &cur) != WEFT_OK
        || strcmp(pv_getstr(cur, "domain"), n->domain) != 0
        || strcmp(pv_getstr(cur, "kind"), "product") != 0)
        return WEFT_OK;
    if ((err = catalog_descriptor(n, t, a, id, NULL, &desc, NULL))
        || (err = effective(n, t, a, desc, cur, &eff)))
        return err == WEFT_ENOTFOUND ? WEFT_OK : err;
    if (same_content(a, cur, eff, n))
        return WEFT_OK;
    return issue(n, t, a, eff, (const uint8_t *) pv_get(cur, "body")->u.s.p,
        NULL, &sum, &dirty, NULL);
}

typedef struct reissue_ctx {
    node      *n;
    store_txn *t;
    pv_arena  *a;
    size_t     skip;
} reissue_ctx;

static int
reissue_cb(void *ctx, store_val k, store_val v)
{
    reissue_ctx *r = ctx;
    char         id[KEY_MAX + 1];
    size_t       n = k.n - r->skip;

    (void) v;
    memcpy(id, k.p + r->skip, n);
    id[n] = 0;
    return reissue(r->n, r->t, r->a, id);
}

/* link records a document's references and refreshes what it touches. */
static weft_err
link(node *n, store_txn *t, pv_arena *a, const pv *desc)
{
    const char *id = pv_getstr(desc, "id"), *dom = pv_getstr(desc, "domain");
    const pv   *cs = pv_get(desc, "contracts");
    uint8_t     k[KEY_MAX + 1];
    char        target[KEY_MAX + 1], slug[160];
    size_t      kl;
    reissue_ctx r = { n, t, a, 0 };
    weft_err    err;

    if (strcmp(pv_getstr(desc, "kind"), "product") == 0) {
        for (uint32_t i = 0; cs && i < cs->u.a.n; i++) {
            if (proto_slug(cs->u.a.v[i]->u.s.p, slug, sizeof(slug)))
                continue;
            snprintf(target, sizeof(target), "%s/%s", dom, slug);
            if ((kl = key3(k, "cid", target, id))
                && (err = store_put(t, STORE_REF, k, kl, "", 0)))
                return err;
        }
        return WEFT_OK;
    }
    /* A contract: link it to its product by name, then refresh products. */
    if (pv_getstr(desc, "data_product") != NULL) {
        snprintf(target, sizeof(target), "%s/%s", dom,
            pv_getstr(desc, "data_product"));
        if ((kl = key3(k, "dp", target, id))
            && (err = store_put(t, STORE_REF, k, kl, "", 0)))
            return err;
        if ((err = reissue(n, t, a, target)) != WEFT_OK)
            return err;
    }
    if ((kl = key3(k, "cid", id, "")) == 0)
        return WEFT_ETOOBIG;
    r.skip = kl;
    return store_each(t, STORE_REF, k, kl, false, reissue_cb, &r);
}

/* ---- publishing ----------------------------------------------------- */

/* where rewrites a "line L, column C: what" diagnostic as "file:L:C: what". */
static void
where(weft_diag *d, const char *file)
{
    unsigned  line, col;
    int       used = 0;
    weft_diag o;

    if (sscanf(d->msg, "line %u, column %u: %n", &line, &col, &used) == 2
        && used > 0)
        snprintf(o.msg, sizeof(o.msg), "%s:%u:%u: %s", file, line, col,
            d->msg + used);
    else
        snprintf(o.msg, sizeof(o.msg), "%s: %s", file, d->msg);
    *d = o;
}

typedef struct pub {
    node       *n;
    store_txn  *t;
    pv_arena   *a;  /* this document's work, reset after it */
    pv_arena   *ra; /* the reply's arena, where res lives */
    const char *file;
    bool        dry_run;
    pv         *res;
    bool        fatal;   /* the transaction holds a partial write */
    pv         *old;     /* the current descriptor being replaced, if held */
    pv         *verdict; /* governance's verdict on the new summary */
} pub;

/*
 * same_source refuses a document whose own id (ODPS/ODCS `id`) differs
 * from the one the held descriptor was published from: two documents
 * whose names give the same slug are two products, not two versions.
 */
static weft_err
same_source(pub *p, const pv *desc, weft_diag *d)
{
    const char *id = pv_getstr(desc, "id"), *was, *now;

    if (catalog_descriptor(p->n, p->t, p->a, id, NULL, &p->old, NULL))
        return WEFT_OK; /* not held (an import without descriptors) */
    was = pv_getstr(p->old, "source_id");
    now = pv_getstr(desc, "source_id");
    if (was != NULL && now != NULL && strcmp(was, now) != 0)
        return weft_diagf(d, WEFT_EEXIST,
            "%s: %s is already published from a document with id %s, and "
            "this one has id %s: give one of them another name",
            p->file, id, was, now);
    return WEFT_OK;
}

static weft_err
check_current(
    pub *p, const pv *desc, const uint8_t hash[32], pv **cur, weft_diag *d)
{
    const char *id = pv_getstr(desc, "id");
    const char *ver = pv_getstr(desc, "version"), *cv, *st;

    *cur = NULL;
    if (catalog_summary(p->n, p->t, p->a, id, cur) != WEFT_OK)
        return WEFT_OK;
    cv = pv_getstr(*cur, "version");
    st = pv_getstr(*cur, "status");
    if (memcmp(pv_get(*cur, "body")->u.s.p, hash, 32) == 0)
        return WEFT_OK;
    if (proto_version_cmp(ver, cv) < 0)
        return weft_diagf(d, WEFT_EVERSION,
            "%s: version %s of %s is lower "
            "than the current version %s",
            p->file, ver, id, cv);
    if (strcmp(st, "retired") == 0 && proto_version_cmp(ver, cv) <= 0)
        return weft_diagf(d, WEFT_ESTATE,
            "%s: %s is retired; publish a "
            "version above %s to bring it back",
            p->file, id, cv);
    if (strcmp(pv_getstr(*cur, "kind"), pv_getstr(desc, "kind")) != 0)
        return weft_diagf(d, WEFT_EEXIST,
            "%s: %s is already a %s; a %s cannot take its id (rename one)",
            p->file, id, pv_getstr(*cur, "kind"), pv_getstr(desc, "kind"));
    return same_source(p, desc, d);
}

/*
 * unlink_old drops the link of a contract whose new version names another
 * data product (or none), and re-signs the product it used to attach to.
 */
static weft_err
unlink_old(pub *p, const pv *desc)
{
    const char *was = p->old ? pv_getstr(p->old, "data_product") : NULL;
    const char *now = pv_getstr(desc, "data_product");
    char        target[KEY_MAX + 1];
    uint8_t     k[KEY_MAX + 1];
    size_t      kl;
    weft_err    err;

    if (strcmp(pv_getstr(desc, "kind"), "contract") != 0 || was == NULL
        || (now != NULL && strcmp(was, now) == 0))
        return WEFT_OK;
    snprintf(target, sizeof(target), "%s/%s", pv_getstr(desc, "domain"), was);
    if ((kl = key3(k, "dp", target, pv_getstr(desc, "id"))) == 0)
        return WEFT_OK;
    err = store_del(p->t, STORE_REF, k, kl);
    if (err != WEFT_OK && err != WEFT_ENOTFOUND)
        return err;
    return reissue(p->n, p->t, p->a, target);
}

static weft_err
store_new(pub *p, const pv *desc, const weft_buf *bytes, const uint8_t hash[32],
    const spec *pre, pv **sum)
{
    const char *id = pv_getstr(desc, "id");
    uint64_t    seq;
    uint8_t     k[KEY_MAX + 1];
    size_t      kl;
    pv         *eff;
    weft_err    err;

    /* Once issue writes, a failure dooms the whole batch (p->fatal). */
    if ((err = effective(p->n, p->t, p->a, desc, NULL, &eff))
        || (err = issue(
                p->n, p->t, p->a, eff, hash, pre, sum, &p->fatal, &p->verdict)))
        return err;
    seq = (uint64_t) pv_getint(*sum, "seq", 0);
    if ((kl = keyseq(k, id, seq)) == 0)
        return WEFT_ETOOBIG;
    if ((err = store_put(p->t, STORE_DESC, k, kl, bytes->p, bytes->len))
        || (err = link(p->n, p->t, p->a, desc)))
        return err;
    return unlink_old(p, desc);
}

/*
 * lint judges what publishing desc would sign, without storing anything
 * (publish --dry-run): the summary is built as issue() would (the seq is
 * a guess: the verdict does not depend on it). A rejection is
 * WEFT_EPOLICY with p->verdict set.
 */
static weft_err
lint(pub *p, const pv *desc, const uint8_t hash[32], const weft_buf *bytes)
{
    pv      *eff, *sum;
    weft_err err;

    (void) bytes;
    if ((err = effective(p->n, p->t, p->a, desc, NULL, &eff))
        || (err = proto_summary_build(p->a, eff, crypto_key_public(p->n->key),
                hash, 1, (int64_t) time(NULL), &sum))
        || (err = gov_judge(p->n, p->a, sum, &p->verdict)))
        return err;
    return policy_verdict(p->verdict) == POLICY_REJECT ? WEFT_EPOLICY : WEFT_OK;
}

/* verdict_out adds the verdict and its reasons to the result. */
static weft_err
verdict_out(pub *p)
{
    const pv *rules = pv_get(p->verdict, "rules");
    pv       *reasons = pv_arr(p->ra);
    char      line[WEFT_REASON_MAX];

    for (uint32_t i = 0;
         reasons && rules && rules->type == PV_ARR && i < rules->u.a.n; i++) {
        const pv   *r = rules->u.a.v[i];
        const char *out = pv_getstr(r, "outcome");

        if (out == NULL || strcmp(out, "pass") == 0)
            continue;
        snprintf(line, sizeof(line), "%s (%s): %s", pv_getstr(r, "rule"), out,
            pv_getstr(r, "reason"));
        if (pv_push(p->ra, reasons, pv_strz(p->ra, line)))
            return WEFT_ENOMEM;
    }
    if (reasons == NULL
        || pv_setstr(p->ra, p->res, "verdict", pv_getstr(p->verdict, "verdict"))
        || pv_setint(
            p->ra, p->res, "policy", pv_getint(p->verdict, "version", 0))
        || pv_set(p->ra, p->res, "reasons", reasons))
        return WEFT_ENOMEM;
    return WEFT_OK;
}

/*
 * A document as the helpers make it ready (prep.h): parsed, normalized,
 * encoded and hashed, or refused with err and d. Its arena then holds
 * the loop thread's work on it too, until the slot is released.
 */
typedef struct ready {
    pv_arena   *a;
    const char *file;
    pv         *desc;
    weft_buf    bytes; /* desc, canonical msgpack */
    uint8_t     hash[32];
    weft_err    err;
    weft_diag   d;
    spec        pre; /* its summary, signed ahead (not for a dry run) */
} ready;

/*
 * Helpers also build, sign and analyze each document's summary ahead,
 * guessing its seq: the loop thread says where the domain's seq stands
 * (next: document i takes seq next + i if every document from the one
 * the loop is at takes one seq). A document that takes none (unchanged,
 * refused) or more (a contract that re-signs a product) makes the guesses
 * of those made meanwhile wrong: the loop thread builds and signs those
 * itself, as it does a product a contract attaches to.
 */
typedef struct ready_ctx {
    const node *n;
    const pv   *docs;
    bool        dry_run;
    int64_t     next; /* atomic: the seq of document 0, as it stands */
} ready_ctx;

/* speculate makes r->pre for document i (on a helper): r->desc is
 * parsed, encoded and hashed. Nothing made when it cannot be. */
static void
speculate(const ready_ctx *c, size_t i, ready *r)
{
    int64_t seq = __atomic_load_n(&c->next, __ATOMIC_RELAXED) + (int64_t) i;
    spec   *s = &r->pre;
    pv     *eff;

    if (seq <= 0 || (uint64_t) seq > c->n->domain_max
        || (eff = shallow(r->a, r->desc)) == NULL
        || (strcmp(pv_getstr(r->desc, "kind"), "product") == 0
            && pv_set(r->a, eff, "contracts", pv_arr(r->a)) != WEFT_OK)
        || proto_summary_build(r->a, eff, crypto_key_public(c->n->key), r->hash,
               (uint64_t) seq, (int64_t) time(NULL), &s->sum)
            != WEFT_OK
        || lifetime((node *) c->n, r->a, s->sum) != WEFT_OK
        || proto_envelope_seal(s->sum, c->n->key, &s->env) != WEFT_OK
        || (s->ix = index_doc_new(s->sum)) == NULL) {
        s->sum = NULL;
        return;
    }
    s->eff = eff;
    s->seq = (uint64_t) seq;
}

/* make_ready prepares document i of the request (any thread: it reads
 * the request and the node's name, and writes only its slot). */
static void
make_ready(void *ctx, size_t i, void *slot)
{
    const ready_ctx *c = ctx;
    ready           *r = slot;
    const pv        *doc = c->docs->u.a.v[i], *data = pv_get(doc, "data");
    const char      *file = pv_getstr(doc, "name"), *dom;
    pv              *parsed;

    r->bytes.len = 0;
    r->desc = NULL;
    r->d.msg[0] = '\0';
    index_doc_free(r->pre.ix);
    r->pre.ix = NULL;
    r->pre.sum = NULL;
    r->pre.eff = NULL;
    r->pre.seq = 0;
    r->pre.env.len = 0;
    r->file = file ? file : "-";
    r->err = WEFT_OK;
    if (r->a == NULL) { /* its arena could not be made again */
        r->err = weft_diagf(&r->d, WEFT_ENOMEM, "%s: out of memory", r->file);
        return;
    }
    pv_arena_reset(r->a);
    if (doc->type != PV_MAP || data == NULL || data->type != PV_BIN) {
        r->err = weft_diagf(&r->d, WEFT_EINVAL,
            "%s: malformed request entry: expected {name, data: bytes}",
            r->file);
        return;
    }
    if (data->u.s.len > WEFT_DOC_MAX) {
        r->err = weft_diagf(&r->d, WEFT_ETOOBIG,
            "%s: %u bytes, over the %u-byte document limit", r->file,
            data->u.s.len, WEFT_DOC_MAX);
        return;
    }
    if ((r->err = proto_yaml_parse(r->a, (const uint8_t *) data->u.s.p,
             data->u.s.len, &parsed, &r->d))
        || (r->err
            = proto_normalize(r->a, parsed, c->n->domain, &r->desc, &r->d))) {
        where(&r->d, r->file);
        return;
    }
    dom = pv_getstr(r->desc, "domain");
    if (strcmp(dom, c->n->domain) != 0) {
        r->err = weft_diagf(&r->d, WEFT_EDOMAIN,
            "%s: domain '%s' is not this node's domain '%s': a node only "
            "speaks for its own domain",
            r->file, dom, c->n->domain);
        return;
    }
    if ((r->err = proto_encode(r->desc, &r->bytes)) != WEFT_OK) {
        weft_diagf(&r->d, r->err, "%s: descriptor: %s", r->file,
            weft_strerror(r->err));
        return;
    }
    crypto_blake2b(r->bytes.p, r->bytes.len, r->hash);
    if (!c->dry_run)
        speculate(c, i, r);
}

static weft_err
publish_one(pub *p, ready *r, weft_diag *d)
{
    bool     changed;
    pv      *desc = r->desc, *cur, *sum = NULL;
    char     hex[65];
    weft_err err;

    if ((err = check_current(p, desc, r->hash, &cur, d)) != WEFT_OK)
        return err;
    changed = cur == NULL || memcmp(pv_get(cur, "body")->u.s.p, r->hash, 32);
    p->verdict = NULL;
    if (!changed)
        sum = cur; /* identical content: nothing changes */
    else if (p->dry_run)
        err = lint(p, desc, r->hash, &r->bytes);
    else if ((err = store_new(p, desc, &r->bytes, r->hash, &r->pre, &sum))) {
        if (err == WEFT_EPOLICY && p->verdict != NULL)
            gov_reasons(p->verdict, p->file, d);
        else if (err == WEFT_ELIMIT)
            weft_diagf(d, err, "%s: domain '%s': %s (%llu)", p->file,
                p->n->domain, weft_strerror(err),
                (unsigned long long) p->n->domain_max);
        else
            weft_diagf(d, err, "%s: store: %s%s", p->file, weft_strerror(err),
                err == WEFT_ESTORE ? " (the node's log says more)" : "");
    }
    if (err == WEFT_OK && p->verdict == NULL && sum != NULL)
        err = gov_judge(p->n, p->a, sum, &p->verdict);
    if (err == WEFT_OK && p->verdict != NULL)
        err = verdict_out(p);
    if (err == WEFT_EPOLICY && p->dry_run)
        gov_reasons(p->verdict, p->file, d);
    crypto_hex(r->hash, 32, hex);
    if (err == WEFT_OK
        && ((err = pv_setstr(p->ra, p->res, "id", pv_getstr(desc, "id")))
            || (err = pv_setstr(p->ra, p->res, "name", pv_getstr(desc, "name")))
            || (err = pv_setstr(p->ra, p->res, "kind", pv_getstr(desc, "kind")))
            || (err = pv_setstr(
                    p->ra, p->res, "version", pv_getstr(desc, "version")))
            || (err = pv_setint(
                    p->ra, p->res, "seq", sum ? pv_getint(sum, "seq", 0) : 0))
            || (err = pv_setstr(p->ra, p->res, "hash", hex))
            || (err
                = pv_set(p->ra, p->res, "changed", pv_bool(p->ra, changed)))))
        weft_diagf(d, err, "%s: %s", p->file, weft_strerror(err));
    return err;
}

/* Helpers run ahead by at most this many bytes of documents (and one
 * document more), and a slot lets go of its arena and buffer after a
 * document over READY_KEEP bytes: a batch of large documents costs about
 * what one did before helpers. */
#define READY_BUDGET WEFT_DOC_MAX
#define READY_KEEP   ((size_t) 256 << 10)

/* doc_cost is what document i weighs for the helpers: its bytes. */
static size_t
doc_cost(const pv *doc)
{
    const pv *data = pv_get(doc, "data");

    return data != NULL && data->type == PV_BIN ? data->u.s.len : 0;
}

/* ready_free frees the ring's slots (NULL entries are fine). */
static void
ready_free(ready *ring)
{
    for (size_t k = 0; k < PREP_RING; k++) {
        pv_arena_free(ring[k].a);
        weft_buf_free(&ring[k].bytes);
        weft_buf_free(&ring[k].pre.env);
        index_doc_free(ring[k].pre.ix);
    }
    free(ring);
}

weft_err
catalog_publish(node *n, pv_arena *a, const pv *docs, bool dry_run, pv *results,
    weft_diag *why)
{
    ready     *ring;
    size_t    *cost;
    void      *slots[PREP_RING];
    ready_ctx  rc = { n, docs, dry_run, 0 };
    uint64_t   seq = 0;
    prep      *pp = NULL;
    store_txn *t = NULL;
    weft_err   err = WEFT_OK;
    uint32_t   ok = 0;

    /* Helpers parse, normalize and hash the documents ahead of this
     * thread, which checks, signs and stores them in order: each in its
     * slot's arena, so a batch of thousands costs the memory of the
     * ring. */
    if ((cost = calloc(docs->u.a.n + 1, sizeof(*cost))) == NULL)
        return WEFT_ENOMEM;
    for (uint32_t i = 0; i < docs->u.a.n; i++)
        cost[i] = doc_cost(docs->u.a.v[i]);
    if ((ring = calloc(PREP_RING, sizeof(*ring))) == NULL) {
        free(cost);
        return WEFT_ENOMEM;
    }
    for (size_t k = 0; k < PREP_RING; k++) {
        weft_buf_init(&ring[k].bytes, WEFT_DESC_MAX);
        weft_buf_init(&ring[k].pre.env, WEFT_SUMMARY_MAX + 256);
        if ((ring[k].a = pv_arena_new((size_t) WEFT_DOC_MAX * 32)) == NULL)
            err = WEFT_ENOMEM;
        slots[k] = &ring[k];
    }
    /* The write transaction first: the helpers' guesses start at the
     * domain's seq. */
    if (err == WEFT_OK && (err = store_begin(n->st, true, &t)) == WEFT_OK
        && (err = seq_get(t, n->domain, &seq)) == WEFT_OK)
        rc.next = (int64_t) seq + 1;
    if (err != WEFT_OK
        || (pp = prep_start(docs->u.a.n, cost, READY_BUDGET, prep_helpers(),
                make_ready, &rc, slots, PREP_RING))
            == NULL) {
        store_abort(t);
        prep_stop(pp);
        ready_free(ring);
        free(cost);
        return err != WEFT_OK ? err : WEFT_ENOMEM;
    }
    for (uint32_t i = 0; i < docs->u.a.n; i++) {
        ready *r = prep_get(pp, i);
        pv    *res = pv_map(a);
        pub    p = { n, t, r->a, a, r->file, dry_run, res, false, NULL, NULL };
        weft_diag d = { "" };

        if (res == NULL || pv_push(a, results, res) != WEFT_OK) {
            err = WEFT_ENOMEM;
            break;
        }
        pv_setstr(a, res, "file", p.file);
        if ((err = r->err) != WEFT_OK)
            d = r->d;
        else
            err = publish_one(&p, r, &d);
        if (cost[i] > READY_KEEP) { /* do not keep large buffers about */
            weft_buf_free(&r->bytes);
            pv_arena_free(r->a);
            r->a = pv_arena_new((size_t) WEFT_DOC_MAX * 32);
        }
        prep_release(pp, i);
        pv_set(a, res, "ok", pv_bool(a, err == WEFT_OK));
        pv_setint(a, res, "code", err);
        if (err != WEFT_OK) {
            pv_setstr(a, res, "error", d.msg[0] ? d.msg : weft_strerror(err));
            log_msg(LOG_INFO, "publish refused: %s", d.msg);
        } else
            ok++;
        if (p.fatal && err != WEFT_OK) {
            *why = d; /* the transaction holds half a publish: drop it */
            break;
        }
        /* Where the seq stands for the documents after this one. */
        if (!dry_run && seq_get(t, n->domain, &seq) == WEFT_OK)
            __atomic_store_n(&rc.next, (int64_t) seq + 1 - (int64_t) (i + 1),
                __ATOMIC_RELAXED);
        err = WEFT_OK;
    }
    prep_stop(pp);
    ready_free(ring);
    free(cost);
    if (err != WEFT_OK || dry_run || ok == 0) {
        store_abort(t);
        return err;
    }
    return store_commit(t);
}

/* ---- status changes ------------------------------------------------- */

static weft_err
status_check(
    node *n, const pv *cur, const char *id, const char *status, weft_diag *d)
{
    const char *st = pv_getstr(cur, "status");

    if (strcmp(pv_getstr(cur, "domain"), n->domain) != 0)
        return weft_diagf(d, WEFT_EDOMAIN,
            "%s belongs to domain '%s'; only "
            "its own node can change it",
            id, pv_getstr(cur, "domain"));
    if (strcmp(st, "retired") == 0)
        return weft_diagf(d, WEFT_ESTATE, "%s is already retired", id);
    if (strcmp(st, status) == 0 && strcmp(status, "deprecated") != 0)
        return weft_diagf(d, WEFT_ESTATE, "%s is already %s", id, status);
    return WEFT_OK;
}

static pv *
deprecation(pv_arena *a, const char *reason, const char *sunset,
    const char *replaced_by)
{
    pv *m = pv_map(a);

    if (m == NULL || pv_setstr(a, m, "reason", reason)
        || pv_setstr(a, m, "sunset", sunset)
        || pv_setstr(a, m, "replaced_by", replaced_by))
        return NULL;
    return m;
}

weft_err
catalog_set_status(node *n, pv_arena *a, const char *id, const char *status,
    const char *reason, const char *sunset, const char *replaced_by, pv **out,
    weft_diag *d)
{
    pv        *verdict = NULL;
    store_txn *t;
    pv        *cur, *desc, *eff, *st, *sum;
    bool       dirty = false; /* any failure aborts t anyway */
    weft_err   err;

    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        return weft_diagf(d, err, "store: %s", weft_strerror(err));
    if ((err = catalog_summary(n, t, a, id, &cur)) != WEFT_OK) {
        weft_diagf(d, err, "%s: no such product", id);
        goto fail;
    }
    if ((err = status_check(n, cur, id, status, d)) != WEFT_OK)
        goto fail;
    if ((err = catalog_descriptor(n, t, a, id, NULL, &desc, NULL))) {
        weft_diagf(d, err, "%s: descriptor: %s", id, weft_strerror(err));
        goto fail;
    }
    if ((st = pv_map(a)) == NULL || (err = pv_setstr(a, st, "status", status))
        || (err = pv_set(a, st, "deprecation",
                reason || sunset || replaced_by
                    ? deprecation(a, reason, sunset, replaced_by)
                    : pv_get(cur, "deprecation")))
        || (err = effective(n, t, a, desc, st, &eff))
        || (err
            = issue(n, t, a, eff, (const uint8_t *) pv_get(cur, "body")->u.s.p,
                NULL, &sum, &dirty, &verdict))
        /* A contract's products are re-signed: retired, it detaches. */
        || (err = link(n, t, a, desc))) {
        if (err == WEFT_EPOLICY)
            gov_reasons(verdict, id, d);
        else
            weft_diagf(d, err ? err : WEFT_ENOMEM, "%s: %s", id,
                weft_strerror(err ? err : WEFT_ENOMEM));
        goto fail;
    }
    if ((err = store_commit(t)) != WEFT_OK)
        return weft_diagf(d, err, "store: %s", weft_strerror(err));
    *out = sum;
    return WEFT_OK;
fail:
    store_abort(t);
    return err ? err : WEFT_ENOMEM;
}

/* ---- renewal -------------------------------------------------------- */

typedef struct due {
    char      **ids; /* products to sign again */
    size_t      n, looked, scan;
    int64_t     by; /* renew what expires before this */
    bool        stopped;
    renew_pass *p;
    pv_arena   *a;
    store_txn  *t;
} due;

static int
due_cb(void *ctx, store_val k, store_val v)
{
    due    *u = ctx;
    pv     *sum;
    int64_t exp;

    if (u->looked == u->scan || u->n == RENEW_MAX) {
        u->stopped = true; /* enough for one turn: this one is next */
        return -1;
    }
    if (k.n > WEFT_ID_MAX)
        return WEFT_ESTORE;
    u->looked++;
    memcpy(u->p->from, k.p, k.n);
    u->p->from[k.n] = 0;
    pv_arena_reset(u->a);
    if (catalog_cur_env(u->t, k, v, &v) != WEFT_OK
        || proto_envelope_read(u->a, v.p, v.n, &sum, NULL) != WEFT_OK)
        return WEFT_ESTORE; /* it was checked when it was stored */
    exp = pv_getint(sum, "expires", 0);
    if (exp >= u->by) {
        if (exp < u->p->next)
            u->p->next = exp; /* the next to come due */
        return 0;
    }
    if ((u->ids[u->n] = strdup(u->p->from)) == NULL)
        return WEFT_ENOMEM;
    u->n++;
    return 0;
}

/* renew_one signs product id's current summary again: the same content,
 * the next seq, issued now (*done), unless the policy now rejects it. */
static weft_err
renew_one(
    node *n, store_txn *t, pv_arena *a, const char *id, int64_t now, bool *done)
{
    pv      *cur, *sum, *out, *verdict = NULL;
    uint64_t seq;
    bool     dirty = false;
    weft_err err;

    if ((err = catalog_summary(n, t, a, id, &cur)) != WEFT_OK)
        return err;
    if ((err = next_seq(n, t, &seq)) != WEFT_OK)
        return err;
    if ((sum = shallow(a, cur)) == NULL)
        return WEFT_ENOMEM;
    if ((err = pv_setint(a, sum, "seq", (int64_t) seq))
        || (err = pv_setint(a, sum, "issued", now))
        || (err = lifetime(n, a, sum)))
        return err;
    err = sign_store(n, t, a, sum, NULL, &out, &dirty, &verdict);
    if (err == WEFT_EPOLICY) {
        /* Each pass tries again: it expires unless the policy (or the
         * product, published anew) changes. */
        log_msg(LOG_WARN,
            "%s: not signed again, the policy now rejects it (weft why %s)", id,
            id);
        return dirty ? WEFT_ESTORE : WEFT_OK;
    }
    *done = err == WEFT_OK;
    return err;
}

weft_err
catalog_renew(node *n, int64_t now, renew_pass *p, size_t scan, size_t *renewed)
{
    char      *ids[RENEW_MAX];
    char       pre[WEFT_DOMAIN_MAX + 2];
    due        u = { 0 };
    uint8_t    b[8];
    size_t     pl, done = 0;
    int64_t    bound;
    store_val  v;
    store_txn *t;
    bool       end, full = false;
    weft_err   err;

    *renewed = 0;
    /* A third of the lifetime before expiry: a node that is down for a
     * while on the day still renews in time. */
    u.by = now + ttl(n) / 3;
    pl = (size_t) snprintf(pre, sizeof(pre), "%s/", n->domain);
    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        return err;
    if (p->from[0] == 0) { /* a new pass, if anything may be due */
        if (store_get(t, STORE_META, "renew_due", 9, &v) == WEFT_OK && v.n == 8
            && (int64_t) store_be_u64(v.p) >= u.by) {
            store_abort(t);
            return WEFT_OK;
        }
        p->next = INT64_MAX;
        n->renew_low = INT64_MAX;
        memcpy(p->from, pre, pl + 1);
    }
    if ((u.a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL) {
        store_abort(t);
        return WEFT_ENOMEM;
    }
    u.ids = ids;
    u.scan = scan;
    u.p = p;
    u.t = t;
    /* This domain's current summaries: their ids start with "domain/". */
    err = store_range(
        t, STORE_CUR, pre, pl, p->from, strlen(p->from), due_cb, &u);
    if ((int) err == -1)
        err = WEFT_OK;
    for (size_t i = 0; err == WEFT_OK && i < u.n; i++) {
        bool one = false;

        pv_arena_reset(u.a);
        err = renew_one(n, t, u.a, ids[i], now, &one);
        done += one;
        if (err == WEFT_ELIMIT) {
            /* --domain-max: keep what was signed; the next check (not
             * the next turn) tries again. next_seq said so in the log. */
            full = true;
            err = WEFT_OK;
            break;
        }
    }
    for (size_t i = 0; i < u.n; i++)
        free(ids[i]);
    pv_arena_free(u.a);
    /* The pass is over once the walk reached the end of the domain's
     * products: what it renewed, and anything signed from now on, expires
     * after now + ttl. */
    end = full || !u.stopped;
    if (err == WEFT_OK && end) {
        bound = full ? now : now + ttl(n);
        if (p->next < bound)
            bound = p->next;
        if (n->renew_low < bound)
            bound = n->renew_low;
        store_u64_be(b, (uint64_t) bound);
        err = store_put(t, STORE_META, "renew_due", 9, b, 8);
    }
    if (err == WEFT_OK && (done > 0 || end))
        err = store_commit(t);
    else
        store_abort(t);
    if (err != WEFT_OK || end) {
        p->from[0] = 0;
        if (err != WEFT_OK)
            return err;
    } else {
        /* Go on after the last one looked at. */
        size_t l = strlen(p->from);

        p->from[l] = 1; /* ... the smallest key above it: the id + 0x01 */
        p->from[l + 1] = 0;
    }
    *renewed = done;
    return WEFT_OK;
}

/* ---- list items ----------------------------------------------------- */

pv *
catalog_item(pv_arena *a, const pv *sum)
{
    static const char *const same[]
        = { "id", "domain", "name", "version", "seq", "status", "owner", "kind",
              "tags", "deprecation", "issued", "expires" };
    pv  *m = pv_map(a), *h;
    char hex[65];

    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        if (pv_set(a, m, same[i], pv_get(sum, same[i])) != WEFT_OK)
            return NULL;
    h = pv_get(sum, "body");
    crypto_hex((const uint8_t *) h->u.s.p, 32, hex);
    if (pv_set(a, m, "classification", pv_get(sum, "class"))
        || pv_set(a, m, "description", pv_get(sum, "desc"))
        || pv_setstr(a, m, "hash", hex)
        || (proto_summary_expired(sum, (int64_t) time(NULL))
            && pv_set(a, m, "expired", pv_bool(a, true))))
        return NULL;
    return m;
}

/* ---- replicas ------------------------------------------------------- */

weft_err
catalog_bind_key(
    node *n, store_txn *t, const char *dom, const uint8_t *pk, weft_diag *d)
{
    store_val v;
    char      fp[CRYPTO_FP_CHARS + 1], have[CRYPTO_FP_CHARS + 1];
    weft_err  err = store_get(t, STORE_DKEY, dom, strlen(dom), &v);

    (void) n;
    if (err == WEFT_ENOTFOUND)
        return store_put(t, STORE_DKEY, dom, strlen(dom), pk, 32);
    if (err != WEFT_OK)
        return err;
    if (v.n == 32 && memcmp(v.p, pk, 32) == 0)
        return WEFT_OK;
    crypto_fingerprint(pk, fp);
    crypto_fingerprint(v.p, have);
    return weft_diagf(d, WEFT_EDOMAIN,
        "domain '%s' is bound to key %s; "
        "refusing a summary signed by key %s",
        dom, have, fp);
}

/* log_has reports whether the domain's log holds seq, and its bytes. */
static bool
log_has(store_txn *t, const char *dom, uint64_t seq, store_val *v)
{
    uint8_t k[KEY_MAX + 1];
    size_t  kl = keyseq(k, dom, seq);

    return kl != 0 && store_get(t, STORE_LOG, k, kl, v) == WEFT_OK;
}

/* equivocation keeps the second of two different summaries with the same
 * domain and seq as proof, and flags the domain. */
static weft_err
equivocation(store_txn *t, const char *dom, uint64_t seq, const uint8_t *env,
    size_t envlen, bool *fresh)
{
    uint8_t   k[KEY_MAX + 1], s8[8];
    size_t    kl;
    store_val v;
    weft_err  err;

    store_u64_be(s8, seq);
    if ((kl = key3(k, "eq", dom, "")) == 0 || kl + 8 > KEY_MAX)
        return WEFT_ETOOBIG;
    memcpy(k + kl, s8, 8);
    /* The proof is held already: nothing new (and nothing to forward). */
    *fresh = store_get(t, STORE_REF, k, kl + 8, &v) != WEFT_OK;
    if (!*fresh)
        return WEFT_OK;
    if ((err = store_put(t, STORE_REF, k, kl + 8, env, envlen)))
        return err;
    kl = key3(k, "flag", dom, NULL);
    return store_put(t, STORE_REF, k, kl, s8, 8);
}

static weft_err
own_seq_at_least(store_txn *t, const char *dom, uint64_t seq)
{
    uint64_t hw;
    weft_err err = seq_get(t, dom, &hw);

    return err != WEFT_OK || hw >= seq ? err : seq_put(t, dom, seq);
}

/*
 * fill_desc stores a descriptor the node lacks for the summary it holds
 * as current, when desc is exactly what that summary signs.
 */
static weft_err
fill_desc(node *n, store_txn *t, pv_arena *a, const char *id,
    const uint8_t *desc, size_t desclen)
{
    uint8_t k[KEY_MAX + 1], h[32];
    size_t  kl;
    pv     *cur, *held;

    if (desc == NULL || catalog_summary(n, t, a, id, &cur) != WEFT_OK)
        return WEFT_OK;
    crypto_blake2b(desc, desclen, h);
    if (memcmp(h, pv_get(cur, "body")->u.s.p, 32) != 0
        || catalog_descriptor(n, t, a, id, NULL, &held, NULL) == WEFT_OK)
        return WEFT_OK;
    if ((kl = keyseq(k, id, (uint64_t) pv_getint(cur, "seq", 0))) == 0)
        return WEFT_ETOOBIG;
    return store_put(t, STORE_DESC, k, kl, desc, desclen);
}

/* advance moves the domain's contiguous high-water mark past seq. */
static weft_err
advance(store_txn *t, const char *dom)
{
    uint64_t  hw;
    store_val v;
    weft_err  err;

    if ((err = seq_get(t, dom, &hw)) != WEFT_OK)
        return err;
    while (log_has(t, dom, hw + 1, &v))
        hw++;
    return seq_put(t, dom, hw);
}

/* mark moves dom's seq for a summary with seq newly in its log: our own
 * counter stays at or above every seq we ever signed, gaps or not (or
 * the next publish would take one); another domain's mark is the seq it
 * holds without gaps. */
static weft_err
mark(node *n, store_txn *t, const char *dom, uint64_t seq)
{
    return strcmp(dom, n->domain) == 0 ? own_seq_at_least(t, dom, seq)
                                       : advance(t, dom);
}

/*
 * over drops a summary past the domain's bound (--domain-max): it is not
 * kept, and once all the domain's summaries up to the bound are held,
 * the domain's mark moves past it, so anti-entropy stops offering it.
 * Not a refusal: the peer that relays it may keep more than we do.
 */
static weft_err
over(node *n, store_txn *t, const char *dom, uint64_t seq, accept_outcome *out)
{
    static char said[WEFT_DOMAIN_MAX + 1]; /* log once per domain in a row */
    uint64_t    hw;
    weft_err    err;

    *out = ACCEPT_OVER;
    if (strcmp(said, dom) != 0) {
        snprintf(said, sizeof(said), "%s", dom);
        log_msg(LOG_WARN,
            "domain '%s' signed more than %llu summaries, as many as this "
            "node keeps of one domain (--domain-max): the rest are dropped",
            dom, (unsigned long long) n->domain_max);
    }
    if ((err = seq_get(t, dom, &hw)) != WEFT_OK || hw < n->domain_max
        || seq <= hw)
        return err;
    return seq_put(t, dom, seq);
}

weft_err
catalog_accept(node *n, store_txn *t, pv_arena *a, const pv *sum,
    const uint8_t *env, size_t envlen, const uint8_t *desc, size_t desclen,
    const index_doc *ix, accept_outcome *out, weft_diag *d)
{
    const char *id = pv_getstr(sum, "id"), *dom = pv_getstr(sum, "domain");
    uint64_t    seq = (uint64_t) pv_getint(sum, "seq", 0);
    uint8_t     k[KEY_MAX + 1];
    size_t      kl;
    store_val   v;
    pv         *cur;
    bool        fresh;
    int         sev;
    weft_err    err;

    *out = ACCEPT_HELD;
    if (seq > n->domain_max)
        return over(n, t, dom, seq, out);
    if ((err = catalog_bind_key(
             n, t, dom, (const uint8_t *) pv_get(sum, "origin")->u.s.p, d))
        != WEFT_OK)
        return err;
    if ((kl = keyseq(k, dom, seq)) == 0)
        return WEFT_ETOOBIG;
    if (log_has(t, dom, seq, &v)) {
        if (v.n == envlen && memcmp(v.p, env, envlen) == 0)
            return fill_desc(n, t, a, id, desc, desclen); /* a replay */
        if ((err = equivocation(t, dom, seq, env, envlen, &fresh)) != WEFT_OK
            || !fresh)
            return err;
        *out = ACCEPT_EQUIVOCATION;
        log_msg(LOG_WARN,
            "domain '%s' signed two different summaries with seq %llu: "
            "both kept as proof",
            dom, (unsigned long long) seq);
        return WEFT_OK;
    }
    /* Every signed summary goes to the domain's log (history). */
    if ((err = store_put(t, STORE_LOG, k, kl, env, envlen))
        || (err = mark(n, t, dom, seq)))
        return err;
    *out = ACCEPT_LOGGED;
    if (catalog_summary(n, t, a, id, &cur) == WEFT_OK
        && pv_getint(cur, "seq", 0) >= (int64_t) seq)
        return WEFT_OK; /* older than the current one: history only */
    /* Current now: judged under the node's policy; the verdict is kept
     * with it (a rejected one is served to no query). */
    if ((err = cur_put(t, id, env, envlen, sum, ix))
        || (strcmp(dom, n->domain) == 0
            && (err = due_lower(n, t, pv_getint(sum, "expires", 0))))
        || (err = gov_record(n, t, a, sum, NULL, &sev)))
        return err;
    if (desc != NULL) {
        if ((kl = keyseq(k, id, seq)) == 0)
            return WEFT_ETOOBIG;
        if ((err = store_put(t, STORE_DESC, k, kl, desc, desclen)))
            return err;
    }
    *out = ACCEPT_ADDED;
    return WEFT_OK;
}

weft_err
catalog_cache_desc(node *n, const char *id, const uint8_t *desc, size_t len)
{
    pv_arena  *a = pv_arena_new((size_t) WEFT_DESC_MAX * 8);
    store_txn *t = NULL;
    pv        *dv;
    weft_err   err;

    if (a == NULL)
        return WEFT_ENOMEM;
    if ((err = proto_decode(a, desc, len, &dv, NULL)) != WEFT_OK
        || pv_getstr(dv, "id") == NULL || strcmp(pv_getstr(dv, "id"), id) != 0
        || pv_get(dv, "source") == NULL)
        err = err ? err : WEFT_ESCHEMA;
    else if ((err = store_begin(n->st, true, &t)) == WEFT_OK
        && (err = fill_desc(n, t, a, id, desc, len)) == WEFT_OK) {
        err = store_commit(t);
        t = NULL;
    }
    store_abort(t);
    pv_arena_free(a);
    return err;
}

weft_err
catalog_log_get(store_txn *t, const char *dom, uint64_t seq, store_val *out)
{
    return log_has(t, dom, seq, out) ? WEFT_OK : WEFT_ENOTFOUND;
}
