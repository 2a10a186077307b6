/*
 * metrics.c: GET /metrics, the node in Prometheus' text exposition format
 * 0.0.4. Gauges come from the same op replies the JSON API serves
 * (status, domains, peers, governance_show), so the two never disagree;
 * counters come from node_stats, which the peer socket, the links and
 * the search op increment as they work (node.h lists where). Runs on the
 * loop thread, like everything that reads node state.
 *
 * Names follow Prometheus' conventions: a unit suffix (_seconds,
 * _bytes), counters end in _total, one histogram (_bucket with le, _sum,
 * _count). docs/http.md lists every metric.
 */
#include "node/http.h"

#include <string.h>

static const char *const refusal_names[REFUSED_N] = {
    "signature",
    "summary",
    "equivocation",
    "head",
    "policy",
    "request",
    "reply",
    "shut_out",
    "connection",
};

/* Upper bounds of the query latency buckets, in microseconds. */
static const uint64_t bucket_us[STATS_QUERY_BUCKETS] = { 500, 1000, 2500, 5000,
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000 };

void
stats_query(node *n, uint64_t us)
{
    int i = 0;

    while (i < STATS_QUERY_BUCKETS && us > bucket_us[i])
        i++;
    n->stats.query_bucket[i]++;
    n->stats.queries++;
    n->stats.query_us += us;
}

/* A writer keeps the first error; later writes do nothing. */
typedef struct writer {
    weft_buf *b;
    weft_err  err;
} writer;

#define W(w, ...)                                                              \
    do {                                                                       \
        if ((w)->err == WEFT_OK)                                               \
            (w)->err = weft_buf_printf((w)->b, __VA_ARGS__);                   \
    } while (0)

