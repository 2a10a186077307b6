/*
 * bundle.c: export and import for air-gapped transfer. A bundle is every
 * signed summary the node holds, each with its descriptor when the node
 * has it, wrapped and signed by the exporting domain:
 *   outer = {bundle: bytes, sig: Ed25519(PROTO_BUNDLE_PREFIX, bytes)}
 *   bytes = canonical {format: "weft-bundle", v: 1, domain, key, created,
 *                      entries: [{env: bytes, desc: bytes | nil}]}
 * Import checks everything first (the bundle signature, every summary's
 * own signature, every descriptor against its summary's body hash) and
 * refuses the whole bundle on the first failure; only then does it store,
 * in one transaction.
 */
#include "node/node.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct exp_ctx {
    node      *n;
    store_txn *t;
    pv_arena  *a;
    pv        *entries;
    weft_err   err;
} exp_ctx;

static int
export_cb(void *ctx, store_val k, store_val v)
{
    exp_ctx *e = ctx;
    pv      *sum, *ent = pv_map(e->a), *desc;
    char     id[512];
    weft_buf b;

    if (k.n >= sizeof(id) || ent == NULL)
        return e->err = WEFT_ENOMEM;
    memcpy(id, k.p, k.n);
    id[k.n] = 0;
    if ((e->err = catalog_cur_env(e->t, k, v, &v))
        || (e->err = proto_envelope_read(e->a, v.p, v.n, &sum, NULL))
        || (e->err = pv_set(e->a, ent, "env", pv_bin(e->a, v.p, v.n))))
        return e->err;
    weft_buf_init(&b, WEFT_DESC_MAX);
    e->err = catalog_descriptor(e->n, e->t, e->a, id, NULL, &desc, NULL);
    if (e->err == WEFT_ENOTFOUND) /* a replica without its descriptor */
        e->err = pv_set(e->a, ent, "desc", pv_nil(e->a));
    else if (e->err == WEFT_OK && (e->err = proto_encode(desc, &b)) == WEFT_OK)
        e->err = pv_set(e->a, ent, "desc", pv_bin(e->a, b.p, b.len));
    weft_buf_free(&b);
    if (e->err == WEFT_OK)
        e->err = pv_push(e->a, e->entries, ent);
    return e->err;
}

static weft_err
seal(node *n, const pv *inner, weft_buf *out)
{
    weft_buf  b;
    uint8_t   sig[CRYPTO_SIG_BYTES];
    pv_arena *a = pv_arena_new(4096);
    pv       *outer;
    weft_err  err;

    weft_buf_init(&b, WEFT_MSG_MAX - 1024);
    if (a == NULL || (outer = pv_map(a)) == NULL)
        err = WEFT_ENOMEM;
    else if ((err = proto_encode(inner, &b)) == WEFT_OK
        && (err = crypto_sign_msg(n->key, PROTO_BUNDLE_PREFIX, b.p, b.len, sig))
            == WEFT_OK
        && (err = pv_set(a, outer, "sig", pv_bin(a, sig, sizeof(sig))))
            == WEFT_OK) {
        /* Reference the bytes rather than copy them into the arena. */
        pv body = { .type = PV_BIN };

        body.u.s.p = (const char *) b.p;
        body.u.s.len = (uint32_t) b.len;
        if ((err = pv_set(a, outer, "bundle", &body)) == WEFT_OK)
            err = proto_encode(outer, out);
    }
    weft_buf_free(&b);
    pv_arena_free(a);
    return err;
}

weft_err
bundle_export(node *n, weft_buf *out, uint64_t *count)
{
    pv_arena *a = pv_arena_new((size_t) WEFT_MSG_MAX * 4);
    exp_ctx   e = { n, NULL, a, NULL, WEFT_OK };
    pv       *inner;
    weft_err  err;

    if (a == NULL || (inner = pv_map(a)) == NULL
        || (e.entries = pv_arr(a)) == NULL) {
        pv_arena_free(a);
        return WEFT_ENOMEM;
    }
    if ((err = store_begin(n->st, false, &e.t)) != WEFT_OK)
        goto done;
    err = store_each(e.t, STORE_CUR, NULL, 0, false, export_cb, &e);
    store_abort(e.t);
    if (err != WEFT_OK || (err = pv_setstr(a, inner, "format", "weft-bundle"))
        || (err = pv_setint(a, inner, "v", 1))
        || (err = pv_setstr(a, inner, "domain", n->domain))
        || (err
            = pv_set(a, inner, "key", pv_bin(a, crypto_key_public(n->key), 32)))
        || (err = pv_setint(a, inner, "created", (int64_t) time(NULL)))
        || (err = pv_set(a, inner, "entries", e.entries)))
        goto done;
    *count = e.entries->u.a.n;
    err = seal(n, inner, out);
done:
    pv_arena_free(a);
    return err;
}

