/*
 * fuzz_peer_req.c: libFuzzer target for the peer socket: every input is
 * one request from a peer (hello, auth, push, sync, fetch), answered by
 * mesh_handle (node/mesh_serve.c) on a real node with a mesh (fuzz_node.h:
 * the node, its published products, the store put back after every input
 * that writes). The mesh is started as weftd with --peer but no --listen
 * would start it: no socket, no link.
 *
 * A session is made by hello with a random id and nonce, which no input
 * can know. So before each input the mesh's sessions, shut-out keys and
 * passive list are cleared, and three sessions with fixed ids are put in
 * (the seeds use them):
 *   - SESS_AUTHED: authenticated, of domain FUZZ_PEER_DOMAIN with the key
 *     of seed 0x05: push, sync and fetch go through it;
 *   - SESS_HELLO: the same key after hello (nonce SESS_NONCE), not yet
 *     authenticated: a valid auth signs SESS_NONCE, the node's key and
 *     the peer's key with that key;
 *   - SESS_CLAIM: a key of seed 0x07 that says it is of the node's own
 *     domain (bound to the node's key): its valid auth is refused and the
 *     key shut out.
 * server_strike and server_drop get later NULL (no connection), which
 * server.c takes as the CLI socket's: no count kept.
 * Checks, for every input: mesh_handle returns true (it never defers);
 * the reply fits a peer message (MESH_MSG_MAX) and is one canonical
 * msgpack map with "ok" a bool, a refusal with a "code" and an "error"
 * (fuzz_reply_check); ASan, UBSan and LeakSanitizer.
 */
#include "fuzz_node.h"
#include "node/mesh_int.h"

#define FUZZ_PEER_DOMAIN "marketing"

static const uint8_t SESS_AUTHED[16] = { 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1,
    0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1 };
static const uint8_t SESS_HELLO[16] = { 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2,
    0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2 };
static const uint8_t SESS_CLAIM[16] = { 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4,
    0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4 };
#define SESS_NONCE_BYTE 0xc3

static uint8_t peer_pk[32], claim_pk[32];

static void
session_put(session *s, const uint8_t id[16], const uint8_t key[32],
    const char *domain, bool authed)
{
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->authed = authed;
    memcpy(s->id, id, 16);
    memcpy(s->key, key, 32);
    memset(s->nonce, SESS_NONCE_BYTE, 32);
    snprintf(s->domain, sizeof(s->domain), "%s", domain);
    s->last_ms = mesh__now_ms();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    crypto_key *k;

    (void) argc;
    (void) argv;
    fuzz_node_start("fuzz_peer_req", true);
    k = fuzz_key(0x05);
    memcpy(peer_pk, crypto_key_public(k), 32);
    crypto_key_free(k);
    k = fuzz_key(0x07);
    memcpy(claim_pk, crypto_key_public(k), 32);
    crypto_key_free(k);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mesh     *m = fuzz_n.mesh;
    pv_arena *a = pv_arena_new((size_t) MESH_MSG_MAX * 4);
    weft_buf  out;
    uint64_t  commits = fuzz_commits;

    if (a == NULL)
        abort();
    memset(m->sessions, 0, sizeof(m->sessions));
    memset(m->bans, 0, sizeof(m->bans));
    m->nknown = 0;
    session_put(&m->sessions[0], SESS_AUTHED, peer_pk, FUZZ_PEER_DOMAIN, true);
    session_put(&m->sessions[1], SESS_HELLO, peer_pk, FUZZ_PEER_DOMAIN, false);
    session_put(&m->sessions[2], SESS_CLAIM, claim_pk, FUZZ_DOMAIN, false);
    weft_buf_init(&out, MESH_MSG_MAX);
    if (!mesh_handle(&fuzz_n, data, size, &out, NULL))
        fuzz_fail("mesh_handle deferred a request");
    fuzz_reply_check(a, &out, MESH_MSG_MAX);
    if (m->nlinks != 0)
        fuzz_fail("a peer request made the node dial out at once");
    weft_buf_free(&out);
    pv_arena_free(a);
    if (fuzz_commits != commits)
        fuzz_node_reset();
    return 0;
}
