/*
 * ops.c: the CLI protocol on the node's side. A request is a canonical
 * msgpack map {op: NAME, ...arguments}; the reply is a map {ok: true, ...}
 * or {ok: false, code: weft_err, error: TEXT}. docs/protocol.md lists
 * every op and field. Each op has one handler; the table maps names.
 */
#include "node/index.h"
#include "node/mesh.h"
#include "node/node.h"
#include "proto/query.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

typedef weft_err (*op_fn)(node *n, const pv *req, reply *r, weft_diag *d);

static const char *
arg(const pv *req, const char *key)
{
    return pv_getstr(req, key);
}

static weft_err
op_publish(node *n, const pv *req, reply *r, weft_diag *d)
{
    const pv *docs = pv_get(req, "docs"), *dry = pv_get(req, "dry_run");
    pv       *results = pv_arr(r->a);
    weft_err  err;

    if (docs == NULL || docs->type != PV_ARR)
        return weft_diagf(d, WEFT_EINVAL, "publish: 'docs' must be a list");
    if (results == NULL)
        return WEFT_ENOMEM;
    err = catalog_publish(
        n, r->a, docs, dry && dry->type == PV_BOOL && dry->u.b, results, d);
    if (err != WEFT_OK) {
        weft_diag why = *d;

        return weft_diagf(d, err, "publish failed, nothing was stored: %s",
            why.msg[0] ? why.msg : weft_strerror(err));
    }
    mesh_announce(n);
    return pv_set(r->a, r->m, "results", results);
}

/*
 * desc_bytes is the descriptor as its canonical bytes (nil if none). The
 * reply carries it as one binary value, so a descriptor nested as deep as
 * publishing allows still fits in a reply; the CLI decodes it.
 */
static pv *
desc_bytes(pv_arena *a, const pv *desc)
{
    weft_buf b;
    pv      *v = NULL;

    if (desc == NULL)
        return pv_nil(a);
    weft_buf_init(&b, WEFT_DESC_MAX);
    if (proto_encode(desc, &b) == WEFT_OK)
        v = pv_bin(a, b.p, b.len);
    weft_buf_free(&b);
    return v;
}

static weft_err
op_get(node *n, const pv *req, reply *r, weft_diag *d)
{
    const char              *id = arg(req, "id"), *ver = arg(req, "version");
    store_txn               *t;
    pv                      *sum, *desc = NULL, *item, *ups = NULL;
    uint64_t                 seq = 0;
    int64_t                  pver = 0;
    int                      sev;
    weft_err                 err, derr;
    static const char *const verdicts[]
        = { "accepted", "warned", "quarantined", "rejected" };

    if (id == NULL)
        return weft_diagf(d, WEFT_EINVAL, "get: 'id' is required");
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    if ((err = catalog_summary(n, t, r->a, id, &sum)) != WEFT_OK) {
        store_abort(t);
        return weft_diagf(d, err, "%s: no such product", id);
    }
    if ((sev = gov_stored(t, id, &pver)) == 3) {
        store_abort(t);
        return weft_diagf(d, WEFT_EPOLICY,
            "%s: rejected by governance policy v%lld (weft why %s)", id,
            (long long) pver, id);
    }
    derr = catalog_descriptor(n, t, r->a, id, ver, &desc, &seq);
    if ((ups = pv_arr(r->a)) == NULL
        || (err = lineage_flags(n, t, r->a, sum, ups)) != WEFT_OK) {
        store_abort(t);
        return err ? err : WEFT_ENOMEM;
    }
    store_abort(t);
    /* Another domain's product whose descriptor we lack: ask the peers,
     * and answer once one has sent it (verified) or none has it. */
    if (derr == WEFT_ENOTFOUND && ver == NULL && r->later != NULL
        && mesh_fetch(n, id, (const uint8_t *) pv_get(sum, "body")->u.s.p,
               r->raw, r->rawlen, r->later)
            == WEFT_OK) {
        r->deferred = true;
        return WEFT_OK;
    }
    if (ver != NULL && derr != WEFT_OK)
        return weft_diagf(d, WEFT_ENOTFOUND, "%s: no version %s", id, ver);
    if ((item = catalog_item(r->a, sum)) == NULL)
        return WEFT_ENOMEM;
    if (ver != NULL) {
        char    hex[65];
        uint8_t h[32];

        /* An older version: describe it, not the current summary. */
        if ((err = proto_hash(desc, h)) != WEFT_OK)
            return err;
        crypto_hex(h, 32, hex);
        pv_setstr(r->a, item, "version", pv_getstr(desc, "version"));
        pv_setint(r->a, item, "seq", (int64_t) seq);
        pv_setstr(r->a, item, "hash", hex);
        pv_setstr(r->a, item, "status", pv_getstr(desc, "status"));
    }
    if ((err = pv_set(r->a, item, "summary", sum))
        || (err = pv_set(r->a, item, "upstream_flags", ups))
        || (err = pv_setstr(r->a, item, "verdict", verdicts[sev]))
        || (err = pv_set(r->a, item, "descriptor", desc_bytes(r->a, desc))))
        return err;
    return pv_set(r->a, r->m, "product", item);
}