/* open_outer verifies the bundle signature and decodes the inner map. */
static weft_err
open_outer(pv_arena *a, const uint8_t *p, size_t len, pv **inner, weft_diag *d)
{
    pv      *outer, *body, *sig, *key;
    weft_err err;

    if ((err = proto_decode(a, p, len, &outer, d)) != WEFT_OK)
        return err;
    body = pv_get(outer, "bundle");
    sig = pv_get(outer, "sig");
    if (outer->type != PV_MAP || outer->u.m.n != 2 || !body || !sig
        || body->type != PV_BIN || sig->type != PV_BIN || sig->u.s.len != 64)
        return weft_diagf(d, WEFT_ESCHEMA,
            "not a weft bundle: expected "
            "{bundle, sig}");
    if ((err = proto_decode(
             a, (const uint8_t *) body->u.s.p, body->u.s.len, inner, d))
        != WEFT_OK)
        return err;
    key = pv_get(*inner, "key");
    if (pv_getstr(*inner, "format") == NULL
        || strcmp(pv_getstr(*inner, "format"), "weft-bundle") != 0
        || pv_getint(*inner, "v", 0) != 1 || key == NULL
        || pv_getstr(*inner, "domain") == NULL || key->type != PV_BIN
        || key->u.s.len != 32 || pv_get(*inner, "entries") == NULL
        || pv_get(*inner, "entries")->type != PV_ARR)
        return weft_diagf(d, WEFT_ESCHEMA, "not a weft bundle (format v1)");
    /* The exporter's domain is bound to its key in the store: it must be
     * a domain name like every other bound one. */
    if (!proto_domain_ok(pv_getstr(*inner, "domain")))
        return weft_diagf(d, WEFT_ESCHEMA,
            "bundle exporter '%.64s' is not a domain name",
            pv_getstr(*inner, "domain"));
    if (crypto_verify_msg((const uint8_t *) key->u.s.p, PROTO_BUNDLE_PREFIX,
            (const uint8_t *) body->u.s.p, body->u.s.len,
            (const uint8_t *) sig->u.s.p)
        != WEFT_OK)
        return weft_diagf(d, WEFT_EBADSIG,
            "bundle signature does not "
            "verify: the bundle was altered");
    return WEFT_OK;
}

/* desc_matches reports whether descriptor dv is a normalized model that
 * agrees with summary sum. */
static bool
desc_matches(const pv *dv, const pv *sum)
{
    static const char *const same[] = { "id", "domain", "kind", "version" };
    static const struct {
        const char *key;
        pv_type     type;
    } shape[] = { { "name", PV_STR }, { "slug", PV_STR }, { "status", PV_STR },
        { "format", PV_STR }, { "source", PV_MAP }, { "quality", PV_MAP },
        { "tags", PV_ARR }, { "schemas", PV_ARR }, { "interfaces", PV_ARR },
        { "inputs", PV_ARR } };

    if (dv->type != PV_MAP)
        return false;
    for (size_t i = 0; i < sizeof(shape) / sizeof(shape[0]); i++) {
        const pv *v = pv_get(dv, shape[i].key);

        if (v == NULL || v->type != shape[i].type)
            return false;
    }
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        const char *x = pv_getstr(dv, same[i]), *y = pv_getstr(sum, same[i]);

        if (x == NULL || y == NULL || strcmp(x, y) != 0)
            return false;
    }
    return true;
}

