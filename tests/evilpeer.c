/*
 * evilpeer.c: a test tool. Speaks the peer protocol (node/mesh.c) to a
 * node's peer socket as a misbehaving domain would, so the integration
 * tests can check what every node does with it:
 *
 *   evilpeer URL MODE KEYFILE DOMAIN SEQ [ISSUED]
 *
 * It proves its domain key like any peer (hello with no peer record, then
 * auth; docs/protocol.md), then pushes summaries of DOMAIN signed by the
 * key in KEYFILE (made on first use, so several runs speak for the same
 * domain; KEYFILE.pub is its public half):
 *
 *   good        one summary DOMAIN/good-SEQ at SEQ
 *   forged      one summary DOMAIN/forged at SEQ whose signature has one
 *               byte flipped
 *   replay      one summary DOMAIN/replayed at SEQ, pushed twice
 *   equivocate  two different summaries of DOMAIN/twin with the same SEQ
 *               (descriptions "first" and "second"), one push each
 *   first       only the first of that pair
 *   second      only the second (so two nodes can each get one)
 *   head        a signed head of DOMAIN naming SEQ (a made-up tip), pushed
 *               twice (the second is a replay)
 *   head-forged that head with one signature byte flipped
 *   head-future that head dated an hour ahead
 *   forged-flood
 *               pushes of 8 forged summaries each, until the node stops
 *               answering (it shuts the key out after MESH_REFUSALS_MAX
 *               refusals and closes the connection), at most 40; then a
 *               new hello with the same key. Prints "pushes P refused R"
 *               and "hello again: ok|refused". Exit 0 when the key was
 *               shut out: the last push failed and the new hello did too.
 *
 *   copy        copies the node's catalog as a new node does, each sync's
 *               heads moved up to the reply before's upto (what a node
 *               asks before it has stored that reply): prints "copy
 *               replies R summaries N repeats D upto U" (D: summaries
 *               that came twice; U: replies marked more that carried
 *               upto). Exit 0 when every reply came.
 *
 * For the head modes the line's "accepted" counts the heads kept.
 * Every summary says it was issued at ISSUED (Unix seconds; default now):
 * runs given the same ISSUED sign byte-identical summaries, so a replay
 * in a later run is a replay, not an equivocation.
 *
 * For each push it prints one line "push N: accepted A refused R". Exit 0
 * when every exchange got an ok reply, 1 otherwise (2: usage). At the end
 * it prints "evilpeer: disconnects D" on stderr: how many times the node
 * closed the connection.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define HELLO_PREFIX "weft/hello/v1"
#define MSG_MAX      (4u << 20)

static nng_socket S;
static pv_arena  *A;
static int64_t    ISSUED;
static int        DISCONNECTS; /* __atomic: an nng thread counts them */

static void
gone(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void) p;
    (void) ev;
    (void) arg;
    __atomic_fetch_add(&DISCONNECTS, 1, __ATOMIC_RELAXED);
}

static int
fail(const char *what)
{
    fprintf(stderr, "evilpeer: %s\n", what);
    return 1;
}

/* ask sends req and decodes the reply into *rep; 0 when it says ok. */
static int
ask(const pv *req, pv **rep)
{
    weft_buf  b;
    nng_msg  *m;
    weft_diag d = { "" };
    const pv *ok;
    int       rv;

    weft_buf_init(&b, MSG_MAX);
    if (proto_encode(req, &b) != WEFT_OK) {
        weft_buf_free(&b);
        return fail("cannot encode a request");
    }
    rv = nng_send(S, b.p, b.len, 0);
    weft_buf_free(&b);
    if (rv != 0 || (rv = nng_recvmsg(S, &m, 0)) != 0) {
        fprintf(stderr, "evilpeer: %s\n", nng_strerror(rv));
        return 1;
    }
    if (proto_decode(A, nng_msg_body(m), nng_msg_len(m), rep, &d) != WEFT_OK
        || (*rep)->type != PV_MAP) {
        nng_msg_free(m);
        fprintf(stderr, "evilpeer: malformed reply: %s\n", d.msg);
        return 1;
    }
    nng_msg_free(m);
    ok = pv_get(*rep, "ok");
    if (ok == NULL || ok->type != PV_BOOL || !ok->u.b) {
        const char *e = pv_getstr(*rep, "error");

        fprintf(stderr, "evilpeer: refused: %s\n", e ? e : "(no error)");
        return 1;
    }
    return 0;
}

