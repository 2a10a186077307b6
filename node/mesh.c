/*
 * mesh.c: peer links, signed gossip and anti-entropy.
 *
 * Every node serves a REP socket (--listen) for its peers and dials a
 * bounded set of outbound links (REQ sockets) to others. Request/reply is
 * the reliable path: a request either gets its reply or times out, and a
 * link that times out is marked down and retried with backoff and jitter.
 *
 * Protocol (canonical msgpack maps; docs/protocol.md):
 *   hello {domain, key, nonce, rec}  -> {domain, key, nonce, sig, session,
 *                                        peers: [signed records]}
 *   auth  {session, sig}             -> {}
 *   push  {session, envs}            -> {accepted, refused}
 *   sync  {session, hd | heads}      -> {same} | {envs, heads, more, upto}
 *   fetch {session, id}              -> {desc}
 * Each side proves its domain key by signing the other's fresh nonce
 * (with both keys, under the "weft/hello/v1" prefix). Summaries are
 * verified one by one whatever link brings them. This file holds the
 * outbound links and the node's side; mesh_serve.c answers the socket.
 *
 * Threads: nng runs the aio callbacks; they only move a finished link onto
 * a queue and wake the loop (uv_async_send). All state lives on the loop.
 */
#include "node/mesh_int.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

uint64_t
mesh__now_ms(void)
{
    return weft_now_us() / 1000;
}

/* ---- outboxes -------------------------------------------------------- */

static void
outbox_clear(outbox *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->env[i]);
    free(o->env);
    free(o->len);
    free(o->kind);
    memset(o, 0, sizeof(*o));
}

/* outbox_add copies an envelope in; past MESH_OUTBOX_MAX bytes it drops
 * it (anti-entropy repairs what a slow peer misses). */
static void
outbox_add(outbox *o, int kind, const uint8_t *env, size_t len)
{
    uint8_t *copy, *k;

    if (o->bytes + len > MESH_OUTBOX_MAX)
        return;
    if (o->n == o->cap) {
        size_t    cap = o->cap ? o->cap * 2 : 64;
        uint8_t **e = realloc(o->env, cap * sizeof(*e));
        size_t   *l;

        if (e == NULL)
            return;
        o->env = e;
        if ((l = realloc(o->len, cap * sizeof(*l))) == NULL)
            return;
        o->len = l;
        if ((k = realloc(o->kind, cap)) == NULL)
            return;
        o->kind = k;
        o->cap = cap;
    }
    if ((copy = malloc(len)) == NULL)
        return;
    memcpy(copy, env, len);
    o->env[o->n] = copy;
    o->kind[o->n] = (uint8_t) kind;
    o->len[o->n++] = len;
    o->bytes += len;
}

/* ---- sending --------------------------------------------------------- */

static void
aio_cb(void *arg)
{
    plink *l = arg;
    mesh  *m = l->m;

    if (l->ph == PH_SEND && nng_aio_result(l->aio) == 0
        && !__atomic_load_n(&m->closing, __ATOMIC_ACQUIRE)) {
        l->ph = PH_RECV;
        nng_ctx_recv(l->ctx, l->aio);
        return;
    }
    if (l->ph == PH_SEND) /* a failed send leaves the message with us */
        nng_msg_free(nng_aio_get_msg(l->aio));
    pthread_mutex_lock(&m->mtx);
    if (!l->queued) {
        l->queued = true;
        l->next = NULL;
        if (m->tail)
            m->tail->next = l;
        else
            m->head = l;
        m->tail = l;
    }
    pthread_mutex_unlock(&m->mtx);
    uv_async_send(&m->async);
}

/* link_send starts request req on l; the reply arrives in link_done. */
static void
link_send(plink *l, lop op, const pv *req)
{
    weft_buf b;
    nng_msg *msg;

    weft_buf_init(&b, MESH_MSG_MAX);
    if (proto_encode(req, &b) != WEFT_OK || nng_msg_alloc(&msg, 0) != 0) {
        weft_buf_free(&b);
        return;
    }
    if (nng_msg_append(msg, b.p, b.len) != 0) {
        nng_msg_free(msg);
        weft_buf_free(&b);
        return;
    }
    l->msgs_out++;
    l->bytes_out += b.len;
    l->m->n->stats.link_msgs_out++;
    l->m->n->stats.link_bytes_out += b.len;
    weft_buf_free(&b);
    l->op = op;
    l->state = L_WAIT;
    l->ph = PH_SEND;
    l->sent_us = weft_now_us();
    nng_aio_set_msg(l->aio, msg);
    nng_aio_set_timeout(l->aio, MESH_TIMEOUT_MS);
    nng_ctx_send(l->ctx, l->aio);
}

static pv *
request(pv_arena *a, const char *op, const plink *l)
{
    pv *m = pv_map(a);

    if (m == NULL || pv_setstr(a, m, "op", op))
        return NULL;
    if (l != NULL && pv_set(a, m, "session", pv_bin(a, l->session, 16)))
        return NULL;
    return m;
}

static void
send_hello(plink *l)
{
    pv_arena *a = pv_arena_new(1 << 16);
    pv       *req;
    node     *n = l->m->n;

    crypto_random(l->nonce, sizeof(l->nonce));
    l->authed = false;
    if (a != NULL && (req = request(a, "hello", NULL)) != NULL
        && !pv_setstr(a, req, "domain", n->domain)
        && !pv_set(a, req, "key", pv_bin(a, crypto_key_public(n->key), 32))
        && !pv_set(a, req, "nonce", pv_bin(a, l->nonce, 32))
        && !pv_setint(a, req, "inbound", mesh__inbound_count(l->m))
        && !pv_set(a, req, "rec",
            l->m->myrec.len ? pv_bin(a, l->m->myrec.p, l->m->myrec.len)
                            : pv_nil(a)))
        link_send(l, OP_HELLO, req);
    pv_arena_free(a);
}

