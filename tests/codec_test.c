/*
 * codec_test.c: canonical msgpack. Known answers for the encoder (sorted
 * keys, shortest forms); the strict decoder refuses every truncation,
 * trailing bytes, each non-canonical form, bad UTF-8, depth and counts
 * past the limits, and round-trips what the encoder makes.
 */
#include "proto/proto.h"
#include "tests/test.h"

#include <math.h>

static pv_arena *A;

static weft_err
dec(const uint8_t *p, size_t n)
{
    pv *v;

    return proto_decode(A, p, n, &v, NULL);
}

#define DEC(...)                                                               \
    dec((const uint8_t[]) { __VA_ARGS__ },                                     \
        sizeof((const uint8_t[]) { __VA_ARGS__ }))

static void
test_known_answers(void)
{
    pv      *m = pv_map(A), *arr = pv_arr(A);
    weft_buf b;
    /* {"a": [1, -1, 200, -200, 70000], "b": "x", "ab": nil, "": true}
     * with keys sorted "", "a", "ab", "b". */
    static const uint8_t want[] = { 0x84, 0xa0, 0xc3, 0xa1, 'a', 0x95, 0x01,
        0xff, 0xcc, 0xc8, 0xd1, 0xff, 0x38, 0xce, 0x00, 0x01, 0x11, 0x70, 0xa2,
        'a', 'b', 0xc0, 0xa1, 'b', 0xa1, 'x' };

    pv_push(A, arr, pv_int(A, 1));
    pv_push(A, arr, pv_int(A, -1));
    pv_push(A, arr, pv_int(A, 200));
    pv_push(A, arr, pv_int(A, -200));
    pv_push(A, arr, pv_int(A, 70000));
    pv_set(A, m, "b", pv_strz(A, "x"));
    pv_set(A, m, "a", arr);
    pv_set(A, m, "ab", pv_nil(A));
    pv_set(A, m, "", pv_bool(A, true));
    weft_buf_init(&b, 1024);
    CHECK(proto_encode(m, &b) == WEFT_OK);
    CHECK_EQ_INT(b.len, sizeof(want));
    CHECK(b.len == sizeof(want) && memcmp(b.p, want, b.len) == 0);
    /* It decodes, and re-encodes to the same bytes. */
    {
        pv      *v;
        weft_buf b2;

        weft_buf_init(&b2, 1024);
        CHECK(proto_decode(A, b.p, b.len, &v, NULL) == WEFT_OK);
        CHECK(pv_equal(v, m));
        CHECK(proto_encode(v, &b2) == WEFT_OK);
        CHECK(b2.len == b.len && memcmp(b2.p, b.p, b.len) == 0);
        /* Every truncation is refused. */
        for (size_t i = 0; i < b.len; i++)
            CHECK(proto_decode(A, b.p, i, &v, NULL) == WEFT_ETRUNC);
        /* Trailing bytes are refused. */
        CHECK(weft_buf_append(&b, "\0", 1) == WEFT_OK);
        CHECK(proto_decode(A, b.p, b.len, &v, NULL) == WEFT_ETRAIL);
        weft_buf_free(&b2);
    }
    weft_buf_free(&b);
}

static void
test_int_boundaries(void)
{
    static const int64_t vals[] = { 0, 127, 128, 255, 256, 65535, 65536,
        4294967295LL, 4294967296LL, INT64_MAX, -32, -33, -128, -129, -32768,
        -32769, -2147483648LL, -2147483649LL, INT64_MIN };
    static const size_t  lens[]
        = { 1, 1, 2, 2, 3, 3, 5, 5, 9, 9, 1, 2, 2, 3, 3, 5, 5, 9, 9 };

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        weft_buf b;
        pv      *v;

        weft_buf_init(&b, 16);
        CHECK(proto_encode(pv_int(A, vals[i]), &b) == WEFT_OK);
        CHECK_EQ_INT(b.len, lens[i]);
        CHECK(proto_decode(A, b.p, b.len, &v, NULL) == WEFT_OK
            && v->type == PV_INT && v->u.i == vals[i]);
        weft_buf_free(&b);
    }
}

