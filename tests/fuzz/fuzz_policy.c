/*
 * fuzz_policy.c: libFuzzer target for governance documents in YAML
 * (proto/policy.c): what `weft governance publish` signs and what
 * `weftd --local-policy FILE` reads. Each input is parsed as YAML and
 * normalized twice: with version 0 (the document's own, as the CLI does
 * without --version) and version 1 (as a local policy file is). Checks on
 * every normalized tree, since it is what gets signed and gossiped:
 *   - it encodes canonically and decodes back to an equal tree;
 *   - policy_compile accepts it ("what policy_normalize emits is exactly
 *     what policy_compile accepts") with the expected version;
 *   - merging it with itself is accepted and changes nothing (a policy
 *     never loosens itself);
 *   - judging sample summaries gives one entry per rule and the same
 *     verdict twice.
 * Shared with fuzz_govern (which feeds normalized trees from peers):
 * fuzz_policy.h holds the checks on a compiled policy.
 */
#include "fuzz_policy.h"

#include <stdio.h>
#include <stdlib.h>

#define ARENA_MAX (64u << 20)

static void
normalized(pv_arena *a, const pv *doc, int64_t version)
{
    pv       *norm = NULL, *back = NULL;
    weft_diag d = { { 0 } };
    weft_buf  b;
    weft_err  err;
    int64_t   want;

    if (policy_normalize(a, doc, version, &norm, &d) != WEFT_OK)
        return;
    weft_buf_init(&b, WEFT_MSG_MAX);
    if ((err = proto_encode(norm, &b)) != WEFT_OK)
        fuzz_fail("fuzz_policy", "a normalized policy does not encode");
    if (proto_decode(a, b.p, b.len, &back, &d) != WEFT_OK
        || !pv_equal(norm, back) || !pv_equal(back, norm))
        fuzz_fail("fuzz_policy", "a normalized policy does not decode back");
    weft_buf_free(&b);
    want = version > 0 ? version
                       : pv_getint(pv_get(doc, "governance"), "version", -1);
    fuzz_policy_check(a, norm, want, "fuzz_policy");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_arena *a = pv_arena_new(ARENA_MAX);
    pv       *doc = NULL;
    weft_diag d = { { 0 } };

    if (a == NULL)
        abort();
    if (proto_yaml_parse(a, data, size, &doc, &d) == WEFT_OK) {
        normalized(a, doc, 0);
        normalized(a, doc, 1);
    }
    pv_arena_free(a);
    return 0;
}
