/*
 * http.c: the node's read-only HTTP API, /metrics and the catalog page
 * (weftd --http ADDR). docs/http.md describes what is served.
 *
 * nng's HTTP server (nng/supplemental/http) owns the connections. Its
 * handler runs on nng threads and touches no node state: it copies the
 * method and the target into a request, queues it and wakes the loop with
 * uv_async_send, as server.c does for the CLI socket. The loop thread
 * drains the queue and answers each request: an API call becomes the
 * msgpack request the CLI would send, run through ops_handle (only the
 * read-only ops below are reachable from here), and the reply becomes
 * JSON (proto_json_dump) with an HTTP status from its error code. Then
 * the loop completes nng's aio with the response. A get of another
 * domain's product may wait on a peer for its descriptor (server_req_ext);
 * it is answered when the peer's reply comes, like the CLI's.
 *
 * Lifetimes. The loop side (struct http, with the uv_async handle) is
 * freed in the async handle's close callback. What nng threads touch (the
 * queue, its mutex, the set of requests under way) lives in struct hq,
 * which the nng handler owns: it is freed by the handler's destructor,
 * which nng runs once no handler call can still be under way. A request
 * is freed by the loop once answered; its aio pointer, guarded by the
 * mutex, is cleared by whoever completes it first: the loop, or nng
 * cancelling it (the client went away, the server is stopping).
 */
#include "node/http.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define HTTP_INFLIGHT_MAX 64  /* requests held at once; more get 503 */
#define HTTP_PER_WAKE     2   /* requests answered per wake of the loop */
#define HTTP_SEARCH_LIMIT 20  /* results of /api/search by default */
#define HTTP_LIST_LIMIT   100 /* products of /api/products by default */
#define HTTP_METRICS_MAX  ((size_t) 16 << 20)
#define HTTP_ARENA_MAX    ((size_t) WEFT_MSG_MAX * 8)
#define HTTP_METHOD_MAX   15

/* Response flags. */
#define R_CLOSE 1u /* close the connection after this response */
#define R_ALLOW 2u /* say which methods are allowed (405) */
#define R_PAGE  4u /* the page: its content security policy */

typedef struct hreq hreq;
typedef struct hq   hq;

/* What nng threads and the loop share: everything under mtx. */
struct hq {
    pthread_mutex_t mtx;
    bool            stopping;
    uv_async_t     *async;       /* the loop's wake-up; NULL once stopping */
    hreq           *head, *tail; /* requests waiting for the loop */
    hreq           *live;        /* every request not yet freed */
    int             nlive;
};

struct hreq {
    hq          *q;
    struct http *h;   /* set by the loop */
    nng_aio     *aio; /* under q->mtx: NULL once completed */
    char         method[HTTP_METHOD_MAX + 1];
    char        *uri; /* a copy, at most HTTP_URI_MAX + 1 bytes */
    size_t       urilen;
    bool         body;          /* it says it carries a body */
    server_req  *later;         /* a get waiting on a peer, or NULL */
    hreq        *next;          /* the queue */
    hreq        *lprev, *lnext; /* the live set */
};

struct http {
    node             *n;
    hq               *q;
    bool              q_given; /* q belongs to the handler (its dtor) */
    uv_async_t        async;
    bool              async_open;
    nng_http_server  *srv;
    nng_http_handler *hd;
    bool              hd_added, started;
    uint64_t          codes[HTTP_CODES_MAX]; /* responses by status */
};

/* ---- completing nng's aio (any thread) -------------------------------- */