static const pv *
bin(const pv *m, const char *key, uint32_t len)
{
    const pv *v = pv_get(m, key);

    return v != NULL && v->type == PV_BIN && v->u.s.len == len ? v : NULL;
}

/* handshake proves our key (and checks the node's proof); sets session. */
static int
handshake(const crypto_key *k, const char *domain, uint8_t session[16])
{
    uint8_t   nonce[32], msg[96], sig[64];
    pv       *req = pv_map(A), *rep;
    const pv *key, *theirs, *psig, *sess;

    crypto_random(nonce, sizeof(nonce));
    pv_setstr(A, req, "op", "hello");
    pv_setstr(A, req, "domain", domain);
    pv_set(A, req, "key", pv_bin(A, crypto_key_public(k), 32));
    pv_set(A, req, "nonce", pv_bin(A, nonce, 32));
    pv_set(A, req, "rec", pv_nil(A)); /* no --listen: no peer record */
    if (ask(req, &rep))
        return 1;
    if ((key = bin(rep, "key", 32)) == NULL
        || (theirs = bin(rep, "nonce", 32)) == NULL
        || (psig = bin(rep, "sig", 64)) == NULL
        || (sess = bin(rep, "session", 16)) == NULL)
        return fail("hello: reply lacks key, nonce, sig or session");
    /* The node signed our nonce, our key and its key. */
    memcpy(msg, nonce, 32);
    memcpy(msg + 32, crypto_key_public(k), 32);
    memcpy(msg + 64, key->u.s.p, 32);
    if (crypto_verify_msg((const uint8_t *) key->u.s.p, HELLO_PREFIX, msg, 96,
            (const uint8_t *) psig->u.s.p)
        != WEFT_OK)
        return fail("hello: the node's key proof does not verify");
    memcpy(session, sess->u.s.p, 16);
    /* We sign its nonce, its key and our key. */
    memcpy(msg, theirs->u.s.p, 32);
    memcpy(msg + 32, key->u.s.p, 32);
    memcpy(msg + 64, crypto_key_public(k), 32);
    if (crypto_sign_msg(k, HELLO_PREFIX, msg, 96, sig) != WEFT_OK)
        return fail("cannot sign");
    req = pv_map(A);
    pv_setstr(A, req, "op", "auth");
    pv_set(A, req, "session", pv_bin(A, session, 16));
    pv_set(A, req, "sig", pv_bin(A, sig, 64));
    return ask(req, &rep);
}

/* model is a small normalized product of domain (see summary_test.c). */
static pv *
model(const char *domain, const char *name, const char *desc)
{
    pv  *m = pv_map(A), *schemas = pv_arr(A), *s = pv_map(A);
    pv  *fields = pv_arr(A), *f = pv_map(A), *tags = pv_arr(A);
    pv  *q = pv_map(A);
    char id[WEFT_ID_MAX + 1];

    snprintf(id, sizeof(id), "%s/%s", domain, name);
    pv_setstr(A, f, "name", "amount");
    pv_push(A, fields, f);
    pv_setstr(A, s, "name", "orders");
    pv_set(A, s, "fields", fields);
    pv_push(A, schemas, s);
    pv_push(A, tags, pv_strz(A, "evil"));
    pv_set(A, q, "completeness", pv_float(A, 99.5));
    pv_setstr(A, m, "kind", "product");
    pv_setstr(A, m, "id", id);
    pv_setstr(A, m, "domain", domain);
    pv_setstr(A, m, "name", name);
    pv_setstr(A, m, "version", "1.0.0");
    pv_setstr(A, m, "status", "active");
    pv_setstr(A, m, "description", desc);
    pv_setstr(A, m, "owner", "mallory");
    pv_setstr(A, m, "classification", "internal");
    pv_set(A, m, "tags", tags);
    pv_set(A, m, "schemas", schemas);
    pv_set(A, m, "quality", q);
    return m;
}

