/*
 * fuzz_node.h: one real node in the fuzzing process, shared by fuzz_ops
 * (the CLI socket's requests) and fuzz_peer_req (the peer socket's). The
 * node is what `weftd run` sets up (node/weftd.c, whose main() cannot be
 * linked; its steps are repeated here), with these differences:
 *   - the data directory is a fresh mkdtemp under /dev/shm (or $TMPDIR,
 *     or /tmp), removed at exit; LMDB syncs every commit, and on tmpfs a
 *     sync costs nothing;
 *   - the domain key comes from a fixed seed (32 bytes of 0x06, domain
 *     FUZZ_DOMAIN), so replies and the signed seeds do not change from
 *     run to run;
 *   - time() is FUZZ_NOW for the node's whole code (linked with
 *     -Wl,--wrap=time): the seeds' summaries, heads and bundles, dated at
 *     that clock, never expire;
 *   - log lines are formatted (so a bad argument still shows) but printed
 *     only with FUZZ_LOG=1 (this replaces node/log.c), which also prints
 *     each reply as JSON;
 *   - no CLI or peer socket and no signature helpers (n->vp NULL: checks
 *     run inline); a loop exists for watch_start and mesh_start but never
 *     runs.
 * At start the node publishes the small conformance documents of its
 * domain ($WEFT_CONFORMANCE, default ../shared/conformance beside the
 * repository), through ops_handle as `weft publish` does; its store is
 * then copied aside. Every input that commits a write transaction
 * (counted through -Wl,--wrap=store_commit) is followed by a reset: the
 * store is closed, the copy put back, and the store opened again as at
 * start (counts, index check, governance), so each input meets the same
 * node and the store never grows.
 * Static functions only: each target includes this once.
 */
#ifndef WEFT_FUZZ_NODE_H
#define WEFT_FUZZ_NODE_H

#include "crypto/crypto_int.h"
#include "node/index.h"
#include "node/mesh.h"
#include "node/node.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* Not <sodium.h>, whose crypto_sign and crypto_hash clash with ours. */
#include <sodium/crypto_sign_ed25519.h>

#define FUZZ_NOW     1767225600 /* 2026-01-01, the clock of the seeds */
#define FUZZ_DOMAIN  "seller"   /* the domain of the ODPS/ODCS examples */
#define FUZZ_MAPSIZE ((uint64_t) 1 << 30)

#ifndef WEFT_CONFORMANCE_DIR
#define WEFT_CONFORMANCE_DIR "../shared/conformance"
#endif

/* The conformance documents the node publishes at start: those of its
 * domain and those without one (the 190 KB PostgreSQL contract is left
 * out: every reset copies the store). */
static const char *const fuzz_docs[] = {
    "odps/customer-data-product.odps.yaml",
    "odps/deprecated-data-product.odps.yaml",
    "odps/simple-data-product.odps.yaml",
    "odcs/full-example.odcs.yaml",
    "odcs/kafka-schema.odcs.yaml",
    "odcs/kafka-server.odcs.yaml",
    "odcs/table-column.odcs.yaml",
    NULL,
};

static const char *fuzz_who = "fuzz_node";
static node        fuzz_n = { .lock_fd = -1 };
static uv_loop_t   fuzz_loop;
static char        fuzz_pristine[4200]; /* the store as it was at start */
static uint64_t    fuzz_commits;        /* store_commit calls, all time */
static bool        fuzz_log;

static void fuzz_rmdir(void);
static void fuzz_fail(const char *what, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
fuzz_fail(const char *what, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", fuzz_who);
    va_start(ap, what);
    vfprintf(stderr, what, ap);
    va_end(ap);
    fputc('\n', stderr);
    fuzz_rmdir();
    abort();
}

/* ---- seams: time, commits, the log ------------------------------------ */

time_t __wrap_time(time_t *t);
time_t
__wrap_time(time_t *t)
{
    if (t != NULL)
        *t = FUZZ_NOW;
    return FUZZ_NOW;
}

weft_err __real_store_commit(store_txn *t);
weft_err __wrap_store_commit(store_txn *t);
weft_err
__wrap_store_commit(store_txn *t)
{
    fuzz_commits++;
    return __real_store_commit(t);
}

void
log_set_level(log_level level)
{
    (void) level;
}

int
log_parse_level(const char *s)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };

    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void