static weft_err
op_search(node *n, const pv *req, reply *r, weft_diag *d)
{
    const pv *words = pv_get(req, "words"), *qv = pv_get(req, "q");
    pv       *items = pv_arr(r->a), *facets = NULL;
    char      text[QUERY_MAX + 1] = "";
    size_t    len = 0;
    int64_t   total = 0, limit;
    uint64_t  t0;
    weft_err  err;

    if (words != NULL && words->type != PV_ARR)
        return weft_diagf(d, WEFT_EINVAL, "search: 'words' must be a list");
    if (qv != NULL && qv->type != PV_STR)
        return weft_diagf(d, WEFT_EINVAL, "search: 'q' must be a string");
    /* The query is q, or the words (an older form) joined by spaces. */
    if (qv != NULL && qv->u.s.len > QUERY_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "search: the query is %u bytes, over the %d-byte limit",
            qv->u.s.len, QUERY_MAX);
    if (qv != NULL)
        snprintf(text, sizeof(text), "%s", qv->u.s.p);
    for (uint32_t i = 0; words && i < words->u.a.n; i++) {
        if (words->u.a.v[i]->type != PV_STR)
            return weft_diagf(d, WEFT_EINVAL, "search: words are strings");
        if (len + words->u.a.v[i]->u.s.len + 1 > QUERY_MAX)
            return weft_diagf(d, WEFT_ETOOBIG,
                "search: the query is over the %d-byte limit", QUERY_MAX);
        len += (size_t) snprintf(text + len, sizeof(text) - len, "%s%s",
            len ? " " : "", words->u.a.v[i]->u.s.p);
    }
    if (items == NULL
        || (pv_getbool(req, "facets") && (facets = pv_map(r->a)) == NULL))
        return WEFT_ENOMEM;
    if (pv_getint(req, "limit", 0) < 0)
        return weft_diagf(d, WEFT_EINVAL, "search: 'limit' must be >= 0");
    /* A reply holds at most QUERY_RESULTS_MAX products (a decoder takes
     * at most WEFT_ITEMS_MAX items in a list); total says how many
     * matched. */
    limit = pv_getint(req, "limit", 0);
    if (limit == 0 || limit > QUERY_RESULTS_MAX)
        limit = QUERY_RESULTS_MAX;
    t0 = weft_now_us();
    err = query_search(n, r->a, text, arg(req, "domain"),
        (pv_getbool(req, "all") ? QUERY_ALL : 0)
            | (pv_getbool(req, "explain") ? QUERY_EXPLAIN : 0),
        limit, items, &total, facets, d);
    stats_query(n, weft_now_us() - t0); /* weft_query_duration_seconds */
    if (err == WEFT_EINVAL) {
        weft_diag why = *d;

        return weft_diagf(d, err, "query: %s", why.msg);
    }
    if (err != WEFT_OK)
        return weft_diagf(d, err, "search: %s", weft_strerror(err));
    if ((facets != NULL && (err = pv_set(r->a, r->m, "facets", facets)))
        || (err = pv_setint(r->a, r->m, "total", total)))
        return err;
    return pv_set(r->a, r->m, "products", items);
}