/* seal builds and signs the summary of (name, desc) at seq into env. */
static int
seal(const crypto_key *k, const char *domain, const char *name,
    const char *desc, uint64_t seq, weft_buf *env)
{
    pv     *m = model(domain, name, desc), *sum;
    uint8_t body[32];

    /* The body hash names a descriptor no node holds: summaries alone. */
    crypto_blake2b((const uint8_t *) desc, strlen(desc), body);
    weft_buf_init(env, WEFT_SUMMARY_MAX * 2);
    if (proto_summary_build(A, m, crypto_key_public(k), body, seq, ISSUED, &sum)
            != WEFT_OK
        || proto_envelope_seal(sum, k, env) != WEFT_OK)
        return fail("cannot build a summary");
    return 0;
}

static int
push(const uint8_t session[16], const weft_buf *env, int nth)
{
    pv *req = pv_map(A), *envs = pv_arr(A), *rep;

    pv_push(A, envs, pv_bin(A, env->p, env->len));
    pv_setstr(A, req, "op", "push");
    pv_set(A, req, "session", pv_bin(A, session, 16));
    pv_set(A, req, "envs", envs);
    if (ask(req, &rep))
        return 1;
    printf("push %d: accepted %lld refused %lld\n", nth,
        (long long) pv_getint(rep, "accepted", -1),
        (long long) pv_getint(rep, "refused", -1));
    fflush(stdout);
    return 0;
}

/* forged_flood pushes batches of forged summaries until one fails. */
static int
forged_flood(const crypto_key *k, const char *domain, uint8_t session[16])
{
    long long refused = 0;
    int       pushes = 0, again;
    bool      failed = false;

    for (; pushes < 40 && !failed; pushes++) {
        pv *req = pv_map(A), *envs = pv_arr(A), *rep;

        for (int i = 0; i < 8; i++) {
            weft_buf e;
            char     name[64];

            snprintf(name, sizeof(name), "forged-%d-%d", pushes, i);
            if (seal(k, domain, name, "forged", (uint64_t) (pushes * 8 + i + 1),
                    &e))
                return 1;
            e.p[7 + 10] ^= 0x01; /* a signature byte: see "forged" */
            pv_push(A, envs, pv_bin(A, e.p, e.len));
            weft_buf_free(&e);
        }
        pv_setstr(A, req, "op", "push");
        pv_set(A, req, "session", pv_bin(A, session, 16));
        pv_set(A, req, "envs", envs);
        if (ask(req, &rep))
            failed = true;
        else
            refused += pv_getint(rep, "refused", 0);
    }
    printf("pushes %d refused %lld\n", pushes, refused);
    nng_socket_set_ms(S, NNG_OPT_RECVTIMEO, 3000);
    again = handshake(k, domain, session);
    printf("hello again: %s\n", again ? "refused" : "ok");
    fflush(stdout);
    return failed && again ? 0 : 1;
}

/* push_head pushes one signed head (no envelopes). */
static int
push_head(const uint8_t session[16], const weft_buf *h, int nth)
{
    pv *req = pv_map(A), *heads = pv_arr(A), *rep;

    pv_push(A, heads, pv_bin(A, h->p, h->len));
    pv_setstr(A, req, "op", "push");
    pv_set(A, req, "session", pv_bin(A, session, 16));
    pv_set(A, req, "envs", pv_arr(A));
    pv_set(A, req, "heads", heads);
    if (ask(req, &rep))
        return 1;
    printf("push %d: accepted %lld refused %lld\n", nth,
        (long long) pv_getint(rep, "heads_kept", -1),
        (long long) pv_getint(rep, "refused", -1));
    fflush(stdout);
    return 0;
}