static void
test_noncanonical(void)
{
    /* Integers in a longer form than needed. */
    CHECK(DEC(0xcc, 0x05) == WEFT_ENONCANON);
    CHECK(DEC(0xcd, 0x00, 0xff) == WEFT_ENONCANON);
    CHECK(DEC(0xce, 0x00, 0x00, 0xff, 0xff) == WEFT_ENONCANON);
    CHECK(DEC(0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff) == WEFT_ENONCANON);
    CHECK(DEC(0xd0, 0x05) == WEFT_ENONCANON); /* positive as int8 */
    CHECK(DEC(0xd0, 0xf0) == WEFT_ENONCANON); /* -16 fits fixint */
    CHECK(DEC(0xd1, 0xff, 0x80) == WEFT_ENONCANON);
    CHECK(DEC(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0) == WEFT_ETOOBIG);
    /* Lengths in a longer form than needed. */
    CHECK(DEC(0xd9, 0x01, 'a') == WEFT_ENONCANON);
    CHECK(DEC(0xda, 0x00, 0x01, 'a') == WEFT_ENONCANON);
    CHECK(DEC(0xc5, 0x00, 0x01, 'a') == WEFT_ENONCANON);
    CHECK(DEC(0xdc, 0x00, 0x01, 0x01) == WEFT_ENONCANON);
    CHECK(DEC(0xde, 0x00, 0x01, 0xa1, 'a', 0x01) == WEFT_ENONCANON);
    /* Map keys out of order, duplicated, or not strings. */
    CHECK(DEC(0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x01) == WEFT_ENONCANON);
    CHECK(DEC(0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x01) == WEFT_ENONCANON);
    CHECK(DEC(0x82, 0xa2, 'a', 'b', 0x01, 0xa1, 'a', 0x01) == WEFT_ENONCANON);
    CHECK(DEC(0x81, 0x01, 0x01) == WEFT_ESYNTAX);
    /* float32, ext types, the never-used byte. */
    CHECK(DEC(0xca, 0, 0, 0, 0) == WEFT_ENONCANON);
    CHECK(DEC(0xd4, 0x01, 0x00) == WEFT_ESYNTAX);
    CHECK(DEC(0xc7, 0x01, 0x01, 0x00) == WEFT_ESYNTAX);
    CHECK(DEC(0xc1) == WEFT_ESYNTAX);
    /* NaN has no canonical form. */
    CHECK(DEC(0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0) == WEFT_ENONCANON);
    /* Bad UTF-8: a lone continuation byte, an overlong form, a surrogate. */
    CHECK(DEC(0xa1, 0x80) == WEFT_ESYNTAX);
    CHECK(DEC(0xa2, 0xc0, 0x80) == WEFT_ESYNTAX);
    CHECK(DEC(0xa3, 0xed, 0xa0, 0x80) == WEFT_ESYNTAX);
    CHECK(DEC(0xa2, 0xc3, 0xa9) == WEFT_OK);
    /* The encoder refuses what has no canonical form. */
    {
        weft_buf b;
        pv      *m = pv_map(A);

        weft_buf_init(&b, 64);
        CHECK(proto_encode(pv_float(A, NAN), &b) == WEFT_EINVAL);
        /* Two entries with one key, made behind pv_set's back. */
        pv_set(A, m, "a", pv_int(A, 1));
        pv_set(A, m, "b", pv_int(A, 2));
        m->u.m.kv[1].k = m->u.m.kv[0].k;
        CHECK(proto_encode(m, &b) == WEFT_EINVAL);
        CHECK_EQ_INT(b.len, 0);
        weft_buf_free(&b);
    }
}

static void
test_limits(void)
{
    uint8_t buf[WEFT_DEPTH_MAX + 8];
    size_t  i;

    /* Nesting: WEFT_DEPTH_MAX arrays inside the top one decode; one more
     * does not. */
    for (i = 0; i <= WEFT_DEPTH_MAX; i++)
        buf[i] = 0x91;
    buf[i] = 0x01;
    CHECK(dec(buf, WEFT_DEPTH_MAX + 1) == WEFT_ETRUNC);
    buf[WEFT_DEPTH_MAX] = 0x01;
    CHECK(dec(buf, WEFT_DEPTH_MAX + 1) == WEFT_OK);
    buf[WEFT_DEPTH_MAX] = 0x91;
    buf[WEFT_DEPTH_MAX + 1] = 0x01;
    CHECK(dec(buf, WEFT_DEPTH_MAX + 2) == WEFT_ETOOBIG);
    /* A count larger than the remaining input is refused before any
     * allocation. */
    CHECK(DEC(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01) == WEFT_ETRUNC);
    CHECK(DEC(0xdf, 0xff, 0xff, 0xff, 0xff, 0x01) == WEFT_ETRUNC);
    CHECK(DEC(0xdb, 0xff, 0xff, 0xff, 0xff, 'a') == WEFT_ETRUNC);
    CHECK(dec(NULL, 0) == WEFT_ETRUNC);
}