/* why: governance's verdict on a product held, rule by rule, judged
 * again now (the same answer as on receipt: judging is deterministic). */
static weft_err
op_why(node *n, const pv *req, reply *r, weft_diag *d)
{
    const char *id = arg(req, "id");
    store_txn  *t;
    pv         *sum, *v;
    int64_t     pver = 0;
    int         sev;
    weft_err    err;

    if (id == NULL)
        return weft_diagf(d, WEFT_EINVAL, "why: 'id' is required");
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    err = catalog_summary(n, t, r->a, id, &sum);
    sev = gov_stored(t, id, &pver);
    store_abort(t);
    if (err != WEFT_OK)
        return weft_diagf(d, err, "%s: no such product", id);
    if ((err = gov_judge(n, r->a, sum, &v)) != WEFT_OK)
        return err;
    (void) sev;
    if ((err = pv_setstr(r->a, v, "id", id))
        || (err = pv_setint(r->a, v, "seq", pv_getint(sum, "seq", 0)))
        || (err = pv_set(r->a, v, "local", pv_bool(r->a, gov_local(n)))))
        return err;
    return pv_set(r->a, r->m, "why", v);
}

static weft_err
op_gov_publish(node *n, const pv *req, reply *r, weft_diag *d)
{
    const pv *b = pv_get(req, "bundle");
    bool      adopted;
    weft_err  err;

    if (b == NULL || b->type != PV_BIN)
        return weft_diagf(
            d, WEFT_EINVAL, "governance publish: 'bundle' must be bytes");
    if ((err = gov_offer(
             n, (const uint8_t *) b->u.s.p, b->u.s.len, true, &adopted, d))
        != WEFT_OK)
        return err;
    mesh_policy(n);
    return gov_show(n, r->a, r->m);
}

static weft_err
op_lineage(node *n, const pv *req, reply *r, weft_diag *d)
{
    const char *id = arg(req, "id");
    int64_t     depth = pv_getint(req, "depth", 3);
    bool        up = pv_getbool(req, "up"), down = pv_getbool(req, "down");
    pv         *out = pv_map(r->a);
    weft_err    err;

    if (id == NULL)
        return weft_diagf(d, WEFT_EINVAL, "lineage: 'id' is required");
    if (depth < 1 || depth > LINEAGE_DEPTH_MAX)
        return weft_diagf(d, WEFT_EINVAL,
            "lineage: --depth %lld: expected 1 to %d", (long long) depth,
            LINEAGE_DEPTH_MAX);
    if (!up && !down)
        up = down = true;
    if (out == NULL)
        return WEFT_ENOMEM;
    if ((err = lineage_walk(n, r->a, id, up, down, (int) depth, out, d)))
        return err;
    return pv_set(r->a, r->m, "lineage", out);
}

static weft_err
op_gov_show(node *n, const pv *req, reply *r, weft_diag *d)
{
    (void) req;
    (void) d;
    return gov_show(n, r->a, r->m);
}

/* date_ok accepts a real calendar date written exactly YYYY-MM-DD. */
static bool
date_ok(const char *s)
{
    struct tm   tm = { 0 };
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    char        back[16];
    time_t      t;

    if (end == NULL || *end != 0)
        return false;
    /* strptime takes 2027-02-30 and 2027-6-3: normalize and compare. */
    t = timegm(&tm);
    gmtime_r(&t, &tm);
    strftime(back, sizeof(back), "%Y-%m-%d", &tm);
    return strcmp(back, s) == 0;
}

