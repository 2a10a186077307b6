/*
 * summary_test.c: signed summaries. A sealed envelope opens; a flipped
 * bit anywhere in it is refused; every truncation is refused; a summary
 * re-signed by another key, a summary with a field missing or of the
 * wrong type, and an oversized envelope are refused; a summary built from
 * a huge descriptor is trimmed under the cap.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"
#include "tests/test.h"

static pv_arena *A;

static pv *
model(size_t nfields, size_t desc_len)
{
    pv   *m = pv_map(A), *schemas = pv_arr(A), *s = pv_map(A);
    pv   *fields = pv_arr(A), *tags = pv_arr(A), *q = pv_map(A);
    char *desc = calloc(1, desc_len + 1), name[32];

    memset(desc, 'd', desc_len);
    for (size_t i = 0; i < nfields; i++) {
        pv *f = pv_map(A);

        snprintf(name, sizeof(name), "field_number_%zu", i);
        pv_setstr(A, f, "name", name);
        pv_push(A, fields, f);
    }
    pv_setstr(A, s, "name", "orders");
    pv_set(A, s, "fields", fields);
    pv_push(A, schemas, s);
    pv_push(A, tags, pv_strz(A, "sales"));
    pv_set(A, q, "completeness", pv_float(A, 99.5));
    pv_setstr(A, m, "kind", "product");
    pv_setstr(A, m, "id", "sales/orders");
    pv_setstr(A, m, "domain", "sales");
    pv_setstr(A, m, "name", "Orders");
    pv_setstr(A, m, "version", "1.0.0");
    pv_setstr(A, m, "status", "active");
    pv_setstr(A, m, "description", desc);
    pv_setstr(A, m, "owner", "sales-team");
    pv_setstr(A, m, "classification", "internal");
    pv_set(A, m, "tags", tags);
    pv_set(A, m, "schemas", schemas);
    pv_set(A, m, "quality", q);
    free(desc);
    return m;
}

static void
seal(crypto_key *k, const pv *sum, weft_buf *out)
{
    weft_buf_init(out, WEFT_SUMMARY_MAX * 2);
    CHECK(proto_envelope_seal(sum, k, out) == WEFT_OK);
}

static void
test_roundtrip_and_flips(crypto_key *k)
{
    uint8_t  body[32] = { 1, 2, 3 };
    pv      *sum, *got;
    weft_buf env;

    CHECK(proto_summary_build(
              A, model(3, 40), crypto_key_public(k), body, 7, 1700000000, &sum)
        == WEFT_OK);
    CHECK(proto_summary_check(sum, NULL) == WEFT_OK);
    seal(k, sum, &env);
    CHECK(proto_envelope_open(A, env.p, env.len, &got, NULL) == WEFT_OK);
    CHECK(pv_equal(got, sum));
    CHECK_EQ_INT(pv_getint(got, "seq", 0), 7);
    CHECK_EQ_INT(pv_getint(got, "expires", 0), 1700000000 + PROTO_SUMMARY_TTL);
    CHECK(proto_envelope_verify(A, env.p, env.len, got, NULL) == WEFT_OK);
    /* A flipped bit anywhere is refused, opened or read then verified. */
    for (size_t i = 0; i < env.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            env.p[i] ^= (uint8_t) (1 << bit);
            CHECK(
                proto_envelope_open(A, env.p, env.len, &got, NULL) != WEFT_OK);
            CHECK(proto_envelope_read(A, env.p, env.len, &got, NULL) != WEFT_OK
                || proto_envelope_verify(A, env.p, env.len, got, NULL)
                    != WEFT_OK);
            env.p[i] ^= (uint8_t) (1 << bit);
        }
    /* Every truncation is refused; so is a trailing byte. */
    for (size_t i = 0; i < env.len; i++) {
        CHECK(proto_envelope_open(A, env.p, i, &got, NULL) != WEFT_OK);
        CHECK(proto_envelope_verify(A, env.p, i, sum, NULL) != WEFT_OK);
    }
    weft_buf_append(&env, "", 1);
    CHECK(proto_envelope_verify(A, env.p, env.len, sum, NULL) == WEFT_ETRAIL);
    CHECK(proto_envelope_open(A, env.p, env.len, &got, NULL) == WEFT_ETRAIL);
    weft_buf_free(&env);
}

