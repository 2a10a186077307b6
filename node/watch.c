/*
 * watch.c: subscriptions. Every change of a current summary (new,
 * changed, deprecated, retired; from this node or any peer) is noted in
 * the arrivals log, in the transaction that makes it (REF "arr" 0
 * BE8(n) -> kind byte, id), so a watcher never sees a change that was
 * not stored. `weft watch QUERY` long-polls: the request names the last
 * arrival it saw; the node answers at once with what matched since, or
 * holds the request (a deferred reply) until something matches or
 * WATCH_WAIT_MS pass. The log keeps the last WATCH_LOG_MAX arrivals; a
 * watcher further behind is told how many it missed.
 */
#include "node/node.h"
#include "proto/query.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

static const char *const kinds[]
    = { "new", "changed", "deprecated", "retired" };

typedef struct watcher {
    bool        used;
    server_req *later;
    uint8_t    *req; /* the request, answered again when it may match */
    size_t      len;
    uint64_t    deadline_ms;
} watcher;

struct watchers {
    watcher    w[WATCH_MAX];
    uv_timer_t timer;
    node      *n;
    uint64_t   seen; /* the arrivals count the watchers were last run at */
};

#define FULL 1000 /* arr_cb: a reply holds enough events */

/* ---- the arrivals log (called from catalog.c, inside its txn) ---------- */

static uint64_t
arrivals(store_txn *t)
{
    store_val v;

    return store_get(t, STORE_META, "arrivals", 8, &v) == WEFT_OK && v.n == 8
        ? store_be_u64(v.p)
        : 0;
}

static size_t
arr_key(uint8_t *k, uint64_t n)
{
    memcpy(k, "arr", 4);
    store_u64_be(k + 4, n);
    return 12;
}

weft_err
watch_note(store_txn *t, const char *id, const char *old_status,
    const char *new_status)
{
    uint8_t  k[12], v[1 + WEFT_ID_MAX], c[8];
    uint64_t n = arrivals(t) + 1;
    size_t   il = strlen(id);
    int      kind = 1;
    weft_err err;

    if (old_status == NULL)
        kind = 0;
    else if (new_status && strcmp(new_status, old_status) != 0
        && strcmp(new_status, "deprecated") == 0)
        kind = 2;
    else if (new_status && strcmp(new_status, old_status) != 0
        && strcmp(new_status, "retired") == 0)
        kind = 3;
    if (il > WEFT_ID_MAX)
        il = WEFT_ID_MAX;
    v[0] = (uint8_t) kind;
    memcpy(v + 1, id, il);
    store_u64_be(c, n);
    if ((err = store_put(t, STORE_REF, k, arr_key(k, n), v, il + 1))
        || (err = store_put(t, STORE_META, "arrivals", 8, c, 8)))
        return err;
    if (n > WATCH_LOG_MAX) {
        err = store_del(t, STORE_REF, k, arr_key(k, n - WATCH_LOG_MAX));
        if (err == WEFT_ENOTFOUND)
            err = WEFT_OK;
    }
    return err;
}

/* ---- answering ------------------------------------------------------------
 */

typedef struct scan {
    store_txn   *t;
    pv_arena    *a, *w;
    const query *q;
    pv          *events;
    uint64_t     last;
    weft_err     err;
} scan;

static int
arr_cb(void *ctx, store_val k, store_val v)
{
    scan     *s = ctx;
    char      id[WEFT_ID_MAX + 1];
    store_val e;
    pv       *sum, *ev, *item;
    int       sev;

    if (k.n != 12 || v.n < 2 || v.n > WEFT_ID_MAX + 1 || v.p[0] > 3)
        return 0;
    s->last = store_be_u64(k.p + 4);
    memcpy(id, v.p + 1, v.n - 1);
    id[v.n - 1] = 0;
    pv_arena_reset(s->w);
    sev = gov_stored(s->t, id, NULL);
    if (sev == 3 /* rejected: served to no query */
        || catalog_cur_get(s->t, id, &e) != WEFT_OK
        || proto_envelope_read(s->w, e.p, e.n, &sum, NULL) != WEFT_OK
        || !query_match(s->q, sum))
        return 0;
    if ((item = catalog_item(s->w, sum)) == NULL || (ev = pv_map(s->w)) == NULL
        || pv_setint(s->w, ev, "arrival", (int64_t) s->last)
        || pv_setstr(s->w, ev, "event", kinds[v.p[0]])
        || pv_setstr(s->w, item, "verdict",
            sev == 2       ? "quarantined"
                : sev == 1 ? "warned"
                           : "accepted")
        || pv_set(s->w, ev, "product", item) || (ev = pv_copy(s->a, ev)) == NULL
        || pv_push(s->a, s->events, ev))
        return s->err = WEFT_ENOMEM;
    return s->events->u.a.n >= WATCH_EVENTS_MAX ? FULL : 0;
}

