/*
 * server.c: a request/reply socket served on the loop: the CLI socket
 * (ipc://DIR/weft.sock, mode 0600) and the peer socket (--listen) are
 * both one of these.
 *
 * The CLI socket is an nng REP socket with a few contexts, so several
 * requests can be in flight. nng runs aio callbacks on its own threads;
 * they never block and never touch node state: a received request is
 * queued and the loop woken with uv_async_send. The loop thread drains
 * the whole queue (wake-ups coalesce), answers each request, and hands
 * the reply back to nng.
 *
 * The peer socket faces anyone on the network, so it is guarded: it
 * speaks nng's REP protocol (SP over TCP or IPC: an 8-byte greeting, then
 * length-prefixed frames whose request id comes back with the reply)
 * itself, on libuv streams, and so holds every connection in its own
 * hands: at most SERVER_PIPES_MAX at once, each closed when it stalls
 * (SERVER_IDLE_MS without a whole request), sends a frame over the size
 * limit or that is not SP, collects SERVER_STRIKES_MAX error replies in
 * a row, or is dropped by the handler (server_drop). (nng 1.5.2's own REP
 * socket stops reaping connections for good once a client has pipelined
 * a few requests and hung up: a few such clients would exhaust the
 * node's file descriptors. docs/operations.md, "Limits".) nng REQ
 * sockets, as peers' links use, cannot tell the difference.
 */
#include "node/node.h"

#include <errno.h>
#include <netdb.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* Contexts: a few for requests answered at once, and one for each
 * watcher or fetch that may hold its reply for a while. */
#define SERVER_CTXS (4 + WATCH_MAX)
/* Requests answered per wake-up of the loop: what is left waits for the
 * loop's other handles (a CLI request behind a bulk copy) to have run. */
#define SERVER_PER_WAKE 2

/* The greeting of nng's SP protocols: REQ (0x30) calls, REP (0x31)
 * answers. */
#define SP_REQ 0x30
#define SP_REP 0x31
/* Hops of request ids a frame may carry before its body (nng's TTL). */
#define SP_HOPS_MAX 8
/* Reply bytes a connection may leave unread before it is closed. */
#define SERVER_UNREAD_MAX ((size_t) 16 << 20)
/* Bytes of requests under way, all connections together: a connection
 * whose frame would take more is closed (256 callers each sending most
 * of a 4 MiB frame, then stalling, would otherwise hold 1 GiB). */
#define SERVER_BUFFERED_MAX ((size_t) 64 << 20)
#define CONN_BUF            ((size_t) 65536)
/* Closes logged one by one each second; the rest are counted. */
#define SERVER_LOG_MAX 10

typedef enum { W_RECV, W_SEND, W_LATER } wstate;

typedef struct conn conn;

typedef struct work {
    struct server *s;
    conn          *c; /* a guarded socket's connection, or NULL (nng) */
    nng_ctx        ctx;
    nng_aio       *aio;
    nng_msg       *req;
    wstate         state;
    bool           struck; /* server_strike was called for this request */
    const char    *drop;   /* server_drop's reason, or NULL */
    struct work   *next;
    /* server_req_ext: no socket; a deferred reply goes to ext(arg). */
    void (*ext)(void *arg, const weft_buf *out);
    void *ext_arg;
} work;

/* A connection of a guarded socket. */
struct conn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t    tcp;
        uv_pipe_t   pipe;
    } h;
    struct server *s;
    conn          *prev, *next;
    work           w;   /* the request being answered */
    uint8_t       *buf; /* bytes read and not yet used */
    size_t         len, cap;
    bool           greeted; /* the caller's SP greeting was read */
    bool           closing;
    uint64_t       last_ms; /* when it came, or brought its last request */
    int            strikes; /* error replies in a row */
    char           addr[64];
};