/* head signs a head of domain at seq, dated ts, into h. */
static int
head(const crypto_key *k, const char *domain, uint64_t seq, int64_t ts,
    weft_buf *h)
{
    uint8_t tip[32];

    crypto_blake2b((const uint8_t *) "made-up tip", 11, tip);
    weft_buf_init(h, PROTO_PEER_RECORD_MAX);
    if (proto_head_seal(k, domain, seq, tip, ts, h) != WEFT_OK)
        return fail("cannot sign a head");
    return 0;
}

static crypto_key *
key_for(const char *path, const char *domain)
{
    char        pub[4200];
    struct stat sb;
    crypto_key *k = NULL;
    weft_diag   d = { "" };

    snprintf(pub, sizeof(pub), "%s.pub", path);
    if (stat(path, &sb) == 0) {
        if (crypto_key_load(path, &k, &d) != WEFT_OK)
            fprintf(stderr, "evilpeer: %s\n", d.msg);
        return k;
    }
    if (crypto_key_generate(&k) != WEFT_OK
        || crypto_key_save(k, path, pub, domain, &d) != WEFT_OK) {
        fprintf(stderr, "evilpeer: %s: %s\n", path, d.msg);
        crypto_key_free(k);
        return NULL;
    }
    return k;
}

static int
hash_cmp(const void *x, const void *y)
{
    return memcmp(x, y, 32);
}