/* finish hands nng a response for aio: status, type, body and headers. */
static void
finish(nng_aio *aio, int status, const char *ctype, const void *body,
    size_t len, unsigned flags)
{
    nng_http_res *res;

    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    if (nng_http_res_set_status(res, (uint16_t) status) != 0
        || nng_http_res_set_header(res, "Content-Type", ctype) != 0
        || nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff")
        || nng_http_res_set_header(res, "Cache-Control", "no-store") != 0
        || ((flags & R_CLOSE)
            && nng_http_res_set_header(res, "Connection", "close") != 0)
        || ((flags & R_ALLOW)
            && nng_http_res_set_header(res, "Allow", "GET, HEAD") != 0)
        || ((flags & R_PAGE)
            && (nng_http_res_set_header(res, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; "
                    "object-src 'none'; base-uri 'none'; "
                    "form-action 'self'; frame-ancestors 'none'")
                    != 0
                || nng_http_res_set_header(
                       res, "Referrer-Policy", "no-referrer")
                    != 0))
        || nng_http_res_copy_data(res, body, len) != 0) {
        nng_http_res_free(res);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

/* refuse_now answers on an nng thread, without the loop: the server is
 * stopping, or too many requests are under way. */
static void
refuse_now(nng_aio *aio, const char *why)
{
    char body[256];
    int  k = snprintf(body, sizeof(body),
         "{\"code\":\"ESTATE\",\"error\":\"%s\",\"ok\":false,\"status\":503}",
         why);

    finish(aio, 503, "application/json", body, (size_t) k, R_CLOSE);
}

/* ---- the nng side: queue and wake ------------------------------------- */

/* on_cancel runs on an nng thread when the aio is aborted (the client
 * left, the server stops): complete it now if the loop has not. */
static void
on_cancel(nng_aio *aio, void *arg, int rv)
{
    hq   *q = arg;
    bool  found = false;
    hreq *r;

    pthread_mutex_lock(&q->mtx);
    for (r = q->live; r != NULL; r = r->lnext)
        if (r->aio == aio) {
            r->aio = NULL;
            found = true;
            break;
        }
    pthread_mutex_unlock(&q->mtx);
    if (found)
        nng_aio_finish(aio, rv);
}

/* on_request is nng's handler, on an nng thread: copy, queue, wake. */
static void
on_request(nng_aio *aio)
{
    nng_http_req *req = nng_aio_get_input(aio, 0);
    hq           *q = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
    const char   *uri = nng_http_req_get_uri(req);
    const char   *cl = nng_http_req_get_header(req, "Content-Length");
    size_t        n = strnlen(uri, HTTP_URI_MAX + 1);
    hreq         *r = calloc(1, sizeof(*r));

    if (r == NULL || (r->uri = malloc(n + 1)) == NULL) {
        free(r);
        refuse_now(aio, "out of memory");
        return;
    }
    memcpy(r->uri, uri, n); /* one byte past the bound says "too long" */
    r->uri[n] = 0;
    r->urilen = n;
    snprintf(r->method, sizeof(r->method), "%s", nng_http_req_get_method(req));
    r->body = (cl != NULL && strcmp(cl, "0") != 0)
        || nng_http_req_get_header(req, "Transfer-Encoding") != NULL;
    r->q = q;
    r->aio = aio;
    /* Before the loop can see it: once queued, the aio is the loop's. */
    nng_aio_defer(aio, on_cancel, q);
    pthread_mutex_lock(&q->mtx);
    if (q->stopping || q->nlive >= HTTP_INFLIGHT_MAX) {
        bool stopping = q->stopping;

        pthread_mutex_unlock(&q->mtx);
        free(r->uri);
        free(r);
        refuse_now(aio,
            stopping ? "the node is stopping" : "too many requests at once");
        return;
    }
    if ((r->lnext = q->live) != NULL)
        q->live->lprev = r;
    q->live = r;
    q->nlive++;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    /* Under the lock: the loop closes the handle only after it has set
     * stopping under the same lock. */
    uv_async_send(q->async);
    pthread_mutex_unlock(&q->mtx);
}

static void
hq_free(void *arg)
{
    hq *q = arg;

    pthread_mutex_destroy(&q->mtx);
    free(q);
}

/* ---- answering, on the loop thread ------------------------------------ */

static void
hreq_free(hreq *r)
{
    hq *q = r->q;

    pthread_mutex_lock(&q->mtx);
    if (r->lprev)
        r->lprev->lnext = r->lnext;
    else
        q->live = r->lnext;
    if (r->lnext)
        r->lnext->lprev = r->lprev;
    q->nlive--;
    pthread_mutex_unlock(&q->mtx);
    server_req_free(r->later);
    free(r->uri);
    free(r);
}

/* respond answers r (unless nng cancelled it) and frees it. */
static void
respond(http *h, hreq *r, int status, const char *ctype, const void *body,
    size_t len, unsigned flags)
{
    nng_aio *aio;

    pthread_mutex_lock(&r->q->mtx);
    aio = r->aio;
    r->aio = NULL;
    pthread_mutex_unlock(&r->q->mtx);
    if (status >= 100 && status < HTTP_CODES_MAX)
        h->codes[status]++;
    if (aio != NULL)
        finish(aio, status, ctype, body, len, flags);
    hreq_free(r);
}

static void
respond_json(http *h, hreq *r, int status, const pv *v, unsigned flags)
{
    static const char big[] = "{\"code\":\"ENOMEM\",\"error\":\"the reply is "
                              "too large\",\"ok\":false,\"status\":500}\n";
    weft_buf          b;

    weft_buf_init(&b, (size_t) WEFT_MSG_MAX * 4);
    if (proto_json_dump(v, false, &b) == WEFT_OK
        && weft_buf_append(&b, "\n", 1) == WEFT_OK)
        respond(h, r, status, "application/json", b.p, b.len, flags);
    else
        respond(h, r, 500, "application/json", big, sizeof(big) - 1, flags);
    weft_buf_free(&b);
}

/* fail answers r with {ok: false, code, error, status}. */
static void fail(http *h, hreq *r, int status, weft_err code, unsigned flags,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
fail(http *h, hreq *r, int status, weft_err code, unsigned flags,
    const char *fmt, ...)
{
    char      msg[600];
    va_list   ap;
    pv_arena *a = pv_arena_new(1 << 16);
    pv       *m = a ? pv_map(a) : NULL;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m == NULL || pv_set(a, m, "ok", pv_bool(a, false))
        || pv_setstr(a, m, "code", weft_errname(code))
        || pv_setstr(a, m, "error", msg) || pv_setint(a, m, "status", status))
        respond(h, r, status, "application/json", "{}\n", 3, flags);
    else
        respond_json(h, r, status, m, flags);
    pv_arena_free(a);
}

/* status_of maps a weft_err from a reply to an HTTP status. */
static int
status_of(weft_err code)
{
    switch (code) {
    case WEFT_EINVAL:
    case WEFT_ETOOBIG:
    case WEFT_ESYNTAX:
    case WEFT_ESCHEMA:
    case WEFT_ETRUNC:
    case WEFT_ETRAIL:
    case WEFT_ENONCANON:
        return 400;
    case WEFT_ENOTFOUND:
        return 404;
    case WEFT_EPOLICY:
        return 403;
    case WEFT_ENOMEM:
        return 503;
    default:
        return 500;
    }
}

/* ---- running ops ------------------------------------------------------ */

/* A fixup adjusts a successful reply before it becomes JSON. */
typedef void (*fixup_fn)(http *h, pv_arena *a, pv *rep);

static pv *
op_new(pv_arena *a, const char *op)
{
    pv *m = pv_map(a);

    if (m != NULL && pv_setstr(a, m, "op", op) != WEFT_OK)
        return NULL;
    return m;
}

/* answer answers r with the op reply rep: its fields on success (after
 * fix), or the error with the status its code maps to. */
static void
answer(http *h, hreq *r, pv_arena *a, pv *rep, fixup_fn fix)
{
    const pv *ok = pv_get(rep, "ok");
    weft_err  code;

    if (ok != NULL && ok->type == PV_BOOL && ok->u.b) {
        if (fix != NULL)
            fix(h, a, rep);
        respond_json(h, r, 200, rep, 0);
        return;
    }
    code = (weft_err) pv_getint(rep, "code", WEFT_EIO);
    fail(h, r, status_of(code), code, 0, "%s",
        pv_getstr(rep, "error") ? pv_getstr(rep, "error")
                                : weft_strerror(code));
}

/*
 * call runs req through ops_handle, as the CLI socket does; *rep is the
 * decoded reply (in a), or NULL when the op will answer r later. Without
 * r, the op may not defer.
 */
static weft_err
call(http *h, hreq *r, pv_arena *a, const pv *req, pv **rep)
{
    weft_buf in, out;
    weft_err err;

    *rep = NULL;
    weft_buf_init(&in, WEFT_MSG_MAX);
    weft_buf_init(&out, WEFT_MSG_MAX);
    if ((err = proto_encode(req, &in)) == WEFT_OK
        && ops_handle(h->n, in.p, in.len, &out, r ? r->later : NULL))
        err = proto_decode(a, out.p, out.len, rep, NULL);
    weft_buf_free(&in);
    weft_buf_free(&out);
    /* As the CLI socket does after a request (server.c). */
    store_trim(h->n->st, h->n->search_keep);
    return err;
}

/* run calls req and answers r with its reply (unless it was deferred). */
static void
run(http *h, hreq *r, pv_arena *a, const pv *req, fixup_fn fix)
{
    pv      *rep;
    weft_err err;

    if (req == NULL)
        err = WEFT_ENOMEM;
    else if ((err = call(h, r, a, req, &rep)) == WEFT_OK && rep == NULL)
        return; /* deferred: later_done answers */
    if (err != WEFT_OK) {
        fail(h, r, status_of(err), err, 0, "%s", weft_strerror(err));
        return;
    }
    answer(h, r, a, rep, fix);
}

/* ---- fixups ------------------------------------------------------------ */

/* fix_get decodes the descriptor, which the reply carries as bytes. */
static void
fix_get(http *h, pv_arena *a, pv *rep)
{
    pv *p = pv_get(rep, "product"), *desc = pv_get(p, "descriptor"), *dv;

    (void) h;
    if (desc != NULL && desc->type == PV_BIN
        && proto_decode(
               a, (const uint8_t *) desc->u.s.p, desc->u.s.len, &dv, NULL)
            == WEFT_OK)
        pv_set(a, p, "descriptor", dv);
}

/* fix_items adds each listed product's declared quality (the page's
 * badges), read from the summaries held, in one read transaction. */
static void
fix_items(http *h, pv_arena *a, pv *rep)
{
    pv        *items = pv_get(rep, "products"), *sum;
    store_txn *t;

    if (items == NULL || items->type != PV_ARR
        || store_begin(h->n->st, false, &t) != WEFT_OK)
        return;
    for (uint32_t i = 0; i < items->u.a.n; i++) {
        const char *id = pv_getstr(items->u.a.v[i], "id");

        if (id != NULL && catalog_summary(h->n, t, a, id, &sum) == WEFT_OK)
            pv_set(a, items->u.a.v[i], "quality", pv_get(sum, "quality"));
    }
    store_abort(t);
}

/* fix_status leaves out the data directory: where the node keeps its
 * files is no business of a web client. */
static void
fix_status(http *h, pv_arena *a, pv *rep)
{
    (void) h;
    (void) a;
    for (uint32_t i = 0; i < rep->u.m.n; i++)
        if (strcmp(rep->u.m.kv[i].k->u.s.p, "data") == 0) {
            memmove(&rep->u.m.kv[i], &rep->u.m.kv[i + 1],
                (rep->u.m.n - i - 1) * sizeof(rep->u.m.kv[0]));
            rep->u.m.n--;
            break;
        }
}

/* later_done answers a get that waited on a peer (server_reply). */
static void
later_done(void *arg, const weft_buf *out)
{
    hreq     *r = arg;
    pv_arena *a = pv_arena_new(HTTP_ARENA_MAX);
    pv       *rep;

    if (a != NULL && proto_decode(a, out->p, out->len, &rep, NULL) == WEFT_OK)
        answer(r->h, r, a, rep, fix_get);
    else
        fail(r->h, r, 500, WEFT_ENOMEM, 0, "cannot read the reply");
    pv_arena_free(a);
}

/* ---- parameters --------------------------------------------------------- */

/* param_bool reads a flag: absent is def; "", 1, true, yes, on are true;
 * 0, false, no, off false. */
static bool
param_bool(
    const http_target *t, const char *key, bool def, bool *out, weft_diag *d)
{
    const char *v = http_param(t, key);

    if (v == NULL) {
        *out = def;
        return true;
    }
    if (!*v || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")
        || !strcmp(v, "on"))
        *out = true;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")
        || !strcmp(v, "off"))
        *out = false;
    else {
        weft_diagf(d, WEFT_EINVAL,
            "query parameter '%s': '%.32s' is not 1 or 0 (true or false)", key,
            v);
        return false;
    }
    return true;
}

/* param_int reads a whole number from lo to hi (absent: def). */
static bool
param_int(const http_target *t, const char *key, long long def, long long lo,
    long long hi, long long *out, weft_diag *d)
{
    const char *v = http_param(t, key);
    char       *end;
    long long   x;

    if (v == NULL) {
        *out = def;
        return true;
    }
    x = strtoll(v, &end, 10);
    if (*v == 0 || *end != 0 || x < lo || x > hi) {
        weft_diagf(d, WEFT_EINVAL,
            "query parameter '%s': '%.32s' is not a whole number from %lld to "
            "%lld",
            key, v, lo, hi);
        return false;
    }
    *out = x;
    return true;
}

/* set_flags copies the boolean parameters named in keys into req. */
static bool
set_flags(pv_arena *a, pv *req, const http_target *t, const char *const *keys,
    weft_diag *d)
{
    for (; *keys != NULL; keys++) {
        bool b;

        if (!param_bool(t, *keys, false, &b, d))
            return false;
        if (b && pv_set(a, req, *keys, pv_bool(a, true)) != WEFT_OK)
            return false;
    }
    return true;
}

/* ---- endpoints -------------------------------------------------------- */

/* search_req builds {op, q, limit, domain, facets, all, explain}. */
static pv *
search_req(pv_arena *a, const http_target *t, const char *op, long long def,
    weft_diag *d)
{
    static const char *const flags[] = { "facets", "all", "explain", NULL };
    pv                      *req = op_new(a, op);
    const char              *q = http_param(t, "q"), *dom;
    long long                limit;

    if (req == NULL)
        return NULL;
    if (!param_int(t, "limit", def, 0, QUERY_RESULTS_MAX, &limit, d)
        || !set_flags(a, req, t, flags, d))
        return NULL;
    if ((q != NULL && pv_setstr(a, req, "q", q) != WEFT_OK)
        || pv_setint(a, req, "limit", limit) != WEFT_OK)
        return NULL;
    if ((dom = http_param(t, "domain")) != NULL && *dom
        && pv_setstr(a, req, "domain", dom) != WEFT_OK)
        return NULL;
    return req;
}

/* search answers /api/search (op "search") or /api/products ("list"). */
static void
search(http *h, hreq *r, pv_arena *a, const http_target *t, const char *op,
    long long def)
{
    weft_diag d = { "" };
    pv       *req = search_req(a, t, op, def, &d);

    if (req == NULL)
        fail(h, r, d.msg[0] ? 400 : 503, d.msg[0] ? WEFT_EINVAL : WEFT_ENOMEM,
            0, "%s", d.msg[0] ? d.msg : "out of memory");
    else
        run(h, r, a, req, fix_items);
}

/* product answers /api/products/ID[/lineage|/why]. */
static void
product(http *h, hreq *r, pv_arena *a, const http_target *t, const char *id,
    const char *sub)
{
    weft_diag   d = { "" };
    pv         *req;
    const char *ver = http_param(t, "version");
    long long   depth;
    bool        up, down;

    if (strlen(id) > WEFT_ID_MAX) {
        fail(h, r, 404, WEFT_ENOTFOUND, 0, "%.64s...: no such product", id);
        return;
    }
    if (sub == NULL) {
        if ((req = op_new(a, "get")) == NULL || pv_setstr(a, req, "id", id)
            || (ver != NULL && pv_setstr(a, req, "version", ver))
            || (r->later = server_req_ext(later_done, r)) == NULL) {
            fail(h, r, 503, WEFT_ENOMEM, 0, "out of memory");
            return;
        }
        run(h, r, a, req, fix_get);
        return;
    }
    if (strcmp(sub, "why") == 0) {
        req = op_new(a, "why");
        if (req != NULL && pv_setstr(a, req, "id", id) != WEFT_OK)
            req = NULL;
        run(h, r, a, req, NULL);
        return;
    }
    if (!param_bool(t, "up", false, &up, &d)
        || !param_bool(t, "down", false, &down, &d)
        || !param_int(t, "depth", 3, 1, LINEAGE_DEPTH_MAX, &depth, &d)) {
        fail(h, r, 400, WEFT_EINVAL, 0, "%s", d.msg);
        return;
    }
    req = op_new(a, "lineage");
    if (req != NULL
        && (pv_setstr(a, req, "id", id) || pv_setint(a, req, "depth", depth)
            || (up && pv_set(a, req, "up", pv_bool(a, true)))
            || (down && pv_set(a, req, "down", pv_bool(a, true)))))
        req = NULL;
    run(h, r, a, req, NULL);
}

/* products routes /api/products and everything under it: the id is two
 * segments (domain, name), or one with an escaped slash (domain%2Fname). */
static void
products(http *h, hreq *r, pv_arena *a, const http_target *t)
{
    const char *sub = NULL;
    char        id[WEFT_ID_MAX * 2 + 2];
    int         at = 2;

    if (t->nseg == 2) {
        search(h, r, a, t, "list", HTTP_LIST_LIMIT);
        return;
    }
    if (strchr(t->seg[2], '/') != NULL)
        snprintf(id, sizeof(id), "%.*s", WEFT_ID_MAX + 1, t->seg[at++]);
    else if (t->nseg >= 4) {
        snprintf(id, sizeof(id), "%.*s/%.*s", WEFT_ID_MAX, t->seg[2],
            WEFT_ID_MAX, t->seg[3]);
        at = 4;
    } else
        at = -1;
    if (at > 0 && t->nseg == at + 1)
        sub = t->seg[at];
    if (at < 0 || t->nseg > at + 1
        || (sub != NULL && strcmp(sub, "why") && strcmp(sub, "lineage"))) {
        fail(h, r, 404, WEFT_ENOTFOUND, 0,
            "no such endpoint: products are /api/products/DOMAIN/NAME, with "
            "/lineage or /why");
        return;
    }
    product(h, r, a, t, id, sub);
}

static void
metrics(http *h, hreq *r, pv_arena *a)
{
    static const char *const ops[4]
        = { "status", "domains", "peers", "governance_show" };
    pv      *rep[4] = { NULL };
    weft_buf b;

    for (int i = 0; i < 4; i++) {
        pv *req = op_new(a, ops[i]);

        if (req == NULL || call(h, NULL, a, req, &rep[i]) != WEFT_OK)
            rep[i] = NULL;
    }
    weft_buf_init(&b, HTTP_METRICS_MAX);
    if (metrics_write(h->n, rep[0], rep[1], rep[2], rep[3], h->codes, &b)
        == WEFT_OK)
        respond(h, r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p,
            b.len, 0);
    else
        fail(h, r, 500, WEFT_ENOMEM, 0, "cannot write the metrics");
    weft_buf_free(&b);
}

static void
asset(http *h, hreq *r, const char *name)
{
    static const char *const types[][2] = { { ".html",
                                                "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" }, { ".svg", "image/svg+xml" } };
    size_t                   nl = strlen(name);

    for (const http_asset *f = http_assets; f->name != NULL; f++) {
        if (strcmp(f->name, name) != 0)
            continue;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            size_t tl = strlen(types[i][0]);

            if (nl > tl && strcmp(name + nl - tl, types[i][0]) == 0) {
                respond(h, r, 200, types[i][1], f->data, f->len, R_PAGE);
                return;
            }
        }
    }
    fail(h, r, 404, WEFT_ENOTFOUND, 0, "no such file: /static/%.64s", name);
}