struct server {
    node           *n;
    server_fn       fn; /* answers one request on the loop thread */
    nng_socket      sock;
    uv_async_t      async;
    pthread_mutex_t mtx;
    work           *head, *tail; /* requests waiting for the loop */
    work            w[SERVER_CTXS];
    int             nw;
    int             stopping; /* read by nng threads: __atomic access */
    int             open;     /* libuv handles of ours not yet closed */
    char            path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
    /* A guarded socket: its listener, connections and idle timer. */
    bool   guarded, ipc;
    size_t maxmsg;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t    tcp;
        uv_pipe_t   pipe;
    } lis;
    uv_timer_t idle;
    conn      *conns;
    int        nconns;
    size_t     buffered;    /* the connections' buffers (cap), together */
    uint64_t   turned_away; /* connections over SERVER_PIPES_MAX */
    int        logged;      /* closes logged this second */
    uint64_t   unlogged;    /* closes past SERVER_LOG_MAX this second */
};

/* work_cb runs on an nng thread: queue, wake the loop, never block. */
static void
work_cb(void *arg)
{
    work   *w = arg;
    server *s = w->s;
    int     rv = nng_aio_result(w->aio);

    if (w->state == W_SEND) {
        if (rv != 0)
            nng_msg_free(nng_aio_get_msg(w->aio));
        if (__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))
            return;
        w->state = W_RECV;
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    if (__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE) || rv == NNG_ECLOSED
        || rv == NNG_ECANCELED) {
        if (rv == 0) /* received just as we stop: nobody will answer it */
            nng_msg_free(nng_aio_get_msg(w->aio));
        return;
    }
    if (rv != 0) { /* a bad frame (e.g. over the size limit): next one */
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    w->req = nng_aio_get_msg(w->aio);
    w->next = NULL;
    pthread_mutex_lock(&s->mtx);
    if (s->tail)
        s->tail->next = w;
    else
        s->head = w;
    s->tail = w;
    pthread_mutex_unlock(&s->mtx);
    uv_async_send(&s->async);
}

/* send_reply hands out to nng as w's reply and re-arms nothing: the send
 * callback goes back to receiving. */