static void
test_items_limit(void)
{
    /* An array of exactly WEFT_ITEMS_MAX items decodes; one more does
     * not. */
    size_t   n = WEFT_ITEMS_MAX + 1;
    uint8_t *p = malloc(n + 5);

    p[0] = 0xdd;
    p[1] = (uint8_t) (n >> 24);
    p[2] = (uint8_t) (n >> 16);
    p[3] = (uint8_t) (n >> 8);
    p[4] = (uint8_t) n;
    memset(p + 5, 0x01, n);
    CHECK(dec(p, n + 5) == WEFT_ETOOBIG);
    n--;
    p[3] = (uint8_t) (n >> 8);
    p[4] = (uint8_t) n;
    CHECK(dec(p, n + 5) == WEFT_OK);
    free(p);
}

/* Maps of every width (insertion sort, qsort) encode in canonical order,
 * whatever order their keys were added in. */
static void
test_map_widths(void)
{
    static const uint32_t widths[] = { 1, 2, 24, 25, 32, 33, 100 };

    for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
        pv      *m = pv_map(A), *back;
        weft_buf b;
        char     key[16];

        for (uint32_t i = widths[w]; i > 0; i--) {
            snprintf(key, sizeof(key), "k%u", (i * 7919u) % 1000u);
            pv_set(A, m, key, pv_int(A, i));
        }
        weft_buf_init(&b, 1 << 16);
        CHECK(proto_encode(m, &b) == WEFT_OK);
        CHECK(proto_decode(A, b.p, b.len, &back, NULL) == WEFT_OK);
        CHECK(back != NULL && pv_equal(back, m));
        weft_buf_free(&b);
    }
}

static void
test_arena_cap(void)
{
    pv_arena *small = pv_arena_new(4096);
    pv       *v;
    uint8_t   p[3 + 3000];

    /* A value bigger than its arena fails cleanly. */
    p[0] = 0xda;
    p[1] = 3000 >> 8;
    p[2] = 3000 & 0xff;
    memset(p + 3, 'a', 3000);
    CHECK(proto_decode(small, p, sizeof(p), &v, NULL) == WEFT_OK);
    CHECK(proto_decode(small, p, sizeof(p), &v, NULL) == WEFT_ETOOBIG);
    pv_arena_free(small);
    pv_arena_free(NULL);
}

/* Found by fuzz_decode: a decoded infinity (a peer may send one) or a
 * bare scalar made proto_json_dump fail with ENOMEM, so --json printed
 * nothing. */
static void
test_json_odd_values(void)
{
    static const char want[]
        = "{\"f\":1.5,\"n\":\"-inf\",\"p\":\"inf\",\"z\":\"nan\"}";
    pv      *m = pv_map(A);
    weft_buf b;

    weft_buf_init(&b, 1 << 16);
    pv_set(A, m, "p", pv_float(A, INFINITY));
    pv_set(A, m, "n", pv_float(A, -INFINITY));
    pv_set(A, m, "z", pv_float(A, NAN));
    pv_set(A, m, "f", pv_float(A, 1.5));
    CHECK(proto_json_dump(m, false, &b) == WEFT_OK);
    CHECK(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0);
    b.len = 0;
    CHECK(proto_json_dump(pv_nil(A), false, &b) == WEFT_OK);
    CHECK(b.len == 4 && memcmp(b.p, "null", 4) == 0);
    weft_buf_free(&b);
}

int
main(void)
{
    A = pv_arena_new(64u << 20);
    test_known_answers();
    test_int_boundaries();
    test_noncanonical();
    test_limits();
    test_items_limit();
    test_map_widths();
    test_arena_cap();
    test_json_odd_values();
    pv_arena_free(A);
    return test_done("codec_test");
}
