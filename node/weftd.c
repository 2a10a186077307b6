/*
 * weftd.c: the node daemon. `weftd run --data DIR` takes the data
 * directory's lock, loads (or on first start creates) the domain identity
 * and the LMDB store, opens the CLI socket, and runs the libuv loop until
 * SIGINT or SIGTERM. Every refusal at start (a second node on DIR, a key
 * file others can read, a --domain that differs from the stored one)
 * happens before anything in DIR is changed.
 */
#include "node/index.h"
#include "node/mesh.h"
#include "node/node.h"

#include <errno.h>
#include <fcntl.h>

#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static const char usage[]
    = "usage: weftd run --data DIR [--domain NAME] [--log-level LEVEL]\n"
      "       weftd version\n"
      "\n"
      "Runs one domain node of the weft catalog.\n"
      "\n"
      "  --data DIR         data directory (keys, store, socket); also "
      "WEFT_DATA\n"
      "  --domain NAME      the domain this node speaks for; required on "
      "first\n"
      "                     start, must match the stored domain later\n"
      "  --log-level LEVEL  error, warn, info (default) or debug\n"
      "  --listen URL       serve peers at URL (tcp://127.0.0.1:7701)\n"
      "  --peer URL         link to a peer (repeatable); peers are remembered\n"
      "  --sync-interval MS anti-entropy period (default 1000)\n"
      "  --links N          outbound peer links to keep (default 8, at most\n"
      "                     32; a few more dial back lonely peers)\n"
      "  --head-interval S  how often this domain signs its head, the mark\n"
      "                     of how fresh peers' view of it is (default 300)\n"
      "  --governance-key K a governance council key (repeatable): 64 hex\n"
      "                     digits or a .pub file; on first start only,\n"
      "                     with --governance-threshold, it sets the trust\n"
      "                     anchor (later only a signed policy changes it)\n"
      "  --governance-threshold K\n"
      "                     council signatures a policy needs (default 1)\n"
      "  --local-policy FILE local rules that tighten the global policy\n"
      "  --search-cache MIB store pages a node keeps mapped (8 to 65536;\n"
      "                     default 64 after a search, 24 after a write);\n"
      "                     a store that fits in it with an eighth and\n"
      "                     8 MiB to spare is mapped in whole when writes\n"
      "                     pause: a search that finds its pages mapped\n"
      "                     takes no page faults\n"
      "  --summary-ttl TIME how long this domain's signed summaries stay\n"
      "                     valid: 90d (default), 36h, 30m, 45s (10s to\n"
      "                     3650d); the node signs each again, unchanged,\n"
      "                     when a third of that is left\n"
      "  --domain-max N     summaries kept of one domain, this one included\n"
      "                     (default 1000000): a domain's summaries past\n"
      "                     it are dropped, and publishing stops there\n"
      "  --reindex          build the search index again from the stored\n"
      "                     summaries before serving (it is kept up to date\n"
      "                     as they change; this is for repairs)\n"
      "  --http ADDR        serve the read-only HTTP API, /metrics and the\n"
      "                     catalog page at ADDR: PORT or :PORT (loopback),\n"
      "                     HOST:PORT (0.0.0.0:PORT: every interface); off\n"
      "                     by default\n"
      "\n"
      "The CLI socket is ipc://DIR/weft.sock (mode 0600). SIGINT or SIGTERM\n"
      "stops the node cleanly.\n";

#define PEERS_MAX 64 /* --peer options */

typedef struct opts {
    const char *data;
    const char *domain;
    const char *listen;
    const char *peers[PEERS_MAX];
    int         npeers;
    uint64_t    interval_ms;
    uint64_t    head_ms;
    int         links;
    uint8_t     gkeys[PROTO_COUNCIL_MAX][32];
    int         ngkeys, threshold;
    const char *local_policy;
    bool        reindex;
    uint64_t    search_mib;
    uint64_t    domain_max;
    int64_t     summary_ttl; /* seconds; 0: PROTO_SUMMARY_TTL */
    char        http[300];   /* the url --http serves ("": none) */
} opts;