/* api_index answers /api: what is served here. */
static void
api_index(http *h, hreq *r, pv_arena *a)
{
    static const char *const eps[] = { "/api/search?q=QUERY", "/api/products",
        "/api/products/DOMAIN/NAME", "/api/products/DOMAIN/NAME/lineage",
        "/api/products/DOMAIN/NAME/why", "/api/domains", "/api/peers",
        "/api/governance", "/api/status", "/metrics", "/" };
    pv                      *m = pv_map(a), *l = pv_arr(a);

    for (size_t i = 0; l != NULL && i < sizeof(eps) / sizeof(eps[0]); i++)
        if (pv_push(a, l, pv_strz(a, eps[i])) != WEFT_OK)
            l = NULL;
    if (m == NULL || l == NULL || pv_set(a, m, "ok", pv_bool(a, true))
        || pv_set(a, m, "endpoints", l)
        || pv_setstr(a, m, "domain", h->n->domain)
        || pv_setstr(a, m, "version", WEFT_VERSION))
        fail(h, r, 503, WEFT_ENOMEM, 0, "out of memory");
    else
        respond_json(h, r, 200, m, 0);
}

/* api routes /api/...: each name maps to one read-only op. */
static void
api(http *h, hreq *r, pv_arena *a, const http_target *t)
{
    static const struct {
        const char *name, *op;
        fixup_fn    fix;
    } simple[] = {
        { "domains", "domains", NULL },
        { "peers", "peers", NULL },
        { "governance", "governance_show", NULL },
        { "status", "status", fix_status },
    };
    const char *what = t->nseg > 1 ? t->seg[1] : "";

    if (t->nseg == 1) {
        api_index(h, r, a);
        return;
    }
    if (strcmp(what, "products") == 0) {
        products(h, r, a, t);
        return;
    }
    if (strcmp(what, "search") == 0 && t->nseg == 2) {
        search(h, r, a, t, "search", HTTP_SEARCH_LIMIT);
        return;
    }
    for (size_t i = 0; t->nseg == 2 && i < sizeof(simple) / sizeof(simple[0]);
         i++)
        if (strcmp(what, simple[i].name) == 0) {
            run(h, r, a, op_new(a, simple[i].op), simple[i].fix);
            return;
        }
    fail(h, r, 404, WEFT_ENOTFOUND, 0,
        "no such endpoint: /api/%.64s (see /api)", what);
}

