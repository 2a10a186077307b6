/*
 * fuzz_decode.c: libFuzzer target for the strict canonical msgpack
 * decoder. The decoder accepts only canonical input, so whatever it
 * accepts must encode back to exactly the same bytes, and must print as
 * JSON (proto_json_dump: `weft ... --json` prints what peers sent; abort
 * otherwise). This is also the target for CLI requests: the node decodes
 * each with proto_decode before any handler reads it (README.md).
 */
#include "proto/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MAX (64u << 20)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_arena *a = pv_arena_new(ARENA_MAX);
    pv       *v = NULL;
    weft_diag d = { { 0 } };
    weft_buf  b, j;
    weft_err  err;

    if (a == NULL)
        abort();
    weft_buf_init(&b, WEFT_MSG_MAX);
    weft_buf_init(&j, (size_t) WEFT_MSG_MAX * 8);
    if (proto_decode(a, data, size, &v, &d) != WEFT_OK)
        goto done;
    if ((err = proto_encode(v, &b)) != WEFT_OK) {
        fprintf(stderr, "fuzz_decode: decoded value does not encode: %s\n",
            weft_errname(err));
        abort();
    }
    if (b.len != size || memcmp(b.p, data, size) != 0) {
        fprintf(stderr,
            "fuzz_decode: re-encoding differs (%zu bytes in, %zu out)\n", size,
            b.len);
        abort();
    }
    if ((err = proto_json_dump(v, false, &j)) != WEFT_OK) {
        fprintf(stderr,
            "fuzz_decode: decoded value does not print as JSON: "
            "%s\n",
            weft_errname(err));
        abort();
    }
done:
    weft_buf_free(&j);
    weft_buf_free(&b);
    pv_arena_free(a);
    return 0;
}