weft_err
watch_op(node *n, const pv *req, reply *r, weft_diag *d)
{
    watchers *ws = n->watch;
    const pv *q = pv_get(req, "q"), *after = pv_get(req, "after");
    query    *qq;
    scan      s = { NULL, r->a, NULL, NULL, pv_arr(r->a), 0, WEFT_OK };
    uint8_t   k[12];
    uint64_t  head;
    int64_t   missed = 0;
    weft_err  err;

    if (q != NULL && q->type != PV_STR)
        return weft_diagf(d, WEFT_EINVAL, "watch: 'q' must be a string");
    if (after != NULL && (after->type != PV_INT || after->u.i < 0))
        return weft_diagf(d, WEFT_EINVAL, "watch: 'after' must be >= 0");
    if (q != NULL && q->u.s.len > QUERY_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "watch: the query is over the %d-byte limit", QUERY_MAX);
    if ((err = query_parse(q ? q->u.s.p : "", &qq, d)) != WEFT_OK) {
        weft_diag why = *d;

        return weft_diagf(d, err, "query: %s", why.msg);
    }
    if (s.events == NULL
        || (s.w = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL) {
        query_free(qq);
        return WEFT_ENOMEM;
    }
    s.q = qq;
    if ((err = store_begin(n->st, false, &s.t)) != WEFT_OK)
        goto done;
    head = arrivals(s.t);
    s.last = after ? (uint64_t) after->u.i : head;
    if (after != NULL && (uint64_t) after->u.i < head) {
        /* What the log no longer holds was missed. */
        if (head - (uint64_t) after->u.i > WATCH_LOG_MAX)
            missed = (int64_t) (head - (uint64_t) after->u.i - WATCH_LOG_MAX);
        err = store_range(s.t, STORE_REF, "arr", 4, k,
            arr_key(k, (uint64_t) after->u.i + 1), arr_cb, &s);
        if ((int) err == FULL)
            err = WEFT_OK; /* a full reply: the rest comes next time */
        err = err ? err : s.err;
    }
    store_abort(s.t);
    if (err != WEFT_OK)
        goto done;
    /* Nothing yet for a watcher that is waiting: hold the request. */
    if (after != NULL && s.events->u.a.n == 0 && missed == 0
        && r->later != NULL) {
        watcher *w = NULL;

        for (int i = 0; ws && i < WATCH_MAX && w == NULL; i++)
            if (!ws->w[i].used)
                w = &ws->w[i];
        if (w == NULL) {
            err = weft_diagf(d, WEFT_ESTATE,
                "watch: %d watchers already wait on this node", WATCH_MAX);
            goto done;
        }
        if ((w->req = malloc(r->rawlen + 16)) == NULL) {
            err = WEFT_ENOMEM;
            goto done;
        }
        /* Run again (without a way to defer) when news arrives, and
         * answered at its deadline even with nothing. */
        memcpy(w->req, r->raw, r->rawlen);
        w->len = r->rawlen;
        w->used = true;
        w->later = r->later;
        w->deadline_ms = weft_now_us() / 1000 + WATCH_WAIT_MS;
        r->deferred = true;
        goto done;
    }
    if ((err = pv_set(r->a, r->m, "events", s.events))
        || (err = pv_setint(r->a, r->m, "cursor", (int64_t) s.last))
        || (err = pv_setint(r->a, r->m, "missed", missed)))
        goto done;
done:
    pv_arena_free(s.w);
    query_free(qq);
    return err;
}

/* answer runs watcher w's request again; replies when it has events or
 * its time is up. */
static void
answer(node *n, watcher *w, bool due)
{
    weft_buf  out;
    pv_arena *a = pv_arena_new((size_t) WEFT_MSG_MAX * 8);
    pv       *rep;
    const pv *ev;

    if (a == NULL)
        return;
    weft_buf_init(&out, WEFT_MSG_MAX);
    ops_handle(n, w->req, w->len, &out, NULL); /* no later: answers now */
    if (proto_decode(a, out.p, out.len, &rep, NULL) == WEFT_OK
        && (due || (ev = pv_get(rep, "events")) == NULL || ev->type != PV_ARR
            || ev->u.a.n > 0 || pv_getint(rep, "missed", 0) > 0)) {
        server_reply(w->later, &out);
        free(w->req);
        memset(w, 0, sizeof(*w));
    }
    weft_buf_free(&out);
    pv_arena_free(a);
}

void
watch_kick(node *n)
{
    watchers  *ws = n->watch;
    uint64_t   now = weft_now_us() / 1000, head = 0;
    store_txn *t;
    bool       any = false;

    for (int i = 0; ws && i < WATCH_MAX; i++)
        any = any || ws->w[i].used;
    if (!any || store_begin(n->st, false, &t) != WEFT_OK)
        return;
    head = arrivals(t);
    store_abort(t);
    if (head == ws->seen)
        return; /* nothing new: deadlines are the timer's */
    ws->seen = head;
    for (int i = 0; i < WATCH_MAX; i++)
        if (ws->w[i].used)
            answer(n, &ws->w[i], now >= ws->w[i].deadline_ms);
}

static void
tick(uv_timer_t *t)
{
    watchers *ws = t->data;
    uint64_t  now = weft_now_us() / 1000;

    /* Deadlines only: news wakes watchers through watch_kick. */
    for (int i = 0; i < WATCH_MAX; i++)
        if (ws->w[i].used && now >= ws->w[i].deadline_ms)
            answer(ws->n, &ws->w[i], true);
}

weft_err
watch_start(node *n, void *loop)
{
    watchers *ws = calloc(1, sizeof(*ws));

    if (ws == NULL)
        return WEFT_ENOMEM;
    ws->n = n;
    uv_timer_init(loop, &ws->timer);
    ws->timer.data = ws;
    uv_timer_start(&ws->timer, tick, 1000, 1000);
    n->watch = ws;
    return WEFT_OK;
}

static void
closed(uv_handle_t *h)
{
    free(h->data);
}

void
watch_stop(node *n)
{
    watchers *ws = n->watch;

    if (ws == NULL)
        return;
    for (int i = 0; i < WATCH_MAX; i++)
        free(ws->w[i].req); /* the socket closes unanswered */
    uv_timer_stop(&ws->timer);
    uv_close((uv_handle_t *) &ws->timer, closed);
    n->watch = NULL;
}