static void
send_reply(work *w, const weft_buf *out)
{
    nng_msg *rep = NULL;

    if (nng_msg_alloc(&rep, 0) != 0 || nng_msg_append(rep, out->p, out->len)) {
        /* No reply: the REQ side times out. Free what we hold. */
        log_msg(LOG_ERROR, "socket: out of memory for a reply");
        nng_msg_free(rep);
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    w->state = W_SEND;
    nng_aio_set_msg(w->aio, rep);
    nng_ctx_send(w->ctx, w->aio);
}

static void
answer(server *s, work *w)
{
    weft_buf out;
    bool     now;

    weft_buf_init(&out, WEFT_MSG_MAX);
    now = s->fn(s->n, nng_msg_body(w->req), nng_msg_len(w->req), &out, w);
    nng_msg_free(w->req);
    w->req = NULL;
    if (now)
        send_reply(w, &out);
    else
        w->state = W_LATER; /* the handler calls server_reply */
    weft_buf_free(&out);
    /* A request may have read much of the store (a peer's bulk copy, a
     * search): drop the pages it mapped once they add up, at a higher
     * mark on the CLI socket (searches). It may have stored news too:
     * watchers run again if so. */
    store_trim(
        s->n->st, s == s->n->srv ? s->n->search_keep : s->n->mapped_keep);
    watch_kick(s->n);
}

void
server_reply(server_req *r, const weft_buf *out)
{
    work *w = r;

    if (w->ext != NULL) {
        w->ext(w->ext_arg, out);
        return;
    }
    if (w->state != W_LATER
        || __atomic_load_n(&w->s->stopping, __ATOMIC_ACQUIRE))
        return;
    send_reply(w, out);
}

server_req *
server_req_ext(void (*fn)(void *arg, const weft_buf *out), void *arg)
{
    work *w = calloc(1, sizeof(*w));

    if (w != NULL) {
        w->ext = fn;
        w->ext_arg = arg;
    }
    return w;
}

void
server_req_free(server_req *r)
{
    free(r);
}

/* ---- the guarded socket: nng's REP protocol on libuv streams ----------- */

static void
conn_closed(uv_handle_t *h)
{
    conn *c = h->data;

    free(c->buf);
    free(c);
}

/* conn_resize gives c's buffer cap bytes, within SERVER_BUFFERED_MAX. */
static bool
conn_resize(conn *c, size_t cap)
{
    server  *s = c->s;
    uint8_t *p;

    if (cap > c->cap && s->buffered + (cap - c->cap) > SERVER_BUFFERED_MAX)
        return false;
    if ((p = realloc(c->buf, cap)) == NULL)
        return false;
    s->buffered = s->buffered - c->cap + cap;
    c->buf = p;
    c->cap = cap;
    return true;
}

static void
conn_shut(uv_shutdown_t *req, int status)
{
    conn *c = req->data;

    (void) status;
    free(req);
    uv_close(&c->h.handle, conn_closed);
}

/*
 * conn_end closes c, saying why in the log (NULL: the caller left). With
 * linger, what is queued to c (a last reply saying why) is sent first.
 */
static void
conn_end(conn *c, const char *why, bool linger)
{
    server        *s = c->s;
    uv_shutdown_t *req;

    if (c->closing)
        return;
    c->closing = true;
    s->buffered -= c->cap;
    if (why != NULL)
        s->n->stats.refused[REFUSED_CONNECTION]++;
    if (why != NULL && s->logged++ < SERVER_LOG_MAX)
        log_msg(LOG_WARN, "peer connection from %s closed: %s", c->addr, why);
    else if (why != NULL)
        s->unlogged++;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    /* Linger only when the last reply is already with the kernel: a
     * caller that does not read must not hold a closing connection. */
    if (linger && uv_stream_get_write_queue_size(&c->h.stream) == 0
        && (req = malloc(sizeof(*req))) != NULL) {
        req->data = c;
        uv_read_stop(&c->h.stream);
        if (uv_shutdown(req, &c->h.stream, conn_shut) == 0)
            return;
        free(req);
    }
    uv_close(&c->h.handle, conn_closed);
}

static void
conn_close(conn *c, const char *why)
{
    conn_end(c, why, false);
}

static void
write_done(uv_write_t *req, int status)
{
    (void) status;
    free(req); /* the bytes follow the request in one allocation */
}

/* conn_write queues len bytes (head, then body) on c; false on failure. */
static bool
conn_write(
    conn *c, const uint8_t *head, size_t hn, const uint8_t *body, size_t bn)
{
    uv_write_t *req = malloc(sizeof(*req) + hn + bn);
    uv_buf_t    b;

    if (req == NULL)
        return false;
    b.base = (char *) (req + 1);
    b.len = hn + bn;
    memcpy(b.base, head, hn);
    if (bn > 0)
        memcpy(b.base + hn, body, bn);
    if (uv_write(req, &c->h.stream, &b, 1, write_done) != 0) {
        free(req);
        return false;
    }
    return true;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

static uint64_t
get_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* conn_answer answers the request in frame p (n bytes: the request ids,
 * then the body) on c; false when c was closed. */
static bool
conn_answer(conn *c, const uint8_t *p, size_t n)
{
    server  *s = c->s;
    work    *w = &c->w;
    weft_buf out;
    uint8_t  head[9 + 4 * SP_HOPS_MAX];
    size_t   ids = 0, hn = 0;
    bool     now, ok;

    /* The request ids: 4 bytes each, the last with its top bit set. */
    for (int hop = 0;; hop++) {
        if (hop == SP_HOPS_MAX || n < ids + 4) {
            conn_close(c, "a frame that is not an SP request");
            return false;
        }
        ids += 4;
        if (p[ids - 4] & 0x80)
            break;
    }
    c->last_ms = weft_now_us() / 1000;
    w->struck = false;
    w->drop = NULL;
    weft_buf_init(&out, WEFT_MSG_MAX);
    now = s->fn(s->n, p + ids, n - ids, &out, w);
    if (!w->struck && w->drop == NULL)
        c->strikes = 0;
    if (!now) {
        weft_buf_free(&out);
        conn_close(c, "a request left unanswered");
        return false;
    }
    if (s->ipc)
        head[hn++] = 1; /* IPC frames start with a message type */
    put_be64(head + hn, ids + out.len);
    hn += 8;
    memcpy(head + hn, p, ids);
    hn += ids;
    ok = conn_write(c, head, hn, out.p, out.len);
    s->n->stats.peer_msgs_in++;
    s->n->stats.peer_bytes_in += n;
    s->n->stats.peer_msgs_out++;
    s->n->stats.peer_bytes_out += hn + out.len;
    weft_buf_free(&out);
    if (!ok) {
        conn_close(c, "cannot send a reply");
        return false;
    }
    if (w->drop != NULL) { /* the reply says why; then c goes */
        conn_end(c, w->drop, true);
        return false;
    }
    /* A caller that sends without reading its replies is cut off before
     * they pile up here. */
    if (uv_stream_get_write_queue_size(&c->h.stream) > SERVER_UNREAD_MAX) {
        conn_close(c, "it does not read its replies");
        return false;
    }
    store_trim(s->n->st, s->n->mapped_keep);
    watch_kick(s->n);
    return true;
}

/* conn_consume answers every whole request in c's buffer, in order. */
static void
conn_consume(conn *c)
{
    static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, SP_REQ, 0, 0 };
    size_t               off = 0, hn = c->s->ipc ? 9 : 8;

    if (!c->greeted) {
        if (c->len < 8)
            return;
        if (memcmp(c->buf, hello, 8) != 0) {
            conn_close(c, "it does not greet as an SP REQ socket");
            return;
        }
        c->greeted = true;
        off = 8;
    }
    while (!c->closing && c->len - off >= hn) {
        const uint8_t *f = c->buf + off;
        uint64_t       n;

        if (c->s->ipc && f[0] != 1) {
            conn_close(c, "a frame that is not an SP message");
            return;
        }
        n = get_be64(f + hn - 8);
        if (n > c->s->maxmsg) { /* as nng counts it: ids and body */
            conn_close(c, "a frame over the size limit (MESH_MSG_MAX)");
            return;
        }
        if (c->len - off - hn < n)
            break; /* the rest of the frame is still to come */
        if (!conn_answer(c, f + hn, (size_t) n))
            return;
        off += hn + (size_t) n;
    }
    if (!c->closing && off > 0) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
}

static void
conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    conn  *c = h->data;
    size_t hn = c->s->ipc ? 9 : 8, want = c->len + CONN_BUF;

    (void) hint;
    /* A frame under way (its length read, at the buffer's start: whole
     * frames are consumed as they come) gets its room at once, not in
     * steps that copy it again and again. */
    if (c->greeted && c->len >= hn) {
        uint64_t n = get_be64(c->buf + hn - 8);

        if (n <= c->s->maxmsg && hn + n > want)
            want = hn + (size_t) n;
    }
    /* No room and none to be had: a zero buffer makes libuv report
     * UV_ENOBUFS to conn_read, which closes c. */
    if (c->cap - c->len < CONN_BUF / 2 && !conn_resize(c, want))
        b->len = 0;
    else
        b->len = c->cap - c->len;
    b->base = (char *) c->buf + c->len;
}

