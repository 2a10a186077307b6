/*
 * server.c: a request/reply socket served on the loop: the CLI socket
 * (ipc://DIR/weft.sock, mode 0600) and the peer socket (--listen) are
 * both one of these. An nng REP socket listens with a few contexts, so
 * several requests can be in flight.
 * nng runs aio callbacks on its own threads; they never block and never
 * touch node state: a received request is queued and the loop woken with
 * uv_async_send. The loop thread drains the whole queue (wake-ups
 * coalesce), answers each request, and hands the reply back to nng.
 */
#include "node/node.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

/* Contexts: a few for requests answered at once, and one for each
 * watcher or fetch that may hold its reply for a while. */
#define SERVER_CTXS (4 + WATCH_MAX)
/* Requests answered per wake-up of the loop: what is left waits for the
 * loop's other handles (a CLI request behind a bulk copy) to have run. */
#define SERVER_PER_WAKE 2

typedef enum { W_RECV, W_SEND, W_LATER } wstate;

typedef struct work {
    struct server *s;
    nng_ctx        ctx;
    nng_aio       *aio;
    nng_msg       *req;
    wstate         state;
    struct work   *next;
} work;

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
    char            path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
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
    store_trim(s->n->st, s == s->n->srv ? s->n->search_keep : STORE_MAPPED_MAX);
    watch_kick(s->n);
}

void
server_reply(server_req *r, const weft_buf *out)
{
    work *w = r;

    if (w->state != W_LATER
        || __atomic_load_n(&w->s->stopping, __ATOMIC_ACQUIRE))
        return;
    send_reply(w, out);
}

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

    if (ipc) {
        if (strlen(url + 6) >= sizeof(s->path))
            return weft_diagf(d, WEFT_ETOOBIG,
                "%s: path longer than a unix socket allows (%zu bytes)",
                url + 6, sizeof(s->path) - 1);
        snprintf(s->path, sizeof(s->path), "%s", url + 6);
        unlink(s->path);
    }
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
server_start(node *n, void *loop, const char *url, size_t maxmsg, server_fn fn,
    server **out, weft_diag *d)
{
    server  *s = calloc(1, sizeof(*s));
    weft_err err;

    if (s == NULL)
        return WEFT_ENOMEM;
    s->n = n;
    s->fn = fn;
    pthread_mutex_init(&s->mtx, NULL);
    if (uv_async_init(loop, &s->async, async_cb) != 0) {
        pthread_mutex_destroy(&s->mtx);
        free(s);
        return weft_diagf(d, WEFT_EIO, "%s: uv_async_init failed", url);
    }
    s->async.data = s;
    *out = s;
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
async_closed(uv_handle_t *h)
{
    server *s = h->data;

    pthread_mutex_destroy(&s->mtx);
    free(s);
}

void
server_stop(server *s)
{
    if (s == NULL)
        return;
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
    uv_close((uv_handle_t *) &s->async, async_closed);
}
