/*
 * node.h: the inside of weftd. A node owns its loop, store, identity and
 * sockets in one struct (no globals). The catalog functions hold the
 * rules of publishing and replicas over the store; ops turns CLI requests
 * into catalog calls; server moves requests between nng and the loop.
 *
 * Thread use: everything here runs on the libuv loop thread, except the
 * nng aio callbacks in server.c, which only queue and wake the loop.
 */
#ifndef WEFT_NODE_H
#define WEFT_NODE_H

#include "crypto/crypto.h"
#include "proto/proto.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define WEFT_VERSION "0.1.0"

/* ---- logging (log.c) ------------------------------------------------ */

typedef enum log_level {
    LOG_ERROR = 0,
    LOG_WARN = 1,
    LOG_INFO = 2,
    LOG_DEBUG = 3
} log_level;

/* log_set_level sets the most verbose level printed. */
void log_set_level(log_level level);

/* log_parse_level maps "error|warn|info|debug" to a level; -1 if none. */
int log_parse_level(const char *s);

/* log_msg prints one line to stderr: time, level, message. */
void log_msg(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- counters for /metrics (metrics.c) ------------------------------ */

/* Why something a peer sent was refused (weft_refusals_total{reason}). */
typedef enum stats_refusal {
    REFUSED_SIGNATURE,    /* a summary whose signature does not verify */
    REFUSED_SUMMARY,      /* a summary refused otherwise: shape, expiry,
                             a domain bound to another key */
    REFUSED_EQUIVOCATION, /* a second summary with a seq already signed */
    REFUSED_HEAD,         /* a signed domain head */
    REFUSED_POLICY,       /* a governance policy bundle */
    REFUSED_REQUEST,      /* a peer-socket request answered with an error */
    REFUSED_REPLY,        /* a peer's reply to one of our links */
    REFUSED_SHUT_OUT,     /* a misbehaving peer key was shut out */
    REFUSED_CONNECTION,   /* a peer-socket connection cut off or turned away */
    REFUSED_N
} stats_refusal;

#define STATS_QUERY_BUCKETS 12 /* query latency buckets, +Inf apart */

/* The node's counters: only ever incremented, on the loop thread. */
typedef struct node_stats {
    /* The peer socket (--listen): requests in, replies out. */
    uint64_t peer_msgs_in, peer_msgs_out, peer_bytes_in, peer_bytes_out;
    /* The links this node dialed: requests out, replies in. */
    uint64_t link_msgs_in, link_msgs_out, link_bytes_in, link_bytes_out;
    uint64_t refused[REFUSED_N];
    /* Searches and lists: how many, their time, and a histogram of it
     * (counts per bucket, not cumulative; the last is +Inf). */
    uint64_t queries, query_us;
    uint64_t query_bucket[STATS_QUERY_BUCKETS + 1];
} node_stats;

/* ---- the node ------------------------------------------------------- */

typedef struct server   server;
typedef struct mesh     mesh;
typedef struct gov      gov;
typedef struct watchers watchers;
typedef struct http     http;

typedef struct node {
    char        dir[4096];
    char        domain[WEFT_DOMAIN_MAX + 1];
    crypto_key *key;
    store      *st;
    server     *srv;
    mesh       *mesh;        /* peers; NULL without --listen or --peer */
    gov        *gov;         /* governance: council, policy (governance.c) */
    watchers   *watch;       /* subscriptions waiting for news (watch.c) */
    int64_t     started;     /* unix seconds */
    uint64_t    search_keep; /* bytes of store left mapped after a CLI
                                request (--search-cache) */
    uint64_t mapped_keep;    /* ... after a write, a peer's request or a
                                walk: STORE_MAPPED_MAX, or --search-cache
                                when given */
    uint64_t domain_max;     /* summaries kept of one domain: its seq
                                bound (--domain-max) */
    int64_t summary_ttl;     /* seconds this domain's summaries live
                                (--summary-ttl; 0: PROTO_SUMMARY_TTL) */
    int64_t renew_low;       /* the earliest expiry of this domain's
                                summaries made current during a renewal
                                pass (catalog_renew) */
    uint64_t copying_ms;     /* a bulk copy streams in until about then
                                (weft_now_us() / 1000): the index's merging
                                waits for it to end (index_defer) */
    int        lock_fd;
    http      *http;  /* the HTTP API (--http); NULL without */
    node_stats stats; /* counters for /metrics */
} node;

/* stats_query counts one search that took us microseconds (metrics.c). */
void stats_query(node *n, uint64_t us);

/* ---- the catalog (catalog.c) ---------------------------------------- */

/* A reply under construction: an arena and the map being filled. */
typedef struct work server_req;

typedef struct reply {
    pv_arena      *a;
    pv            *m;
    server_req    *later; /* set when the reply may be deferred */
    const uint8_t *raw;   /* the request, for a deferred op to rerun */
    size_t         rawlen;
    bool           deferred; /* an op took later: no reply now */
} reply;

/*
 * catalog_publish validates, signs and stores the n documents in docs (an
 * array of {name, data}) in one synced transaction. Each document gets a
 * result in results: {file, ok, code, error} plus id, version, seq, hash,
 * changed on success. A bad document is reported and skipped; the rest
 * are kept. dry_run validates without storing. When storing itself
 * fails, nothing of the batch is kept and why says which document.
 */
weft_err catalog_publish(node *n, pv_arena *a, const pv *docs, bool dry_run,
    pv *results, weft_diag *why);

/*
 * catalog_set_status signs a status change (deprecated or retired) of own
 * product id. reason, sunset and replaced_by may be NULL. *out is the
 * new summary (in a).
 */
weft_err catalog_set_status(node *n, pv_arena *a, const char *id,
    const char *status, const char *reason, const char *sunset,
    const char *replaced_by, pv **out, weft_diag *d);

/*
 * catalog_renew signs again this domain's current summaries that expire
 * within a third of --summary-ttl (the same content, the next seq,
 * issued now), in one transaction. A pass walks the domain's products in
 * calls that each look at up to scan of them and renew at most
 * RENEW_MAX; p->from is where the next call goes on ("": a new pass,
 * which only starts when the store's bound on the next expiry says
 * something may be due). *renewed: how many were signed.
 */
#define RENEW_MAX 1000
typedef struct renew_pass {
    char    from[WEFT_ID_MAX + 2]; /* the next id to look at; "": none */
    int64_t next; /* the earliest expiry this pass left alone */
} renew_pass;
weft_err catalog_renew(
    node *n, int64_t now, renew_pass *p, size_t scan, size_t *renewed);

/* catalog_summary reads the current summary of id into a. */
weft_err catalog_summary(
    node *n, store_txn *t, pv_arena *a, const char *id, pv **out);

/*
 * The current table (STORE_CUR) holds, for each product id, the seq of
 * its current summary in its domain's log (8 bytes, BE; the domain is the
 * id's part before '/'): each signed summary is stored once, in the log.
 * catalog_cur_get lends the current envelope of id; catalog_cur_env
 * that of the entry k -> v of a walk over STORE_CUR. WEFT_ENOTFOUND when
 * id has none; WEFT_ESTORE for an entry that points nowhere.
 */
weft_err catalog_cur_get(store_txn *t, const char *id, store_val *env);
weft_err catalog_cur_env(
    store_txn *t, store_val k, store_val v, store_val *env);

/*
 * catalog_upgrade brings a store of an earlier layout to this one, in
 * one transaction, and logs it: schema 1 kept each current envelope in
 * STORE_CUR as well as in the log (now a seq). Nothing to do on a store
 * of this layout.
 */
#define CATALOG_SCHEMA "2"
weft_err catalog_upgrade(node *n);

/*
 * catalog_descriptor reads the descriptor of id: the one whose hash the
 * current summary signs, or the latest revision of version when version
 * is set. WEFT_ENOTFOUND when the node does not hold it.
 */
weft_err catalog_descriptor(node *n, store_txn *t, pv_arena *a, const char *id,
    const char *version, pv **desc, uint64_t *seq);

/* catalog_item makes the stable list/search item of summary sum. */
pv *catalog_item(pv_arena *a, const pv *sum);

/*
 * catalog_bind_key binds domain dom to key pk when dom is new, and refuses
 * (WEFT_EDOMAIN) a key other than the one dom is bound to: first seen wins.
 */
weft_err catalog_bind_key(
    node *n, store_txn *t, const char *dom, const uint8_t *pk, weft_diag *d);

/*
 * catalog_cache_desc stores a fetched descriptor of another domain's
 * product, in its own transaction, when it is exactly what the current
 * summary of id signs and is a model of that product.
 */
weft_err catalog_cache_desc(
    node *n, const char *id, const uint8_t *desc, size_t len);

/* catalog_log_get reads the envelope with seq from dom's log (lent). */
weft_err catalog_log_get(
    store_txn *t, const char *dom, uint64_t seq, store_val *out);

/* The summaries a node keeps of one domain (its seq bound), unless
 * weftd --domain-max says otherwise. */
#define DOMAIN_MAX_DEFAULT 1000000

/* What catalog_accept did with a summary. */
typedef enum accept_outcome {
    ACCEPT_HELD,         /* a replay: the log holds these exact bytes */
    ACCEPT_LOGGED,       /* history: kept in the log, older than current */
    ACCEPT_ADDED,        /* the product's new current summary */
    ACCEPT_EQUIVOCATION, /* same domain and seq, other bytes: proof kept */
    ACCEPT_OVER          /* past the domain's bound: not kept */
} accept_outcome;

struct ixdoc; /* index.h: index_doc */

/*
 * catalog_accept stores a verified summary (and its descriptor, when
 * desc is not NULL and the summary becomes current) from a peer or a
 * bundle: domain/key binding, replay and equivocation checks, the
 * domain's log and its contiguous high-water mark, the current table.
 * ix is index_doc_new(sum) when a helper made it, or NULL.
 */
weft_err catalog_accept(node *n, store_txn *t, pv_arena *a, const pv *sum,
    const uint8_t *env, size_t envlen, const uint8_t *desc, size_t desclen,
    const struct ixdoc *ix, accept_outcome *out, weft_diag *d);

/* ---- the whole catalog (overview.c) -------------------------------- */

/* catalog_digest sets "catalog_digest" in out: one hash over every
 * current summary held, equal on two nodes exactly when they agree. */
weft_err catalog_digest(node *n, pv_arena *a, pv *out);

/* catalog_count is how many current products domain dom has (kept as
 * they come); catalog_counts_init counts them once for a store from
 * before the counts (at start). */
int64_t  catalog_count(store_txn *t, const char *dom);
weft_err catalog_counts_init(node *n);

/* catalog_digest_sum reads the digest's running sum (catalog.c) into
 * acc, or with rebuild (or when none is stored) sums the current table
 * again. */
weft_err catalog_digest_sum(store_txn *t, bool rebuild, uint8_t acc[64]);

/* catalog_domains appends one map per known domain to list: domain,
 * fingerprint, seq, products, head_seq, head_ts, stale_s
 * (the age of the domain's signed head; -1 with none), behind (the head
 * names a seq not held yet), equivocation. */
weft_err catalog_domains(node *n, pv_arena *a, pv *list);

/* catalog_head_held reads the time and seq of the signed head held for
 * dom (mesh_head.c); false when none is. */
bool catalog_head_held(
    store_txn *t, const char *dom, int64_t *ts, uint64_t *seq);

/* ---- governance (governance.c) -------------------------------------- */

/*
 * gov_start loads the node's trust anchor and policy: on the first start
 * with nkeys council keys (threshold of them must sign a policy) it stores
 * the anchor; later, keys that differ from the stored anchor are refused.
 * local_path (may be NULL) is a local policy that may only tighten.
 */
weft_err gov_start(node *n, const uint8_t (*keys)[32], int nkeys, int threshold,
    const char *local_path, weft_diag *d);
void     gov_free(node *n);

/* gov_local says whether local rules tighten the policy. */
bool gov_local(const node *n);

/* gov_version is the global policy's version (0: none). */
int64_t gov_version(const node *n);

/* gov_bundle is the signed bundle held, or NULL. */
const weft_buf *gov_bundle(const node *n);

/* gov_judge judges sum under the node's effective policy (policy_judge's
 * verdict map, in a). */
weft_err gov_judge(node *n, pv_arena *a, const pv *sum, pv **verdict);

/*
 * gov_record keeps sum's verdict in t (*sev: its severity, a policy_sev):
 * verdict when the caller judged already, else it judges sum.
 */
weft_err gov_record(node *n, store_txn *t, pv_arena *a, const pv *sum,
    const pv *verdict, int *sev);

/* gov_reasons writes "what: rejected by governance policy vN: rule
 * (outcome): reason; ..." into d and returns WEFT_EPOLICY. */
weft_err gov_reasons(const pv *verdict, const char *what, weft_diag *d);

/* gov_stored is the kept verdict severity of id (0 = accepted), and the
 * policy version that judged it into *version (may be NULL). */
int gov_stored(store_txn *t, const char *id, int64_t *version);

/*
 * gov_offer verifies a policy bundle (from the CLI, or a peer) against
 * the anchor and adopts it when its version is above the one held, then
 * judges every summary again. A refusal is counted and logged; a peer's
 * older or equal version is WEFT_EVERSION but not counted.
 */
weft_err gov_offer(node *n, const uint8_t *p, size_t len, bool from_cli,
    bool *adopted, weft_diag *d);

/* gov_show fills out with the council, the policy and verdict counts. */
weft_err gov_show(node *n, pv_arena *a, pv *out);

/* ---- queries (query.c) ---------------------------------------------- */

/*
 * query_search fills items with the list items of every current summary
 * that matches the query text (proto/query.h, docs/query.md), best first:
 * an exact name or id match, then by BM25 score (deprecated and retired
 * products after the rest), ties by id. Each item says its governance
 * verdict and stale_s, the age of its domain's signed head. Rejected
 * products are never listed, quarantined ones only with QUERY_ALL; with
 * QUERY_EXPLAIN each item carries the parts of its score; facets (may be
 * NULL) gets counts per domain, class, status and interface of the
 * matches. Only the best limit results are returned (0: all); *total
 * (may be NULL) is how many matched. domain, when set, restricts to one domain.
 * A malformed query is WEFT_EINVAL with d naming the column.
 */
#define QUERY_RESULTS_MAX 10000 /* products in one list or search reply */
#define QUERY_ALL         1u
#define QUERY_EXPLAIN     2u
weft_err query_search(node *n, pv_arena *a, const char *text,
    const char *domain, unsigned flags, int64_t limit, pv *items,
    int64_t *total, pv *facets, weft_diag *d);

/* ---- subscriptions (watch.c) ------------------------------------------ */

#define WATCH_MAX        16    /* watchers waiting at once */
#define WATCH_WAIT_MS    25000 /* a waiting watch is answered by then */
#define WATCH_LOG_MAX    65536 /* arrivals kept for watchers behind */
#define WATCH_EVENTS_MAX 256   /* events in one answer */

/* watch_note records that id became current with new_status (old_status
 * NULL: new) in t, for watchers. */
weft_err watch_note(store_txn *t, const char *id, const char *old_status,
    const char *new_status);

/* watch_op answers {op: watch, q, after}: the arrivals after `after`
 * that match q, or (when none) holds the request until some do. */
weft_err watch_op(node *n, const pv *req, reply *r, weft_diag *d);

/* watch_kick runs the waiting watchers again after news was stored. */
void watch_kick(node *n);

weft_err watch_start(node *n, void *loop);
void     watch_stop(node *n);

/* ---- lineage (lineage.c) -------------------------------------------- */

#define LINEAGE_DEPTH_MAX 16  /* levels walked, at most */
#define LINEAGE_NODES_MAX 256 /* upstream products marked, at most */

/*
 * lineage_walk fills out with {id, nodes: [{id, name, status, verdict,
 * flag, depth, dir, via}], unresolved: [input names]}: product id (dir
 * "root"), its upstream (dir "up": what it takes input from) and its
 * downstream (dir "down") to depth levels. flag is "deprecated",
 * "retired", "quarantined" or "rejected" for products to be wary of.
 */
weft_err lineage_walk(node *n, pv_arena *a, const char *id, bool up, bool down,
    int depth, pv *out, weft_diag *d);

/* lineage_flags appends to list {id, why, depth} for each flagged
 * product upstream of sum (transitively). */
weft_err lineage_flags(
    node *n, store_txn *t, pv_arena *a, const pv *sum, pv *list);

/* ---- bundles (bundle.c) --------------------------------------------- */

/* bundle_export appends a signed bundle of everything held to out. */
weft_err bundle_export(node *n, weft_buf *out, uint64_t *count);

/* bundle_import verifies a whole bundle, then stores it in one txn;
 * exporter gets the exporting domain's name. */
weft_err bundle_import(node *n, const uint8_t *p, size_t len, uint64_t *added,
    uint64_t *skipped, char exporter[WEFT_DOMAIN_MAX + 1], weft_diag *d);

/* ---- requests (ops.c) ----------------------------------------------- */

/*
 * ops_handle answers one CLI request of len bytes, appending the encoded
 * reply to out. It never fails to reply: errors become error replies.
 */
bool ops_handle(
    node *n, const uint8_t *req, size_t len, weft_buf *out, server_req *later);

/* ---- the CLI socket (server.c) -------------------------------------- */

/*
 * server_fn answers one request on the loop thread: it appends the reply
 * to out and returns true, or returns false and keeps r to answer later
 * with server_reply (for work that waits on peers).
 */
typedef bool (*server_fn)(
    node *n, const uint8_t *req, size_t len, weft_buf *out, server_req *r);

/* server_reply sends the deferred reply out for r (once). */
void server_reply(server_req *r, const weft_buf *out);

/*
 * The bounds of a guarded socket (the peer socket; the CLI socket, mode
 * 0600, has none): connections held at once (more are closed as they
 * come), how long a connection may go without a whole request (one that
 * stalls mid-message, or says nothing, is closed), and how many error
 * replies in a row a connection gets before it is closed.
 */
#define SERVER_PIPES_MAX   256
#define SERVER_IDLE_MS     15000
#define SERVER_STRIKES_MAX 8

/*
 * server_strike counts an error reply against r's connection (a request
 * answered without error clears the count; at SERVER_STRIKES_MAX it is
 * dropped); server_drop closes r's connection once the fn's reply (which
 * says why) is sent. Both only act on a guarded socket; the reason goes
 * to the log with the remote address.
 */
void server_strike(server_req *r, const char *why);
void server_drop(server_req *r, const char *why);

/*
 * server_start serves fn on a REP socket listening at url (an ipc:// file
 * gets mode 0600) with frames capped at maxmsg; guarded sockets get the
 * bounds above. *out is set even when it fails, for server_stop to clean
 * up.
 */
weft_err server_start(node *n, void *loop, const char *url, size_t maxmsg,
    bool guarded, server_fn fn, server **out, weft_diag *d);

/* server_stop stops the socket; safe to call once the loop is stopping. */
void server_stop(server *s);

/*
 * server_req_ext makes a request handle of no socket, for a caller that
 * runs ops_handle itself (the HTTP API): a reply deferred to it (a get
 * waiting on a peer's descriptor) is handed to fn(arg, out) on the loop
 * thread. server_req_free frees it (NULL is a no-op); the caller frees it
 * only once nothing may still answer it (after mesh_stop).
 */
server_req *server_req_ext(
    void (*fn)(void *arg, const weft_buf *out), void *arg);
void server_req_free(server_req *r);

/* ---- the HTTP API and the catalog page (http.c) ---------------------- */

/*
 * http_addr turns a --http value (PORT, :PORT, HOST:PORT or [V6]:PORT)
 * into the url served, into url (sz bytes): without a host, loopback
 * (http://127.0.0.1:PORT). WEFT_EINVAL with d saying why.
 */
weft_err http_addr(const char *addr, char *url, size_t sz, weft_diag *d);

/*
 * http_start serves the read-only HTTP API, /metrics and the catalog page
 * at url (from http_addr) on nng's HTTP server; requests are answered on
 * the loop thread. n->http is set even when it fails, for http_stop.
 */
weft_err http_start(node *n, void *loop, const char *url, weft_diag *d);

/*
 * http_stop answers every request still waiting (503) and stops the
 * server. Call it after mesh_stop: a get may wait on a peer until then.
 */
void http_stop(node *n);

#endif