log_msg(log_level level, const char *fmt, ...)
{
    char    line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (fuzz_log)
        fprintf(stderr, "weftd %d: %s\n", (int) level, line);
}

/* ---- the data directory ----------------------------------------------- */

static void
fuzz_copy(const char *from, const char *to)
{
    char    buf[1 << 16];
    int     in = open(from, O_RDONLY | O_CLOEXEC), out;
    ssize_t k;

    if (in < 0
        || (out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        fuzz_fail("cannot copy %s to %s: %s", from, to, strerror(errno));
    while ((k = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t) k) != k)
            fuzz_fail("cannot write %s: %s", to, strerror(errno));
    if (k < 0)
        fuzz_fail("cannot read %s: %s", from, strerror(errno));
    close(in);
    close(out);
}

/* fuzz_rmdir removes the data directory (flat: the store's files and the
 * copy), at exit. */
static void
fuzz_rmdir(void)
{
    DIR           *dir = opendir(fuzz_n.dir);
    struct dirent *e;
    char           p[4400];

    if (dir == NULL)
        return;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", fuzz_n.dir, e->d_name);
            unlink(p);
        }
    closedir(dir);
    rmdir(fuzz_n.dir);
}

static void
fuzz_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    struct stat sb;

    if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode)
        && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    else if (base == NULL || *base == 0)
        base = "/tmp";
    snprintf(
        fuzz_n.dir, sizeof(fuzz_n.dir), "%s/weft-%s.XXXXXX", base, fuzz_who);
    if (mkdtemp(fuzz_n.dir) == NULL)
        fuzz_fail("mkdtemp %s: %s", fuzz_n.dir, strerror(errno));
    atexit(fuzz_rmdir);
}

/* ---- the node ----------------------------------------------------------- */

/* fuzz_key makes the key whose seed is 32 bytes of b. */
static crypto_key *
fuzz_key(uint8_t b)
{
    uint8_t     seed[32], pk[32], sk[64];
    crypto_key *k = NULL;

    memset(seed, b, sizeof(seed));
    crypto_sign_ed25519_seed_keypair(pk, sk, seed);
    if (crypto__key_from_secret(sk, &k) != WEFT_OK)
        fuzz_fail("cannot make a key");
    return k;
}

/* fuzz_meta writes what weftd's meta_init writes in a new store. */
static void
fuzz_meta(node *n)
{
    store_txn *t;
    uint8_t    now[8];

    store_u64_be(now, (uint64_t) FUZZ_NOW);
    if (store_begin(n->st, true, &t) != WEFT_OK
        || store_put(t, STORE_META, "domain", 6, n->domain, strlen(n->domain))
        || store_put(t, STORE_META, "key", 3, crypto_key_public(n->key), 32)
        || store_put(t, STORE_META, "created", 7, now, 8)
        || store_put(t, STORE_META, "schema", 6, "1", 1)
        || store_put(t, STORE_DKEY, n->domain, strlen(n->domain),
            crypto_key_public(n->key), 32)
        || store_commit(t) != WEFT_OK)
        fuzz_fail("cannot write the store's metadata");
}

/* fuzz_open opens the store as weftd does after identity(): counts,
 * the search index's check, governance (no council keys, no local
 * policy). */
static void
fuzz_open(node *n)
{
    weft_diag d = { "" };

    if (store_open(n->dir, FUZZ_MAPSIZE, false, &n->st, &d) != WEFT_OK)
        fuzz_fail("store_open: %s", d.msg);
    if (catalog_counts_init(n) != WEFT_OK)
        fuzz_fail("cannot count the catalog");
    if (index_check(n, false) != WEFT_OK)
        fuzz_fail("cannot build the search index");
    if (gov_start(n, NULL, 0, 1, NULL, &d) != WEFT_OK)
        fuzz_fail("gov_start: %s", d.msg);
}

/* fuzz_close closes the store and governance (mesh and watchers stay). */
static void
fuzz_close(node *n)
{
    gov_free(n);
    store_close(n->st);
    n->st = NULL;
}