static void
conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    conn *c = st->data;

    (void) b;
    if (nread == UV_ENOBUFS) {
        conn_close(c,
            "its requests under way would take more memory than "
            "all peers may (SERVER_BUFFERED_MAX)");
        return;
    }
    if (nread < 0) {
        conn_close(c, NULL); /* the caller hung up, or the link broke */
        return;
    }
    c->len += (size_t) nread;
    conn_consume(c);
    /* A big frame's room is given back once it is answered. */
    if (!c->closing && c->cap > 4 * CONN_BUF && c->len < CONN_BUF)
        conn_resize(c, CONN_BUF);
}

static void
conn_addr(conn *c)
{
    struct sockaddr_storage ss;
    int                     len = sizeof(ss);
    char                    host[INET6_ADDRSTRLEN + 2], port[8];

    snprintf(c->addr, sizeof(c->addr), "a local socket");
    if (c->s->ipc
        || uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *) &ss, &len) != 0
        || getnameinfo((struct sockaddr *) &ss, (socklen_t) len, host,
               sizeof(host), port, sizeof(port),
               NI_NUMERICHOST | NI_NUMERICSERV)
            != 0)
        return;
    snprintf(c->addr, sizeof(c->addr),
        ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static void
on_conn(uv_stream_t *lis, int status)
{
    static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, SP_REP, 0, 0 };
    server              *s = lis->data;
    conn                *c;
    int                  rv;

    if (status < 0) {
        log_msg(LOG_WARN, "peer socket: accept: %s", uv_strerror(status));
        return;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return;
    c->s = s;
    c->w.s = s;
    c->w.c = c;
    c->h.handle.data = c;
    rv = s->ipc ? uv_pipe_init(lis->loop, &c->h.pipe, 0)
                : uv_tcp_init(lis->loop, &c->h.tcp);
    if (rv != 0) {
        free(c);
        return;
    }
    if (uv_accept(lis, &c->h.stream) != 0 || s->nconns >= SERVER_PIPES_MAX) {
        s->turned_away++;
        s->n->stats.refused[REFUSED_CONNECTION]++;
        uv_close(&c->h.handle, conn_closed);
        return;
    }
    if (!s->ipc)
        uv_tcp_nodelay(&c->h.tcp, 1);
    conn_addr(c);
    c->last_ms = weft_now_us() / 1000;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (!conn_write(c, hello, sizeof(hello), NULL, 0)
        || uv_read_start(&c->h.stream, conn_alloc, conn_read) != 0)
        conn_close(c, "cannot start reading");
}

/* idle_cb closes the connections that brought no whole request for
 * SERVER_IDLE_MS (a caller that stalls mid-message or says nothing;
 * honest peers sync every --sync-interval, and a quieter one dials
 * again), and logs the connections turned away at the bound. */
static void
idle_cb(uv_timer_t *h)
{
    server  *s = h->data;
    uint64_t now = weft_now_us() / 1000;

    for (conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (now - c->last_ms > SERVER_IDLE_MS)
            conn_close(c, "no whole request in time (SERVER_IDLE_MS)");
    }
    if (s->turned_away > 0)
        log_msg(LOG_WARN,
            "turned away %llu peer connections: %d are open "
            "(SERVER_PIPES_MAX)",
            (unsigned long long) s->turned_away, s->nconns);
    if (s->unlogged > 0)
        log_msg(LOG_WARN, "closed %llu more peer connections (as above)",
            (unsigned long long) s->unlogged);
    s->turned_away = s->unlogged = 0;
    s->logged = 0;
}

/* ipc_path takes the socket file of an ipc:// url, removing a stale one
 * (safe: we hold the data directory's lock). */
static weft_err
ipc_path(server *s, const char *url, weft_diag *d)
{
    if (strlen(url + 6) >= sizeof(s->path))
        return weft_diagf(d, WEFT_ETOOBIG,
            "%s: path longer than a unix socket allows (%zu bytes)", url + 6,
            sizeof(s->path) - 1);
    snprintf(s->path, sizeof(s->path), "%s", url + 6);
    unlink(s->path);
    return WEFT_OK;
}

/* listen_guarded listens at tcp://HOST:PORT or ipc://PATH on libuv. */
static weft_err
listen_guarded(server *s, uv_loop_t *loop, const char *url, weft_diag *d)
{
    struct addrinfo hints = { 0 }, *ai = NULL;
    char            host[256], *port;
    int             rv;

    if ((s->ipc = strncmp(url, "ipc://", 6) == 0)) {
        if (ipc_path(s, url, d) != WEFT_OK)
            return WEFT_ETOOBIG;
        if ((rv = uv_pipe_init(loop, &s->lis.pipe, 0)) != 0)
            return weft_diagf(d, WEFT_EIO, "%s: %s", url, uv_strerror(rv));
        s->lis.handle.data = s;
        s->open++;
        if ((rv = uv_pipe_bind(&s->lis.pipe, s->path)) != 0
            || (rv = chmod(s->path, 0600) ? uv_translate_sys_error(errno) : 0)
            || (rv = uv_listen(&s->lis.stream, 128, on_conn)) != 0)
            return weft_diagf(d, WEFT_EIO, "%s: %s", url, uv_strerror(rv));
        return WEFT_OK;
    }
    if (strncmp(url, "tcp://", 6) != 0 || strlen(url + 6) >= sizeof(host))
        return weft_diagf(d, WEFT_EINVAL, "%s: expected tcp://HOST:PORT", url);
    snprintf(host, sizeof(host), "%s", url + 6);
    if ((port = strrchr(host, ':')) == NULL || port[1] == 0)
        return weft_diagf(d, WEFT_EINVAL, "%s: expected tcp://HOST:PORT", url);
    *port++ = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rv = getaddrinfo(
             strcmp(host, "*") && host[0] ? host : NULL, port, &hints, &ai))
        != 0)
        return weft_diagf(d, WEFT_EINVAL, "%s: %s", url, gai_strerror(rv));
    if ((rv = uv_tcp_init(loop, &s->lis.tcp)) != 0) {
        freeaddrinfo(ai);
        return weft_diagf(d, WEFT_EIO, "%s: %s", url, uv_strerror(rv));
    }
    s->lis.handle.data = s;
    s->open++;
    rv = uv_tcp_bind(&s->lis.tcp, ai->ai_addr, 0);
    freeaddrinfo(ai);
    if (rv != 0 || (rv = uv_listen(&s->lis.stream, 128, on_conn)) != 0)
        return weft_diagf(d, WEFT_EIO, "%s: %s", url, uv_strerror(rv));
    return WEFT_OK;
}

