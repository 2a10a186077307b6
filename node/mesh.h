/*
 * mesh.h: the node's peers. mesh.c holds the links (outbound REQ sockets
 * with their hello/auth state machine, backoff, outboxes), the inbound
 * peer socket's handler and sessions; mesh_sync.c holds what touches the
 * store: heads, the receipt pipeline, and choosing what a peer lacks.
 *
 * Thread use: the loop thread only (nng callbacks just queue and wake).
 */
#ifndef WEFT_MESH_H
#define WEFT_MESH_H

#include "node/node.h"

#define MESH_LINKS_DEFAULT  8  /* active outbound links (--links) */
#define MESH_LINKS_MAX      32 /* --links at most */
#define MESH_DIALBACK_MAX   4  /* more, to peers no one else dials */
#define MESH_LINKS_ALL      (MESH_LINKS_MAX + MESH_DIALBACK_MAX)
#define MESH_LONELY         2          /* fewer inbound peers asks dial-back */
#define MESH_KNOWN_MAX      256        /* known peer urls (passive list) */
#define MESH_SESSIONS_MAX   128        /* inbound sessions held */
#define MESH_URL_MAX        256        /* bytes in a peer url */
#define MESH_MSG_MAX        (4u << 20) /* bytes in one peer message */
#define MESH_BATCH_BYTES    (1u << 20) /* envelopes in one push */
#define MESH_SYNC_BYTES     (2u << 20) /* envelopes in one sync reply, at most */
#define MESH_OUTBOX_MAX     (8u << 20) /* bytes waiting for one peer */
#define MESH_TIMEOUT_MS     5000       /* a request's reply deadline */
#define MESH_BACKOFF_MIN_MS 250
#define MESH_BACKOFF_MAX_MS 30000
/* Push fanout: a new summary goes to every linked peer (forward-once
 * gossip with fanout f misses about N e^-f of N nodes; with every link,
 * only nodes no peer dials are missed, and dial-back leaves none). */
#define MESH_FANOUT       MESH_LINKS_ALL /* peers a new summary is pushed to */
#define MESH_REFUSALS_MAX 64             /* refusals before a session ends */
#define MESH_BANS_MAX     32             /* misbehaving keys remembered */
#define MESH_BAN_MIN_MS   10000          /* first shut-out; doubles each time */
#define MESH_BAN_MAX_MS   600000
#define MESH_RECORDS_MAX  16 /* peer records in one hello reply */
#define MESH_FETCH_MAX    8  /* descriptor fetches at once */
#define MESH_PER_WAKE     2  /* link replies handled per loop wake-up */
/* The index's idle merger waits this long after a reply of a bulk copy. */
#define MESH_COPY_QUIET_MS 1000
/* Signed heads: each node signs its own every MESH_HEAD_EVERY_MS (and on
 * every publish) and pushes it to MESH_HEAD_FANOUT peers; every
 * MESH_FULL_EVERY-th anti-entropy round is a full one, which also
 * repairs the heads a push missed. Both are sized for an idle mesh of 50
 * domains to stay well under 1 KB/s per node. */
#define MESH_HEAD_EVERY_MS 300000
#define MESH_HEAD_FANOUT   3
#define MESH_FULL_EVERY    120
#define MESH_HEADS_MAX     4096 /* signed heads in one message */

enum { OUT_ENV, OUT_HEAD, OUT_POLICY }; /* what an outbox entry is */

/* mesh__policy_receive offers a policy bundle from peer key from to
 * governance; an adopted one goes on to the other peers. Returns 1 when
 * it was refused (a bad bundle, not an old one). */
int mesh__policy_receive(
    node *n, const uint8_t *p, size_t len, const uint8_t *from);

typedef struct mesh  mesh;
typedef struct plink plink;

/* mesh_start listens on url (may be NULL: no inbound peers) and links to
 * the peers given and those remembered in the store. */
weft_err mesh_start(node *n, void *loop, const char *url,
    const char *const *peers, int npeers, uint64_t interval_ms,
    uint64_t head_every_ms, int links, weft_diag *d);

/* mesh_stop closes every link and the peer socket. */
void mesh_stop(mesh *m);

/* mesh_free releases m once the loop has run its close callbacks. */
void mesh_free(mesh *m);

/* mesh_policy pushes the policy bundle held to every linked peer. */
void mesh_policy(node *n);

/* mesh_announce pushes the node's own new summaries to a few peers. */
void mesh_announce(node *n);

/* mesh_peer_add links to url and remembers it; mesh_peer_remove forgets. */
weft_err mesh_peer_add(node *n, const char *url, weft_diag *d);
weft_err mesh_peer_remove(node *n, const char *url, weft_diag *d);

/* mesh_peers describes every link into list (maps; see docs/cli.md). */
weft_err mesh_peers(node *n, pv_arena *a, pv *list);

/* mesh_handle answers one request on the peer socket. */
bool mesh_handle(
    node *n, const uint8_t *req, size_t len, weft_buf *out, server_req *later);

