/*
 * govern.c: governance policy bundles, the documents a council signs.
 *
 *   bundle = canonical {body: bin, sigs: [[key: bin 32, sig: bin 64]]}
 *   body   = canonical {v: 1, kind: "weft-policy", issued: int,
 *                       policy: <normalized policy (proto/policy.c)>,
 *                       council: nil | {keys: [bin 32], threshold: int}}
 *   sig    = Ed25519_key(PROTO_POLICY_PREFIX 0x00 body)
 *
 * A node accepts a bundle when K distinct keys of its current council
 * (its trust anchor) signed it and no other key did. A body that names a
 * new council rotates the anchor, as TUF rotates its root: it must also
 * carry the new council's threshold of signatures.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <string.h>

weft_err
proto_policy_seal(const pv *policy, const pv *council, int64_t issued,
    crypto_key *const *keys, int nkeys, weft_buf *out)
{
    pv_arena *a = pv_arena_new(PROTO_POLICY_MAX * 4);
    pv       *body, *env, *sigs;
    weft_buf  b;
    weft_err  err = WEFT_ENOMEM;

    weft_buf_init(&b, PROTO_POLICY_MAX);
    if (a == NULL || (body = pv_map(a)) == NULL || (env = pv_map(a)) == NULL
        || (sigs = pv_arr(a)) == NULL || pv_setint(a, body, "v", 1)
        || pv_setstr(a, body, "kind", "weft-policy")
        || pv_setint(a, body, "issued", issued)
        || pv_set(a, body, "policy", pv_copy(a, policy))
        || pv_set(
            a, body, "council", council ? pv_copy(a, council) : pv_nil(a)))
        goto done;
    if ((err = proto_encode(body, &b)) != WEFT_OK)
        goto done;
    for (int i = 0; i < nkeys; i++) {
        uint8_t sig[CRYPTO_SIG_BYTES];
        pv     *s = pv_arr(a);

        if ((err = crypto_sign_msg(
                 keys[i], PROTO_POLICY_PREFIX, b.p, b.len, sig))
            != WEFT_OK)
            goto done;
        if (s == NULL
            || pv_push(a, s, pv_bin(a, crypto_key_public(keys[i]), 32))
            || pv_push(a, s, pv_bin(a, sig, sizeof(sig)))
            || pv_push(a, sigs, s)) {
            err = WEFT_ENOMEM;
            goto done;
        }
    }
    if ((err = pv_set(a, env, "body", pv_bin(a, b.p, b.len)))
        || (err = pv_set(a, env, "sigs", sigs)))
        goto done;
    err = proto_encode(env, out);
    if (err == WEFT_OK && out->len > PROTO_POLICY_MAX)
        err = WEFT_ETOOBIG;
done:
    weft_buf_free(&b);
    pv_arena_free(a);
    return err;
}

/* council_ok checks the shape of a council map. */
static bool
council_ok(const pv *c)
{
    const pv *keys = pv_get(c, "keys"), *k = pv_get(c, "threshold");

    if (c->type != PV_MAP || c->u.m.n != 2 || keys == NULL
        || keys->type != PV_ARR || keys->u.a.n == 0
        || keys->u.a.n > PROTO_COUNCIL_MAX || k == NULL || k->type != PV_INT
        || k->u.i < 1 || k->u.i > (int64_t) keys->u.a.n)
        return false;
    for (uint32_t i = 0; i < keys->u.a.n; i++) {
        if (keys->u.a.v[i]->type != PV_BIN || keys->u.a.v[i]->u.s.len != 32)
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(keys->u.a.v[i]->u.s.p, keys->u.a.v[j]->u.s.p, 32) == 0)
                return false;
    }
    return true;
}

