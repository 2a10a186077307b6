/*
 * fuzz_govern.c: libFuzzer target for signed governance policy bundles
 * (proto/govern.c) and the normalized policies inside them (policy_compile
 * in proto/policy.c), both of which a node takes from any peer. Each input
 * is tried twice:
 *   - as a bundle: proto_policy_open; what it accepts has the promised
 *     shape (the node reads it without checking again), and its signatures
 *     are checked with proto_policy_verify against a fixed council, and
 *     against the council the bundle names;
 *   - as a bare normalized policy (msgpack, the body's "policy"), and so
 *     is the policy of every bundle that opens: what compiles merges with
 *     itself, the merged tree compiles and is a fixed point of merging,
 *     and judging sample summaries is consistent (fuzz_policy.h).
 * The fuzzer cannot forge signatures: the verification's refusals are
 * what it explores, and the seeds carry validly signed bundles.
 */
#include "crypto/crypto.h"
#include "fuzz_policy.h"

#define ARENA_MAX (64u << 20)
#define WHO       "fuzz_govern"

/* The public key of the seeds' first council key (tests/fuzz/README.md). */
static const char COUNCIL_KEY[]
    = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

static pv       *council; /* {keys: [COUNCIL_KEY], threshold: 1} */
static pv_arena *council_arena;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t pk[32];
    pv     *keys;

    (void) argc;
    (void) argv;
    if (crypto_init() != WEFT_OK || crypto_unhex(COUNCIL_KEY, pk, 32)
        || (council_arena = pv_arena_new(4096)) == NULL
        || (council = pv_map(council_arena)) == NULL
        || (keys = pv_arr(council_arena)) == NULL
        || pv_push(council_arena, keys, pv_bin(council_arena, pk, 32))
        || pv_set(council_arena, council, "keys", keys)
        || pv_setint(council_arena, council, "threshold", 1))
        abort();
    return 0;
}

/* shape checks what proto_policy_open promises of an opened bundle. */
static void
shape(const pv *body, const pv *raw, const pv *sigs)
{
    const pv *c = pv_get(body, "council"), *pol = pv_get(body, "policy");

    if (raw == NULL || raw->type != PV_BIN || sigs == NULL
        || sigs->type != PV_ARR || sigs->u.a.n > PROTO_COUNCIL_MAX)
        fuzz_fail(WHO, "an opened bundle has no body bytes or signatures");
    for (uint32_t i = 0; i < sigs->u.a.n; i++) {
        const pv *s = sigs->u.a.v[i];

        if (s->type != PV_ARR || s->u.a.n != 2 || s->u.a.v[0]->type != PV_BIN
            || s->u.a.v[0]->u.s.len != 32 || s->u.a.v[1]->type != PV_BIN
            || s->u.a.v[1]->u.s.len != 64)
            fuzz_fail(WHO, "an opened bundle's signature is not [key, sig]");
    }
    if (body == NULL || body->type != PV_MAP || pol == NULL
        || pol->type != PV_MAP || pv_getint(pol, "version", 0) < 1 || c == NULL)
        fuzz_fail(WHO, "an opened bundle's body lacks policy or council");
    if (c->type != PV_NIL) {
        const pv *keys = pv_get(c, "keys");
        int64_t   k = pv_getint(c, "threshold", 0);

        if (c->type != PV_MAP || keys == NULL || keys->type != PV_ARR
            || keys->u.a.n < 1 || keys->u.a.n > PROTO_COUNCIL_MAX || k < 1
            || k > (int64_t) keys->u.a.n)
            fuzz_fail(WHO, "an opened bundle's council is malformed");
        for (uint32_t i = 0; i < keys->u.a.n; i++)
            if (keys->u.a.v[i]->type != PV_BIN || keys->u.a.v[i]->u.s.len != 32)
                fuzz_fail(WHO,
                    "an opened bundle's council key is not 32 "
                    "bytes");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_arena *a = pv_arena_new(ARENA_MAX);
    pv       *body = NULL, *tree = NULL;
    const pv *raw = NULL, *sigs = NULL, *c;
    weft_diag d = { { 0 } };

    if (a == NULL)
        abort();
    if (proto_policy_open(a, data, size, &body, &raw, &sigs, &d) == WEFT_OK) {
        shape(body, raw, sigs);
        c = pv_get(body, "council");
        /* As gov_offer calls it: the node's council, and the new one. */
        proto_policy_verify(
            raw, sigs, council, c->type != PV_NIL ? c : NULL, &d);
        if (c->type != PV_NIL)
            proto_policy_verify(raw, sigs, c, NULL, &d);
        fuzz_policy_check3(a, pv_get(body, "policy"),
            pv_getint(pv_get(body, "policy"), "version", 0), false, false, WHO);
    }
    if (size <= PROTO_POLICY_MAX
        && proto_decode(a, data, size, &tree, &d) == WEFT_OK)
        fuzz_policy_check3(a, tree, 0, false, false, WHO);
    pv_arena_free(a);
    return 0;
}