static weft_err
status_change(
    node *n, const pv *req, reply *r, weft_diag *d, const char *status)
{
    const char *id = arg(req, "id"), *sunset = arg(req, "sunset");
    const char *by = arg(req, "replaced_by"), *reason = arg(req, "reason");
    pv         *sum;
    weft_err    err;

    if (id == NULL)
        return weft_diagf(d, WEFT_EINVAL, "%s: 'id' is required", status);
    if (sunset != NULL && !date_ok(sunset))
        return weft_diagf(d, WEFT_EINVAL,
            "--sunset '%s': expected a real date written YYYY-MM-DD, like "
            "2027-06-30",
            sunset);
    if (reason != NULL && reason[strspn(reason, " \t")] == 0)
        return weft_diagf(d, WEFT_EINVAL, "--reason must not be empty");
    if (reason != NULL && strlen(reason) > WEFT_REASON_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "--reason: %zu bytes, over the %u-byte limit", strlen(reason),
            WEFT_REASON_MAX);
    if (by != NULL && strlen(by) > WEFT_ID_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "--replaced-by: %zu bytes, over the %u-byte id limit", strlen(by),
            WEFT_ID_MAX);
    if (by != NULL && strcmp(by, id) == 0)
        return weft_diagf(
            d, WEFT_EINVAL, "--replaced-by: %s cannot replace itself", id);
    if (by != NULL && strchr(by, '/') == NULL)
        return weft_diagf(d, WEFT_EINVAL,
            "--replaced-by '%s': expected a "
            "product id like domain/name",
            by);
    err = catalog_set_status(n, r->a, id, status, reason, sunset, by, &sum, d);
    if (err != WEFT_OK)
        return err;
    mesh_announce(n);
    log_msg(LOG_INFO, "%s is now %s (seq %lld)", id, status,
        (long long) pv_getint(sum, "seq", 0));
    return pv_set(r->a, r->m, "product", catalog_item(r->a, sum));
}

static weft_err
op_deprecate(node *n, const pv *req, reply *r, weft_diag *d)
{
    if (arg(req, "reason") == NULL)
        return weft_diagf(d, WEFT_EINVAL, "deprecate: --reason is required");
    return status_change(n, req, r, d, "deprecated");
}

static weft_err
op_retire(node *n, const pv *req, reply *r, weft_diag *d)
{
    return status_change(n, req, r, d, "retired");
}

