/*
 * bench_tool.c: measurements for scripts/bench-local (not a test).
 *   bench_tool sign N          raw Ed25519 signs per second (1 KB messages,
 *                              libsodium via crypto/), the baseline
 *   bench_tool get URL N ID... N `get` requests over one REQ socket to a
 *                              node; prints p50/p99/mean latency in us
 * and for scripts/bench-mesh:
 *   bench_tool verify N [BYTES] raw Ed25519 verifies per second (BYTES,
 *                              default 1024, per message), the baseline
 *   bench_tool await TIMEOUT_MS INTERVAL_MS URL...
 *                              dials every node once, prints "ready", then
 *                              reads lines from stdin, each
 *                                get ID START     every node answers `get ID`
 *                                count N START    every node's status shows
 *                                                 a catalog of N or more
 *                              (START: CLOCK_MONOTONIC seconds, as Python's
 *                              time.monotonic(), or "now"). It polls the
 *                              nodes not yet satisfied, all in parallel,
 *                              one round every INTERVAL_MS, until all are or
 *                              TIMEOUT_MS pass, and prints one JSON line:
 *                              ms (the last node), per-node ms (-1: never),
 *                              rounds, pending, the slowest reply
 *   bench_tool call OP URL...  sends {"op": OP} to every node and prints
 *                              a JSON array of {url, t (monotonic s), reply}
 * and for scripts/bench-governance:
 *   bench_tool judge N [ROUNDS] builds N synthetic summaries in memory
 *                              (varied class, ports, tags, quality, size,
 *                              status, deprecation), compiles a policy with
 *                              every rule (JUDGE_POLICY), and times
 *                              policy_judge over all N (one arena reset
 *                              each), then proto_envelope_read + judge
 *                              over the N sealed envelopes; ROUNDS
 *                              (default 3) of each, the median kept.
 *                              Prints one JSON object.
 * and for scripts/bench-search:
 *   bench_tool search URL FILE [LIMIT]
 *                              reads queries from FILE (one a line) and
 *                              sends each as {"op": "search", "q": LINE}
 *                              (with "limit": LIMIT when given) on one REQ
 *                              socket, one at a time; prints one JSON
 *                              object: per query the time from send to
 *                              the whole reply received (us), the number
 *                              of products returned and matched (total;
 *                              -1 when the node does not say), the
 *                              reply's bytes; and the first errors
 */
#include "crypto/crypto.h"
#include "proto/policy.h"
#include "proto/proto.h"
#include "proto/query.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
bench_sign(long n)
{
    crypto_key *k;
    uint8_t     msg[1024], sig[64];
    double      t0;

    memset(msg, 'm', sizeof(msg));
    if (crypto_init() || crypto_key_generate(&k))
        return 1;
    t0 = now();
    for (long i = 0; i < n; i++) {
        msg[i % sizeof(msg)]++;
        crypto_sign_msg(k, PROTO_SUMMARY_PREFIX, msg, sizeof(msg), sig);
    }
    printf("{\"signs\": %ld, \"seconds\": %.4f, \"per_second\": %.0f}\n", n,
        now() - t0, (double) n / (now() - t0));
    crypto_key_free(k);
    return 0;
}

static int
dcmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static int
bench_get(const char *url, long n, char **ids, int nids)
{
    nng_socket s;
    double    *lat = calloc((size_t) n, sizeof(double)), sum = 0;
    pv_arena  *a = pv_arena_new(1u << 20);

    if (lat == NULL || a == NULL || nng_req0_open(&s) != 0
        || nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, WEFT_MSG_MAX) != 0
        || nng_dial(s, url, NULL, 0) != 0) {
        fprintf(stderr, "bench_tool: cannot reach %s\n", url);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        pv      *req = pv_map(a);
        weft_buf b;
        nng_msg *m;
        double   t0;

        pv_setstr(a, req, "op", "get");
        pv_setstr(a, req, "id", ids[i % nids]);
        weft_buf_init(&b, 4096);
        proto_encode(req, &b);
        t0 = now();
        if (nng_send(s, b.p, b.len, 0) != 0 || nng_recvmsg(s, &m, 0) != 0) {
            fprintf(stderr, "bench_tool: request failed\n");
            return 1;
        }
        lat[i] = (now() - t0) * 1e6;
        sum += lat[i];
        nng_msg_free(m);
        weft_buf_free(&b);
        if (i % 256 == 255) { /* keep the arena small */
            pv_arena_free(a);
            a = pv_arena_new(1u << 20);
        }
    }
    qsort(lat, (size_t) n, sizeof(double), dcmp);
    printf("{\"gets\": %ld, \"p50_us\": %.1f, \"p99_us\": %.1f, "
           "\"mean_us\": %.1f}\n",
        n, lat[n / 2], lat[n * 99 / 100], sum / (double) n);
    nng_close(s);
    pv_arena_free(a);
    free(lat);
    return 0;
}

