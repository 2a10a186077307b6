/*
 * peer.c: the signed records membership gossips. Both kinds are signed by
 * the key they carry, so a node passing them along cannot alter them.
 *   record = canonical {rec: bin, sig: bin 64}
 *   sig    = Ed25519_K(prefix 0x00 rec)
 * A peer record (PROTO_PEER_PREFIX) says "domain D, key K, reachable at
 * URL, as of TS": rec = canonical {domain, key: bin 32, url, ts}.
 * A domain head (PROTO_HEAD_PREFIX) says "domain D's log ends at seq S,
 * whose envelope hashes to TIP, as of TS": rec = canonical {domain,
 * key: bin 32, seq, tip: bin 32 | nil, ts}. Its age is how stale a
 * node's view of D is.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <string.h>

/* seal signs the canonical bytes of rec under prefix into out. */
static weft_err
seal(pv_arena *a, const crypto_key *k, const char *prefix, const pv *rec,
    weft_buf *out)
{
    pv      *env = pv_map(a);
    weft_buf b;
    uint8_t  sig[CRYPTO_SIG_BYTES];
    weft_err err;

    if (env == NULL)
        return WEFT_ENOMEM;
    weft_buf_init(&b, PROTO_PEER_RECORD_MAX);
    if ((err = proto_encode(rec, &b)) == WEFT_OK
        && (err = crypto_sign_msg(k, prefix, b.p, b.len, sig)) == WEFT_OK
        && (err = pv_set(a, env, "rec", pv_bin(a, b.p, b.len))) == WEFT_OK
        && (err = pv_set(a, env, "sig", pv_bin(a, sig, sizeof(sig))))
            == WEFT_OK)
        err = proto_encode(env, out);
    weft_buf_free(&b);
    return err;
}

/* open decodes a record of what (for errors) with nfields fields and a
 * string domain and bin 32 key; the caller checks the rest of its shape
 * before trusting the signature check done here. */
static weft_err
open_rec(pv_arena *a, const char *what, const char *prefix, uint32_t nfields,
    const uint8_t *p, size_t n, pv **rec, weft_diag *d)
{
    pv         *env, *r, *body, *sig, *key;
    weft_err    err;
    const char *dom;

    if (n > PROTO_PEER_RECORD_MAX)
        return weft_diagf(d, WEFT_ETOOBIG, "%s: %zu bytes (at most %d)", what,
            n, PROTO_PEER_RECORD_MAX);
    if ((err = proto_decode(a, p, n, &env, d)) != WEFT_OK)
        return err;
    body = pv_get(env, "rec");
    sig = pv_get(env, "sig");
    if (env->type != PV_MAP || env->u.m.n != 2 || body == NULL
        || body->type != PV_BIN || sig == NULL || sig->type != PV_BIN
        || sig->u.s.len != CRYPTO_SIG_BYTES)
        return weft_diagf(d, WEFT_ESCHEMA, "%s: expected {rec, sig}", what);
    if ((err = proto_decode(
             a, (const uint8_t *) body->u.s.p, body->u.s.len, &r, d)))
        return err;
    key = pv_get(r, "key");
    dom = pv_getstr(r, "domain");
    if (r->type != PV_MAP || r->u.m.n != nfields || key == NULL
        || key->type != PV_BIN || key->u.s.len != 32 || dom == NULL
        || !proto_domain_ok(dom) || pv_get(r, "ts") == NULL
        || pv_get(r, "ts")->type != PV_INT)
        return weft_diagf(d, WEFT_ESCHEMA, "%s: bad fields", what);
    if (crypto_verify_msg((const uint8_t *) key->u.s.p, prefix,
            (const uint8_t *) body->u.s.p, body->u.s.len,
            (const uint8_t *) sig->u.s.p)
        != WEFT_OK)
        return weft_diagf(d, WEFT_EBADSIG,
            "%s of '%s': signature does not verify", what, dom);
    *rec = r;
    return WEFT_OK;
}

weft_err
proto_peer_record_seal(const crypto_key *k, const char *domain, const char *url,
    int64_t ts, weft_buf *out)
{
    pv_arena *a = pv_arena_new(1 << 14);
    pv       *rec;
    weft_err  err = WEFT_ENOMEM;

    if (a != NULL && (rec = pv_map(a)) != NULL
        && !pv_setstr(a, rec, "domain", domain)
        && !pv_set(a, rec, "key", pv_bin(a, crypto_key_public(k), 32))
        && !pv_setstr(a, rec, "url", url) && !pv_setint(a, rec, "ts", ts))
        err = seal(a, k, PROTO_PEER_PREFIX, rec, out);
    pv_arena_free(a);
    return err;
}

weft_err
proto_peer_record_open(
    pv_arena *a, const uint8_t *p, size_t n, pv **rec, weft_diag *d)
{
    const char *url;
    weft_err    err;

    if ((err = open_rec(a, "peer record", PROTO_PEER_PREFIX, 4, p, n, rec, d)))
        return err;
    url = pv_getstr(*rec, "url");
    if (url == NULL || strlen(url) > 255)
        return weft_diagf(d, WEFT_ESCHEMA, "peer record: bad url");
    return WEFT_OK;
}

weft_err
proto_head_seal(const crypto_key *k, const char *domain, uint64_t seq,
    const uint8_t *tip, int64_t ts, weft_buf *out)
{
    pv_arena *a = pv_arena_new(1 << 14);
    pv       *rec;
    weft_err  err = WEFT_ENOMEM;

    if (a != NULL && (rec = pv_map(a)) != NULL
        && !pv_setstr(a, rec, "domain", domain)
        && !pv_set(a, rec, "key", pv_bin(a, crypto_key_public(k), 32))
        && !pv_setint(a, rec, "seq", (int64_t) seq)
        && !pv_set(a, rec, "tip", tip ? pv_bin(a, tip, 32) : pv_nil(a))
        && !pv_setint(a, rec, "ts", ts))
        err = seal(a, k, PROTO_HEAD_PREFIX, rec, out);
    pv_arena_free(a);
    return err;
}

weft_err
proto_head_open(pv_arena *a, const uint8_t *p, size_t n, int64_t now, pv **head,
    weft_diag *d)
{
    const pv *seq, *tip;
    weft_err  err;

    if ((err = open_rec(a, "domain head", PROTO_HEAD_PREFIX, 5, p, n, head, d)))
        return err;
    seq = pv_get(*head, "seq");
    tip = pv_get(*head, "tip");
    if (seq == NULL || seq->type != PV_INT || seq->u.i < 0 || tip == NULL
        || !(tip->type == PV_NIL || (tip->type == PV_BIN && tip->u.s.len == 32))
        || (seq->u.i == 0) != (tip->type == PV_NIL))
        return weft_diagf(d, WEFT_ESCHEMA,
            "domain head of '%s': expected seq and tip",
            pv_getstr(*head, "domain"));
    if (pv_getint(*head, "ts", 0) > now + PROTO_HEAD_SKEW)
        return weft_diagf(d, WEFT_ESCHEMA,
            "domain head of '%s': dated %lld s ahead of this clock",
            pv_getstr(*head, "domain"),
            (long long) (pv_getint(*head, "ts", 0) - now));
    return WEFT_OK;
}
