/*
 * bench_tool.c: measurements for scripts/bench-local (not a test).
 *   bench_tool sign N          raw Ed25519 signs per second (1 KB messages,
 *                              libsodium via crypto/), the baseline
 *   bench_tool get URL N ID... N `get` requests over one REQ socket to a
 *                              node; prints p50/p99/mean latency in us
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
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

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "sign") == 0)
        return bench_sign(strtol(argv[2], NULL, 10));
    if (argc >= 5 && strcmp(argv[1], "get") == 0)
        return bench_get(
            argv[2], strtol(argv[3], NULL, 10), argv + 4, argc - 4);
    fprintf(stderr, "usage: bench_tool sign N | get URL N ID...\n");
    return 2;
}