/* copy follows a bulk copy through upto (see the header). */
static int
copy(const uint8_t session[16])
{
    pv *heads = pv_map(A), *rep;
    uint8_t(*seen)[32] = NULL;
    size_t n = 0, cap = 0, repeats = 0;
    int    replies = 0, upto_n = 0, rc = 0;

    for (;;) {
        pv       *req = pv_map(A);
        const pv *envs, *more, *upto;

        pv_setstr(A, req, "op", "sync");
        pv_set(A, req, "session", pv_bin(A, session, 16));
        pv_set(A, req, "heads", heads);
        if ((rc = ask(req, &rep)) != 0)
            break;
        replies++;
        envs = pv_get(rep, "envs");
        more = pv_get(rep, "more");
        upto = pv_get(rep, "upto");
        for (uint32_t i = 0; envs && envs->type == PV_ARR && i < envs->u.a.n;
             i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 4096;
                if ((seen = realloc(seen, cap * sizeof(*seen))) == NULL)
                    return fail("out of memory");
            }
            crypto_blake2b((const uint8_t *) envs->u.a.v[i]->u.s.p,
                envs->u.a.v[i]->u.s.len, seen[n++]);
        }
        if (more == NULL || more->type != PV_BOOL || !more->u.b)
            break;
        if (upto == NULL || upto->type != PV_MAP)
            break; /* no hint: a node would wait and send its heads */
        upto_n++;
        for (uint32_t i = 0; i < upto->u.m.n; i++)
            pv_set(A, heads, upto->u.m.kv[i].k->u.s.p, upto->u.m.kv[i].v);
        if (replies > 10000)
            return fail("a copy of more than 10000 replies");
    }
    if (n > 1)
        qsort(seen, n, sizeof(*seen), hash_cmp);
    for (size_t i = 1; i < n; i++)
        repeats += memcmp(seen[i - 1], seen[i], 32) == 0;
    printf("copy replies %d summaries %zu repeats %zu upto %d\n", replies, n,
        repeats, upto_n);
    free(seen);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *url, *mode, *domain;
    crypto_key *k;
    uint8_t     session[16];
    uint64_t    seq;
    weft_buf    e1 = { 0 }, e2 = { 0 };
    char        name[64];
    int         rv, rc = 1;

    if ((argc != 6 && argc != 7) || (seq = strtoull(argv[5], NULL, 10)) == 0) {
        fprintf(stderr,
            "usage: evilpeer URL good|forged|replay|equivocate|first|second|"
            "head|head-forged|head-future|forged-flood|copy KEYFILE DOMAIN SEQ "
            "[ISSUED]\n");
        return 2;
    }
    url = argv[1];
    mode = argv[2];
    domain = argv[4];
    ISSUED = argc == 7 ? strtoll(argv[6], NULL, 10) : (int64_t) time(NULL);
    if (crypto_init() != WEFT_OK || (A = pv_arena_new(MSG_MAX * 4)) == NULL)
        return fail("cannot initialize");
    if ((k = key_for(argv[3], domain)) == NULL) {
        pv_arena_free(A);
        return 1;
    }
    if ((rv = nng_req0_open(&S)) != 0
        || (rv = nng_socket_set_ms(S, NNG_OPT_RECVTIMEO, 20000)) != 0
        || (rv = nng_socket_set_ms(S, NNG_OPT_SENDTIMEO, 20000)) != 0
        || (rv = nng_socket_set_size(S, NNG_OPT_RECVMAXSZ, MSG_MAX)) != 0
        || (rv = nng_pipe_notify(S, NNG_PIPE_EV_REM_POST, gone, NULL)) != 0
        || (rv = nng_dial(S, url, NULL, 0)) != 0) {
        fprintf(stderr, "evilpeer: %s: %s\n", url, nng_strerror(rv));
        goto out;
    }
    if (handshake(k, domain, session))
        goto out;
    if (strcmp(mode, "good") == 0) {
        snprintf(name, sizeof(name), "good-%llu", (unsigned long long) seq);
        rc = seal(k, domain, name, "a good one", seq, &e1)
            || push(session, &e1, 1);
    } else if (strcmp(mode, "forged") == 0) {
        /* The envelope is {sig: bin8 64, sum: ...}: the signature's
         * bytes start at offset 7 (fixmap, fixstr "sig", c4 40). */
        if ((rc = seal(k, domain, "forged", "forged", seq, &e1)) == 0) {
            e1.p[7 + 10] ^= 0x01;
            rc = push(session, &e1, 1);
        }
    } else if (strcmp(mode, "replay") == 0)
        rc = seal(k, domain, "replayed", "said once", seq, &e1)
            || push(session, &e1, 1) || push(session, &e1, 2);
    else if (strcmp(mode, "equivocate") == 0)
        rc = seal(k, domain, "twin", "first", seq, &e1)
            || seal(k, domain, "twin", "second", seq, &e2)
            || push(session, &e1, 1) || push(session, &e2, 2);
    else if (strcmp(mode, "head") == 0)
        rc = head(k, domain, seq, ISSUED, &e1) || push_head(session, &e1, 1)
            || push_head(session, &e1, 2);
    else if (strcmp(mode, "head-forged") == 0) {
        /* {rec: bin, sig: bin8 64}: the signature's last byte is last. */
        if ((rc = head(k, domain, seq, ISSUED, &e1)) == 0) {
            e1.p[e1.len - 1] ^= 0x01;
            rc = push_head(session, &e1, 1);
        }
    } else if (strcmp(mode, "head-future") == 0)
        rc = head(k, domain, seq, (int64_t) time(NULL) + 3600, &e1)
            || push_head(session, &e1, 1);
    else if (strcmp(mode, "forged-flood") == 0)
        rc = forged_flood(k, domain, session);
    else if (strcmp(mode, "copy") == 0)
        rc = copy(session);
    else if (strcmp(mode, "first") == 0 || strcmp(mode, "second") == 0)
        rc = seal(k, domain, "twin", mode, seq, &e1) || push(session, &e1, 1);
    else {
        fprintf(stderr, "evilpeer: unknown mode '%s'\n", mode);
        rc = 2;
    }
out:
    weft_buf_free(&e1);
    weft_buf_free(&e2);
    fprintf(stderr, "evilpeer: disconnects %d\n",
        __atomic_load_n(&DISCONNECTS, __ATOMIC_RELAXED));
    nng_close(S);
    crypto_key_free(k);
    pv_arena_free(A);
    return rc;
}
