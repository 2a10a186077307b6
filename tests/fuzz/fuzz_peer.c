/*
 * fuzz_peer.c: libFuzzer target for the signed records peers gossip
 * (proto/peer.c): peer records (proto_peer_record_open) and domain heads
 * (proto_head_open, at a fixed clock). Every input goes to both. Checks:
 *   - no input opens as both (a record has 4 fields, a head 5);
 *   - an opened record re-encodes to exactly its signed bytes (strict
 *     canonical decoding) and holds what the node reads from it without
 *     checking again (node/mesh.c, node/mesh_head.c): a valid domain, a
 *     32-byte key, an int ts; a url of at most 255 bytes; for a head a
 *     seq >= 0 with a 32-byte tip exactly when seq > 0, not dated ahead.
 * The fuzzer cannot forge signatures, so past the signature check only
 * the seeds (tests/fuzz/corpus/fuzz_peer) reach; the decoding and shape
 * checks before it see every mutation.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MAX (1u << 20)
#define FUZZ_NOW  1767225600 /* 2026-01-01, the clock of the seeds */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (crypto_init() != WEFT_OK)
        abort();
    return 0;
}

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_peer: %s\n", what);
    abort();
}

/* signed_bytes re-encodes rec and compares it with the record's signed
 * bytes, the "rec" field of the outer map. */
static void
signed_bytes(pv_arena *a, const uint8_t *data, size_t size, const pv *rec)
{
    pv       *env = NULL;
    const pv *body;
    weft_diag d = { { 0 } };
    weft_buf  b;

    if (proto_decode(a, data, size, &env, &d) != WEFT_OK
        || (body = pv_get(env, "rec")) == NULL || body->type != PV_BIN)
        fail("an opened record does not decode again");
    weft_buf_init(&b, PROTO_PEER_RECORD_MAX);
    if (proto_encode(rec, &b) != WEFT_OK || b.len != body->u.s.len
        || memcmp(b.p, body->u.s.p, b.len) != 0)
        fail("an opened record does not re-encode to its signed bytes");
    weft_buf_free(&b);
}

/* common checks the fields every record has. */
static void
common(const pv *r, uint32_t nfields)
{
    const pv   *key = pv_get(r, "key"), *ts = pv_get(r, "ts");
    const char *dom = pv_getstr(r, "domain");

    if (r->type != PV_MAP || r->u.m.n != nfields)
        fail("an opened record has other fields");
    if (dom == NULL || !proto_domain_ok(dom))
        fail("an opened record has no valid domain");
    if (key == NULL || key->type != PV_BIN || key->u.s.len != 32)
        fail("an opened record has no 32-byte key");
    if (ts == NULL || ts->type != PV_INT)
        fail("an opened record has no int ts");
}

static void
check_head(const pv *h)
{
    const pv *seq = pv_get(h, "seq"), *tip = pv_get(h, "tip");

    common(h, 5);
    if (seq == NULL || seq->type != PV_INT || seq->u.i < 0 || tip == NULL)
        fail("an opened head has no seq >= 0 or no tip");
    if (seq->u.i == 0 ? tip->type != PV_NIL
                      : tip->type != PV_BIN || tip->u.s.len != 32)
        fail("an opened head's tip does not fit its seq");
    if (pv_getint(h, "ts", 0) > FUZZ_NOW + PROTO_HEAD_SKEW)
        fail("an opened head is dated ahead of the clock");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_arena *a = pv_arena_new(ARENA_MAX);
    pv       *rec = NULL, *head = NULL;
    weft_diag d = { { 0 } };
    weft_err  rerr, herr;

    if (a == NULL)
        abort();
    rerr = proto_peer_record_open(a, data, size, &rec, &d);
    herr = proto_head_open(a, data, size, FUZZ_NOW, &head, &d);
    if (rerr == WEFT_OK && herr == WEFT_OK)
        fail("one input opens as a peer record and as a head");
    if (size > PROTO_PEER_RECORD_MAX
        && (rerr != WEFT_ETOOBIG || herr != WEFT_ETOOBIG))
        fail("a record over PROTO_PEER_RECORD_MAX is not refused ETOOBIG");
    if (rerr == WEFT_OK) {
        const char *url = pv_getstr(rec, "url");

        common(rec, 4);
        if (url == NULL || strlen(url) > 255)
            fail("an opened peer record has no url of at most 255 bytes");
        signed_bytes(a, data, size, rec);
    }
    if (herr == WEFT_OK) {
        check_head(head);
        signed_bytes(a, data, size, head);
    }
    pv_arena_free(a);
    return 0;
}