void
server_strike(server_req *r, const char *why)
{
    work *w = r;

    if (w == NULL || w->c == NULL)
        return; /* the CLI socket keeps no count */
    w->struck = true;
    if (++w->c->strikes >= SERVER_STRIKES_MAX)
        server_drop(r, why);
}

void
server_drop(server_req *r, const char *why)
{
    work *w = r;

    if (w != NULL && w->c != NULL && w->drop == NULL)
        w->drop = why;
}

/* ---- the nng socket ------------------------------------------------------ */

/* async_cb runs on the loop thread and drains every queued request. */
static void
async_cb(uv_async_t *h)
{
    server *s = h->data;
    work   *w;

    /* At most SERVER_PER_WAKE requests per wake-up: a socket that keeps
     * receiving (peers during a bulk copy) must not starve the loop's
     * other handles, the CLI socket among them. What is left wakes us
     * again after they have run. */
    for (int i = 0; i < SERVER_PER_WAKE; i++) {
        pthread_mutex_lock(&s->mtx);
        if ((w = s->head) != NULL && (s->head = w->next) == NULL)
            s->tail = NULL;
        pthread_mutex_unlock(&s->mtx);
        if (w == NULL)
            return;
        answer(s, w);
    }
    pthread_mutex_lock(&s->mtx);
    w = s->head;
    pthread_mutex_unlock(&s->mtx);
    if (w != NULL && !__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))
        uv_async_send(&s->async);
}