/* council_key reads a council public key: 64 hex digits or a .pub file. */
static int
council_key(const char *arg, uint8_t out[32])
{
    weft_diag d = { "" };
    size_t    n = strlen(arg);

    if (crypto_init() != WEFT_OK) /* key files live in sodium memory */
        return -1;
    if (n == 64 && strspn(arg, "0123456789abcdefABCDEF") == 64) {
        for (int i = 0; i < 32; i++) {
            unsigned v;

            if (sscanf(arg + 2 * i, "%2x", &v) != 1)
                return -1;
            out[i] = (uint8_t) v;
        }
        return 0;
    }
    if (crypto_pubkey_load(arg, out, &d) != WEFT_OK) {
        fprintf(stderr,
            "weftd: --governance-key '%s': not 64 hex digits, and as a "
            "file: %s\n",
            arg, d.msg);
        return -1;
    }
    return 0;
}

/* number reads option name's argument arg as a whole number from lo to
 * hi into *out, or says what it expected (in unit) and returns false. */
static bool
number(const char *name, const char *arg, long long lo, long long hi,
    const char *unit, long long *out)
{
    char     *end;
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (*end == 0 && end != arg && errno == 0 && v >= lo && v <= hi) {
        *out = v;
        return true;
    }
    fprintf(stderr, "weftd: --%s '%s': expected %s%s%lld to %lld\n", name, arg,
        unit, *unit ? " from " : "", lo, hi);
    return false;
}

/* duration reads --summary-ttl's argument: a whole number and a unit
 * (s, m, h or d) within the protocol's bounds, into seconds. */
static bool
duration(const char *arg, int64_t *out)
{
    static const char      units[] = "smhd";
    static const long long mult[] = { 1, 60, 3600, 86400 };
    char                  *end;
    long long              v;
    const char            *u;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (*arg >= '0' && *arg <= '9' && errno == 0 && v > 0 && *end != 0
        && end[1] == 0 && (u = strchr(units, *end)) != NULL
        && v <= PROTO_SUMMARY_TTL_MAX
        && v * mult[u - units] >= PROTO_SUMMARY_TTL_MIN
        && v * mult[u - units] <= PROTO_SUMMARY_TTL_MAX) {
        *out = v * mult[u - units];
        return true;
    }
    fprintf(stderr,
        "weftd: --summary-ttl '%s': expected a whole number and a unit, "
        "s, m, h or d (90d, 36h), from %ds to %lldd\n",
        arg, PROTO_SUMMARY_TTL_MIN, PROTO_SUMMARY_TTL_MAX / 86400);
    return false;
}