/* link_kick sends what waits in l's outbox, if l is free. */
static void
link_kick(plink *l)
{
    pv_arena *a;
    pv       *req, *envs, *heads, *pol = NULL;
    size_t    i, bytes = 0;

    if (l->state != L_READY || !l->authed || l->op != OP_NONE || l->out.n == 0)
        return;
    if ((a = pv_arena_new(MESH_MSG_MAX * 2)) == NULL)
        return;
    req = request(a, "push", l);
    envs = pv_arr(a);
    heads = pv_arr(a);
    for (i = 0; req && envs && heads && i < l->out.n && bytes < MESH_BATCH_BYTES
         && heads->u.a.n < MESH_HEADS_MAX;
         i++) {
        if (l->out.kind[i] == OUT_POLICY) {
            if (pol != NULL)
                break; /* one policy per push: the next goes next */
            pol = pv_bin(a, l->out.env[i], l->out.len[i]);
        } else
            pv_push(a, l->out.kind[i] == OUT_HEAD ? heads : envs,
                pv_bin(a, l->out.env[i], l->out.len[i]));
        bytes += l->out.len[i];
    }
    if (req && envs && heads && !pv_set(a, req, "envs", envs)
        && (heads->u.a.n == 0 || !pv_set(a, req, "heads", heads))
        && (pol == NULL || !pv_set(a, req, "policy", pol))) {
        link_send(l, OP_PUSH, req);
        /* Sent: drop them from the outbox (a lost push is repaired by
         * anti-entropy, never retried blindly). */
        for (size_t j = 0; j < i; j++)
            free(l->out.env[j]);
        memmove(
            l->out.env, l->out.env + i, (l->out.n - i) * sizeof(*l->out.env));
        memmove(
            l->out.len, l->out.len + i, (l->out.n - i) * sizeof(*l->out.len));
        memmove(l->out.kind, l->out.kind + i, l->out.n - i);
        l->out.n -= i;
        l->out.bytes -= bytes;
    }
    pv_arena_free(a);
}

/*
 * send_sync starts an anti-entropy round on l. A light round sends only
 * the hash of our heads: when the peer's are the same, nothing else
 * moves (an idle mesh costs one small message a second per node). A full
 * round sends the heads themselves.
 */
static void
send_sync(plink *l, bool full)
{
    pv_arena *a = pv_arena_new(1 << 20);
    pv       *req, *heads;
    uint8_t   h[32];

    l->m->rounds++;
    l->dry = false;
    if (a == NULL || (req = request(a, "sync", l)) == NULL
        || (heads = pv_map(a)) == NULL
        || mesh__heads(l->m->n, a, heads, full) != WEFT_OK) {
        pv_arena_free(a);
        return;
    }
    if (full ? pv_set(a, req, "heads", heads) == WEFT_OK
             : proto_hash(heads, h) == WEFT_OK
                && pv_set(a, req, "hd", pv_bin(a, h, 32)) == WEFT_OK)
        link_send(l, OP_SYNC, req);
    pv_arena_free(a);
}

/*
 * sync_ahead asks l for the next reply of a copy before this one is
 * stored (the peer works on it and sends it while we check and store
 * this one): the heads we hold, moved up to where this reply's summaries
 * end (upto, from the peer). Whatever of this reply we then refuse, the
 * next rounds ask for again: they send the heads we store. Returns
 * whether it asked.
 */
static bool
sync_ahead(plink *l, const pv *upto)
{
    pv_arena *a;
    pv       *req = NULL, *heads = NULL;
    bool      ok;

    if (upto == NULL || upto->type != PV_MAP || upto->u.m.n == 0
        || (a = pv_arena_new(1 << 20)) == NULL)
        return false;
    ok = (req = request(a, "sync", l)) != NULL && (heads = pv_map(a)) != NULL
        && mesh__heads(l->m->n, a, heads, true) == WEFT_OK;
    for (uint32_t i = 0; ok && i < upto->u.m.n; i++) {
        const char *dom = upto->u.m.kv[i].k->u.s.p;
        const pv   *e = upto->u.m.kv[i].v, *h = pv_get(heads, dom);
        pv         *ne;

        if (e->type != PV_ARR || e->u.a.n != 2 || e->u.a.v[0]->type != PV_INT
            || e->u.a.v[0]->u.i <= 0 || e->u.a.v[1]->type != PV_BIN
            || e->u.a.v[1]->u.s.len != 8 || dom[0] == 0
            || strlen(dom) > WEFT_DOMAIN_MAX) {
            ok = false; /* not a hint we can use: the usual round */
            break;
        }
        if (h != NULL && h->type == PV_ARR && h->u.a.n >= 1
            && h->u.a.v[0]->type == PV_INT
            && h->u.a.v[0]->u.i >= e->u.a.v[0]->u.i)
            continue;
        /* [seq, tip, the time of the signed head we hold, or 0] */
        ok = (ne = pv_arr(a)) != NULL && !pv_push(a, ne, e->u.a.v[0])
            && !pv_push(a, ne, e->u.a.v[1])
            && !pv_push(a, ne,
                h != NULL && h->type == PV_ARR && h->u.a.n == 3 ? h->u.a.v[2]
                                                                : pv_int(a, 0))
            && !pv_set(a, heads, dom, ne);
    }
    if (ok && (ok = pv_set(a, req, "heads", heads) == WEFT_OK))
        link_send(l, OP_SYNC, req);
    pv_arena_free(a);
    return ok;
}