/*
 * listen opens the REP socket on url. An ipc:// socket file gets mode
 * 0600; a stale one is removed first, which is safe because we hold the
 * data directory's lock.
 */
static weft_err
listen_on(server *s, const char *url, size_t maxmsg, weft_diag *d)
{
    nng_listener l;
    bool         ipc = strncmp(url, "ipc://", 6) == 0;
    int          rv;

    if (ipc && ipc_path(s, url, d) != WEFT_OK)
        return WEFT_ETOOBIG;
    if ((rv = nng_rep0_open(&s->sock)) != 0
        || (rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, maxmsg)) != 0
        || (rv = nng_listener_create(&l, s->sock, url)) != 0
        || (ipc
            && (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600))
                != 0)
        || (rv = nng_listener_start(l, 0)) != 0)
        return weft_diagf(d, WEFT_EIO, "%s: %s", url, nng_strerror(rv));
    return WEFT_OK;
}

weft_err
server_start(node *n, void *loop, const char *url, size_t maxmsg, bool guarded,
    server_fn fn, server **out, weft_diag *d)
{
    server  *s = calloc(1, sizeof(*s));
    weft_err err;

    if (s == NULL)
        return WEFT_ENOMEM;
    s->n = n;
    s->fn = fn;
    s->maxmsg = maxmsg;
    pthread_mutex_init(&s->mtx, NULL);
    if (uv_async_init(loop, &s->async, async_cb) != 0) {
        pthread_mutex_destroy(&s->mtx);
        free(s);
        return weft_diagf(d, WEFT_EIO, "%s: uv_async_init failed", url);
    }
    s->async.data = s;
    s->open = 1;
    *out = s;
    if ((s->guarded = guarded)) {
        uv_timer_init(loop, &s->idle);
        s->idle.data = s;
        s->open++;
        uv_timer_start(&s->idle, idle_cb, 1000, 1000);
        if ((err = listen_guarded(s, loop, url, d)) != WEFT_OK)
            return err; /* server_stop cleans up */
        log_msg(LOG_INFO, "listening on %s", url);
        return WEFT_OK;
    }
    if ((err = listen_on(s, url, maxmsg, d)) != WEFT_OK)
        return err; /* server_stop cleans up */
    for (s->nw = 0; s->nw < SERVER_CTXS; s->nw++) {
        work *w = &s->w[s->nw];

        w->s = s;
        if (nng_aio_alloc(&w->aio, work_cb, w) != 0)
            return weft_diagf(d, WEFT_ENOMEM, "%s: no memory", url);
        if (nng_ctx_open(&w->ctx, s->sock) != 0) {
            nng_aio_free(w->aio);
            return weft_diagf(d, WEFT_EIO, "%s: no context", url);
        }
        w->state = W_RECV;
        nng_ctx_recv(w->ctx, w->aio);
    }
    log_msg(LOG_INFO, "listening on %s", url);
    return WEFT_OK;
}