static int
parse(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {
        { "data", required_argument, NULL, 'd' },
        { "domain", required_argument, NULL, 'n' },
        { "log-level", required_argument, NULL, 'l' },
        { "listen", required_argument, NULL, 'L' },
        { "peer", required_argument, NULL, 'p' },
        { "sync-interval", required_argument, NULL, 'i' },
        { "head-interval", required_argument, NULL, 'H' },
        { "links", required_argument, NULL, 'K' },
        { "governance-key", required_argument, NULL, 'g' },
        { "governance-threshold", required_argument, NULL, 'k' },
        { "local-policy", required_argument, NULL, 'P' },
        { "reindex", no_argument, NULL, 'R' },
        { "search-cache", required_argument, NULL, 'C' },
        { "domain-max", required_argument, NULL, 'D' },
        { "summary-ttl", required_argument, NULL, 'E' },
        { "http", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int       c, lvl;
    long long v;

    o->data = getenv("WEFT_DATA");
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data = optarg;
            break;
        case 'n':
            o->domain = optarg;
            break;
        case 'l':
            if ((lvl = log_parse_level(optarg)) < 0) {
                fprintf(stderr,
                    "weftd: --log-level '%s': expected error, "
                    "warn, info or debug\n",
                    optarg);
                return 2;
            }
            log_set_level((log_level) lvl);
            break;
        case 'L':
            o->listen = optarg;
            break;
        case 'p':
            if (o->npeers == PEERS_MAX) {
                fprintf(
                    stderr, "weftd: at most %d --peer options\n", PEERS_MAX);
                return 2;
            }
            o->peers[o->npeers++] = optarg;
            break;
        case 'i':
            if (!number(
                    "sync-interval", optarg, 10, 3600000, "milliseconds", &v))
                return 2;
            o->interval_ms = (uint64_t) v;
            break;
        case 'H':
            if (!number("head-interval", optarg, 1, 86400, "seconds", &v))
                return 2;
            o->head_ms = (uint64_t) v * 1000;
            break;
        case 'g':
            if (o->ngkeys == PROTO_COUNCIL_MAX) {
                fprintf(stderr, "weftd: at most %d --governance-key\n",
                    PROTO_COUNCIL_MAX);
                return 2;
            }
            if (council_key(optarg, o->gkeys[o->ngkeys]) != 0)
                return 2;
            o->ngkeys++;
            break;
        case 'k':
            if (!number("governance-threshold", optarg, 1, PROTO_COUNCIL_MAX,
                    "", &v))
                return 2;
            o->threshold = (int) v;
            break;
        case 'P':
            o->local_policy = optarg;
            break;
        case 'R':
            o->reindex = true;
            break;
        case 'T': {
            weft_diag d = { "" };

            if (http_addr(optarg, o->http, sizeof(o->http), &d) != WEFT_OK) {
                fprintf(stderr, "weftd: %s\n", d.msg);
                return 2;
            }
            break;
        }
        case 'D':
            if (!number("domain-max", optarg, 1, 1ll << 40, "summaries", &v))
                return 2;
            o->domain_max = (uint64_t) v;
            break;
        case 'E':
            if (!duration(optarg, &o->summary_ttl))
                return 2;
            break;
        case 'C':
            if (!number("search-cache", optarg, 8, 65536, "MiB", &v))
                return 2;
            o->search_mib = (uint64_t) v;
            break;
        case 'K':
            if (!number("links", optarg, 1, MESH_LINKS_MAX, "", &v))
                return 2;
            o->links = (int) v;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (o->data == NULL || *o->data == 0) {
        fprintf(stderr, "weftd: --data DIR is required\n%s", usage);
        return 2;
    }
    return -1;
}

/* lock_dir takes DIR/weftd.lock; a second node on DIR is refused. */
static weft_err
lock_dir(node *n, weft_diag *d)
{
    char path[4200];
    char pid[32];
    int  fd, k;

    snprintf(path, sizeof(path), "%s/weftd.lock", n->dir);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return weft_diagf(d, WEFT_EIO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        k = (int) read(fd, pid, sizeof(pid) - 1);
        pid[k > 0 ? k : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        return weft_diagf(d, WEFT_ELOCKED,
            "%s is in use by another weftd "
            "(pid %s); stop it first",
            n->dir, pid[0] ? pid : "unknown");
    }
    n->lock_fd = fd;
    return WEFT_OK;
}

/* record_pid writes our pid into the lock file, once the start is sure. */
static void
record_pid(node *n)
{
    char pid[32];
    int  k = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());

    if (ftruncate(n->lock_fd, 0) != 0
        || pwrite(n->lock_fd, pid, (size_t) k, 0) != k)
        log_msg(LOG_WARN, "%s/weftd.lock: cannot record the pid", n->dir);
}

/* meta_domain reads the stored domain into out ("" on a new store). */
static weft_err
meta_domain(node *n, char *out, size_t outsz, uint8_t pk[32], bool *has_pk)
{
    store_txn *t;
    store_val  v;
    weft_err   err;

    *out = 0;
    *has_pk = false;
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    if (store_get(t, STORE_META, "domain", 6, &v) == WEFT_OK && v.n < outsz) {
        memcpy(out, v.p, v.n);
        out[v.n] = 0;
    }
    if (store_get(t, STORE_META, "key", 3, &v) == WEFT_OK && v.n == 32) {
        memcpy(pk, v.p, 32);
        *has_pk = true;
    }
    store_abort(t);
    return WEFT_OK;
}

static weft_err
meta_init(node *n)
{
    store_txn *t;
    uint8_t    now[8], never[8];
    weft_err   err;

    store_u64_be(now, (uint64_t) time(NULL));
    /* Nothing of this domain to renew yet (catalog.c, "renew_due"). */
    store_u64_be(never, (uint64_t) INT64_MAX);
    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        return err;
    if ((err = store_put(
             t, STORE_META, "domain", 6, n->domain, strlen(n->domain)))
        || (err
            = store_put(t, STORE_META, "key", 3, crypto_key_public(n->key), 32))
        || (err = store_put(t, STORE_META, "created", 7, now, 8))
        || (err = store_put(t, STORE_META, "schema", 6, CATALOG_SCHEMA,
                strlen(CATALOG_SCHEMA)))
        || (err = store_put(t, STORE_META, "renew_due", 9, never, 8))
        || (err = store_put(t, STORE_DKEY, n->domain, strlen(n->domain),
                crypto_key_public(n->key), 32))) {
        store_abort(t);
        return err;
    }
    return store_commit(t);
}

/* look reads the stored domain and key of an existing store without
 * changing any file ("" when DIR holds no store yet). */
static weft_err
look(node *n, char *stored, size_t sz, uint8_t pk[32], bool *has_pk,
    weft_diag *d)
{
    char        path[4200];
    struct stat sb;
    weft_err    err;

    *stored = 0;
    *has_pk = false;
    snprintf(path, sizeof(path), "%s/data.mdb", n->dir);
    if (stat(path, &sb) != 0)
        return WEFT_OK;
    if ((err = store_open(n->dir, STORE_MAPSIZE_DEFAULT, true, &n->st, d)))
        return err;
    err = meta_domain(n, stored, sz, pk, has_pk);
    store_close(n->st);
    n->st = NULL;
    return err ? weft_diagf(d, err, "store: %s", weft_strerror(err)) : err;
}

/*
 * identity loads the key and store, or creates them on first start. Every
 * check comes first, with nothing opened for writing; the first write
 * happens only once they all pass.
 */
static weft_err
identity(node *n, const char *want, weft_diag *d)
{
    char        skp[4200], pkp[4200], stored[WEFT_DOMAIN_MAX + 1];
    uint8_t     mpk[32];
    bool        has_pk, fresh;
    struct stat sb;
    weft_err    err;

    snprintf(skp, sizeof(skp), "%s/domain.key", n->dir);
    snprintf(pkp, sizeof(pkp), "%s/domain.pub", n->dir);
    fresh = stat(skp, &sb) != 0 && errno == ENOENT;
    if (!fresh && (err = crypto_key_load(skp, &n->key, d)) != WEFT_OK)
        return err;
    if ((err = look(n, stored, sizeof(stored), mpk, &has_pk, d)))
        return err;
    if (stored[0] && want && strcmp(stored, want) != 0)
        return weft_diagf(d, WEFT_EDOMAIN,
            "%s belongs to domain '%s', not '%s'; a node's domain never "
            "changes",
            n->dir, stored, want);
    if (stored[0] && fresh)
        return weft_diagf(d, WEFT_EKEY,
            "%s is missing but the store belongs to domain '%s': restore the "
            "key file",
            skp, stored);
    if (!stored[0] && !want)
        return weft_diagf(d, WEFT_EINVAL,
            "%s is a new data directory: give --domain NAME on first start",
            n->dir);
    if (has_pk && memcmp(mpk, crypto_key_public(n->key), 32) != 0)
        return weft_diagf(d, WEFT_EKEY,
            "%s does not belong to this store's domain '%s'", skp, stored);
    snprintf(n->domain, sizeof(n->domain), "%s", stored[0] ? stored : want);
    if ((err = store_open(n->dir, STORE_MAPSIZE_DEFAULT, false, &n->st, d)))
        return err;
    store_set_mapped(n->st, n->mapped_keep);
    if (fresh) {
        if ((err = crypto_key_generate(&n->key))
            || (err = crypto_key_save(n->key, skp, pkp, n->domain, d)))
            return err;
        log_msg(LOG_INFO, "created the identity of domain '%s'", n->domain);
    }
    if (!stored[0] && (err = meta_init(n)) != WEFT_OK)
        return weft_diagf(d, err, "store: %s", weft_strerror(err));
    return WEFT_OK;
}

/*
 * watchdog ends the process if shutting down takes longer than
 * SHUTDOWN_MAX_S. Every commit is synced when it is made, so nothing is
 * lost by not closing the store; what can hang is nng closing sockets
 * with many peers (seen, rarely, with nng 1.5.2), and a supervisor must
 * not wait on that forever.
 */
#define SHUTDOWN_MAX_S 10

static void *
watchdog(void *arg)
{
    (void) arg;
    sleep(SHUTDOWN_MAX_S);
    log_msg(LOG_WARN,
        "shutdown took over %d s (nng closing sockets): "
        "exiting now; every commit was already synced",
        SHUTDOWN_MAX_S);
    _exit(0);
    return NULL;
}

/* stop_all stops what run() starts (each stop is a no-op if it did not
 * start). */
static void
stop_all(node *n)
{
    mesh_stop(n->mesh);
    http_stop(n); /* after the mesh: a get may wait on a peer */
    watch_stop(n);
    server_stop(n->srv);
    n->srv = NULL;
}

static void
on_signal(uv_signal_t *h, int sig)
{
    node     *n = h->data;
    pthread_t t;

    log_msg(LOG_INFO, "signal %d: shutting down", sig);
    if (pthread_create(&t, NULL, watchdog, NULL) == 0)
        pthread_detach(t);
    stop_all(n);
    uv_close((uv_handle_t *) &((uv_signal_t *) h)[0], NULL);
    uv_stop(h->loop);
}

/*
 * Warming: once the store has been quiet for a tick (no write commit
 * since the last one), the node maps in the pages in use, a slice per
 * loop turn so requests are served in between, when they fit under the
 * mark after a write (store_warm; --search-cache). Pages a write put in
 * the kernel's page cache, or a restart left there, are then read by
 * searches without a page fault each. A write during the warming starts
 * it over later.
 */
#define WARM_TICK_MS 500
#define WARM_SLICE   ((size_t) 4 << 20)

typedef struct warmer {
    uv_timer_t t;
    store     *st;
    uint64_t   seen;   /* the last txn id seen at a tick */
    uint64_t   warmed; /* the txn id the store was last warmed at */
    size_t     off;    /* where the warming is; 0: not warming */
} warmer;

static void
warm_cb(uv_timer_t *h)
{
    warmer  *w = h->data;
    uint64_t id = store_txnid(w->st);

    if (id != w->seen) { /* written since the last tick: wait */
        w->seen = id;
        w->off = 0;
        uv_timer_start(h, warm_cb, WARM_TICK_MS, 0);
        return;
    }
    if (id != w->warmed && store_warm(w->st, &w->off, WARM_SLICE)) {
        /* The next slice on the next turn: a 0 ms timer started in its
         * own callback would run again in this pass (libuv before 1.48). */
        uv_timer_start(h, warm_cb, 1, 0);
        return;
    }
    w->warmed = id;
    w->off = 0;
    uv_timer_start(h, warm_cb, WARM_TICK_MS, 0);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
    (void) arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/*
 * remembered_listen stores --listen in the store, or without it returns
 * the url stored at an earlier start: a restart needs only DIR.
 */
static const char *
remembered_listen(node *n, const char *given, char *buf, size_t sz)
{
    store_txn *t;
    store_val  v;

    if (store_begin(n->st, given != NULL, &t) != WEFT_OK)
        return given;
    if (given != NULL) {
        if (store_put(t, STORE_META, "listen", 6, given, strlen(given))
            == WEFT_OK)
            store_commit(t);
        else
            store_abort(t);
        return given;
    }
    if (store_get(t, STORE_META, "listen", 6, &v) == WEFT_OK && v.n < sz) {
        memcpy(buf, v.p, v.n);
        buf[v.n] = 0;
        given = buf;
    }
    store_abort(t);
    return given;
}

/*
 * Renewal: this domain's summaries are signed again before they expire
 * (catalog_renew). Every ninetieth of --summary-ttl (from 1 s to 6 hours;
 * the first a second after the start) the node checks whether anything
 * may be due; if so a pass walks the domain's current summaries in turns
 * of RENEW_SCAN a few milliseconds apart, so the loop is never held long. What
 * is renewed goes to the peers as a publish does; the pages a turn read
 * are let go as after any walk.
 */
#define RENEW_SCAN    4096
#define RENEW_TURN_MS 5

typedef struct renewer {
    uv_timer_t t;
    node      *n;
    renew_pass pass;
    uint64_t   every_ms;
} renewer;

static void
renew_cb(uv_timer_t *h)
{
    renewer *r = h->data;
    size_t   done = 0;
    weft_err err;

    err = catalog_renew(
        r->n, (int64_t) time(NULL), &r->pass, RENEW_SCAN, &done);
    if (err != WEFT_OK)
        log_msg(LOG_WARN, "renewing summaries: %s (tried again later)",
            weft_strerror(err));
    if (done > 0) {
        log_msg(LOG_INFO, "signed %zu summar%s again before expiry", done,
            done == 1 ? "y" : "ies");
        mesh_announce(r->n);
    }
    store_trim(r->n->st, r->n->mapped_keep);
    uv_timer_start(
        h, renew_cb, r->pass.from[0] ? RENEW_TURN_MS : r->every_ms, 0);
}

/*
 * Merging: each commit that indexes products does some of the search
 * index's merging (index.c, "segments"); what is left when the node has
 * nothing else to do is done here in turns, MERGE_TURN_MS apart, checked
 * for every MERGE_TICK_MS.
 */
#define MERGE_TICK_MS  250
#define MERGE_TURN_MS  2
#define MERGE_RETRY_MS 30000 /* after a failure (logged) */

static void
merge_cb(uv_timer_t *h)
{
    static bool copied; /* a bulk copy ended: hand its memory back */
    node       *n = h->data;
    bool        more = false;
    weft_err    err;

    /* A bulk copy under way: its commits leave the merging for after. */
    if (weft_now_us() / 1000 < n->copying_ms) {
        uv_timer_start(h, merge_cb, MERGE_TICK_MS, 0);
        return;
    }
    if (n->copying_ms != 0) {
        n->copying_ms = 0;
        copied = true;
    }
    err = index_merge(n, &more);

    if (err != WEFT_OK)
        log_msg(LOG_WARN, "merging the search index: %s (tried again in %d s)",
            weft_strerror(err), MERGE_RETRY_MS / 1000);
    /* The copy's rings, replies and transactions were freed into the
     * helpers' arenas and kept there (M_TRIM_THRESHOLD): a node that
     * has taken in a catalog goes back to its quiet size once merged. */
    if (copied && !more) {
        malloc_trim(0);
        copied = false;
    }
    uv_timer_start(h, merge_cb,
        err != WEFT_OK ? MERGE_RETRY_MS
            : more     ? MERGE_TURN_MS
                       : MERGE_TICK_MS,
        0);
}

/* run_failed says why run() could not start, stops what it started,
 * lets the handles close, and is run()'s exit code. */
static int
run_failed(node *n, uv_loop_t *loop, const weft_diag *d)
{
    log_msg(LOG_ERROR, "%s", d->msg);
    stop_all(n);
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
}

static int
run(node *n, uv_loop_t *loop, const opts *o)
{
    const char *listen;
    char        stored[512];
    uv_signal_t sigs[2];
    int         signums[2] = { SIGINT, SIGTERM };
    weft_diag   d = { "" };
    char        url[4200];
    warmer      warm = { .st = n->st, .seen = UINT64_MAX };
    renewer     renew = { .n = n };
    uv_timer_t  merge;
    uint64_t    every = (uint64_t) n->summary_ttl * 1000 / 90;

    snprintf(url, sizeof(url), "ipc://%s/weft.sock", n->dir);
    if (watch_start(n, loop) != WEFT_OK
        || server_start(
               n, loop, url, WEFT_MSG_MAX, false, ops_handle, &n->srv, &d)
            != WEFT_OK)
        return run_failed(n, loop, &d);
    listen = remembered_listen(n, o->listen, stored, sizeof(stored));
    if ((listen != NULL || o->npeers > 0)
        && mesh_start(n, loop, listen, o->peers, o->npeers,
               o->interval_ms ? o->interval_ms : 1000, o->head_ms, o->links, &d)
            != WEFT_OK)
        return run_failed(n, loop, &d);
    if (o->http[0] && http_start(n, loop, o->http, &d) != WEFT_OK)
        return run_failed(n, loop, &d);
    for (int i = 0; i < 2; i++) {
        uv_signal_init(loop, &sigs[i]);
        sigs[i].data = n;
        uv_signal_start(&sigs[i], on_signal, signums[i]);
    }
    uv_timer_init(loop, &warm.t);
    warm.t.data = &warm;
    uv_timer_start(&warm.t, warm_cb, WARM_TICK_MS, 0);
    renew.every_ms = every < 1000 ? 1000 : every > 21600000 ? 21600000 : every;
    uv_timer_init(loop, &renew.t);
    renew.t.data = &renew;
    uv_timer_start(&renew.t, renew_cb, 1000, 0);
    uv_timer_init(loop, &merge);
    merge.data = n;
    uv_timer_start(&merge, merge_cb, MERGE_TICK_MS, 0);
    log_msg(LOG_INFO, "domain '%s' ready (data %s)", n->domain, n->dir);
    uv_run(loop, UV_RUN_DEFAULT);
    /* Close whatever is left (the other signal handle) and let the close
     * callbacks run. */
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

int
main(int argc, char **argv)
{
    node      n = { .lock_fd = -1 };
    opts      o = { 0 };
    weft_diag d = { "" };
    uv_loop_t loop;
    int       rc;

    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        printf("weftd %s\n", WEFT_VERSION);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc >= 2
                && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))
            ? 0
            : 2;
    }
    if ((rc = parse(argc - 1, argv + 1, &o)) >= 0)
        return rc;
    if (o.domain && !proto_domain_ok(o.domain)) {
        fprintf(stderr,
            "weftd: --domain '%s': use 1-%d characters of a-z, "
            "0-9, '-', '.', '_', starting with a letter or digit\n",
            o.domain, WEFT_DOMAIN_MAX);
        return 2;
    }
    umask(077);
    /* A peer that hangs up before its reply is written must not kill
     * the node: writes to it fail with EPIPE instead (server.c). */
    signal(SIGPIPE, SIG_IGN);
    /* Publishing churns through per-document buffers; keep freed memory
     * for reuse instead of returning it to the kernel and faulting it back
     * in for the next document. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    /* A new directory needs a domain: refuse before creating anything. */
    if (o.domain == NULL && access(o.data, F_OK) != 0 && errno == ENOENT) {
        fprintf(stderr,
            "weftd: %s does not exist: give --domain NAME to create a new "
            "node there\n",
            o.data);
        return 1;
    }
    if (mkdir(o.data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "weftd: %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    if (realpath(o.data, n.dir) == NULL) {
        fprintf(stderr, "weftd: %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    n.started = (int64_t) time(NULL);
    n.search_keep = o.search_mib ? o.search_mib << 20 : STORE_MAPPED_SEARCH_MAX;
    n.mapped_keep = o.search_mib ? o.search_mib << 20 : STORE_MAPPED_MAX;
    n.domain_max = o.domain_max ? o.domain_max : DOMAIN_MAX_DEFAULT;
    n.summary_ttl = o.summary_ttl ? o.summary_ttl : PROTO_SUMMARY_TTL;
    n.renew_low = INT64_MAX;
    rc = 1;
    if (crypto_init() != WEFT_OK)
        log_msg(LOG_ERROR, "libsodium failed to initialize");
    else if (lock_dir(&n, &d) != WEFT_OK || identity(&n, o.domain, &d)
        || (catalog_upgrade(&n) != WEFT_OK
            && weft_diagf(&d, WEFT_ESTORE,
                "cannot upgrade the store to schema %s", CATALOG_SCHEMA))
        || (catalog_counts_init(&n) != WEFT_OK
            && weft_diagf(&d, WEFT_ESTORE, "cannot count the catalog"))
        || (index_check(&n, o.reindex) != WEFT_OK
            && weft_diagf(&d, WEFT_ESTORE, "cannot build the search index"))
        || gov_start(&n, (const uint8_t(*)[32]) o.gkeys, o.ngkeys,
            o.threshold ? o.threshold : 1, o.local_policy, &d))
        log_msg(LOG_ERROR, "%s", d.msg);
    else if (uv_loop_init(&loop) == 0) {
        record_pid(&n);
        rc = run(&n, &loop, &o);
        uv_loop_close(&loop);
    }
    mesh_free(n.mesh);
    gov_free(&n);
    store_close(n.st);
    crypto_key_free(n.key);
    if (n.lock_fd >= 0)
        close(n.lock_fd);
    if (rc == 0)
        log_msg(LOG_INFO, "stopped");
    return rc;
}