static weft_err
op_status(node *n, const pv *req, reply *r, weft_diag *d)
{
    int64_t    own = 0;
    uint64_t   all = 0;
    size_t     dl = strlen(n->domain);
    char       fp[CRYPTO_FP_CHARS + 1], hex[65];
    uint64_t   fb = 0, ub = 0, seq = 0, ib = 0, x = 0;
    size_t     segs = 0;
    bool       merging = false;
    store_txn *t;
    store_val  v;
    weft_err   err;

    (void) req;
    (void) d;
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    /* The catalog's size from the table's header, our own products from
     * the count kept per domain: status never walks the catalog. */
    if ((err = store_count(t, STORE_CUR, &all)) == WEFT_OK)
        own = catalog_count(t, n->domain);
    if (store_get(t, STORE_SEQ, n->domain, dl, &v) == WEFT_OK && v.n == 8)
        seq = store_be_u64(v.p);
    /* The search index's pages: its segments, its tables of sorted
     * duplicates and its two maps of document numbers. */
    if (err == WEFT_OK && store_dup_bytes(t, &ib) == WEFT_OK) {
        static const store_table plain[]
            = { STORE_SEGN, STORE_SEGM, STORE_DNO, STORE_IDS };

        for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
            if (store_table_bytes(t, plain[i], &x) == WEFT_OK)
                ib += x;
    }
    if (err == WEFT_OK && ix_segments(t, &segs, &merging) != WEFT_OK)
        segs = 0; /* shown as none: searches say what is wrong */
    store_abort(t);
    if (err != WEFT_OK)
        return err;
    store_stats(n->st, &fb, &ub);
    crypto_fingerprint(crypto_key_public(n->key), fp);
    crypto_hex(crypto_key_public(n->key), 32, hex);
    if ((err = pv_setstr(r->a, r->m, "domain", n->domain))
        || (err = pv_setstr(r->a, r->m, "fingerprint", fp))
        || (err = pv_setstr(r->a, r->m, "key", hex))
        || (err = pv_setint(r->a, r->m, "products", own))
        || (err = pv_setint(r->a, r->m, "catalog", (int64_t) all))
        || (err = pv_setint(r->a, r->m, "seq", (int64_t) seq))
        || (err = pv_setint(r->a, r->m, "store_bytes", (int64_t) fb))
        || (err = pv_setint(r->a, r->m, "store_used_bytes", (int64_t) ub))
        || (err = pv_setint(r->a, r->m, "index_bytes", (int64_t) ib))
        || (err = pv_setint(r->a, r->m, "index_segments", (int64_t) segs))
        || (err = pv_set(r->a, r->m, "index_merging", pv_bool(r->a, merging)))
        || (err = pv_setint(r->a, r->m, "uptime_s", time(NULL) - n->started))
        || (err = pv_setstr(r->a, r->m, "data", n->dir))
        || (err = pv_setstr(r->a, r->m, "version", WEFT_VERSION))
        || (err = catalog_digest(n, r->a, r->m)))
        return err;
    return WEFT_OK;
}

static weft_err
op_export(node *n, const pv *req, reply *r, weft_diag *d)
{
    weft_buf b;
    uint64_t count = 0;
    weft_err err;

    (void) req;
    weft_buf_init(&b, WEFT_MSG_MAX - 4096);
    if ((err = bundle_export(n, &b, &count)) != WEFT_OK) {
        weft_buf_free(&b);
        return weft_diagf(d, err, "export: %s%s", weft_strerror(err),
            err == WEFT_ETOOBIG ? " (the bundle is over the "
                                  "64 MiB message limit)"
                                : "");
    }
    err = pv_set(r->a, r->m, "bundle", pv_bin(r->a, b.p, b.len));
    weft_buf_free(&b);
    if (err == WEFT_OK)
        err = pv_setint(r->a, r->m, "entries", (int64_t) count);
    return err;
}

static weft_err
op_import(node *n, const pv *req, reply *r, weft_diag *d)
{
    const pv *data = pv_get(req, "data");
    uint64_t  added, skipped;
    char      exporter[WEFT_DOMAIN_MAX + 1] = "";
    weft_err  err;

    if (data == NULL || data->type != PV_BIN)
        return weft_diagf(d, WEFT_EINVAL, "import: 'data' must be bytes");
    err = bundle_import(n, (const uint8_t *) data->u.s.p, data->u.s.len, &added,
        &skipped, exporter, d);
    if (err != WEFT_OK) {
        log_msg(LOG_WARN, "import refused: %s", d->msg);
        return err;
    }
    log_msg(LOG_INFO, "import: %llu added, %llu already held",
        (unsigned long long) added, (unsigned long long) skipped);
    if ((err = pv_setint(r->a, r->m, "added", (int64_t) added))
        || (err = pv_setstr(r->a, r->m, "exporter", exporter)))
        return err;
    return pv_setint(r->a, r->m, "skipped", (int64_t) skipped);
}

static weft_err
op_peers(node *n, const pv *req, reply *r, weft_diag *d)
{
    pv *list = pv_arr(r->a);

    (void) req;
    (void) d;
    if (list == NULL || mesh_peers(n, r->a, list) != WEFT_OK)
        return WEFT_ENOMEM;
    return pv_set(r->a, r->m, "peers", list);
}