static int
bench_verify(long n, size_t bytes)
{
    enum { NMSG = 64 };
    crypto_key *k;
    uint8_t    *msg = calloc(NMSG, bytes), sig[NMSG][64];
    double      t0, t;
    long        bad = 0;

    if (msg == NULL || crypto_init() || crypto_key_generate(&k))
        return 1;
    /* 64 different signed messages, verified in turn. */
    for (int i = 0; i < NMSG; i++) {
        memset(msg + (size_t) i * bytes, 'm' + i, bytes);
        crypto_sign_msg(
            k, PROTO_SUMMARY_PREFIX, msg + (size_t) i * bytes, bytes, sig[i]);
    }
    t0 = now();
    for (long i = 0; i < n; i++)
        if (crypto_verify_msg(crypto_key_public(k), PROTO_SUMMARY_PREFIX,
                msg + (size_t) (i % NMSG) * bytes, bytes, sig[i % NMSG])
            != WEFT_OK)
            bad++;
    t = now() - t0;
    printf("{\"verifies\": %ld, \"bytes\": %zu, \"seconds\": %.4f, "
           "\"per_second\": %.0f, \"failed\": %ld}\n",
        n, bytes, t, (double) n / t, bad);
    crypto_key_free(k);
    free(msg);
    return bad != 0;
}

/* ---- many nodes at once (bench-mesh) ---------------------------------- */

typedef struct target {
    const char *url;
    nng_socket  s;
    bool        open, sent, done;
    double      ms, t_sent;
    int64_t     last; /* the last catalog count seen (count mode) */
} target;

static int
dial_all(target *t, int n)
{
    for (int i = 0; i < n; i++) {
        int rv;

        if ((rv = nng_req0_open(&t[i].s)) != 0
            || (rv = nng_socket_set_size(
                    t[i].s, NNG_OPT_RECVMAXSZ, WEFT_MSG_MAX))
                != 0
            || (rv = nng_socket_set_ms(t[i].s, NNG_OPT_SENDTIMEO, 2000)) != 0
            || (rv = nng_socket_set_ms(t[i].s, NNG_OPT_RECVTIMEO, 5000)) != 0
            || (rv = nng_dial(t[i].s, t[i].url, NULL, 0)) != 0) {
            fprintf(stderr, "bench_tool: %s: %s\n", t[i].url, nng_strerror(rv));
            return 1;
        }
        t[i].open = true;
    }
    return 0;
}

static void
close_all(target *t, int n)
{
    for (int i = 0; i < n; i++)
        if (t[i].open)
            nng_close(t[i].s);
}

/* send_req encodes req and sends it on s; 0 on success. */
static int
send_req(nng_socket s, const pv *req)
{
    weft_buf b;
    int      rv;

    weft_buf_init(&b, 4096);
    if (proto_encode(req, &b) != WEFT_OK) {
        weft_buf_free(&b);
        return -1;
    }
    rv = nng_send(s, b.p, b.len, 0);
    weft_buf_free(&b);
    return rv;
}

/* recv_rep receives and decodes one reply into a; NULL on any failure
 * (*rv says which: NNG_EAGAIN when flags has NNG_FLAG_NONBLOCK and the
 * reply is not there yet). */
static pv *
recv_rep(nng_socket s, pv_arena *a, int flags, int *rv)
{
    nng_msg *m;
    pv      *rep = NULL;

    if ((*rv = nng_recvmsg(s, &m, flags)) != 0)
        return NULL;
    if (proto_decode(a, nng_msg_body(m), nng_msg_len(m), &rep, NULL) != WEFT_OK
        || rep->type != PV_MAP)
        rep = NULL;
    nng_msg_free(m);
    return rep;
}