/*
 * mesh_fetch asks the peers, one after another, for the descriptor of id
 * whose hash is body; the first that verifies is stored. Then the CLI
 * request req (copied) is answered again into later. WEFT_ESTATE when
 * there is no peer to ask: the caller answers now.
 */
weft_err mesh_fetch(node *n, const char *id, const uint8_t body[32],
    const uint8_t *req, size_t len, server_req *later);

/* ---- shared by mesh.c and mesh_sync.c -------------------------------- */

/* mesh__heads fills map with domain -> [contiguous seq held, tip], and
 * with ts also the time of the signed head held (0: none). */
weft_err mesh__heads(node *n, pv_arena *a, pv *heads, bool ts);

/* mesh__head_sign signs and keeps a new head of the node's own domain,
 * into out. */
weft_err mesh__head_sign(node *n, weft_buf *out);

/* mesh__heads_receive verifies each signed head in the list heads and
 * keeps those newer than held; with forward they go on to a few peers.
 * Returns how many were newer; *refused counts the bad ones. */
size_t mesh__heads_receive(node *n, const pv *heads, const uint8_t *from,
    bool forward, uint64_t *refused);

/* mesh__heads_newer appends to out (up to budget bytes) the signed heads
 * held that are newer than those in theirs (a peer's full heads). */
void mesh__heads_newer(
    node *n, pv_arena *a, const pv *theirs, size_t budget, pv *out);

/* mesh__bind binds dom to key (first seen wins), in its own txn. */
weft_err mesh__bind(node *n, const char *dom, const uint8_t key[32]);

/* mesh__receive runs the receipt pipeline on envs from peer key (may be
 * NULL): returns how many were new; *refused counts the bad ones. With
 * forward, new current summaries go on to a few other peers. */
size_t mesh__receive(node *n, const pv *envs, const uint8_t *from, bool forward,
    uint64_t *refused);

/*
 * The receipt pipeline in two steps: mesh__in_start has the helpers open
 * (decode, check, verify, analyze for the index) the envelopes envs,
 * which must outlive it, ahead of the loop thread; mesh__in_store stores
 * them as mesh__receive does, and frees in (which may be NULL: out of
 * memory, nothing stored); bulk says more of a copy follows (the index
 * defers its merging, index_defer). mesh__in_free frees one never
 * stored.
 */
typedef struct mesh_in mesh_in;
mesh_in               *mesh__in_start(node *n, const pv *envs);
size_t mesh__in_store(node *n, mesh_in *in, const uint8_t *from, bool forward,
    bool bulk, uint64_t *refused);
void   mesh__in_free(mesh_in *in);

/* mesh__prefetch starts opening the summaries of a sync reply that has
 * arrived but waits for the loop thread (mesh.c), so the helpers work on
 * it while the loop thread commits the reply before. */
void mesh__prefetch(mesh *m);

/* mesh__missing appends to envs (up to budget bytes) the summaries in our
 * log above the peer's heads, oldest first per domain; true if it had to
 * stop at the budget. upto (a map, or NULL) gets, for each domain it took
 * summaries of, [the last seq taken, the first 8 bytes of its hash]: the
 * heads the peer will have once it holds them. */
bool mesh__missing(
    node *n, pv_arena *a, const pv *heads, size_t budget, pv *envs, pv *upto);

/* mesh__sync_reply handles a sync reply on link l (in: its summaries
 * being opened, or NULL; freed here); > 0 asks for another round at once
 * (the peer had more than one reply holds). */
int mesh__sync_reply(node *n, plink *l, const pv *rep, mesh_in *in);

/* mesh__queue puts an envelope or a head (kind) in link l's outbox (sent
 * by link_kick). */
void mesh__queue(plink *l, int kind, const uint8_t *p, size_t len);

/* mesh__forward_kind queues items of kind for up to fanout peers other
 * than the one whose key is from, and kicks them; mesh__forward does so
 * with envelopes and MESH_FANOUT. */
void mesh__forward_kind(node *n, int kind, uint8_t **items, size_t *lens,
    size_t count, const uint8_t *from, int fanout);
void mesh__forward(
    node *n, uint8_t **envs, size_t *lens, size_t count, const uint8_t *from);

/* mesh__link_key is the peer key of link l; mesh__link_refused counts. */
const uint8_t *mesh__link_key(const plink *l);
void           mesh__link_refused(plink *l, uint64_t refused);

/* mesh__descriptor is the current descriptor of id as canonical bytes,
 * or nil when not held. */
pv *mesh__descriptor(node *n, pv_arena *a, const char *id);

/* mesh__own_seq is the node's own latest seq. */
uint64_t mesh__own_seq(node *n);

/* mesh__own_log copies the node's own envelopes from..to (malloc'd; the
 * caller frees each and both arrays). */
void mesh__own_log(node *n, uint64_t from, uint64_t to, uint8_t ***envs,
    size_t **lens, size_t *count);

/* mesh__remember stores (or with keep false, forgets) a peer url. */
void mesh__remember(node *n, const char *url, bool keep);

/* mesh__remembered calls fn with every peer url stored. */
void mesh__remembered(
    node *n, void (*fn)(void *ctx, const char *url), void *ctx);

#endif