static void
test_forgeries(crypto_key *k, crypto_key *other)
{
    uint8_t   body[32] = { 9 };
    pv       *sum, *got;
    weft_buf  env;
    weft_diag d;

    /* Signed by another key than the origin it names. */
    CHECK(proto_summary_build(
              A, model(1, 10), crypto_key_public(k), body, 1, 1700000000, &sum)
        == WEFT_OK);
    seal(other, sum, &env);
    CHECK(proto_envelope_open(A, env.p, env.len, &got, &d) == WEFT_EBADSIG);
    CHECK(strstr(d.msg, "sales/orders") != NULL);
    weft_buf_free(&env);
    /* The same summary read without verification still decodes; its
     * verification then fails as opening does. */
    seal(other, sum, &env);
    CHECK(proto_envelope_read(A, env.p, env.len, &got, NULL) == WEFT_OK);
    CHECK(proto_envelope_verify(A, env.p, env.len, got, &d) == WEFT_EBADSIG);
    CHECK(strstr(d.msg, "sales/orders") != NULL);
    weft_buf_free(&env);
    /* A field missing, a field of the wrong type, an id outside the
     * domain, seq 0, a domain or a tag with a NUL byte inside (read as C
     * text it would pass for "sales"): refused even when properly
     * signed. */
    {
        static const char *const bad[]
            = { "missing", "type", "id", "seq", "nul", "nul-tag" };

        for (int i = 0; i < 6; i++) {
            pv *s = pv_copy(A, sum), *tags;

            if (i == 0)
                s->u.m.n--; /* drop the last-added field */
            else if (i == 1)
                pv_setint(A, s, "name", 5);
            else if (i == 2)
                pv_setstr(A, s, "id", "other/orders");
            else if (i == 3)
                pv_setint(A, s, "seq", 0);
            else if (i == 4)
                pv_set(A, s, "domain", pv_str(A, "sales\0x", 7));
            else if ((tags = pv_arr(A)) != NULL) {
                pv_push(A, tags, pv_str(A, "gold\0en", 7));
                pv_set(A, s, "tags", tags);
            }
            CHECK(proto_summary_check(s, NULL) == WEFT_ESCHEMA);
            seal(k, s, &env);
            CHECK(proto_envelope_open(A, env.p, env.len, &got, &d)
                == WEFT_ESCHEMA);
            if (proto_envelope_open(A, env.p, env.len, &got, &d)
                != WEFT_ESCHEMA)
                fprintf(stderr, "case %s\n", bad[i]);
            weft_buf_free(&env);
        }
    }
}

/* Domain names and ids at their limits and one past. */
static void
test_name_limits(crypto_key *k)
{
    uint8_t body[32] = { 0 };
    char    dom[WEFT_DOMAIN_MAX + 2], id[WEFT_ID_MAX + 2];
    pv     *sum;

    memset(dom, 'd', sizeof(dom));
    for (int over = 0; over < 2; over++) {
        dom[WEFT_DOMAIN_MAX + over] = 0;
        CHECK(proto_summary_build(
                  A, model(1, 1), crypto_key_public(k), body, 1, 1, &sum)
            == WEFT_OK);
        pv_setstr(A, sum, "domain", dom);
        snprintf(id, sizeof(id), "%s/x", dom);
        pv_setstr(A, sum, "id", id);
        CHECK(
            proto_summary_check(sum, NULL) == (over ? WEFT_ESCHEMA : WEFT_OK));
        dom[WEFT_DOMAIN_MAX + over] = 'd';
    }
    for (int over = 0; over < 2; over++) {
        memset(id, 'i', sizeof(id));
        memcpy(id, "sales/", 6);
        id[WEFT_ID_MAX + over] = 0;
        CHECK(proto_summary_build(
                  A, model(1, 1), crypto_key_public(k), body, 1, 1, &sum)
            == WEFT_OK);
        pv_setstr(A, sum, "id", id);
        CHECK(
            proto_summary_check(sum, NULL) == (over ? WEFT_ESCHEMA : WEFT_OK));
    }
}