/* check_entry verifies entry i fully; *sum is its summary. */
static weft_err
check_entry(pv_arena *a, const pv *ent, uint32_t i, pv **sum, weft_diag *d)
{
    const pv *env = pv_get(ent, "env"), *desc = pv_get(ent, "desc");
    uint8_t   h[32];
    pv       *dv;
    weft_diag sub = { "" };
    weft_err  err;

    if (ent->type != PV_MAP || env == NULL || env->type != PV_BIN
        || desc == NULL || (desc->type != PV_BIN && desc->type != PV_NIL))
        return weft_diagf(d, WEFT_ESCHEMA, "bundle entry %u: malformed", i);
    if ((err = proto_envelope_open(
             a, (const uint8_t *) env->u.s.p, env->u.s.len, sum, &sub))
        != WEFT_OK)
        return weft_diagf(d, err, "bundle entry %u: %s", i, sub.msg);
    if ((err = proto_summary_timely(*sum, (int64_t) time(NULL), &sub)))
        return weft_diagf(d, err, "bundle entry %u (%s): %s", i,
            pv_getstr(*sum, "id"), sub.msg);
    if (desc->type == PV_NIL)
        return WEFT_OK;
    crypto_blake2b((const uint8_t *) desc->u.s.p, desc->u.s.len, h);
    if (memcmp(h, pv_get(*sum, "body")->u.s.p, 32) != 0)
        return weft_diagf(d, WEFT_EHASH,
            "bundle entry %u (%s): descriptor "
            "does not match the signed body hash",
            i, pv_getstr(*sum, "id"));
    if ((err = proto_decode(
             a, (const uint8_t *) desc->u.s.p, desc->u.s.len, &dv, &sub))
        != WEFT_OK)
        return weft_diagf(
            d, err, "bundle entry %u: descriptor: %s", i, sub.msg);
    if (!desc_matches(dv, *sum))
        return weft_diagf(d, WEFT_ESCHEMA,
            "bundle entry %u (%s): descriptor is not a weft model of this "
            "summary (id, domain, kind, version and source must agree)",
            i, pv_getstr(*sum, "id"));
    return WEFT_OK;
}

weft_err
bundle_import(node *n, const uint8_t *p, size_t len, uint64_t *added,
    uint64_t *skipped, char exporter[WEFT_DOMAIN_MAX + 1], weft_diag *d)
{
    pv_arena  *a = pv_arena_new(len * 8 + ((size_t) 1 << 20));
    pv        *inner, **sums = NULL;
    const pv  *ents;
    store_txn *t = NULL;
    weft_err   err;

    *added = *skipped = 0;
    if (a == NULL)
        return WEFT_ENOMEM;
    if ((err = open_outer(a, p, len, &inner, d)) != WEFT_OK)
        goto done;
    ents = pv_get(inner, "entries");
    if ((sums = pv_alloc(a, (ents->u.a.n + 1) * sizeof(pv *))) == NULL) {
        err = WEFT_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < ents->u.a.n; i++)
        if ((err = check_entry(a, ents->u.a.v[i], i, &sums[i], d)))
            goto done;
    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        goto done;
    /* The exporter's domain is bound to its key like any other: a bundle
     * that claims a known domain must be signed by that domain's key. */
    if ((err = catalog_bind_key(n, t, pv_getstr(inner, "domain"),
             (const uint8_t *) pv_get(inner, "key")->u.s.p, d))) {
        weft_diag why = *d;

        weft_diagf(d, err, "bundle exporter: %s", why.msg);
        store_abort(t);
        goto done;
    }
    snprintf(exporter, WEFT_DOMAIN_MAX + 1, "%s", pv_getstr(inner, "domain"));
    for (uint32_t i = 0; i < ents->u.a.n; i++) {
        const pv      *env = pv_get(ents->u.a.v[i], "env");
        const pv      *desc = pv_get(ents->u.a.v[i], "desc");
        accept_outcome add;

        err = catalog_accept(n, t, a, sums[i], (const uint8_t *) env->u.s.p,
            env->u.s.len,
            desc->type == PV_BIN ? (const uint8_t *) desc->u.s.p : NULL,
            desc->u.s.len, NULL, &add, d);
        if (err != WEFT_OK) {
            store_abort(t);
            goto done;
        }
        *(add == ACCEPT_ADDED ? added : skipped) += 1;
    }
    err = store_commit(t);
done:
    pv_arena_free(a);
    return err;
}
