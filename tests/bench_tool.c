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
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

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
    fprintf(stderr,
        "usage: bench_tool sign N | get URL N ID... | verify N [BYTES]\n"
        "       | await TIMEOUT_MS INTERVAL_MS URL... | call OP URL...\n");
    return 2;
}