static void
family(writer *w, const char *name, const char *type, const char *help)
{
    W(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* label writes name="value", escaping as the format asks. */
static void
label(writer *w, const char *name, const char *v)
{
    W(w, "%s=\"", name);
    for (; v != NULL && *v; v++) {
        if (*v == '\\' || *v == '"')
            W(w, "\\%c", *v);
        else if (*v == '\n')
            W(w, "\\n");
        else
            W(w, "%c", *v);
    }
    W(w, "\"");
}

static void
sample(writer *w, const char *name, const char *lname, const char *lval,
    long long v)
{
    W(w, "%s", name);
    if (lname != NULL) {
        W(w, "{");
        label(w, lname, lval);
        W(w, "}");
    }
    W(w, " %lld\n", v);
}

static void
node_part(writer *w, const pv *st)
{
    static const char *const parts[][2] = { { "file", "store_bytes" },
        { "used", "store_used_bytes" }, { "index", "index_bytes" } };

    family(w, "weft_info", "gauge", "The node's domain and weftd version.");
    W(w, "weft_info{");
    label(w, "domain", pv_getstr(st, "domain"));
    W(w, ",");
    label(w, "version", WEFT_VERSION);
    W(w, "} 1\n");
    family(w, "weft_uptime_seconds", "gauge", "Seconds since weftd started.");
    sample(w, "weft_uptime_seconds", NULL, NULL, pv_getint(st, "uptime_s", 0));
    family(w, "weft_products", "gauge",
        "Current products and contracts held, all domains.");
    sample(w, "weft_products", NULL, NULL, pv_getint(st, "catalog", 0));
    family(w, "weft_own_products", "gauge",
        "Current products and contracts of this node's domain.");
    sample(w, "weft_own_products", NULL, NULL, pv_getint(st, "products", 0));
    family(w, "weft_store_bytes", "gauge",
        "The LMDB store: file size, bytes in use, search index pages.");
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        sample(w, "weft_store_bytes", "kind", parts[i][0],
            pv_getint(st, parts[i][1], 0));
}

/* domain_rows writes one sample of key (as an int, or a bool) per domain. */
static void
domain_rows(writer *w, const pv *doms, const char *name, const char *key,
    bool boolean, bool skip_negative)
{
    for (uint32_t i = 0; doms != NULL && i < doms->u.a.n; i++) {
        const pv *d = doms->u.a.v[i];
        int64_t   v = boolean ? pv_getbool(d, key) : pv_getint(d, key, -1);

        if (skip_negative && v < 0)
            continue;
        sample(w, name, "domain", pv_getstr(d, "domain"), v);
    }
}

static void
domains_part(writer *w, const pv *doms)
{
    int64_t lag = 0;

    if (doms != NULL && doms->type != PV_ARR)
        doms = NULL;
    family(w, "weft_domains", "gauge", "Domains this node knows.");
    sample(w, "weft_domains", NULL, NULL, doms ? doms->u.a.n : 0);
    family(w, "weft_domain_products", "gauge",
        "Current products held, per domain.");
    domain_rows(w, doms, "weft_domain_products", "products", false, false);
    family(w, "weft_domain_seq", "gauge",
        "The seq up to which the domain's log is held without a gap.");
    domain_rows(w, doms, "weft_domain_seq", "seq", false, false);
    family(w, "weft_domain_head_age_seconds", "gauge",
        "Age of the newest signed head held, per domain (absent: none).");
    domain_rows(
        w, doms, "weft_domain_head_age_seconds", "stale_s", false, true);
    family(w, "weft_domain_behind", "gauge",
        "1 while the domain's head names a seq not held yet.");
    domain_rows(w, doms, "weft_domain_behind", "behind", true, false);
    family(w, "weft_domain_equivocation", "gauge",
        "1 once the domain signed two summaries with one seq.");
    domain_rows(
        w, doms, "weft_domain_equivocation", "equivocation", true, false);
    for (uint32_t i = 0; doms != NULL && i < doms->u.a.n; i++) {
        const pv   *d = doms->u.a.v[i];
        const char *self = pv_getstr(d, "self");

        if ((self == NULL || strcmp(self, "yes") != 0)
            && pv_getint(d, "stale_s", -1) > lag)
            lag = pv_getint(d, "stale_s", -1);
    }
    family(w, "weft_sync_lag_seconds", "gauge",
        "The oldest newest-head among other domains: how far behind this "
        "node's view of the mesh may be.");
    sample(w, "weft_sync_lag_seconds", NULL, NULL, lag);
}

static void
peers_part(writer *w, const pv *peers)
{
    static const char *const states[] = { "up", "busy", "down", "connecting" };
    int64_t                  out[4] = { 0 }, in = 0;

    for (uint32_t i = 0; peers && peers->type == PV_ARR && i < peers->u.a.n;
         i++) {
        const char *dir = pv_getstr(peers->u.a.v[i], "direction");
        const char *st = pv_getstr(peers->u.a.v[i], "state");

        if (dir != NULL && strcmp(dir, "in") == 0) {
            in++;
            continue;
        }
        for (int k = 0; st != NULL && k < 4; k++)
            out[k] += strcmp(st, states[k]) == 0;
    }
    family(w, "weft_peers", "gauge",
        "Peer links: dialed by this node (out) by state, and peers that "
        "dialed in and proved their key (in).");
    for (int k = 0; k < 4; k++)
        W(w, "weft_peers{direction=\"out\",state=\"%s\"} %lld\n", states[k],
            (long long) out[k]);
    W(w, "weft_peers{direction=\"in\",state=\"up\"} %lld\n", (long long) in);
}

static void
traffic_part(writer *w, const node_stats *s)
{
    family(w, "weft_messages_total", "counter",
        "Peer messages: on the peer socket (requests in, replies out) and "
        "on the links this node dialed (requests out, replies in).");
    W(w,
        "weft_messages_total{socket=\"peer\",direction=\"in\"} %llu\n"
        "weft_messages_total{socket=\"peer\",direction=\"out\"} %llu\n"
        "weft_messages_total{socket=\"link\",direction=\"in\"} %llu\n"
        "weft_messages_total{socket=\"link\",direction=\"out\"} %llu\n",
        (unsigned long long) s->peer_msgs_in,
        (unsigned long long) s->peer_msgs_out,
        (unsigned long long) s->link_msgs_in,
        (unsigned long long) s->link_msgs_out);
    family(w, "weft_bytes_total", "counter", "Bytes of those peer messages.");
    W(w,
        "weft_bytes_total{socket=\"peer\",direction=\"in\"} %llu\n"
        "weft_bytes_total{socket=\"peer\",direction=\"out\"} %llu\n"
        "weft_bytes_total{socket=\"link\",direction=\"in\"} %llu\n"
        "weft_bytes_total{socket=\"link\",direction=\"out\"} %llu\n",
        (unsigned long long) s->peer_bytes_in,
        (unsigned long long) s->peer_bytes_out,
        (unsigned long long) s->link_bytes_in,
        (unsigned long long) s->link_bytes_out);
    family(w, "weft_refusals_total", "counter",
        "What peers sent that this node refused, by reason.");
    for (int i = 0; i < REFUSED_N; i++)
        W(w, "weft_refusals_total{reason=\"%s\"} %llu\n", refusal_names[i],
            (unsigned long long) s->refused[i]);
}

static void
query_part(writer *w, const node_stats *s)
{
    uint64_t cum = 0;

    family(w, "weft_query_duration_seconds", "histogram",
        "Time to answer a search or list (CLI or HTTP), in the node.");
    for (int i = 0; i < STATS_QUERY_BUCKETS; i++) {
        cum += s->query_bucket[i];
        W(w, "weft_query_duration_seconds_bucket{le=\"%g\"} %llu\n",
            (double) bucket_us[i] / 1e6, (unsigned long long) cum);
    }
    cum += s->query_bucket[STATS_QUERY_BUCKETS];
    W(w,
        "weft_query_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
        "weft_query_duration_seconds_sum %.6f\n"
        "weft_query_duration_seconds_count %llu\n",
        (unsigned long long) cum, (double) s->query_us / 1e6,
        (unsigned long long) s->queries);
}

static void
gov_part(writer *w, const pv *gv)
{
    static const char *const verdicts[]
        = { "accepted", "warned", "quarantined", "rejected" };

    family(w, "weft_verdicts", "gauge",
        "Current products held, by governance verdict.");
    for (int i = 0; i < 4; i++)
        sample(w, "weft_verdicts", "verdict", verdicts[i],
            pv_getint(gv, verdicts[i], 0));
    family(w, "weft_policy_version", "gauge",
        "Version of the governance policy held (0: none).");
    sample(w, "weft_policy_version", NULL, NULL, pv_getint(gv, "version", 0));
    family(w, "weft_policies_refused_total", "counter",
        "Policy bundles refused since start (bad signatures, a stranger's "
        "key).");
    sample(w, "weft_policies_refused_total", NULL, NULL,
        pv_getint(gv, "refused", 0));
}

weft_err
metrics_write(node *n, const pv *status, const pv *domains, const pv *peers,
    const pv *gv, const uint64_t *codes, weft_buf *out)
{
    writer w = { out, WEFT_OK };

    node_part(&w, status);
    domains_part(&w, pv_get(domains, "domains"));
    peers_part(&w, pv_get(peers, "peers"));
    traffic_part(&w, &n->stats);
    query_part(&w, &n->stats);
    gov_part(&w, gv);
    family(&w, "weft_http_responses_total", "counter",
        "HTTP responses sent by this API, by status code.");
    for (int c = 100; c < HTTP_CODES_MAX; c++)
        if (codes[c] > 0)
            W(&w, "weft_http_responses_total{code=\"%d\"} %llu\n", c,
                (unsigned long long) codes[c]);
    return w.err;
}