static weft_err
op_peer(node *n, const pv *req, reply *r, weft_diag *d)
{
    const char *url = arg(req, "url"), *what = arg(req, "action");

    (void) r;
    if (url == NULL || what == NULL)
        return weft_diagf(d, WEFT_EINVAL, "peer: 'action' and 'url' required");
    if (strcmp(what, "add") == 0)
        return mesh_peer_add(n, url, d);
    if (strcmp(what, "remove") == 0)
        return mesh_peer_remove(n, url, d);
    return weft_diagf(d, WEFT_EINVAL, "peer: action is add or remove");
}

static weft_err
op_domains(node *n, const pv *req, reply *r, weft_diag *d)
{
    pv      *list = pv_arr(r->a);
    weft_err err;

    (void) req;
    if (list == NULL)
        return WEFT_ENOMEM;
    if ((err = catalog_domains(n, r->a, list)) != WEFT_OK)
        return weft_diagf(d, err, "domains: %s", weft_strerror(err));
    return pv_set(r->a, r->m, "domains", list);
}

static const struct {
    const char *name;
    op_fn       fn;
} ops[] = {
    { "peers", op_peers },
    { "peer", op_peer },
    { "domains", op_domains },
    { "publish", op_publish },
    { "get", op_get },
    { "list", op_search },
    { "search", op_search },
    { "deprecate", op_deprecate },
    { "retire", op_retire },
    { "status", op_status },
    { "export", op_export },
    { "why", op_why },
    { "lineage", op_lineage },
    { "watch", watch_op },
    { "governance_publish", op_gov_publish },
    { "governance_show", op_gov_show },
    { "import", op_import },
};

static weft_err
dispatch(node *n, const uint8_t *p, size_t len, reply *r, weft_diag *d)
{
    pv         *req;
    const char *op;
    weft_err    err;

    if ((err = proto_decode(r->a, p, len, &req, d)) != WEFT_OK) {
        weft_diag why = *d;

        return weft_diagf(d, err, "request is not valid msgpack: %s", why.msg);
    }
    if (req->type != PV_MAP || (op = pv_getstr(req, "op")) == NULL)
        return weft_diagf(d, WEFT_EINVAL,
            "request: expected a map with "
            "an 'op' string");
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(op, ops[i].name) == 0)
            return ops[i].fn(n, req, r, d);
    return weft_diagf(d, WEFT_EINVAL, "request: unknown op '%.64s'", op);
}

bool
ops_handle(
    node *n, const uint8_t *req, size_t len, weft_buf *out, server_req *later)
{
    reply r = { pv_arena_new((size_t) WEFT_MSG_MAX * 8), NULL, later, req, len,
        false };
    weft_diag d = { "" };
    weft_err  err;

    if (r.a == NULL || (r.m = pv_map(r.a)) == NULL)
        err = WEFT_ENOMEM;
    else
        err = dispatch(n, req, len, &r, &d);
    if (err == WEFT_OK && r.deferred) {
        pv_arena_free(r.a);
        return false;
    }
    if (err == WEFT_OK
        && (err = pv_set(r.a, r.m, "ok", pv_bool(r.a, true))) == WEFT_OK
        && (err = proto_encode(r.m, out)) == WEFT_OK)
        goto done;
    if (err != WEFT_OK && d.msg[0] == 0)
        weft_diagf(&d, err, "reply: %s", weft_strerror(err));
    /* An error reply is small and built fresh, so it always fits. */
    out->len = 0;
    pv_arena_free(r.a);
    r.a = pv_arena_new(64 << 10);
    if (r.a != NULL && (r.m = pv_map(r.a)) != NULL) {
        pv_set(r.a, r.m, "ok", pv_bool(r.a, false));
        pv_setint(r.a, r.m, "code", err);
        pv_setstr(r.a, r.m, "error", d.msg[0] ? d.msg : weft_strerror(err));
        proto_encode(r.m, out);
    }
done:
    pv_arena_free(r.a);
    return true;
}
