/*
 * fuzz_bundle.c: libFuzzer target for export bundles: bundle_import in
 * node/bundle.c, the whole of it, without a node. The file is compiled
 * here (included below) with these seams, so the fuzzer reaches what a
 * signature would otherwise keep out of its reach:
 *   - crypto_verify_msg, for the bundle's own signature, accepts every
 *     signature but one whose first byte is 0 (so refusal runs too);
 *   - proto_envelope_open, for each entry, is proto_envelope_read (the
 *     same decoding and checks but the signature; fuzz_envelope checks
 *     that the two agree);
 *   - time() is the seeds' clock (FUZZ_NOW), so their summaries stay
 *     fresh whenever this runs;
 *   - the store and catalog calls are stubs below that check what reaches
 *     them: the exporter's domain and key, each entry's verified summary
 *     with its envelope and descriptor, and that every entry is handed
 *     over once, in one transaction.
 * The descriptor's hash check is real, so mutated descriptors stop there;
 * the seeds carry matching ones.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUZZ_NOW 1767225600 /* 2026-01-01, the clock of the seeds */

static weft_err fuzz_verify_msg(const uint8_t pk[CRYPTO_PK_BYTES],
    const char *prefix, const uint8_t *msg, size_t n,
    const uint8_t sig[CRYPTO_SIG_BYTES]);
static time_t   fuzz_time(time_t *t);

#define crypto_verify_msg   fuzz_verify_msg
#define proto_envelope_open proto_envelope_read
#define time(t)             fuzz_time(t)
#include "node/bundle.c"
#undef crypto_verify_msg
#undef proto_envelope_open
#undef time

static weft_err
fuzz_verify_msg(const uint8_t pk[CRYPTO_PK_BYTES], const char *prefix,
    const uint8_t *msg, size_t n, const uint8_t sig[CRYPTO_SIG_BYTES])
{
    (void) pk;
    (void) prefix;
    (void) msg;
    (void) n;
    return sig[0] == 0 ? WEFT_EBADSIG : WEFT_OK;
}

static time_t
fuzz_time(time_t *t)
{
    if (t != NULL)
        *t = FUZZ_NOW;
    return FUZZ_NOW;
}

/* ---- stubs: the store and the catalog -------------------------------- */

static void fail(const char *what) __attribute__((noreturn));

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_bundle: %s\n", what);
    abort();
}

static struct {
    int      txns;     /* open transactions */
    int      binds;    /* catalog_bind_key calls in this input */
    uint64_t accepted; /* catalog_accept calls in this input */
} st;

static store_txn *const TXN = (store_txn *) &st;

weft_err
store_begin(store *s, bool write, store_txn **out)
{
    (void) s;
    if (!write)
        fail("bundle_import reads the store without writing");
    if (st.txns++ != 0)
        fail("bundle_import opens a second transaction");
    *out = TXN;
    return WEFT_OK;
}

weft_err
store_commit(store_txn *t)
{
    if (t != TXN || st.txns != 1)
        fail("commit of a transaction that is not open");
    st.txns--;
    return WEFT_OK;
}

void
store_abort(store_txn *t)
{
    if (t == NULL)
        return;
    if (t != TXN || st.txns != 1)
        fail("abort of a transaction that is not open");
    st.txns--;
}

weft_err
store_each(store_txn *t, store_table tab, const void *prefix, size_t plen,
    bool reverse, store_each_fn fn, void *ctx)
{
    (void) t, (void) tab, (void) prefix, (void) plen, (void) reverse;
    (void) fn, (void) ctx;
    fail("bundle_import walks the store");
}

weft_err
catalog_cur_env(store_txn *t, store_val k, store_val v, store_val *env)
{
    (void) t, (void) k, (void) v, (void) env;
    fail("bundle_import reads a current summary");
}

weft_err
catalog_descriptor(node *n, store_txn *t, pv_arena *a, const char *id,
    const char *version, pv **desc, uint64_t *seq)
{
    (void) n, (void) t, (void) a, (void) id, (void) version, (void) desc;
    (void) seq;
    fail("bundle_import reads a descriptor");
}

weft_err
catalog_bind_key(
    node *n, store_txn *t, const char *dom, const uint8_t *pk, weft_diag *d)
{
    (void) n;
    (void) d;
    if (t != TXN || st.txns != 1)
        fail("catalog_bind_key outside the transaction");
    if (dom == NULL || !proto_domain_ok(dom))
        fail("the exporter's domain reaching the store is not a domain name");
    if (pk == NULL)
        fail("the exporter's key is missing");
    st.binds++;
    return WEFT_OK;
}

weft_err
catalog_accept(node *n, store_txn *t, pv_arena *a, const pv *sum,
    const uint8_t *env, size_t envlen, const uint8_t *desc, size_t desclen,
    const struct ixdoc *ix, accept_outcome *out, weft_diag *d)
{
    pv      *again = NULL, *dv = NULL;
    uint8_t  h[32];
    weft_err err;

    (void) n;
    if (ix != NULL)
        fail("a bundle's summary reaching the catalog with an index document");
    if (t != TXN || st.txns != 1 || st.binds != 1)
        fail("catalog_accept outside the transaction or before the bind");
    if (sum == NULL || proto_summary_check(sum, d) != WEFT_OK)
        fail("a summary reaching the catalog does not pass its check");
    if (proto_summary_timely(sum, FUZZ_NOW, d) != WEFT_OK)
        fail("a summary reaching the catalog is not fresh");
    if ((err = proto_envelope_read(a, env, envlen, &again, d)) != WEFT_OK
        || !pv_equal(again, sum))
        fail("the envelope reaching the catalog is not the summary's");
    if (desc != NULL) {
        crypto_blake2b(desc, desclen, h);
        if (memcmp(h, pv_get(sum, "body")->u.s.p, 32) != 0)
            fail("a descriptor reaching the catalog does not match its hash");
        if (proto_decode(a, desc, desclen, &dv, d) != WEFT_OK
            || dv->type != PV_MAP
            || strcmp(pv_getstr(dv, "id"), pv_getstr(sum, "id")) != 0)
            fail("a descriptor reaching the catalog is not the summary's");
    }
    st.accepted++;
    *out = (st.accepted & 1) ? ACCEPT_ADDED : ACCEPT_HELD;
    return WEFT_OK;
}

/* ---- the target ------------------------------------------------------ */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (crypto_init() != WEFT_OK)
        abort();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    node      n;
    uint64_t  added = 7, skipped = 7;
    char      exporter[WEFT_DOMAIN_MAX + 1] = "";
    weft_diag d = { { 0 } };
    weft_err  err;

    memset(&n, 0, sizeof(n));
    memset(&st, 0, sizeof(st));
    err = bundle_import(&n, data, size, &added, &skipped, exporter, &d);
    if (st.txns != 0)
        fail("bundle_import leaves a transaction open");
    if (err == WEFT_OK) {
        if (added + skipped != st.accepted)
            fail("added and skipped do not count the entries handed over");
        if (!proto_domain_ok(exporter))
            fail("the exporter returned is not a domain name");
    } else if (d.msg[0] == 0 && err != WEFT_ENOMEM) {
        fail("a bundle refused without a message");
    }
    return 0;
}
