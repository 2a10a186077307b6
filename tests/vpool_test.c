/*
 * vpool_test.c: the signature helpers give the same verdict as checking
 * on one thread, for every envelope, in batches of every size around
 * VPOOL_MIN_BATCH and far above it, with good, forged, truncated and
 * garbage envelopes mixed in; with no helpers, one, and the most; and
 * many batches in a row on one pool (helpers that wake late must not
 * touch the next batch).
 */
#include "crypto/crypto.h"
#include "node/vpool.h"
#include "proto/proto.h"
#include "test.h"

#define N 2000

static pv_arena *A;
static uint8_t  *ENV[N];
static size_t    LEN[N];
static weft_err  WANT[N];

static void
make(crypto_key *k)
{
    for (int i = 0; i < N; i++) {
        pv      *m = pv_map(A), *sum;
        weft_buf b;
        uint8_t  body[32];
        char     name[32], id[64];

        snprintf(name, sizeof(name), "p%04d", i);
        pv_setstr(A, m, "kind", "product");
        pv_setstr(A, m, "domain", "sales");
        snprintf(id, sizeof(id), "sales/%s", name);
        pv_setstr(A, m, "id", id);
        pv_setstr(A, m, "name", name);
        pv_setstr(A, m, "version", "1.0.0");
        pv_setstr(A, m, "status", "active");
        pv_setstr(A, m, "description", "a product");
        pv_setstr(A, m, "owner", "sales-team");
        crypto_blake2b((const uint8_t *) name, strlen(name), body);
        weft_buf_init(&b, WEFT_SUMMARY_MAX * 2);
        CHECK(proto_summary_build(A, m, crypto_key_public(k), body,
                  (uint64_t) i + 1, 1800000000, &sum)
            == WEFT_OK);
        CHECK(proto_envelope_seal(sum, k, &b) == WEFT_OK);
        switch (i % 7) {
        case 3: /* forged: one signature bit */
            b.p[17] ^= 0x10;
            break;
        case 5: /* truncated */
            b.len -= 1 + (size_t) i % 40;
            break;
        case 6: /* garbage */
            memset(b.p, 0xc1, b.len);
            break;
        }
        ENV[i] = b.p;
        LEN[i] = b.len;
        WANT[i] = proto_envelope_open(A, ENV[i], LEN[i], &sum, NULL);
    }
    CHECK(WANT[0] == WEFT_OK && WANT[3] != WEFT_OK && WANT[5] != WEFT_OK);
    CHECK(WANT[3] == WEFT_EBADSIG);
}

static void
run(vpool *p, size_t from, size_t n)
{
    weft_err got[N];

    for (size_t i = 0; i < n; i++)
        got[i] = (weft_err) -1;
    vpool_open(p, (const uint8_t *const *) ENV + from, LEN + from, n, got);
    for (size_t i = 0; i < n; i++)
        if (got[i] != WANT[from + i]) {
            CHECK_EQ_INT(got[i], WANT[from + i]);
            return;
        }
    test_checks++;
}

int
main(void)
{
    crypto_key *k;
    int         helpers[] = { 0, 1, VPOOL_HELPERS_MAX, VPOOL_HELPERS_MAX + 5 };

    CHECK(crypto_init() == WEFT_OK);
    CHECK(crypto_key_generate(&k) == WEFT_OK);
    A = pv_arena_new(256u << 20);
    make(k);
    CHECK(vpool_helpers() >= 0 && vpool_helpers() <= VPOOL_HELPERS_MAX);
    run(NULL, 0, 100); /* no pool: inline */
    for (size_t h = 0; h < sizeof(helpers) / sizeof(helpers[0]); h++) {
        vpool *p = vpool_new(helpers[h]);

        CHECK(p != NULL);
        run(p, 0, 0);
        for (size_t n = VPOOL_MIN_BATCH - 2; n <= VPOOL_MIN_BATCH + 2; n++)
            run(p, n, n);
        run(p, 0, N);
        for (int r = 0; r < 40; r++) /* back to back, odd sizes */
            run(p, (size_t) (r * 7) % 1000, 33 + (size_t) (r * 13) % 900);
        vpool_free(p);
    }
    vpool_free(NULL);
    for (int i = 0; i < N; i++)
        free(ENV[i]);
    pv_arena_free(A);
    crypto_key_free(k);
    return test_done("vpool_test");
}