static bool
rep_ok(const pv *rep)
{
    const pv *ok = rep ? pv_get(rep, "ok") : NULL;

    return ok != NULL && ok->type == PV_BOOL && ok->u.b;
}

static void
sleep_s(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t) s;
    ts.tv_nsec = (long) ((s - (double) ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* await_one polls until every target satisfies the line's condition. */
static void
await_one(target *t, int n, pv_arena *a, bool count_mode, const char *id,
    int64_t want, double start, double timeout_s, double interval_s)
{
    int    pending = n, rounds = 0;
    double last = 0, slowest = 0;

    for (int i = 0; i < n; i++) {
        t[i].done = false;
        t[i].ms = -1;
        t[i].last = -1;
    }
    while (pending > 0 && now() - start < timeout_s) {
        double r0 = now();

        rounds++;
        pv_arena_reset(a);
        for (int i = 0; i < n; i++) {
            pv *req = pv_map(a);

            t[i].sent = false;
            if (t[i].done || req == NULL)
                continue;
            if (count_mode)
                pv_setstr(a, req, "op", "status");
            else {
                pv_setstr(a, req, "op", "get");
                pv_setstr(a, req, "id", id);
            }
            t[i].sent = send_req(t[i].s, req) == 0;
            t[i].t_sent = now();
        }
        /* Collect the replies as they come, without timeouts or resends:
         * a node that is slow to answer is measured, not asked twice. */
        for (;;) {
            int  waiting = 0;
            bool got = false;

            for (int i = 0; i < n; i++) {
                pv *rep;
                int rv;

                if (!t[i].sent)
                    continue;
                rep = recv_rep(t[i].s, a, NNG_FLAG_NONBLOCK, &rv);
                if (rv == NNG_EAGAIN) {
                    waiting++;
                    continue;
                }
                got = true;
                t[i].sent = false;
                if ((now() - t[i].t_sent) * 1e3 > slowest)
                    slowest = (now() - t[i].t_sent) * 1e3;
                if (!rep_ok(rep))
                    continue;
                if (count_mode) {
                    t[i].last = pv_getint(rep, "catalog", -1);
                    if (t[i].last < want)
                        continue;
                }
                t[i].done = true;
                t[i].ms = (now() - start) * 1e3;
                if (t[i].ms > last)
                    last = t[i].ms;
                pending--;
            }
            if (waiting == 0 || now() - start >= timeout_s)
                break;
            if (!got)
                sleep_s(0.0005);
        }
        if (pending > 0)
            sleep_s(interval_s - (now() - r0));
    }
    printf("{\"ok\": %s, \"ms\": %.1f, \"rounds\": %d, "
           "\"slowest_reply_ms\": %.1f, \"nodes\": [",
        pending == 0 ? "true" : "false", pending == 0 ? last : -1.0, rounds,
        slowest);
    for (int i = 0; i < n; i++)
        printf("%s%.1f", i ? ", " : "", t[i].ms);
    printf("], \"pending\": [");
    for (int i = 0, k = 0; i < n; i++)
        if (!t[i].done)
            printf("%s%d", k++ ? ", " : "", i);
    printf("], \"last\": [");
    for (int i = 0; count_mode && i < n; i++)
        printf("%s%lld", i ? ", " : "", (long long) t[i].last);
    printf("]}\n");
    fflush(stdout);
}

static int
bench_await(double timeout_s, double interval_s, char **urls, int n)
{
    target   *t = calloc((size_t) n, sizeof(*t));
    pv_arena *a = pv_arena_new((size_t) WEFT_MSG_MAX * 4);
    char      line[4096], what[16], arg[2048], when[64];

    if (t == NULL || a == NULL)
        return 1;
    for (int i = 0; i < n; i++)
        t[i].url = urls[i];
    if (dial_all(t, n) != 0) {
        close_all(t, n);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        double start;

        if (sscanf(line, "%15s %2047s %63s", what, arg, when) != 3) {
            fprintf(stderr, "bench_tool: await: bad line: %s", line);
            continue;
        }
        start = strcmp(when, "now") == 0 ? now() : strtod(when, NULL);
        if (strcmp(what, "get") == 0)
            await_one(t, n, a, false, arg, 0, start, timeout_s, interval_s);
        else if (strcmp(what, "count") == 0)
            await_one(t, n, a, true, NULL, strtoll(arg, NULL, 10), start,
                timeout_s, interval_s);
        else
            fprintf(stderr, "bench_tool: await: unknown '%s'\n", what);
    }
    close_all(t, n);
    pv_arena_free(a);
    free(t);
    return 0;
}

static void
json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void
json_pv(const pv *v)
{
    switch (v->type) {
    case PV_NIL:
        printf("null");
        break;
    case PV_BOOL:
        printf(v->u.b ? "true" : "false");
        break;
    case PV_INT:
        printf("%lld", (long long) v->u.i);
        break;
    case PV_FLOAT:
        printf("%.17g", v->u.f);
        break;
    case PV_STR:
        json_str(v->u.s.p, v->u.s.len);
        break;
    case PV_BIN:
        printf("{\"bin\": %u}", v->u.s.len);
        break;
    case PV_ARR:
        putchar('[');
        for (uint32_t i = 0; i < v->u.a.n; i++) {
            if (i)
                printf(", ");
            json_pv(v->u.a.v[i]);
        }
        putchar(']');
        break;
    case PV_MAP:
        putchar('{');
        for (uint32_t i = 0; i < v->u.m.n; i++) {
            if (i)
                printf(", ");
            json_pv(v->u.m.kv[i].k);
            printf(": ");
            json_pv(v->u.m.kv[i].v);
        }
        putchar('}');
        break;
    }
}

static int
bench_call(const char *op, char **urls, int n)
{
    target   *t = calloc((size_t) n, sizeof(*t));
    pv_arena *a = pv_arena_new((size_t) WEFT_MSG_MAX * 4);
    int       rc = 0, rv;

    if (t == NULL || a == NULL)
        return 1;
    for (int i = 0; i < n; i++)
        t[i].url = urls[i];
    if (dial_all(t, n) != 0) {
        close_all(t, n);
        return 1;
    }
    printf("[");
    for (int i = 0; i < n; i++) {
        pv *req, *rep = NULL;

        pv_arena_reset(a);
        req = pv_map(a);
        if (req != NULL && pv_setstr(a, req, "op", op) == WEFT_OK
            && send_req(t[i].s, req) == 0)
            rep = recv_rep(t[i].s, a, 0, &rv);
        printf("%s\n {\"url\": ", i ? "," : "");
        json_str(t[i].url, strlen(t[i].url));
        printf(", \"t\": %.6f, \"reply\": ", now());
        if (rep != NULL)
            json_pv(rep);
        else {
            printf("null");
            rc = 1;
        }
        printf("}");
    }
    printf("\n]\n");
    close_all(t, n);
    pv_arena_free(a);
    free(t);
    return rc;
}

/* JUDGE_POLICY sets every rule: the article's governance.yaml plus rules. */
static const char JUDGE_POLICY[]
    = "governance:\n"
      "  version: 1\n"
      "  global_policies:\n"
      "    data_classification:\n"
      "      - name: public\n"
      "        controls: []\n"
      "      - name: internal\n"
      "        controls:\n"
      "          - authentication_required: true\n"
      "      - name: confidential\n"
      "        controls:\n"
      "          - authentication_required: true\n"
      "          - authorization_required: true\n"
      "          - encryption_required: true\n"
      "      - name: restricted\n"
      "        controls:\n"
      "          - authentication_required: true\n"
      "          - authorization_required: true\n"
      "          - encryption_required: true\n"
      "          - access_logging_required: true\n"
      "          - purpose_limitation_required: true\n"
      "    data_quality:\n"
      "      completeness_threshold: 95%\n"
      "      accuracy_threshold: 98%\n"
      "      freshness_threshold: \"24 hours\"\n"
      "  rules:\n"
      "    required_fields:\n"
      "      fields: [owner, description, classification, version, tags,\n"
      "               schemas, interfaces, quality]\n"
      "      severity: reject\n"
      "    allowed_statuses: {statuses: [draft, active, deprecated]}\n"
      "    name_pattern: {pattern: \"^[a-z][a-z0-9-]*$\", severity: warn}\n"
      "    tag_pattern: {pattern: [\"^[a-z0-9-]+$\", \"^.{1,32}$\"]}\n"
      "    max_descriptor_bytes: {limit: 262144}\n"
      "    classification: {severity: quarantine}\n"
      "    deprecation: {}\n"
      "    quality_present: {}\n"
      "    quality_thresholds: {severity: warn}\n";

/* The control bits each level of JUDGE_POLICY requires. */
static const char *const judge_class[]
    = { "public", "internal", "confidential", "restricted" };
static const int64_t judge_need[] = { 0, 1, 7, 31 };

static uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static pv *
strlist(pv_arena *a, int n, const char *const *s)
{
    pv *l = pv_arr(a);

    for (int i = 0; l != NULL && i < n; i++)
        if (pv_push(a, l, pv_strz(a, s[i])))
            return NULL;
    return l;
}

/*
 * synth builds summary i, of the shape proto_summary_check wants, with
 * pseudo-random variety (fixed by i) so that every rule fails for some.
 */
static pv *
synth(pv_arena *a, long i, const uint8_t origin[32])
{
    uint64_t    r = mix((uint64_t) i + 1), r2 = mix(r);
    pv         *s = pv_map(a), *q = pv_map(a), *ports = pv_arr(a), *tags;
    pv         *dep = NULL;
    char        name[64], id[96], desc[96], ver[32], tag[32];
    int         cls = (int) (r % 4), nports = 1 + (int) ((r >> 8) % 3);
    const char *status = "active";
    uint8_t     body[32];
    const char *tl[4] = { "bench", tag, "orders", "Mixed_Case" };
    const char *ifaces[3] = { "rest-api", "streaming", "sql" };
    const char *schemas[1] = { "table" };
    const char *formats[1] = { "avro" };
    const char *fields[3] = { "id", "customer", "amount" };
    const char *inputs[1] = { "crm" };

    if (s == NULL || q == NULL || ports == NULL)
        return NULL;
    snprintf(name, sizeof(name), "%s-%06ld",
        (r >> 12) % 13 == 0 ? "Product_X" : "product", i);
    snprintf(id, sizeof(id), "big/product-%06ld", i);
    snprintf(desc, sizeof(desc),
        "Generated product %ld with orders, customers and payments", i);
    snprintf(ver, sizeof(ver), "1.%ld.0", i % 10);
    snprintf(tag, sizeof(tag), "gen%ld", i % 11);
    tags = strlist(a, (r >> 16) % 17 == 0 ? 4 : 3, tl);
    switch ((r >> 20) % 40) {
    case 0:
    case 1:
        status = "draft";
        break;
    case 2:
    case 3:
        status = "deprecated";
        dep = pv_map(a);
        pv_setstr(a, dep, "reason", "superseded");
        pv_setstr(
            a, dep, "sunset", (r >> 26) % 2 ? "2027-03-31" : "2027-02-30");
        pv_setstr(a, dep, "replaced_by", "big/product-000000");
        break;
    case 4:
        status = "deprecated"; /* no notice */
        break;
    case 5:
        status = "retired";
        break;
    }
    for (int k = 0; k < nports; k++) {
        int64_t bits = judge_need[cls];

        if ((r2 >> (8 * k)) % 6 == 0 && bits != 0)
            bits &= ~(int64_t) (1 << ((r2 >> (8 * k + 3)) % 5)); /* lacks one */
        if (pv_push(a, ports, pv_int(a, bits & 31)))
            return NULL;
    }
    pv_set(a, q, "completeness", pv_float(a, 90.0 + (double) (r2 % 101) / 10));
    pv_set(a, q, "accuracy",
        (r2 >> 32) % 19 == 0
            ? pv_nil(a)
            : pv_float(a, 96.0 + (double) ((r2 >> 12) % 41) / 10));
    pv_setint(a, q, "freshness_s", 60 + (int64_t) ((r2 >> 20) % 100000));
    memset(body, (int) (i & 0xff), sizeof(body));
    if (pv_setint(a, s, "v", 1) || pv_setstr(a, s, "kind", "product")
        || pv_set(a, s, "origin", pv_bin(a, origin, 32))
        || pv_setstr(a, s, "domain", "big") || pv_setstr(a, s, "id", id)
        || pv_setstr(a, s, "name", name) || pv_setstr(a, s, "version", ver)
        || pv_setint(a, s, "seq", i + 1)
        || pv_setint(a, s, "issued", 1795000000)
        || pv_setint(a, s, "expires", 1795000000 + 30 * 86400)
        || pv_setstr(a, s, "status", status)
        || pv_set(a, s, "body", pv_bin(a, body, 32))
        || pv_setstr(a, s, "desc", desc)
        || pv_set(a, s, "owner",
            (r >> 40) % 41 == 0 ? pv_nil(a) : pv_strz(a, "team-7"))
        || pv_set(a, s, "class",
            (r >> 48) % 50 == 0 ? pv_nil(a) : pv_strz(a, judge_class[cls]))
        || pv_set(a, s, "quality", q)
        || pv_set(a, s, "deprecation", dep ? dep : pv_nil(a))
        || pv_set(a, s, "tags", tags)
        || pv_set(a, s, "ifaces", strlist(a, nports, ifaces))
        || pv_set(a, s, "formats", strlist(a, 1, formats))
        || pv_set(a, s, "schemas", strlist(a, 1, schemas))
        || pv_set(a, s, "fields", strlist(a, 3, fields))
        || pv_set(a, s, "inputs", strlist(a, (r >> 56) % 2 ? 1 : 0, inputs))
        || pv_set(a, s, "contracts", pv_arr(a)) || pv_set(a, s, "ports", ports)
        || pv_setint(a, s, "size",
            (r >> 52) % 97 == 0 ? 300000 : 800 + (int64_t) ((r2 >> 40) % 1000)))
        return NULL;
    return s;
}

/* judge_pass judges all n summaries (from trees, or decoded from the
 * envelopes when env is set) and returns the seconds taken. */
static double
judge_pass(const policy *p, pv_arena *ja, long n, pv **sums,
    const weft_buf *env, const size_t *off, uint64_t counts[4])
{
    double t0 = now();

    memset(counts, 0, 4 * sizeof(uint64_t));
    for (long i = 0; i < n; i++) {
        pv *sum = sums ? sums[i] : NULL, *out;

        pv_arena_reset(ja);
        if (env != NULL
            && proto_envelope_read(
                   ja, env->p + off[i], off[i + 1] - off[i], &sum, NULL)
                != WEFT_OK)
            return -1;
        if (policy_judge(p, ja, sum, &out) != WEFT_OK)
            return -1;
        counts[policy_verdict(out)]++;
    }
    return now() - t0;
}

static void
judge_print(
    const char *key, long n, double *secs, int rounds, const uint64_t c[4])
{
    double s;

    qsort(secs, (size_t) rounds, sizeof(double), dcmp);
    s = secs[rounds / 2];
    printf("\"%s\": {\"judged\": %ld, \"seconds\": %.4f, \"per_second\": "
           "%.0f, \"rounds\": [",
        key, n, s, (double) n / s);
    for (int k = 0; k < rounds; k++)
        printf("%s%.4f", k ? ", " : "", secs[k]);
    printf("], \"verdicts\": {\"accepted\": %llu, \"warned\": %llu, "
           "\"quarantined\": %llu, \"rejected\": %llu}}",
        (unsigned long long) c[0], (unsigned long long) c[1],
        (unsigned long long) c[2], (unsigned long long) c[3]);
}

static int
bench_judge(long n, int rounds)
{
    pv_arena   *a = pv_arena_new((size_t) n * 16384 + (64u << 20));
    pv_arena   *ja = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64);
    pv        **sums = calloc((size_t) n, sizeof(pv *));
    size_t     *off = calloc((size_t) n + 1, sizeof(size_t));
    double      secs[2][16], t0, build_s, seal_s;
    uint64_t    counts[2][4];
    crypto_key *k;
    weft_buf    env;
    weft_diag   d = { "" };
    pv         *doc, *norm;
    policy     *p = NULL;

    if (n < 1 || rounds < 1 || rounds > 16 || a == NULL || ja == NULL
        || sums == NULL || off == NULL || crypto_init()
        || crypto_key_generate(&k))
        return 1;
    if (proto_yaml_parse(
            a, (const uint8_t *) JUDGE_POLICY, strlen(JUDGE_POLICY), &doc, &d)
        || policy_normalize(a, doc, 0, &norm, &d)
        || policy_compile(norm, &p, &d)) {
        fprintf(stderr, "bench_tool: policy: %s\n", d.msg);
        return 1;
    }
    t0 = now();
    for (long i = 0; i < n; i++)
        if ((sums[i] = synth(a, i, crypto_key_public(k))) == NULL
            || proto_summary_check(sums[i], &d) != WEFT_OK) {
            fprintf(stderr, "bench_tool: summary %ld: %s\n", i,
                sums[i] ? d.msg : "out of memory");
            return 1;
        }
    build_s = now() - t0;
    weft_buf_init(&env, (size_t) n * WEFT_SUMMARY_MAX);
    t0 = now();
    for (long i = 0; i < n; i++) {
        if (proto_envelope_seal(sums[i], k, &env) != WEFT_OK) {
            fprintf(stderr, "bench_tool: cannot seal summary %ld\n", i);
            return 1;
        }
        off[i + 1] = env.len;
    }
    seal_s = now() - t0;
    for (int r = 0; r < rounds; r++) { /* interleaved */
        secs[0][r] = judge_pass(p, ja, n, sums, NULL, off, counts[0]);
        secs[1][r] = judge_pass(p, ja, n, NULL, &env, off, counts[1]);
        if (secs[0][r] < 0 || secs[1][r] < 0) {
            fprintf(stderr, "bench_tool: judging failed\n");
            return 1;
        }
    }
    printf("{\"summaries\": %ld, \"rules\": 9, \"build_s\": %.2f, "
           "\"seal_s\": %.2f, \"envelope_bytes_mean\": %.0f, ",
        n, build_s, seal_s, (double) env.len / (double) n);
    judge_print("trees", n, secs[0], rounds, counts[0]);
    printf(", ");
    judge_print("envelopes", n, secs[1], rounds, counts[1]);
    printf("}\n");
    policy_free(p);
    crypto_key_free(k);
    weft_buf_free(&env);
    free(off);
    free(sums);
    pv_arena_free(ja);
    pv_arena_free(a);
    return 0;
}

/* ---- search latency (bench-search) ------------------------------------ */

#define SEARCH_ERRORS_MAX 5

static int
bench_search(const char *url, const char *path, long limit)
{
    FILE      *f = fopen(path, "r");
    nng_socket s;
    pv_arena  *a = pv_arena_new((size_t) WEFT_MSG_MAX * 8);
    char       line[QUERY_MAX + 64];
    double    *us = NULL;
    long      *res = NULL, *bytes = NULL, *tot = NULL, n = 0, cap = 0;
    long       failed = 0;
    bool      *ok = NULL;
    int        rv, nerr = 0;
    char      *errs[SEARCH_ERRORS_MAX];

    if (f == NULL || a == NULL) {
        fprintf(stderr, "bench_tool: search: cannot read %s\n", path);
        return 1;
    }
    if ((rv = nng_req0_open(&s)) != 0
        || (rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, WEFT_MSG_MAX)) != 0
        || (rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 600000)) != 0
        || (rv = nng_dial(s, url, NULL, 0)) != 0) {
        fprintf(stderr, "bench_tool: %s: %s\n", url, nng_strerror(rv));
        return 1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t   len = strcspn(line, "\r\n");
        pv      *req, *rep = NULL, *prods;
        nng_msg *m;
        double   t0;

        line[len] = '\0';
        if (len == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            us = realloc(us, (size_t) cap * sizeof(*us));
            res = realloc(res, (size_t) cap * sizeof(*res));
            bytes = realloc(bytes, (size_t) cap * sizeof(*bytes));
            tot = realloc(tot, (size_t) cap * sizeof(*tot));
            ok = realloc(ok, (size_t) cap * sizeof(*ok));
            if (us == NULL || res == NULL || bytes == NULL || tot == NULL
                || ok == NULL)
                return 1;
        }
        pv_arena_reset(a);
        if ((req = pv_map(a)) == NULL || pv_setstr(a, req, "op", "search")
            || pv_set(a, req, "q", pv_str(a, line, len))
            || (limit > 0 && pv_setint(a, req, "limit", limit)))
            return 1;
        t0 = now();
        if ((rv = send_req(s, req)) != 0 || (rv = nng_recvmsg(s, &m, 0)) != 0) {
            fprintf(stderr, "bench_tool: search: %s\n", nng_strerror(rv));
            return 1;
        }
        us[n] = (now() - t0) * 1e6;
        bytes[n] = (long) nng_msg_len(m);
        if (proto_decode(a, nng_msg_body(m), nng_msg_len(m), &rep, NULL)
                != WEFT_OK
            || rep->type != PV_MAP)
            rep = NULL;
        nng_msg_free(m);
        prods = rep ? pv_get(rep, "products") : NULL;
        ok[n] = rep_ok(rep) && prods != NULL && prods->type == PV_ARR;
        res[n] = ok[n] ? (long) prods->u.a.n : -1;
        tot[n] = ok[n] ? (long) pv_getint(rep, "total", -1) : -1;
        if (!ok[n]) {
            const char *e = rep ? pv_getstr(rep, "error") : NULL;
            size_t      k = strlen(line) + (e ? strlen(e) : 16) + 4;

            failed++;
            if (nerr < SEARCH_ERRORS_MAX && (errs[nerr] = malloc(k)) != NULL)
                snprintf(errs[nerr++], k, "%s: %s", line,
                    e ? e : "undecodable reply");
        }
        n++;
    }
    fclose(f);
    printf("{\"queries\": %ld, \"failed\": %ld, \"us\": [", n, failed);
    for (long i = 0; i < n; i++)
        printf("%s%.1f", i ? ", " : "", us[i]);
    printf("], \"results\": [");
    for (long i = 0; i < n; i++)
        printf("%s%ld", i ? ", " : "", res[i]);
    printf("], \"totals\": [");
    for (long i = 0; i < n; i++)
        printf("%s%ld", i ? ", " : "", tot[i]);
    printf("], \"bytes\": [");
    for (long i = 0; i < n; i++)
        printf("%s%ld", i ? ", " : "", bytes[i]);
    printf("], \"errors\": [");
    for (int i = 0; i < nerr; i++) {
        if (i)
            printf(", ");
        json_str(errs[i], strlen(errs[i]));
        free(errs[i]);
    }
    printf("]}\n");
    nng_close(s);
    pv_arena_free(a);
    free(us);
    free(res);
    free(bytes);
    free(tot);
    free(ok);
    return failed != 0;
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "sign") == 0)
        return bench_sign(strtol(argv[2], NULL, 10));
    if (argc >= 5 && strcmp(argv[1], "get") == 0)
        return bench_get(
            argv[2], strtol(argv[3], NULL, 10), argv + 4, argc - 4);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "verify") == 0)
        return bench_verify(strtol(argv[2], NULL, 10),
            argc == 4 ? (size_t) strtoul(argv[3], NULL, 10) : 1024);
    if (argc >= 5 && strcmp(argv[1], "await") == 0)
        return bench_await(strtod(argv[2], NULL) / 1e3,
            strtod(argv[3], NULL) / 1e3, argv + 4, argc - 4);
    if (argc >= 4 && strcmp(argv[1], "call") == 0)
        return bench_call(argv[2], argv + 3, argc - 3);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "judge") == 0)
        return bench_judge(strtol(argv[2], NULL, 10),
            argc == 4 ? (int) strtol(argv[3], NULL, 10) : 3);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "search") == 0)
        return bench_search(
            argv[2], argv[3], argc == 5 ? strtol(argv[4], NULL, 10) : 0);
    fprintf(stderr,
        "usage: bench_tool sign N | get URL N ID... | verify N [BYTES]\n"
        "       | await TIMEOUT_MS INTERVAL_MS URL... | call OP URL...\n"
        "       | judge N [ROUNDS] | search URL FILE [LIMIT]\n");
    return 2;
}