weft_err
proto_policy_open(pv_arena *a, const uint8_t *p, size_t n, pv **body,
    const pv **raw, const pv **sigs, weft_diag *d)
{
    pv       *env, *b;
    const pv *bb, *ss, *c;
    weft_err  err;

    if (n > PROTO_POLICY_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "policy bundle: %zu bytes (at most %d)", n, PROTO_POLICY_MAX);
    if ((err = proto_decode(a, p, n, &env, d)) != WEFT_OK)
        return err;
    bb = pv_get(env, "body");
    ss = pv_get(env, "sigs");
    if (env->type != PV_MAP || env->u.m.n != 2 || bb == NULL
        || bb->type != PV_BIN || ss == NULL || ss->type != PV_ARR
        || ss->u.a.n > PROTO_COUNCIL_MAX)
        return weft_diagf(d, WEFT_ESCHEMA,
            "policy bundle: expected {body, sigs} with at most %d signatures",
            PROTO_COUNCIL_MAX);
    for (uint32_t i = 0; i < ss->u.a.n; i++) {
        const pv *s = ss->u.a.v[i];

        if (s->type != PV_ARR || s->u.a.n != 2 || s->u.a.v[0]->type != PV_BIN
            || s->u.a.v[0]->u.s.len != 32 || s->u.a.v[1]->type != PV_BIN
            || s->u.a.v[1]->u.s.len != CRYPTO_SIG_BYTES)
            return weft_diagf(d, WEFT_ESCHEMA,
                "policy bundle: signature %u is not [key, sig]", i + 1);
    }
    if ((err
            = proto_decode(a, (const uint8_t *) bb->u.s.p, bb->u.s.len, &b, d)))
        return err;
    c = pv_get(b, "council");
    if (b->type != PV_MAP || b->u.m.n != 5 || pv_getint(b, "v", 0) != 1
        || pv_getstr(b, "kind") == NULL
        || strcmp(pv_getstr(b, "kind"), "weft-policy") != 0
        || pv_get(b, "issued") == NULL || pv_get(b, "issued")->type != PV_INT
        || pv_get(b, "policy") == NULL || pv_get(b, "policy")->type != PV_MAP
        || pv_getint(pv_get(b, "policy"), "version", 0) < 1 || c == NULL
        || (c->type != PV_NIL && !council_ok(c)))
        return weft_diagf(d, WEFT_ESCHEMA,
            "policy bundle: the body is not {v: 1, kind: weft-policy, "
            "issued, policy with a version, council}");
    *body = b;
    *raw = bb;
    *sigs = ss;
    return WEFT_OK;
}

/* in reports whether key is one of council's keys (council may be NULL). */
static bool
in(const pv *council, const void *key)
{
    const pv *keys = council ? pv_get(council, "keys") : NULL;

    for (uint32_t j = 0; keys && j < keys->u.a.n; j++)
        if (memcmp(keys->u.a.v[j]->u.s.p, key, 32) == 0)
            return true;
    return false;
}

weft_err
proto_policy_verify(const pv *raw, const pv *sigs, const pv *council,
    const pv *next, weft_diag *d)
{
    int64_t good = 0, good_next = 0;
    char    fp[CRYPTO_FP_CHARS + 1];

    for (uint32_t i = 0; i < sigs->u.a.n; i++) {
        const pv *key = sigs->u.a.v[i]->u.a.v[0];
        const pv *sig = sigs->u.a.v[i]->u.a.v[1];

        crypto_fingerprint((const uint8_t *) key->u.s.p, fp);
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(sigs->u.a.v[j]->u.a.v[0]->u.s.p, key->u.s.p, 32) == 0)
                return weft_diagf(d, WEFT_ESCHEMA,
                    "policy bundle: council key %s signed twice", fp);
        if (!in(council, key->u.s.p) && !in(next, key->u.s.p))
            return weft_diagf(d, WEFT_EKEY,
                "policy bundle: signed by %s, which is not a council key", fp);
        if (crypto_verify_msg((const uint8_t *) key->u.s.p, PROTO_POLICY_PREFIX,
                (const uint8_t *) raw->u.s.p, raw->u.s.len,
                (const uint8_t *) sig->u.s.p)
            != WEFT_OK)
            return weft_diagf(d, WEFT_EBADSIG,
                "policy bundle: the signature of council key %s does not "
                "verify",
                fp);
        good += in(council, key->u.s.p);
        good_next += in(next, key->u.s.p);
    }
    if (good < pv_getint(council, "threshold", 1))
        return weft_diagf(d, WEFT_EBADSIG,
            "policy bundle: %lld valid council signature%s, %lld needed",
            (long long) good, good == 1 ? "" : "s",
            (long long) pv_getint(council, "threshold", 1));
    if (next && good_next < pv_getint(next, "threshold", 1))
        return weft_diagf(d, WEFT_EBADSIG,
            "policy bundle: it names a new council, which signed it %lld "
            "time%s; its threshold is %lld",
            (long long) good_next, good_next == 1 ? "" : "s",
            (long long) pv_getint(next, "threshold", 1));
    return WEFT_OK;
}
