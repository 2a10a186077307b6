/*
 * fuzz_ops.c: libFuzzer target for the CLI socket: every input is one
 * request, answered by ops_handle (node/ops.c) on a real node with a
 * store that holds the conformance documents (fuzz_node.h: what it sets
 * up, and how the store is put back after every input that writes). The
 * node has no mesh (n->mesh NULL, as weftd without --listen or --peer),
 * and the request no way to be deferred (later NULL, as watch.c answers
 * its held requests again). Checks, for every input:
 *   - ops_handle answers at once (returns true);
 *   - the reply fits the socket's frame (WEFT_MSG_MAX) and is one
 *     canonical msgpack map with "ok" a bool; a refusal has a nonzero
 *     "code" int and an "error" string (fuzz_reply_check);
 *   - nothing leaks (LeakSanitizer), nothing reads or writes out of
 *     bounds (ASan, UBSan), in the whole of ops, catalog, query, index,
 *     lineage, governance, watch, bundle and the store.
 */
#include "fuzz_node.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_node_start("fuzz_ops", false);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_arena *a = pv_arena_new((size_t) WEFT_MSG_MAX * 2);
    weft_buf  out;
    uint64_t  commits = fuzz_commits;

    if (a == NULL)
        abort();
    weft_buf_init(&out, WEFT_MSG_MAX);
    if (!ops_handle(&fuzz_n, data, size, &out, NULL))
        fuzz_fail("ops_handle deferred a request it had no way to defer");
    fuzz_reply_check(a, &out, WEFT_MSG_MAX);
    weft_buf_free(&out);
    pv_arena_free(a);
    if (fuzz_commits != commits)
        fuzz_node_reset();
    return 0;
}
