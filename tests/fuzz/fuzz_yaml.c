/*
 * fuzz_yaml.c: libFuzzer target for the YAML parser and the normalizer.
 * Every input is parsed; a document that parses is normalized; a model
 * that normalizes is encoded canonically and decoded back, and the decoded
 * tree must equal the model (abort otherwise). A model that does not
 * encode aborts too: proto_encode refuses only NaN, duplicate keys and
 * trees deeper than WEFT_DEPTH_MAX, and proto_normalize promises a model
 * with none of them (the node could not store it otherwise).
 */
#include "proto/proto.h"

#include <stdio.h>
#include <stdlib.h>

#define ARENA_MAX (64u << 20)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_arena *a = pv_arena_new(ARENA_MAX);
    pv       *doc = NULL, *model = NULL, *back = NULL;
    weft_diag d = { { 0 } };
    weft_buf  b;
    weft_err  err;

    if (a == NULL)
        abort();
    /* Not WEFT_DESC_MAX: a model may legitimately outgrow what the node
     * stores (it then refuses it with ETOOBIG); only NaN, duplicate keys
     * and depth should make the encoder fail here. */
    weft_buf_init(&b, WEFT_MSG_MAX);
    if (proto_yaml_parse(a, data, size, &doc, &d) != WEFT_OK)
        goto done;
    if (doc == NULL) {
        fprintf(stderr, "fuzz_yaml: parse succeeded with a NULL tree\n");
        abort();
    }
    if (proto_normalize(a, doc, "fuzz", &model, &d) != WEFT_OK)
        goto done;
    if ((err = proto_encode(model, &b)) != WEFT_OK) {
        fprintf(stderr, "fuzz_yaml: normalized model does not encode: %s\n",
            weft_errname(err));
        abort();
    }
    if ((err = proto_decode(a, b.p, b.len, &back, &d)) != WEFT_OK) {
        fprintf(stderr, "fuzz_yaml: encoded model does not decode: %s: %s\n",
            weft_errname(err), d.msg);
        abort();
    }
    if (!pv_equal(model, back) || !pv_equal(back, model)) {
        fprintf(stderr, "fuzz_yaml: decoded model differs from the model\n");
        abort();
    }
done:
    weft_buf_free(&b);
    pv_arena_free(a);
    return 0;
}