static void
handle_closed(uv_handle_t *h)
{
    server *s = h->data;

    if (--s->open > 0)
        return;
    pthread_mutex_destroy(&s->mtx);
    free(s);
}

void
server_stop(server *s)
{
    if (s == NULL)
        return;
    if (s->guarded) {
        while (s->conns != NULL)
            conn_close(s->conns, NULL);
        uv_close((uv_handle_t *) &s->idle, handle_closed);
        if (s->lis.handle.data == s)
            uv_close(&s->lis.handle, handle_closed);
        if (s->path[0])
            unlink(s->path);
        uv_close((uv_handle_t *) &s->async, handle_closed);
        return;
    }
    /* Callbacks see the flag and re-arm nothing. Stopping every aio first
     * cancels what is in flight (a reply stuck on a slow peer included)
     * and waits for its callback, so closing the contexts and the socket
     * has nothing left to wait for; the queue is then ours alone. */
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < s->nw; i++)
        nng_aio_stop(s->w[i].aio);
    for (int i = 0; i < s->nw; i++)
        nng_ctx_close(s->w[i].ctx);
    nng_close(s->sock);
    for (work *w = s->head; w != NULL; w = w->next)
        nng_msg_free(w->req);
    s->head = s->tail = NULL;
    for (int i = 0; i < s->nw; i++)
        nng_aio_free(s->w[i].aio);
    if (s->path[0])
        unlink(s->path);
    uv_close((uv_handle_t *) &s->async, handle_closed);
}