/* fuzz_node_reset puts the store back as it was at start. */
static void
fuzz_node_reset(void)
{
    char data[4200];

    snprintf(data, sizeof(data), "%s/data.mdb", fuzz_n.dir);
    fuzz_close(&fuzz_n);
    fuzz_copy(fuzz_pristine, data);
    fuzz_open(&fuzz_n);
}

/* fuzz_doc appends {name, data} of conformance document rel to docs. */
static void
fuzz_doc(pv_arena *a, pv *docs, const char *rel)
{
    const char *dir = getenv("WEFT_CONFORMANCE");
    char        path[4200];
    weft_buf    b;
    uint8_t     chunk[8192];
    size_t      k;
    FILE       *f;
    pv         *doc = pv_map(a);

    snprintf(path, sizeof(path), "%s/%s",
        dir && *dir ? dir : WEFT_CONFORMANCE_DIR, rel);
    if ((f = fopen(path, "rb")) == NULL)
        fuzz_fail("%s: %s (set WEFT_CONFORMANCE to shared/conformance)", path,
            strerror(errno));
    weft_buf_init(&b, WEFT_DOC_MAX);
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (weft_buf_append(&b, chunk, k) != WEFT_OK)
            fuzz_fail("%s: too big", path);
    fclose(f);
    if (doc == NULL || pv_setstr(a, doc, "name", rel)
        || pv_set(a, doc, "data", pv_bin(a, b.p, b.len))
        || pv_push(a, docs, doc))
        fuzz_fail("no memory for the documents");
    weft_buf_free(&b);
}

/* fuzz_publish publishes the conformance documents through ops_handle,
 * as `weft publish FILE...` asks, and checks that each was stored. */
static void
fuzz_publish(node *n)
{
    pv_arena *a = pv_arena_new(64 << 20);
    pv       *req = pv_map(a), *docs = pv_arr(a), *rep;
    const pv *ok, *res;
    weft_buf  b, out;
    weft_diag d = { "" };

    for (int i = 0; fuzz_docs[i] != NULL; i++)
        fuzz_doc(a, docs, fuzz_docs[i]);
    weft_buf_init(&b, WEFT_MSG_MAX);
    weft_buf_init(&out, WEFT_MSG_MAX);
    if (pv_setstr(a, req, "op", "publish") || pv_set(a, req, "docs", docs)
        || pv_set(a, req, "dry_run", pv_bool(a, false))
        || proto_encode(req, &b) != WEFT_OK)
        fuzz_fail("cannot build the publish request");
    if (!ops_handle(n, b.p, b.len, &out, NULL)
        || proto_decode(a, out.p, out.len, &rep, &d) != WEFT_OK
        || (ok = pv_get(rep, "ok")) == NULL || ok->type != PV_BOOL || !ok->u.b
        || (res = pv_get(rep, "results")) == NULL || res->type != PV_ARR)
        fuzz_fail("publishing the conformance documents failed: %s",
            pv_getstr(rep, "error") ? pv_getstr(rep, "error") : d.msg);
    for (uint32_t i = 0; i < res->u.a.n; i++) {
        const pv *r = res->u.a.v[i];

        if (pv_getint(r, "code", 0) != 0)
            fuzz_fail("publishing %s failed: %s", pv_getstr(r, "file"),
                pv_getstr(r, "error"));
        if (fuzz_log)
            fprintf(stderr, "%s: published %s seq %lld\n", fuzz_who,
                pv_getstr(r, "id"), (long long) pv_getint(r, "seq", 0));
    }
    weft_buf_free(&b);
    weft_buf_free(&out);
    pv_arena_free(a);
}

/*
 * fuzz_node_start sets up the node once (see the top); with_mesh starts
 * its mesh as `weftd run` with --peer but no --listen would: no socket,
 * no link (no peer is known), a loop that never runs.
 */