static void
test_trimming(crypto_key *k)
{
    uint8_t  body[32] = { 0 };
    pv      *sum;
    weft_buf b;

    /* A descriptor with 5,000 fields and a 100 KB description still
     * gives a summary under the hard cap, and a typical one under the
     * LMDB inline size. */
    CHECK(proto_summary_build(
              A, model(5000, 100000), crypto_key_public(k), body, 1, 1, &sum)
        == WEFT_OK);
    weft_buf_init(&b, WEFT_SUMMARY_MAX * 4);
    CHECK(proto_encode(sum, &b) == WEFT_OK);
    CHECK(b.len <= WEFT_SUMMARY_MAX);
    CHECK(b.len <= 1900);
    CHECK(strlen(pv_getstr(sum, "desc")) <= WEFT_SUMMARY_TEXT);
    weft_buf_free(&b);
    /* An envelope over the cap is refused before it is decoded. */
    {
        uint8_t *big = calloc(1, WEFT_SUMMARY_MAX + 200);
        pv      *got;

        CHECK(proto_envelope_open(A, big, WEFT_SUMMARY_MAX + 200, &got, NULL)
            == WEFT_ETOOBIG);
        free(big);
    }
}

/* Signed records: peer records and domain heads. Round trip, every
 * truncation, every bit flip, the wrong prefix, a head from the future. */
static void
test_records(crypto_key *k, crypto_key *other)
{
    weft_buf  pr, hd, b;
    pv       *got, *rec;
    uint8_t   tip[32];
    int64_t   now = 1800000000;
    weft_diag d = { "" };

    memset(tip, 7, sizeof(tip));
    weft_buf_init(&pr, PROTO_PEER_RECORD_MAX);
    weft_buf_init(&hd, PROTO_PEER_RECORD_MAX);
    CHECK(proto_peer_record_seal(k, "sales", "tcp://127.0.0.1:7", now, &pr)
        == WEFT_OK);
    CHECK(proto_peer_record_open(A, pr.p, pr.len, &got, NULL) == WEFT_OK);
    CHECK(strcmp(pv_getstr(got, "url"), "tcp://127.0.0.1:7") == 0);
    CHECK(proto_head_seal(k, "sales", 42, tip, now, &hd) == WEFT_OK);
    CHECK(proto_head_open(A, hd.p, hd.len, now, &got, NULL) == WEFT_OK);
    CHECK(pv_getint(got, "seq", 0) == 42 && pv_getint(got, "ts", 0) == now);
    CHECK(memcmp(pv_get(got, "key")->u.s.p, crypto_key_public(k), 32) == 0);
    /* A head is not a peer record, and the other way round: the fields
     * differ and so do the signature prefixes. */
    CHECK(proto_peer_record_open(A, hd.p, hd.len, &got, NULL) != WEFT_OK);
    CHECK(proto_head_open(A, pr.p, pr.len, now, &got, NULL) != WEFT_OK);
    for (size_t i = 0; i < hd.len; i++) {
        CHECK(proto_head_open(A, hd.p, i, now, &got, NULL) != WEFT_OK);
        for (int bit = 0; bit < 8; bit++) {
            hd.p[i] ^= (uint8_t) (1u << bit);
            CHECK(proto_head_open(A, hd.p, hd.len, now, &got, NULL) != WEFT_OK);
            hd.p[i] ^= (uint8_t) (1u << bit);
        }
    }
    /* Dated ahead: at the skew it opens, one second past it does not. */
    CHECK(proto_head_open(A, hd.p, hd.len, now - PROTO_HEAD_SKEW, &got, NULL)
        == WEFT_OK);
    CHECK(proto_head_open(A, hd.p, hd.len, now - PROTO_HEAD_SKEW - 1, &got, &d)
        == WEFT_ESCHEMA);
    CHECK(strstr(d.msg, "ahead") != NULL && strstr(d.msg, "sales") != NULL);
    /* seq 0 has no tip; a seq with no tip is malformed. */
    weft_buf_init(&b, PROTO_PEER_RECORD_MAX);
    CHECK(proto_head_seal(other, "ops", 0, NULL, now, &b) == WEFT_OK);
    CHECK(proto_head_open(A, b.p, b.len, now, &got, NULL) == WEFT_OK);
    CHECK(pv_get(got, "tip")->type == PV_NIL);
    b.len = 0;
    CHECK(proto_head_seal(other, "ops", 3, NULL, now, &b) == WEFT_OK);
    CHECK(proto_head_open(A, b.p, b.len, now, &got, NULL) == WEFT_ESCHEMA);
    /* A bad domain name is refused even when the signature is good. */
    b.len = 0;
    CHECK(proto_head_seal(other, "Not A Domain", 1, tip, now, &b) == WEFT_OK);
    CHECK(proto_head_open(A, b.p, b.len, now, &rec, NULL) == WEFT_ESCHEMA);
    weft_buf_free(&b);
    weft_buf_free(&pr);
    weft_buf_free(&hd);
}