/* serve answers one request from the queue. */
static void
serve(http *h, hreq *r)
{
    http_target *t = malloc(sizeof(*t));
    pv_arena    *a = pv_arena_new(HTTP_ARENA_MAX);
    weft_diag    d = { "" };
    weft_err     err;

    r->h = h;
    if (t == NULL || a == NULL)
        fail(h, r, 503, WEFT_ENOMEM, R_CLOSE, "out of memory");
    else if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        /* Nothing here changes the node; a body it will not read goes
         * with the connection. */
        fail(h, r, 405, WEFT_EINVAL, R_CLOSE | R_ALLOW,
            "method %s: this API is read-only (GET and HEAD)", r->method);
    else if (r->body)
        fail(h, r, 400, WEFT_EINVAL, R_CLOSE, "a %s request has no body",
            r->method);
    else if ((err = http_target_parse(r->uri, r->urilen, t, &d)) != WEFT_OK)
        fail(h, r, r->urilen > HTTP_URI_MAX ? 414 : 400, err, 0, "%s", d.msg);
    else if (t->nseg == 0)
        asset(h, r, "index.html");
    else if (strcmp(t->seg[0], "static") == 0 && t->nseg == 2)
        asset(h, r, t->seg[1]);
    else if (strcmp(t->seg[0], "metrics") == 0 && t->nseg == 1)
        metrics(h, r, a);
    else if (strcmp(t->seg[0], "api") == 0)
        api(h, r, a, t);
    else
        fail(h, r, 404, WEFT_ENOTFOUND, 0,
            "no such page: the catalog is at /, the API under /api");
    pv_arena_free(a);
    free(t);
}