/* ---- links ------------------------------------------------------------ */

static void
link_down(plink *l, const char *why)
{
    uint64_t jitter;

    if (l->state == L_READY || l->fails == 0)
        log_msg(LOG_INFO, "peer %s: down: %s", l->url, why);
    l->state = L_DOWN;
    l->op = OP_NONE;
    l->authed = false;
    l->fails++;
    /* A fetch this link carried asks the next peer (fetch_step), or
     * gives up at its deadline: left on a dead link it would wait on it
     * for good, and its caller with it. */
    if (l->f != NULL) {
        l->f->on = NULL;
        l->f = NULL;
    }
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : MESH_BACKOFF_MIN_MS;
    if (l->backoff_ms > MESH_BACKOFF_MAX_MS)
        l->backoff_ms = MESH_BACKOFF_MAX_MS;
    /* Jitter of +-25% keeps a restarted mesh from reconnecting in step. */
    jitter = crypto_uniform((uint32_t) (l->backoff_ms / 2) + 1);
    l->retry_ms = mesh__now_ms() + l->backoff_ms * 3 / 4 + jitter;
}

static plink *
link_new(mesh *m, const char *url)
{
    plink *l = calloc(1, sizeof(*l));
    int    rv;

    if (l == NULL)
        return NULL;
    l->m = m;
    snprintf(l->url, sizeof(l->url), "%s", url);
    if ((rv = nng_req0_open(&l->s)) != 0
        || (rv = nng_socket_set_size(l->s, NNG_OPT_RECVMAXSZ, MESH_MSG_MAX))
        || (rv = nng_ctx_open(&l->ctx, l->s)) != 0
        || (rv = nng_aio_alloc(&l->aio, aio_cb, l)) != 0) {
        log_msg(LOG_WARN, "peer %s: %s", url, nng_strerror(rv));
        nng_close(l->s);
        free(l);
        return NULL;
    }
    /* Requests are never resent by nng: a timeout marks the link down. */
    nng_ctx_set_ms(l->ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    if ((rv = nng_dial(l->s, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
        log_msg(LOG_WARN, "peer %s: %s", url, nng_strerror(rv));
        nng_aio_free(l->aio);
        nng_close(l->s);
        free(l);
        return NULL;
    }
    send_hello(l);
    return l;
}

/* pre_drop frees what mesh__prefetch took from l's aio. */
static void
pre_drop(plink *l)
{
    mesh__in_free(l->pre_in);
    pv_arena_free(l->pre_a);
    if (l->pre_msg != NULL)
        nng_msg_free(l->pre_msg);
    l->pre_in = NULL;
    l->pre_a = NULL;
    l->pre_rep = NULL;
    l->pre_msg = NULL;
}

static void
link_free(plink *l)
{
    mesh   *m = l->m;
    plink **pp;

    /* After nng_aio_stop no callback runs, but one may have queued l for
     * the loop already: take it off the queue before it goes. */
    nng_aio_stop(l->aio);
    pthread_mutex_lock(&m->mtx);
    for (pp = &m->head; *pp != NULL; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    m->tail = NULL;
    for (plink *q = m->head; q != NULL; q = q->next)
        m->tail = q;
    pthread_mutex_unlock(&m->mtx);
    if (l->f != NULL)
        l->f->on = NULL;
    pre_drop(l);
    /* A reply that arrived but was never handled is ours to free. */
    if (l->ph == PH_RECV && nng_aio_result(l->aio) == 0
        && nng_aio_get_msg(l->aio) != NULL)
        nng_msg_free(nng_aio_get_msg(l->aio));
    nng_aio_free(l->aio);
    /* The context may still hold a request that lost its pipe (REQ keeps
     * it to send again): closing the context frees it. */
    nng_ctx_close(l->ctx);
    nng_close(l->s);
    outbox_clear(&l->out);
    free(l);
}

static bool
linked(mesh *m, const char *url)
{
    for (int i = 0; i < m->nlinks; i++)
        if (strcmp(m->links[i]->url, url) == 0)
            return true;
    return false;
}

/* know adds url to the passive list; know_record a verified record. */
static known *
know(mesh *m, const char *url)
{
    if (url == NULL || *url == 0 || strcmp(url, m->listen) == 0
        || strlen(url) >= MESH_URL_MAX)
        return NULL;
    for (int i = 0; i < m->nknown; i++)
        if (strcmp(m->known[i].url, url) == 0)
            return &m->known[i];
    if (m->nknown == MESH_KNOWN_MAX)
        return NULL;
    memset(&m->known[m->nknown], 0, sizeof(known));
    snprintf(m->known[m->nknown].url, MESH_URL_MAX, "%s", url);
    return &m->known[m->nknown++];
}

/*
 * know_record verifies a signed peer record and keeps it (the newest per
 * url): the url is then bound to the record's key, and a link to it must
 * meet that key at hello.
 */
bool
mesh__know_record(mesh *m, const uint8_t *p, size_t len)
{
    pv_arena *a = pv_arena_new(1 << 14);
    pv       *rec;
    known    *k;
    bool      ok = false;

    if (a != NULL && proto_peer_record_open(a, p, len, &rec, NULL) == WEFT_OK
        && mesh__bind(m->n, pv_getstr(rec, "domain"),
               (const uint8_t *) pv_get(rec, "key")->u.s.p)
            == WEFT_OK
        && (k = know(m, pv_getstr(rec, "url"))) != NULL
        && pv_getint(rec, "ts", 0) >= k->ts) {
        k->has_key = true;
        memcpy(k->key, pv_get(rec, "key")->u.s.p, 32);
        k->ts = pv_getint(rec, "ts", 0);
        memcpy(k->rec, p, len);
        k->reclen = len;
        ok = true;
    }
    pv_arena_free(a);
    return ok;
}

void
mesh__dialback(mesh *m, const uint8_t *rec, size_t len)
{
    for (int i = 0; i < m->nknown; i++)
        if (m->known[i].reclen == len && memcmp(m->known[i].rec, rec, len) == 0)
            m->known[i].dialback = true;
}

/* expected returns the key a record bound url to, or NULL. */
static const uint8_t *
expected(mesh *m, const char *url)
{
    for (int i = 0; i < m->nknown; i++)
        if (m->known[i].has_key && strcmp(m->known[i].url, url) == 0)
            return m->known[i].key;
    return NULL;
}

/* fill links up to m->max_links from the known peers. */
static void
fill(mesh *m)
{
    /* Start at a random place in the passive list: links taken in list
     * order would pile onto the nodes every list starts with. */
    int start = m->nknown > 0 ? (int) crypto_uniform((uint32_t) m->nknown) : 0;

    for (int j = 0; j < m->nknown && m->nlinks < m->max_links; j++) {
        known *k = &m->known[(start + j) % m->nknown];
        plink *l;

        if (linked(m, k->url) || (l = link_new(m, k->url)) == NULL)
            continue;
        m->links[m->nlinks++] = l;
    }
    /* A peer that few others dial would get no pushes: dial it back, in
     * the few slots kept for that. */
    for (int i = 0;
         i < m->nknown && m->nlinks < m->max_links + MESH_DIALBACK_MAX; i++) {
        known *k = &m->known[i];
        plink *l;

        if (!k->dialback || linked(m, k->url)
            || (l = link_new(m, k->url)) == NULL)
            continue;
        k->dialback = false;
        m->links[m->nlinks++] = l;
    }
}

/* ---- replies ----------------------------------------------------------- */

static bool
hello_ok(plink *l, const pv *rep)
{
    node       *n = l->m->n;
    const pv   *key = pv_get(rep, "key"), *sig = pv_get(rep, "sig");
    const pv   *nonce = pv_get(rep, "nonce"), *sess = pv_get(rep, "session");
    const pv   *peers = pv_get(rep, "peers");
    const char *dom = pv_getstr(rep, "domain");
    uint8_t     msg[96];

    if (dom == NULL || !key || key->type != PV_BIN || key->u.s.len != 32 || !sig
        || sig->type != PV_BIN || sig->u.s.len != 64 || !nonce
        || nonce->type != PV_BIN || nonce->u.s.len != 32 || !sess
        || sess->type != PV_BIN || sess->u.s.len != 16
        || strlen(dom) > WEFT_DOMAIN_MAX)
        return false;
    /* The peer signed our nonce, our key and its key. */
    memcpy(msg, l->nonce, 32);
    memcpy(msg + 32, crypto_key_public(n->key), 32);
    memcpy(msg + 64, key->u.s.p, 32);
    if (crypto_verify_msg((const uint8_t *) key->u.s.p, HELLO_PREFIX, msg, 96,
            (const uint8_t *) sig->u.s.p)
        != WEFT_OK)
        return false;
    if (mesh__bind(n, dom, (const uint8_t *) key->u.s.p) != WEFT_OK)
        return false;
    if (memcmp(key->u.s.p, crypto_key_public(n->key), 32) == 0)
        return false; /* that url is this node */
    /* A url learned from a signed record must answer with that key. */
    if (expected(l->m, l->url) != NULL
        && memcmp(expected(l->m, l->url), key->u.s.p, 32) != 0)
        return false;
    snprintf(l->domain, sizeof(l->domain), "%s", dom);
    memcpy(l->key, key->u.s.p, 32);
    memcpy(l->session, sess->u.s.p, 16);
    memcpy(l->nonce, nonce->u.s.p, 32); /* now theirs, for our answer */
    for (uint32_t i = 0; peers && peers->type == PV_ARR && i < peers->u.a.n
         && i < MESH_RECORDS_MAX;
         i++)
        if (peers->u.a.v[i]->type == PV_BIN)
            mesh__know_record(l->m, (const uint8_t *) peers->u.a.v[i]->u.s.p,
                peers->u.a.v[i]->u.s.len);
    return true;
}

static void
send_auth(plink *l)
{
    node     *n = l->m->n;
    uint8_t   msg[96], sig[64];
    pv_arena *a = pv_arena_new(1 << 14);
    pv       *req;

    /* We sign their nonce, their key and our key. */
    memcpy(msg, l->nonce, 32);
    memcpy(msg + 32, l->key, 32);
    memcpy(msg + 64, crypto_key_public(n->key), 32);
    if (a != NULL && crypto_sign_msg(n->key, HELLO_PREFIX, msg, 96, sig) == 0
        && (req = request(a, "auth", l)) != NULL
        && !pv_set(a, req, "sig", pv_bin(a, sig, 64)))
        link_send(l, OP_AUTH, req);
    pv_arena_free(a);
}

/* ---- fetching descriptors ---------------------------------------------- */

static void
fetch_done(mesh *m, fetch *f)
{
    weft_buf out;

    weft_buf_init(&out, WEFT_MSG_MAX);
    if (f->on != NULL)
        f->on->f = NULL;
    ops_handle(m->n, f->req, f->len, &out, NULL); /* answers from the store */
    server_reply(f->later, &out);
    weft_buf_free(&out);
    free(f->req);
    memset(f, 0, sizeof(*f));
}

static bool
tried(const fetch *f, const uint8_t *key)
{
    for (int i = 0; i < f->ntried; i++)
        if (memcmp(f->tried[i], key, 32) == 0)
            return true;
    return false;
}

/* fetch_ask sends fetch f to an idle peer not asked yet; false if none. */
static bool
fetch_ask(mesh *m, fetch *f, bool *waiting)
{
    for (int i = 0; i < m->nlinks; i++) {
        plink    *l = m->links[i];
        pv_arena *a;
        pv       *req;

        if (!l->authed || tried(f, l->key))
            continue;
        if (l->state != L_READY || l->op != OP_NONE) {
            *waiting = true; /* busy now: ask it when it is free */
            continue;
        }
        if ((a = pv_arena_new(1 << 14)) == NULL)
            return false;
        if ((req = request(a, "fetch", l)) != NULL
            && !pv_setstr(a, req, "id", f->id)) {
            memcpy(f->tried[f->ntried++], l->key, 32);
            f->on = l;
            l->f = f;
            link_send(l, OP_FETCH, req);
        }
        pv_arena_free(a);
        return f->on != NULL;
    }
    return false;
}

static void
fetch_step(mesh *m)
{
    uint64_t now = mesh__now_ms();

    for (int i = 0; i < MESH_FETCH_MAX; i++) {
        fetch *f = &m->fetches[i];
        bool   waiting = false;

        if (!f->used || f->on != NULL)
            continue;
        if (now > f->deadline_ms || f->ntried == MESH_LINKS_ALL
            || (!fetch_ask(m, f, &waiting) && !waiting))
            fetch_done(m, f);
    }
}

static void
fetch_reply(plink *l, const pv *rep)
{
    fetch    *f = l->f;
    const pv *desc = pv_get(rep, "desc");
    uint8_t   h[32];

    l->f = NULL;
    if (f == NULL)
        return;
    f->on = NULL;
    if (desc == NULL || desc->type != PV_BIN)
        return; /* this peer has none: fetch_step asks the next */
    crypto_blake2b((const uint8_t *) desc->u.s.p, desc->u.s.len, h);
    if (memcmp(h, f->body, 32) != 0) {
        l->refusals++;
        l->m->n->stats.refused[REFUSED_REPLY]++;
        return;
    }
    if (catalog_cache_desc(
            l->m->n, f->id, (const uint8_t *) desc->u.s.p, desc->u.s.len)
        == WEFT_OK)
        fetch_done(l->m, f);
}

weft_err
mesh_fetch(node *n, const char *id, const uint8_t body[32], const uint8_t *req,
    size_t len, server_req *later)
{
    mesh  *m = n->mesh;
    fetch *f = NULL;
    bool   any = false;

    if (m == NULL || strlen(id) > WEFT_ID_MAX)
        return WEFT_ESTATE;
    for (int i = 0; i < m->nlinks; i++)
        any = any || m->links[i]->authed;
    for (int i = 0; i < MESH_FETCH_MAX && f == NULL; i++)
        if (!m->fetches[i].used)
            f = &m->fetches[i];
    if (!any || f == NULL || (f->req = malloc(len)) == NULL)
        return WEFT_ESTATE;
    f->used = true;
    snprintf(f->id, sizeof(f->id), "%s", id);
    memcpy(f->body, body, 32);
    memcpy(f->req, req, len);
    f->len = len;
    f->later = later;
    f->deadline_ms = mesh__now_ms() + MESH_TIMEOUT_MS;
    fetch_step(m);
    return WEFT_OK;
}

static void
link_reply(plink *l, const pv *rep, mesh_in **in)
{
    mesh     *m = l->m;
    const pv *ok = pv_get(rep, "ok");

    if (ok == NULL || ok->type != PV_BOOL || !ok->u.b) {
        const char *e = pv_getstr(rep, "error");

        l->refusals++;
        l->m->n->stats.refused[REFUSED_REPLY]++;
        link_down(l, e ? e : "refused");
        return;
    }
    l->state = L_READY;
    l->last_seen = (uint64_t) time(NULL);
    switch (l->op) {
    case OP_HELLO:
        if (!hello_ok(l, rep)) {
            l->refusals++;
            l->m->n->stats.refused[REFUSED_REPLY]++;
            link_down(l, "hello: bad identity proof");
            return;
        }
        send_auth(l);
        return;
    case OP_AUTH:
        l->authed = true;
        l->backoff_ms = 0;
        l->fails = 0;
        log_msg(LOG_INFO, "peer %s: linked to domain '%s'", l->url, l->domain);
        mesh__remember(m->n, l->url, true); /* a restart relinks */
        send_sync(l, true);
        return;
    case OP_FETCH:
        fetch_reply(l, rep);
        break;
    case OP_SYNC: {
        /* A copy of many replies: ask for the next one now, unless the
         * reply before brought nothing new (as the round itself stops). */
        const pv *more = pv_get(rep, "more");
        bool      ahead = more != NULL && more->type == PV_BOOL && more->u.b
            && !l->dry && sync_ahead(l, pv_get(rep, "upto"));
        int again = mesh__sync_reply(m->n, l, rep, *in);

        *in = NULL; /* freed there */

        l->dry = again <= 0;
        if (ahead)
            return; /* the next reply of the copy is on its way */
        if (again > 0) {
            /* Heads differ, or the peer has more than one reply holds:
             * a full round at once (this is also the bulk copy). */
            send_sync(l, true);
            return;
        }
        break;
    }
    default:
        break;
    }
    l->op = OP_NONE;
    fetch_step(m);
    link_kick(l);
}

/* reply_decode decodes the reply msg into a new arena; NULL (and *a
 * NULL) when it is not a map. */
static pv *
reply_decode(nng_msg *msg, pv_arena **a)
{
    pv *rep;

    if ((*a = pv_arena_new((size_t) MESH_MSG_MAX * 4)) != NULL
        && proto_decode(*a, nng_msg_body(msg), nng_msg_len(msg), &rep, NULL)
            == WEFT_OK
        && rep->type == PV_MAP)
        return rep;
    pv_arena_free(*a);
    *a = NULL;
    return NULL;
}

void
mesh__prefetch(mesh *m)
{
    const pv *ok, *envs;
    nng_msg  *msg;
    plink    *l, *q;
    bool      held;

    /* The first link waiting for the loop with a sync reply in hand (a
     * link on the queue has no request in flight: nothing else touches
     * its aio until link_done), unless one is taken already: one reply
     * opened ahead at a time. Each turn that finds its reply failed or
     * malformed marks it (link_done reports it) and tries the next. */
    for (;;) {
        pthread_mutex_lock(&m->mtx);
        held = false;
        l = NULL;
        for (q = m->head; q != NULL; q = q->next)
            if (q->pre_msg != NULL)
                held = true;
            else if (l == NULL && q->op == OP_SYNC && q->ph == PH_RECV
                && !q->pre_skip)
                l = q;
        pthread_mutex_unlock(&m->mtx);
        if (held || l == NULL)
            return;
        if (nng_aio_result(l->aio) == 0
            && (msg = nng_aio_get_msg(l->aio)) != NULL
            && (l->pre_rep = reply_decode(msg, &l->pre_a)) != NULL)
            break;
        l->pre_skip = true;
    }
    nng_aio_set_msg(l->aio, NULL);
    l->pre_msg = msg;
    ok = pv_get(l->pre_rep, "ok");
    envs = pv_get(l->pre_rep, "envs");
    if (ok != NULL && ok->type == PV_BOOL && ok->u.b && envs != NULL
        && envs->type == PV_ARR && envs->u.a.n > 0)
        l->pre_in = mesh__in_start(m->n, envs);
}

static void
link_done(plink *l)
{
    pv_arena *a = NULL;
    nng_msg  *msg;
    pv       *rep;
    mesh_in  *in = NULL;
    int       rv = nng_aio_result(l->aio);

    l->pre_skip = false;
    if (rv != 0) {
        link_down(l, nng_strerror(rv));
        return;
    }
    if (l->pre_msg != NULL) { /* taken ahead: mesh__prefetch */
        msg = l->pre_msg;
        a = l->pre_a;
        rep = l->pre_rep;
        in = l->pre_in;
        l->pre_msg = NULL;
        l->pre_a = NULL;
        l->pre_rep = NULL;
        l->pre_in = NULL;
    } else {
        msg = nng_aio_get_msg(l->aio);
        nng_aio_set_msg(l->aio, NULL); /* handled: link_free must not free it */
        rep = reply_decode(msg, &a);
    }
    l->rtt_us = weft_now_us() - l->sent_us;
    l->msgs_in++;
    l->bytes_in += nng_msg_len(msg);
    l->m->n->stats.link_msgs_in++;
    l->m->n->stats.link_bytes_in += nng_msg_len(msg);
    if (rep == NULL) {
        l->refusals++;
        l->m->n->stats.refused[REFUSED_REPLY]++;
        link_down(l, "malformed reply");
    } else
        link_reply(l, rep, &in);
    mesh__in_free(in);
    pv_arena_free(a);
    nng_msg_free(msg);
}

static void
async_cb(uv_async_t *h)
{
    mesh  *m = h->data;
    plink *l;

    /* Bounded per wake-up, like server.c: other handles get their turn
     * (a sync reply can carry a megabyte of summaries to check). */
    for (int i = 0; i < MESH_PER_WAKE; i++) {
        pthread_mutex_lock(&m->mtx);
        if ((l = m->head) != NULL && (m->head = l->next) == NULL)
            m->tail = NULL;
        if (l != NULL)
            l->queued = false;
        pthread_mutex_unlock(&m->mtx);
        if (l == NULL)
            return;
        link_done(l);
    }
    pthread_mutex_lock(&m->mtx);
    l = m->head;
    pthread_mutex_unlock(&m->mtx);
    if (l != NULL && !__atomic_load_n(&m->closing, __ATOMIC_ACQUIRE))
        uv_async_send(&m->async);
}

/*
 * head_refresh signs a new head of our domain and sends it with count
 * envelopes (our news, or none) to MESH_FANOUT peers, or alone to
 * MESH_HEAD_FANOUT.
 */
static void
head_refresh(mesh *m, uint8_t **envs, size_t *lens, size_t count)
{
    weft_buf b;
    uint8_t *p[1];
    size_t   len[1];

    m->head_ms = mesh__now_ms();
    weft_buf_init(&b, PROTO_PEER_RECORD_MAX);
    if (mesh__head_sign(m->n, &b) != WEFT_OK) {
        log_msg(LOG_WARN, "cannot sign this domain's head");
        weft_buf_free(&b);
        mesh__forward(m->n, envs, lens, count, NULL);
        return;
    }
    p[0] = b.p;
    len[0] = b.len;
    /* The envelopes go first: the head names a seq they bring. */
    mesh__forward(m->n, envs, lens, count, NULL);
    mesh__forward_kind(m->n, OUT_HEAD, p, len, 1, NULL,
        count ? MESH_FANOUT : MESH_HEAD_FANOUT);
    weft_buf_free(&b);
}

/* tick runs every interval: reconnect, fill, and one anti-entropy round. */
static void
tick(uv_timer_t *t)
{
    mesh    *m = t->data;
    uint64_t now = mesh__now_ms();
    plink   *ready[MESH_LINKS_ALL];
    int      nready = 0;

    fill(m);
    /* Before the links are looked at: this may start pushes on them. */
    if (now - m->head_ms >= m->head_every_ms)
        head_refresh(m, NULL, NULL, 0);
    fetch_step(m);
    for (int i = 0; i < m->nlinks; i++) {
        plink *l = m->links[i];

        if (l->state == L_DOWN && now >= l->retry_ms)
            send_hello(l);
        else if (l->state == L_READY && l->authed && l->op == OP_NONE)
            ready[nready++] = l;
    }
    /* Every so often a full round, which also carries signed heads. */
    if (nready > 0)
        send_sync(ready[crypto_uniform((uint32_t) nready)],
            (m->rounds + 1) % MESH_FULL_EVERY == 0);
}

/* ---- the node's side ---------------------------------------------------- */

const uint8_t *
mesh__link_key(const plink *l)
{
    return l->key;
}

void
mesh__link_refused(plink *l, uint64_t refused)
{
    l->refusals += refused;
}

void
mesh__queue(plink *l, int kind, const uint8_t *p, size_t len)
{
    outbox_add(&l->out, kind, p, len);
}

void
mesh__forward(
    node *n, uint8_t **envs, size_t *lens, size_t count, const uint8_t *from)
{
    mesh__forward_kind(n, OUT_ENV, envs, lens, count, from, MESH_FANOUT);
}

void
mesh__forward_kind(node *n, int kind, uint8_t **items, size_t *lens,
    size_t count, const uint8_t *from, int fanout)
{
    mesh  *m = n->mesh;
    plink *pick[MESH_LINKS_ALL];
    int    np = 0;

    if (m == NULL || count == 0)
        return;
    for (int i = 0; i < m->nlinks; i++) {
        plink *l = m->links[i];

        if (l->authed && (from == NULL || memcmp(l->key, from, 32) != 0))
            pick[np++] = l;
    }
    /* A few random peers: anti-entropy reaches the rest. */
    for (int i = np - 1; i > 0; i--) {
        int    j = (int) crypto_uniform((uint32_t) i + 1);
        plink *t = pick[i];

        pick[i] = pick[j];
        pick[j] = t;
    }
    for (int i = 0; i < np && i < fanout; i++) {
        for (size_t k = 0; k < count; k++)
            outbox_add(&pick[i]->out, kind, items[k], lens[k]);
        link_kick(pick[i]);
    }
}

static void
closed(uv_handle_t *h)
{
    (void) h;
}

static void
know_cb(void *ctx, const char *url)
{
    know(ctx, url);
}

weft_err
mesh_start(node *n, void *loop, const char *url, const char *const *peers,
    int npeers, uint64_t interval_ms, uint64_t head_every_ms, int links,
    weft_diag *d)
{
    mesh    *m = calloc(1, sizeof(*m));
    weft_err err;

    if (m == NULL)
        return WEFT_ENOMEM;
    n->mesh = m;
    m->n = n;
    m->loop = loop;
    m->interval_ms = interval_ms;
    m->head_every_ms = head_every_ms ? head_every_ms : MESH_HEAD_EVERY_MS;
    m->max_links
        = links > 0 && links <= MESH_LINKS_MAX ? links : MESH_LINKS_DEFAULT;
    pthread_mutex_init(&m->mtx, NULL);
    uv_async_init(loop, &m->async, async_cb);
    m->async.data = m;
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    weft_buf_init(&m->myrec, PROTO_PEER_RECORD_MAX);
    if (url != NULL) {
        snprintf(m->listen, sizeof(m->listen), "%s", url);
        if ((err = proto_peer_record_seal(
                 n->key, n->domain, url, (int64_t) time(NULL), &m->myrec)))
            return weft_diagf(
                d, err, "--listen %s: %s", url, weft_strerror(err));
        if ((err = server_start(
                 n, loop, url, MESH_MSG_MAX, true, mesh_handle, &m->srv, d)))
            return err;
    }
    for (int i = 0; i < npeers; i++)
        know(m, peers[i]);
    mesh__remembered(n, know_cb, m);
    m->pushed_own = mesh__own_seq(n);
    fill(m);
    head_refresh(m, NULL, NULL, 0); /* kept now; pushed once links are up */
    uv_timer_start(&m->timer, tick, interval_ms, interval_ms);
    return WEFT_OK;
}

void
mesh_stop(mesh *m)
{
    if (m == NULL)
        return;
    __atomic_store_n(&m->closing, 1, __ATOMIC_RELEASE);
    uv_timer_stop(&m->timer);
    for (int i = 0; i < MESH_FETCH_MAX; i++)
        free(m->fetches[i].req); /* the CLI socket closes unanswered */
    server_stop(m->srv);
    for (int i = 0; i < m->nlinks; i++)
        link_free(m->links[i]);
    m->nlinks = 0;
    m->head = m->tail = NULL;
    uv_close((uv_handle_t *) &m->timer, closed);
    uv_close((uv_handle_t *) &m->async, closed);
}

void
mesh_free(mesh *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->mtx);
    weft_buf_free(&m->myrec);
    free(m);
}

void
mesh_policy(node *n)
{
    const weft_buf *b = gov_bundle(n);
    uint8_t        *p[1];
    size_t          len[1];

    if (n->mesh == NULL || b == NULL)
        return;
    p[0] = b->p;
    len[0] = b->len;
    mesh__forward_kind(n, OUT_POLICY, p, len, 1, NULL, MESH_FANOUT);
}

int
mesh__policy_receive(node *n, const uint8_t *p, size_t len, const uint8_t *from)
{
    weft_diag d = { "" };
    bool      adopted = false;
    weft_err  err = gov_offer(n, p, len, false, &adopted, &d);
    uint8_t  *items[1] = { (uint8_t *) p };
    size_t    lens[1] = { len };

    if (adopted)
        mesh__forward_kind(n, OUT_POLICY, items, lens, 1, from, MESH_FANOUT);
    /* An older policy is old news; no governance keys here is our
     * choice, not the peer's fault. */
    if (err != WEFT_OK && err != WEFT_EVERSION && err != WEFT_ESTATE) {
        n->stats.refused[REFUSED_POLICY]++;
        return 1;
    }
    return 0;
}

void
mesh_announce(node *n)
{
    mesh     *m = n->mesh;
    uint8_t **envs = NULL;
    size_t   *lens = NULL, count = 0;
    uint64_t  to;

    if (m == NULL || (to = mesh__own_seq(n)) <= m->pushed_own)
        return;
    mesh__own_log(n, m->pushed_own + 1, to, &envs, &lens, &count);
    m->pushed_own = to;
    head_refresh(m, envs, lens, count);
    for (size_t i = 0; i < count; i++)
        free(envs[i]);
    free(envs);
    free(lens);
}

weft_err
mesh_peer_add(node *n, const char *url, weft_diag *d)
{
    mesh *m = n->mesh;

    if (m == NULL)
        return weft_diagf(d, WEFT_ESTATE,
            "this node has no mesh (start it "
            "with --listen)");
    if (strncmp(url, "tcp://", 6) != 0 && strncmp(url, "ipc://", 6) != 0)
        return weft_diagf(
            d, WEFT_EINVAL, "'%s': expected tcp://HOST:PORT", url);
    if (strlen(url) >= MESH_URL_MAX)
        return weft_diagf(
            d, WEFT_ETOOBIG, "url longer than %d bytes", MESH_URL_MAX - 1);
    know(m, url);
    mesh__remember(n, url, true);
    if (!linked(m, url) && m->nlinks < m->max_links) {
        plink *l = link_new(m, url);

        if (l == NULL)
            return weft_diagf(d, WEFT_EIO, "cannot dial %s", url);
        m->links[m->nlinks++] = l;
    }
    return WEFT_OK;
}

weft_err
mesh_peer_remove(node *n, const char *url, weft_diag *d)
{
    mesh *m = n->mesh;
    bool  found = false;

    if (m == NULL)
        return weft_diagf(d, WEFT_ESTATE, "this node has no mesh");
    for (int i = 0; i < m->nknown; i++)
        if (strcmp(m->known[i].url, url) == 0) {
            memmove(&m->known[i], &m->known[i + 1],
                (size_t) (m->nknown - i - 1) * sizeof(known));
            m->nknown--;
            found = true;
            break;
        }
    for (int i = 0; i < m->nlinks; i++)
        if (strcmp(m->links[i]->url, url) == 0) {
            link_free(m->links[i]);
            m->links[i] = m->links[--m->nlinks];
            found = true;
            break;
        }
    mesh__remember(n, url, false);
    return found ? WEFT_OK
                 : weft_diagf(d, WEFT_ENOTFOUND, "%s: not a peer", url);
}

static const char *const state_names[] = { "down", "busy", "up" };

weft_err
mesh_peers(node *n, pv_arena *a, pv *list)
{
    mesh *m = n->mesh;

    for (int i = 0; m != NULL && i < m->nlinks; i++) {
        plink *l = m->links[i];
        pv    *p = pv_map(a);
        char   fp[CRYPTO_FP_CHARS + 1] = "";

        if (p == NULL)
            return WEFT_ENOMEM;
        if (l->domain[0])
            crypto_fingerprint(l->key, fp);
        if (pv_setstr(a, p, "url", l->url)
            || pv_setstr(a, p, "direction", "out")
            || pv_setstr(a, p, "domain", l->domain[0] ? l->domain : NULL)
            || pv_setstr(a, p, "fingerprint", fp[0] ? fp : NULL)
            || pv_setstr(
                a, p, "state", l->authed ? state_names[l->state] : "connecting")
            || pv_setint(a, p, "last_seen", (int64_t) l->last_seen)
            || pv_setint(a, p, "rtt_us", (int64_t) l->rtt_us)
            || pv_setint(a, p, "msgs_in", (int64_t) l->msgs_in)
            || pv_setint(a, p, "msgs_out", (int64_t) l->msgs_out)
            || pv_setint(a, p, "bytes_in", (int64_t) l->bytes_in)
            || pv_setint(a, p, "bytes_out", (int64_t) l->bytes_out)
            || pv_setint(a, p, "refusals", (int64_t) l->refusals)
            || pv_push(a, list, p))
            return WEFT_ENOMEM;
    }
    return mesh__inbound(m, a, list);
}