static void
fuzz_node_start(const char *who, bool with_mesh)
{
    weft_diag d = { "" };
    char      data[4200];

    fuzz_who = who;
    fuzz_log = getenv("FUZZ_LOG") != NULL && *getenv("FUZZ_LOG") == '1';
    if (crypto_init() != WEFT_OK)
        fuzz_fail("crypto_init");
    fuzz_mkdtemp();
    snprintf(fuzz_n.domain, sizeof(fuzz_n.domain), "%s", FUZZ_DOMAIN);
    fuzz_n.key = fuzz_key(0x06);
    fuzz_n.started = FUZZ_NOW;
    fuzz_n.search_keep = STORE_MAPPED_SEARCH_MAX;
    fuzz_n.mapped_keep = STORE_MAPPED_MAX;
    fuzz_n.domain_max = DOMAIN_MAX_DEFAULT;
    if (store_open(fuzz_n.dir, FUZZ_MAPSIZE, false, &fuzz_n.st, &d) != WEFT_OK)
        fuzz_fail("store_open: %s", d.msg);
    fuzz_meta(&fuzz_n);
    store_close(fuzz_n.st);
    fuzz_open(&fuzz_n);
    if (uv_loop_init(&fuzz_loop) != 0 || watch_start(&fuzz_n, &fuzz_loop))
        fuzz_fail("cannot start the loop's watchers");
    fuzz_publish(&fuzz_n);
    if (with_mesh
        && mesh_start(&fuzz_n, &fuzz_loop, NULL, NULL, 0, 1000, 0, 0, &d)
            != WEFT_OK)
        fuzz_fail("mesh_start: %s", d.msg);
    /* The store as it is now is what every reset brings back. */
    snprintf(data, sizeof(data), "%s/data.mdb", fuzz_n.dir);
    snprintf(
        fuzz_pristine, sizeof(fuzz_pristine), "%s/pristine.mdb", fuzz_n.dir);
    fuzz_close(&fuzz_n);
    fuzz_copy(data, fuzz_pristine);
    fuzz_open(&fuzz_n);
}

/* ---- checking a reply --------------------------------------------------- */

/*
 * fuzz_reply_check checks that out holds one reply as the sockets send
 * it: at most max bytes (the socket's frame limit), one canonical msgpack
 * map (it decodes strictly and encodes back to the same bytes) with "ok"
 * a bool; a refusal has a nonzero "code" int and a nonempty "error"
 * string. Returns the reply (in a).
 */
static const pv *
fuzz_reply_check(pv_arena *a, const weft_buf *out, size_t max)
{
    pv       *rep;
    const pv *ok, *code, *error;
    weft_buf  again;
    weft_diag d = { "" };

    if (out->len == 0)
        fuzz_fail("no reply");
    if (out->len > max)
        fuzz_fail("a reply of %zu bytes, over the %zu-byte frame limit",
            out->len, max);
    if (proto_decode(a, out->p, out->len, &rep, &d) != WEFT_OK)
        fuzz_fail("the reply does not decode: %s", d.msg);
    if (rep->type != PV_MAP)
        fuzz_fail("the reply is not a map");
    weft_buf_init(&again, out->len);
    if (proto_encode(rep, &again) != WEFT_OK || again.len != out->len
        || memcmp(again.p, out->p, out->len) != 0)
        fuzz_fail("the reply is not canonical msgpack");
    weft_buf_free(&again);
    if (fuzz_log) {
        weft_buf j;

        weft_buf_init(&j, WEFT_MSG_MAX);
        if (proto_json_dump(rep, false, &j) == WEFT_OK)
            fprintf(stderr, "%s: reply %.*s%s\n", fuzz_who,
                (int) (j.len < 600 ? j.len : 600), (const char *) j.p,
                j.len > 600 ? "..." : "");
        weft_buf_free(&j);
    }
    if ((ok = pv_get(rep, "ok")) == NULL || ok->type != PV_BOOL)
        fuzz_fail("the reply has no 'ok' bool");
    if (!ok->u.b
        && ((code = pv_get(rep, "code")) == NULL || code->type != PV_INT
            || code->u.i == 0 || (error = pv_get(rep, "error")) == NULL
            || error->type != PV_STR || error->u.s.len == 0))
        fuzz_fail("a refusal without a nonzero 'code' int and an 'error' "
                  "string");
    return rep;
}

#endif
