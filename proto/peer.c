/*
 * peer.c: signed peer records, what membership gossips. A record says
 * "domain D, key K, reachable at URL, as of TS", signed by K itself, so a
 * node passing records along cannot point a domain at another address.
 *   record = canonical {rec: bin, sig: bin 64}
 *   rec    = canonical {domain, key: bin 32, url, ts}
 *   sig    = Ed25519_K(PROTO_PEER_PREFIX 0x00 rec)
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <string.h>

weft_err
proto_peer_record_seal(const crypto_key *k, const char *domain, const char *url,
    int64_t ts, weft_buf *out)
{
    pv_arena *a = pv_arena_new(1 << 14);
    pv       *rec, *env;
    weft_buf  b;
    uint8_t   sig[CRYPTO_SIG_BYTES];
    weft_err  err = WEFT_ENOMEM;

    weft_buf_init(&b, PROTO_PEER_RECORD_MAX);
    if (a != NULL && (rec = pv_map(a)) != NULL && (env = pv_map(a)) != NULL
        && !pv_setstr(a, rec, "domain", domain)
        && !pv_set(a, rec, "key", pv_bin(a, crypto_key_public(k), 32))
        && !pv_setstr(a, rec, "url", url) && !pv_setint(a, rec, "ts", ts)
        && (err = proto_encode(rec, &b)) == WEFT_OK
        && (err = crypto_sign_msg(k, PROTO_PEER_PREFIX, b.p, b.len, sig))
            == WEFT_OK
        && (err = pv_set(a, env, "rec", pv_bin(a, b.p, b.len))) == WEFT_OK
        && (err = pv_set(a, env, "sig", pv_bin(a, sig, sizeof(sig))))
            == WEFT_OK)
        err = proto_encode(env, out);
    weft_buf_free(&b);
    pv_arena_free(a);
    return err;
}

weft_err
proto_peer_record_open(
    pv_arena *a, const uint8_t *p, size_t n, pv **rec, weft_diag *d)
{
    pv         *env, *r, *body, *sig, *key;
    weft_err    err;
    const char *dom, *url;

    if (n > PROTO_PEER_RECORD_MAX)
        return weft_diagf(d, WEFT_ETOOBIG, "peer record: %zu bytes", n);
    if ((err = proto_decode(a, p, n, &env, d)) != WEFT_OK)
        return err;
    body = pv_get(env, "rec");
    sig = pv_get(env, "sig");
    if (env->type != PV_MAP || env->u.m.n != 2 || body == NULL
        || body->type != PV_BIN || sig == NULL || sig->type != PV_BIN
        || sig->u.s.len != CRYPTO_SIG_BYTES)
        return weft_diagf(d, WEFT_ESCHEMA, "peer record: expected {rec, sig}");
    if ((err = proto_decode(
             a, (const uint8_t *) body->u.s.p, body->u.s.len, &r, d)))
        return err;
    key = pv_get(r, "key");
    dom = pv_getstr(r, "domain");
    url = pv_getstr(r, "url");
    if (r->type != PV_MAP || r->u.m.n != 4 || key == NULL || key->type != PV_BIN
        || key->u.s.len != 32 || dom == NULL || url == NULL
        || strlen(dom) > WEFT_DOMAIN_MAX || strlen(url) > 255
        || pv_get(r, "ts") == NULL || pv_get(r, "ts")->type != PV_INT)
        return weft_diagf(d, WEFT_ESCHEMA, "peer record: bad fields");
    if (crypto_verify_msg((const uint8_t *) key->u.s.p, PROTO_PEER_PREFIX,
            (const uint8_t *) body->u.s.p, body->u.s.len,
            (const uint8_t *) sig->u.s.p)
        != WEFT_OK)
        return weft_diagf(d, WEFT_EBADSIG,
            "peer record of '%s': signature "
            "does not verify",
            dom);
    *rec = r;
    return WEFT_OK;
}
