/*
 * fuzz_envelope.c: libFuzzer target for signed summary envelopes. Each
 * input goes through proto_envelope_open (decode, shape check, signature)
 * and proto_envelope_read (decode and shape check only). They differ only
 * in the signature: what open accepts read must accept with the same
 * summary, and what open refuses for any reason but EBADSIG read must
 * refuse with the same error (abort otherwise).
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <stdio.h>
#include <stdlib.h>

#define ARENA_MAX (64u << 20)

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
    pv_arena *a = pv_arena_new(ARENA_MAX);
    pv       *opened = NULL, *read = NULL;
    weft_diag d = { { 0 } };
    weft_err  oerr, rerr;

    if (a == NULL)
        abort();
    oerr = proto_envelope_open(a, data, size, &opened, &d);
    rerr = proto_envelope_read(a, data, size, &read, &d);
    if (oerr == WEFT_OK
        && (rerr != WEFT_OK || opened == NULL || read == NULL
            || !pv_equal(opened, read))) {
        fprintf(stderr, "fuzz_envelope: open accepted what read refused\n");
        abort();
    }
    if (oerr != WEFT_OK && oerr != WEFT_EBADSIG && rerr != oerr) {
        fprintf(stderr, "fuzz_envelope: open refused with %s, read with %s\n",
            weft_errname(oerr), weft_errname(rerr));
        abort();
    }
    pv_arena_free(a);
    return 0;
}