/* Times: a summary issued too far ahead is refused; an expired one is
 * not (it is history every node keeps), and says it is expired from the
 * second its expiry is reached. */
static void
test_times(crypto_key *k)
{
    uint8_t   body[32] = { 9 };
    int64_t   t0 = 1700000000;
    pv       *sum;
    weft_diag d = { "" };

    CHECK(proto_summary_build(
              A, model(1, 10), crypto_key_public(k), body, 1, t0, &sum)
        == WEFT_OK);
    CHECK(proto_summary_check(sum, NULL) == WEFT_OK);
    CHECK(proto_summary_timely(sum, t0 - PROTO_CLOCK_SKEW, NULL) == WEFT_OK);
    CHECK(proto_summary_timely(sum, t0 - PROTO_CLOCK_SKEW - 1, &d)
        == WEFT_ESCHEMA);
    CHECK(strstr(d.msg, "future") != NULL);
    CHECK(proto_summary_timely(sum, t0 + 10 * PROTO_SUMMARY_TTL, NULL)
        == WEFT_OK);
    CHECK(!proto_summary_expired(sum, t0));
    CHECK(!proto_summary_expired(sum, t0 + PROTO_SUMMARY_TTL - 1));
    CHECK(proto_summary_expired(sum, t0 + PROTO_SUMMARY_TTL));
    /* One whose expiry is not after its issue is malformed. */
    CHECK(pv_setint(A, sum, "expires", t0) == WEFT_OK);
    CHECK(proto_summary_check(sum, NULL) != WEFT_OK);
}

int
main(void)
{
    crypto_key *k, *other;

    CHECK(crypto_init() == WEFT_OK);
    CHECK(crypto_key_generate(&k) == WEFT_OK);
    CHECK(crypto_key_generate(&other) == WEFT_OK);
    A = pv_arena_new(256u << 20);
    test_roundtrip_and_flips(k);
    test_forgeries(k, other);
    test_trimming(k);
    test_name_limits(k);
    test_records(k, other);
    test_times(k);
    pv_arena_free(A);
    crypto_key_free(k);
    crypto_key_free(other);
    return test_done("summary_test");
}
