/*
 * mesh_int.h: what the files of the mesh share and nothing else does: the
 * link, session, fetch and passive-list structures and struct mesh.
 * mesh.c runs the outbound links and the node's side; mesh_serve.c
 * answers the peer socket; mesh_sync.c touches the store.
 */
#ifndef WEFT_MESH_INT_H
#define WEFT_MESH_INT_H

#include "node/mesh.h"

#include <nng/nng.h>
#include <pthread.h>
#include <uv.h>

#define HELLO_PREFIX "weft/hello/v1"

typedef enum { L_DOWN, L_WAIT, L_READY } lstate;
typedef enum { OP_NONE, OP_HELLO, OP_AUTH, OP_PUSH, OP_SYNC, OP_FETCH } lop;
typedef enum { PH_SEND, PH_RECV } phase;

/* What waits for one peer: envelopes and signed heads, in order. */
typedef struct outbox {
    uint8_t **env;
    size_t   *len;
    uint8_t  *kind; /* OUT_ENV or OUT_HEAD */
    size_t    n, cap, bytes;
} outbox;

typedef struct plink {
    struct mesh  *m;
    char          url[MESH_URL_MAX];
    nng_socket    s;
    nng_ctx       ctx;
    nng_aio      *aio;
    lstate        state;
    lop           op;
    phase         ph; /* touched by the aio callback while op is in flight */
    bool          authed, queued, gone;
    bool          dry; /* the last sync reply stored nothing new */
    uint8_t       nonce[32], session[16], key[32];
    char          domain[WEFT_DOMAIN_MAX + 1];
    uint64_t      sent_us, rtt_us, last_seen, backoff_ms, retry_ms;
    uint64_t      msgs_in, msgs_out, bytes_in, bytes_out, refusals, fails;
    outbox        out;
    struct fetch *f;    /* the fetch in flight on this link */
    struct plink *next; /* the done queue */
    /* A sync reply taken off the aio ahead of link_done, its summaries
     * being opened (mesh__prefetch): the message, its decoded tree. */
    nng_msg  *pre_msg;
    pv_arena *pre_a;
    pv       *pre_rep;
    mesh_in  *pre_in;
    bool      pre_skip; /* its reply is not one to take ahead */
} plink;

/* A descriptor being fetched from peers for a waiting CLI request. */
typedef struct fetch {
    bool          used;
    char          id[WEFT_ID_MAX + 1];
    uint8_t       body[32];
    uint8_t      *req; /* the CLI request, answered again when done */
    size_t        len;
    server_req   *later;
    uint8_t       tried[MESH_LINKS_ALL][32];
    int           ntried;
    uint64_t      deadline_ms;
    struct plink *on; /* the link asked now, or NULL */
} fetch;

/* A peer the node knows of: from --peer, peer add, the store, or a
 * signed record passed along by another peer (then with its key). */
typedef struct known {
    char    url[MESH_URL_MAX];
    bool    has_key;
    uint8_t key[32];
    int64_t ts;
    uint8_t rec[PROTO_PEER_RECORD_MAX]; /* the signed record, if any */
    size_t  reclen;
    bool    dialback; /* it said few peers dial it: link to it anyway */
} known;

typedef struct session {
    uint8_t  id[16], nonce[32], key[32];
    char     domain[WEFT_DOMAIN_MAX + 1];
    bool     used, authed;
    uint64_t last_ms, refusals, last_unix, msgs_in;
} session;

struct mesh {
    node           *n;
    uv_loop_t      *loop;
    uv_async_t      async;
    uv_timer_t      timer;
    pthread_mutex_t mtx;
    plink          *head, *tail; /* finished requests, for the loop */
    plink          *links[MESH_LINKS_ALL];
    int             nlinks;
    int             max_links;             /* --links: outbound links to keep */
    known           known[MESH_KNOWN_MAX]; /* the passive list */
    int             nknown;
    weft_buf        myrec; /* our own signed peer record (with --listen) */
    session         sessions[MESH_SESSIONS_MAX];
    fetch           fetches[MESH_FETCH_MAX];
    struct {
        uint8_t  key[32];
        uint64_t until_ms, dur_ms;
    } bans[MESH_BANS_MAX]; /* misbehaving peers, backed off */
    server  *srv;
    char     listen[MESH_URL_MAX];
    uint64_t interval_ms, pushed_own, accepted, refused;
    uint64_t head_ms, head_every_ms; /* our head: last signed, period */
    uint64_t rounds;                 /* anti-entropy rounds started */
    int      closing;
};

/* mesh__now_ms is a monotonic clock in milliseconds. */
uint64_t mesh__now_ms(void);

/* mesh__know_record verifies a signed peer record and keeps it in the
 * passive list; false when it does not verify or does not fit. */
bool mesh__know_record(mesh *m, const uint8_t *p, size_t len);

/* mesh__inbound_count counts the authenticated inbound peers. */
int64_t mesh__inbound_count(const mesh *m);

/* mesh__dialback marks the peer of a known record for a dial-back link. */
void mesh__dialback(mesh *m, const uint8_t *rec, size_t len);

/* mesh__inbound appends the authenticated inbound peers to list. */
weft_err mesh__inbound(mesh *m, pv_arena *a, pv *list);

#endif