/* async_cb runs on the loop thread: answer what waits, a few at a time
 * (like server.c, so the loop's other handles get their turn). */
static void
async_cb(uv_async_t *handle)
{
    http *h = handle->data;
    hq   *q = h->q;
    hreq *r;
    bool  more;

    for (int i = 0; i < HTTP_PER_WAKE; i++) {
        pthread_mutex_lock(&q->mtx);
        if ((r = q->head) != NULL && (q->head = r->next) == NULL)
            q->tail = NULL;
        pthread_mutex_unlock(&q->mtx);
        if (r == NULL)
            return;
        serve(h, r);
    }
    pthread_mutex_lock(&q->mtx);
    more = q->head != NULL && !q->stopping;
    pthread_mutex_unlock(&q->mtx);
    if (more)
        uv_async_send(&h->async);
}

/* ---- start and stop ---------------------------------------------------- */

static weft_err
nng_fail(const char *url, const char *what, int rv, weft_diag *d)
{
    return weft_diagf(d, rv == NNG_EADDRINUSE ? WEFT_EIO : WEFT_EINVAL,
        "--http: %s %s: %s", what, url, nng_strerror(rv));
}

/* bound_url says where the server listens (the port chosen for port 0). */
static void
bound_url(http *h, const char *url, char *out, size_t sz)
{
    nng_sockaddr sa;
    char         host[64];
    const char  *colon = strrchr(url, ':');

    snprintf(out, sz, "%s", url);
    if (nng_http_server_get_addr(h->srv, &sa) != 0 || colon == NULL)
        return;
    snprintf(host, sizeof(host), "%.*s", (int) (colon - url), url);
    if (sa.s_family == NNG_AF_INET)
        snprintf(out, sz, "%s:%u", host, (unsigned) ntohs(sa.s_in.sa_port));
    else if (sa.s_family == NNG_AF_INET6)
        snprintf(out, sz, "%s:%u", host, (unsigned) ntohs(sa.s_in6.sa_port));
}

