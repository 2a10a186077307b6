/*
 * govern_test.c: signed policy bundles (proto/govern.c). A round trip;
 * every truncation and every bit flip refused; the council rules: K-1
 * signatures, a stranger's signature, one key signing twice, a forged
 * signature; a body naming a new council; the size cap.
 */
#include "crypto/crypto.h"
#include "proto/policy.h"
#include "proto/proto.h"
#include "test.h"

static pv_arena *A;

static const char POLICY[] = "governance:\n"
                             "  version: 4\n"
                             "  global_policies:\n"
                             "    data_classification:\n"
                             "      - name: internal\n"
                             "        controls:\n"
                             "          - authentication_required: true\n"
                             "  rules:\n"
                             "    required_fields: {fields: [owner]}\n";

static pv *
council(crypto_key **k, int n, int threshold)
{
    pv *c = pv_map(A), *l = pv_arr(A);

    for (int i = 0; i < n; i++)
        pv_push(A, l, pv_bin(A, crypto_key_public(k[i]), 32));
    pv_set(A, c, "keys", l);
    pv_setint(A, c, "threshold", threshold);
    return c;
}

static weft_err
check(const weft_buf *b, const pv *anchor, weft_diag *d)
{
    pv       *body;
    const pv *raw, *sigs;
    weft_err  err = proto_policy_open(A, b->p, b->len, &body, &raw, &sigs, d);

    return err ? err : proto_policy_verify(raw, sigs, anchor, NULL, d);
}

int
main(void)
{
    crypto_key *k[5];
    pv         *doc, *norm, *body, *anchor;
    const pv   *raw, *sigs;
    weft_buf    b;
    weft_diag   d = { "" };

    CHECK(crypto_init() == WEFT_OK);
    for (int i = 0; i < 5; i++)
        CHECK(crypto_key_generate(&k[i]) == WEFT_OK);
    A = pv_arena_new(256u << 20);
    CHECK(proto_yaml_parse(
              A, (const uint8_t *) POLICY, sizeof(POLICY) - 1, &doc, &d)
        == WEFT_OK);
    CHECK(policy_normalize(A, doc, 0, &norm, &d) == WEFT_OK);
    anchor = council(k, 3, 2); /* k0, k1, k2; two must sign */

    /* Two council keys: opens, verifies, carries the policy. */
    weft_buf_init(&b, PROTO_POLICY_MAX);
    CHECK(proto_policy_seal(norm, NULL, 1800000000, k, 2, &b) == WEFT_OK);
    CHECK(check(&b, anchor, &d) == WEFT_OK);
    CHECK(
        proto_policy_open(A, b.p, b.len, &body, &raw, &sigs, NULL) == WEFT_OK);
    CHECK(pv_equal(pv_get(body, "policy"), norm));
    CHECK(pv_getint(pv_get(body, "policy"), "version", 0) == 4);
    CHECK(pv_get(body, "council")->type == PV_NIL);
    /* Every truncation, every bit flip: refused. */
    for (size_t i = 0; i < b.len; i++) {
        CHECK(check(&(weft_buf) { b.p, i, b.cap, b.max }, anchor, NULL)
            != WEFT_OK);
        for (int bit = 0; bit < 8; bit++) {
            b.p[i] ^= (uint8_t) (1u << bit);
            CHECK(check(&b, anchor, NULL) != WEFT_OK);
            b.p[i] ^= (uint8_t) (1u << bit);
        }
    }
    CHECK(check(&b, anchor, NULL) == WEFT_OK);
    weft_buf_free(&b);

    /* K-1: one signature of two needed. */
    weft_buf_init(&b, PROTO_POLICY_MAX);
    CHECK(proto_policy_seal(norm, NULL, 1800000000, k + 2, 1, &b) == WEFT_OK);
    CHECK(check(&b, anchor, &d) == WEFT_EBADSIG);
    CHECK(strstr(d.msg, "1 valid council signature, 2 needed") != NULL);
    weft_buf_free(&b);
    /* A stranger among council keys: refused as a whole. */
    {
        crypto_key *mixed[3] = { k[0], k[1], k[4] };

        weft_buf_init(&b, PROTO_POLICY_MAX);
        CHECK(
            proto_policy_seal(norm, NULL, 1800000000, mixed, 3, &b) == WEFT_OK);
        CHECK(check(&b, anchor, &d) == WEFT_EKEY);
        CHECK(strstr(d.msg, "not a council key") != NULL);
        weft_buf_free(&b);
    }
    /* One key twice is one signature. */
    {
        crypto_key *twice[2] = { k[0], k[0] };

        weft_buf_init(&b, PROTO_POLICY_MAX);
        CHECK(
            proto_policy_seal(norm, NULL, 1800000000, twice, 2, &b) == WEFT_OK);
        CHECK(check(&b, anchor, &d) != WEFT_OK);
        CHECK(strstr(d.msg, "signed twice") != NULL);
        weft_buf_free(&b);
    }
    /* A new council (k3, k4; both must sign) named in the body: the old
     * council's threshold and the new one's must both sign. */
    {
        pv         *next = council(k + 3, 2, 2);
        crypto_key *all[4] = { k[0], k[1], k[3], k[4] };
        crypto_key *half[3] = { k[0], k[1], k[3] };

        weft_buf_init(&b, PROTO_POLICY_MAX);
        CHECK(
            proto_policy_seal(norm, next, 1800000000, half, 3, &b) == WEFT_OK);
        CHECK(proto_policy_open(A, b.p, b.len, &body, &raw, &sigs, NULL)
            == WEFT_OK);
        CHECK(pv_equal(pv_get(body, "council"), next));
        CHECK(proto_policy_verify(raw, sigs, anchor, next, &d) == WEFT_EBADSIG);
        CHECK(strstr(d.msg, "new council") != NULL);
        b.len = 0;
        CHECK(proto_policy_seal(norm, next, 1800000000, all, 4, &b) == WEFT_OK);
        CHECK(proto_policy_open(A, b.p, b.len, &body, &raw, &sigs, NULL)
            == WEFT_OK);
        CHECK(proto_policy_verify(raw, sigs, anchor, next, &d) == WEFT_OK);
        /* Without naming the new council, k3 and k4 are strangers. */
        CHECK(proto_policy_verify(raw, sigs, anchor, NULL, &d) == WEFT_EKEY);
        weft_buf_free(&b);
    }
    /* Over the cap: refused before decoding. */
    {
        uint8_t *big = calloc(1, PROTO_POLICY_MAX + 1);

        CHECK(big != NULL);
        CHECK(proto_policy_open(
                  A, big, PROTO_POLICY_MAX + 1, &body, &raw, &sigs, &d)
            == WEFT_ETOOBIG);
        free(big);
    }
    pv_arena_free(A);
    for (int i = 0; i < 5; i++)
        crypto_key_free(k[i]);
    return test_done("govern_test");
}