weft_err
http_start(node *n, void *loop, const char *url, weft_diag *d)
{
    http    *h = calloc(1, sizeof(*h));
    nng_url *u = NULL;
    char     where[300];
    int      rv;

    if (h == NULL || (h->q = calloc(1, sizeof(*h->q))) == NULL) {
        free(h);
        return WEFT_ENOMEM;
    }
    n->http = h;
    h->n = n;
    pthread_mutex_init(&h->q->mtx, NULL);
    if (uv_async_init(loop, &h->async, async_cb) != 0)
        return weft_diagf(d, WEFT_EIO, "--http: uv_async_init failed");
    h->async.data = h;
    h->async_open = true;
    h->q->async = &h->async;
    if ((rv = nng_url_parse(&u, url)) != 0)
        return nng_fail(url, "cannot parse", rv, d);
    rv = nng_http_server_hold(&h->srv, u);
    nng_url_free(u);
    if (rv != 0)
        return nng_fail(url, "no server for", rv, d);
    /* One handler for every path and method: routing and refusals (405
     * included) are ours, in JSON. Bodies are never read. */
    if ((rv = nng_http_handler_alloc(&h->hd, "/", on_request)) != 0
        || (rv = nng_http_handler_set_method(h->hd, NULL)) != 0
        || (rv = nng_http_handler_set_tree(h->hd)) != 0
        || (rv = nng_http_handler_collect_body(h->hd, false, 0)) != 0
        || (rv = nng_http_handler_set_data(h->hd, h->q, hq_free)) != 0)
        return nng_fail(url, "no handler for", rv, d);
    h->q_given = true;
    if ((rv = nng_http_server_add_handler(h->srv, h->hd)) != 0)
        return nng_fail(url, "no handler for", rv, d);
    h->hd_added = true;
    if ((rv = nng_http_server_start(h->srv)) != 0)
        return nng_fail(url, "cannot listen on", rv, d);
    h->started = true;
    bound_url(h, url, where, sizeof(where));
    log_msg(LOG_INFO, "http: listening on %s/", where);
    return WEFT_OK;
}

static void
async_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void
http_stop(node *n)
{
    http *h = n->http;
    hq   *q;
    hreq *r;

    if (h == NULL)
        return;
    n->http = NULL;
    q = h->q;
    /* From here nng's handler answers by itself (503) and never wakes
     * the loop again, so the handle may close. */
    pthread_mutex_lock(&q->mtx);
    q->stopping = true;
    q->async = NULL;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mtx);
    /* Queued or waiting on a peer (the mesh has stopped: nothing will
     * answer them now), every request still held gets its answer. */
    for (;;) {
        pthread_mutex_lock(&q->mtx);
        r = q->live;
        pthread_mutex_unlock(&q->mtx);
        if (r == NULL)
            break;
        r->h = h;
        fail(h, r, 503, WEFT_ESTATE, R_CLOSE, "the node is stopping");
    }
    /* After this q belongs to nng alone (freed by the handler's dtor). */
    if (h->started)
        nng_http_server_stop(h->srv);
    if (h->hd != NULL && !h->hd_added)
        nng_http_handler_free(h->hd); /* frees q through its dtor */
    if (h->srv != NULL)
        nng_http_server_release(h->srv);
    if (!h->q_given)
        hq_free(q);
    if (h->async_open)
        uv_close((uv_handle_t *) &h->async, async_closed);
    else
        free(h);
}
