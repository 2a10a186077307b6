/*
 * store.c: LMDB underneath the catalog. One environment per data
 * directory, a few named tables, one transaction per operation. Writes are
 * synced at commit (no MDB_NOSYNC): when the CLI is told a publish is done,
 * it survives kill -9 and power loss.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const table_names[STORE_NTABLES] = {
    "meta",
    "dkey",
    "seq",
    "desc",
    "cur",
    "log",
    "ref",
    "verd",
    "ixseg",
    "ixmrg",
    "post",
    "docs",
    "dno",
    "ids",
};

/* The size of each value of a table of sorted duplicates (0: plain). */
static const size_t dup_sizes[STORE_NTABLES] = {
    [STORE_POST] = 4,
    [STORE_DOCS] = 20,
};

/* Tables of earlier layouts, dropped when a store is opened to write
 * ("term": the index's words before INDEX_VERSION 3). */
static const char *const retired_names[] = { "term" };
#define NRETIRED (sizeof(retired_names) / sizeof(retired_names[0]))

struct store {
    MDB_env *env;
    MDB_dbi  dbi[STORE_NTABLES];
    bool     absent[STORE_NTABLES]; /* read-only: a table made later */
    void    *map; /* where data.mdb is mapped (found in /proc/self/maps) */
    size_t   maplen;
    int      statm;  /* /proc/self/statm, kept open for store_trim */
    uint64_t mapped; /* the mark after a write; store_warm's bound */
};

/*
 * find_map finds where LMDB mapped the data file (mdb_env_info gives the
 * address only for MDB_FIXEDMAP): the mapping of the file with its inode.
 * Left NULL if not found; store_trim() then does nothing.
 */
static void
find_map(store *s)
{
    const char   *path;
    struct stat   sb;
    char          line[4608], data[4200];
    FILE         *f;
    unsigned long lo, hi, ino;

    if (mdb_env_get_path(s->env, &path) != 0) /* the directory */
        return;
    snprintf(data, sizeof(data), "%s/data.mdb", path);
    if (stat(data, &sb) != 0 || (f = fopen("/proc/self/maps", "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &ino) == 3
            && ino == (unsigned long) sb.st_ino && hi > lo
            && strstr(line, "data.mdb") != NULL) {
            s->map = (void *) lo;
            s->maplen = hi - lo;
            break;
        }
    fclose(f);
}

struct store_txn {
    store   *s;
    MDB_txn *txn;
    bool     write;
    weft_err (*flush)(store_txn *t, void *ctx);
    void (*drop)(void *ctx);
    void *ctx;
};

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older kernels say EINVAL */
#endif

/* used_len is how many bytes of the map the pages in use span. */
static size_t
used_len(store *s)
{
    MDB_envinfo info;
    MDB_stat    st;
    size_t      len;

    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return 0;
    len = (info.me_last_pgno + 1) * (size_t) st.ms_psize;
    return len > s->maplen ? s->maplen : len;
}

/*
 * store_trim drops this process's mapping of the store's pages when more
 * than max bytes of files are mapped in (the kernel maps
 * neighbours of every page touched, so a node that takes in a large
 * catalog would otherwise end up with its whole store resident). The
 * pages stay in the kernel's page cache, and the next read of one maps
 * it again: the store's read-only map holds nothing that is not in the
 * file, so a pointer into it that a reader still holds stays good (the
 * page is mapped again from the same file data on its next use).
 * Called after each write commit; it costs a read of /proc/self/statm.
 */
void
store_trim(store *s, uint64_t max)
{
    char          buf[128];
    ssize_t       got;
    unsigned long size, resident, shared = 0;
    long          pg = sysconf(_SC_PAGESIZE);
    size_t        len;

    /* One pread of the open statm: this runs after every request. */
    if (s->map == NULL || s->statm < 0
        || (got = pread(s->statm, buf, sizeof(buf) - 1, 0)) <= 0)
        return;
    buf[got] = 0;
    if (sscanf(buf, "%lu %lu %lu", &size, &resident, &shared) != 3 || pg <= 0
        || (uint64_t) shared * (uint64_t) pg <= max || (len = used_len(s)) == 0)
        return;
    len = (len + (size_t) pg - 1) / (size_t) pg * (size_t) pg;
    if (len > s->maplen)
        len = s->maplen;
    madvise(s->map, len, MADV_DONTNEED);
}

void
store_set_mapped(store *s, uint64_t max)
{
    s->mapped = max;
}

bool
store_warm(store *s, size_t *off, size_t max)
{
    long           pg = sysconf(_SC_PAGESIZE);
    size_t         used, n, np, i, run;
    unsigned char *vec;
    char          *at;

    /* Room is left for the other files mapped in (the libraries) and for
     * growth, or store_trim would undo the warming at once. */
    if (s->map == NULL || pg <= 0 || (used = used_len(s)) == 0
        || used + used / 8 + STORE_WARM_SLACK > s->mapped || *off >= used)
        return false;
    n = used - *off < max ? used - *off : max;
    np = (n + (size_t) pg - 1) / (size_t) pg;
    at = (char *) s->map + *off;
    /* Only pages the page cache holds: reading the others from the disk
     * would hold up the loop; they map in when a search reads them. */
    if ((vec = malloc(np)) == NULL || mincore(at, n, vec) != 0) {
        free(vec);
        return false;
    }
    for (i = 0; i < np; i += run) {
        for (run = 0; i + run < np && (vec[i + run] & 1) == (vec[i] & 1);)
            run++;
        if ((vec[i] & 1)
            && madvise(
                   at + i * (size_t) pg, run * (size_t) pg, MADV_POPULATE_READ)
                != 0) {
            free(vec);
            return false; /* an older kernel: pages map in as they are read */
        }
    }
    free(vec);
    *off += n;
    return *off < used;
}

uint64_t
store_txnid(store *s)
{
    MDB_envinfo info;

    return mdb_env_info(s->env, &info) == 0 ? (uint64_t) info.me_last_txnid : 0;
}

static weft_err
lmdb_err(int rc)
{
    switch (rc) {
    case 0:
        return WEFT_OK;
    case MDB_NOTFOUND:
        return WEFT_ENOTFOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return WEFT_EFULL;
    case MDB_BAD_VALSIZE:
        return WEFT_ETOOBIG;
    case ENOMEM:
        return WEFT_ENOMEM;
    default:
        return WEFT_ESTORE;
    }
}

static weft_err
open_tables(store *s, bool readonly, weft_diag *d)
{
    MDB_txn *txn;
    int      rc, i;

    if ((rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &txn))
        != 0)
        return weft_diagf(d, lmdb_err(rc), "store: %s", mdb_strerror(rc));
    for (i = 0; i < STORE_NTABLES; i++) {
        unsigned flags = dup_sizes[i] ? MDB_DUPSORT | MDB_DUPFIXED : 0;

        rc = mdb_dbi_open(txn, table_names[i],
            (readonly ? 0 : MDB_CREATE) | flags, &s->dbi[i]);
        if (rc == MDB_NOTFOUND && readonly) {
            /* A store from before this table: reads find nothing. */
            s->absent[i] = true;
            continue;
        }
        if (rc != 0) {
            mdb_txn_abort(txn);
            return weft_diagf(d, lmdb_err(rc), "store: table %s: %s",
                table_names[i], mdb_strerror(rc));
        }
    }
    for (size_t j = 0; !readonly && j < NRETIRED; j++) {
        MDB_dbi old;

        if ((rc = mdb_dbi_open(txn, retired_names[j], 0, &old)) == 0)
            rc = mdb_drop(txn, old, 1);
        if (rc != 0 && rc != MDB_NOTFOUND && rc != MDB_INCOMPATIBLE) {
            mdb_txn_abort(txn);
            return weft_diagf(d, lmdb_err(rc), "store: table %s: %s",
                retired_names[j], mdb_strerror(rc));
        }
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return weft_diagf(d, lmdb_err(rc), "store: %s", mdb_strerror(rc));
    return WEFT_OK;
}

weft_err
store_open(
    const char *dir, uint64_t mapsize, bool readonly, store **out, weft_diag *d)
{
    store   *s;
    int      rc;
    weft_err err;

    if ((s = calloc(1, sizeof(*s))) == NULL)
        return WEFT_ENOMEM;
    s->statm = -1;
    s->mapped = STORE_MAPPED_MAX;
    if ((rc = mdb_env_create(&s->env)) != 0)
        goto fail;
    if ((rc = mdb_env_set_maxdbs(s->env, STORE_NTABLES + NRETIRED)) != 0
        || (rc = mdb_env_set_mapsize(s->env, (size_t) mapsize)) != 0)
        goto fail;
    /* NOTLS: readers belong to transactions, not threads (libuv loop).
     * NORDAHEAD: reads are random (a search reads a few pages of many
     * tables); without it each page fault maps its neighbours too, which
     * costs a fault's time here and fills the mapping store_trim bounds.
     * A read-only look uses NOLOCK so that not even lock.mdb changes. */
    if ((rc = mdb_env_open(s->env, dir,
             MDB_NOTLS | MDB_NORDAHEAD
                 | (readonly ? MDB_RDONLY | MDB_NOLOCK : 0),
             0600))
        != 0)
        goto fail;
    if ((err = open_tables(s, readonly, d)) != WEFT_OK) {
        store_close(s);
        return err;
    }
    if (!readonly) {
        find_map(s);
        s->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    }
    *out = s;
    return WEFT_OK;
fail:
    weft_diagf(d, lmdb_err(rc), "store: %s: %s", dir, mdb_strerror(rc));
    mdb_env_close(s->env);
    free(s);
    return lmdb_err(rc);
}

void
store_close(store *s)
{
    if (s == NULL)
        return;
    if (s->statm >= 0)
        close(s->statm);
    mdb_env_close(s->env);
    free(s);
}

weft_err
store_begin(store *s, bool write, store_txn **out)
{
    store_txn *t;
    int        rc;

    if ((t = calloc(1, sizeof(*t))) == NULL)
        return WEFT_ENOMEM;
    t->s = s;
    t->write = write;
    rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != 0) {
        free(t);
        return lmdb_err(rc);
    }
    *out = t;
    return WEFT_OK;
}

void
store_hook(store_txn *t, weft_err (*flush)(store_txn *t, void *ctx),
    void (*drop)(void *ctx), void *ctx)
{
    t->flush = flush;
    t->drop = drop;
    t->ctx = ctx;
}

void *
store_hook_ctx(store_txn *t)
{
    return t->ctx;
}

static void
unhook(store_txn *t)
{
    if (t->drop != NULL)
        t->drop(t->ctx);
    t->flush = NULL;
    t->drop = NULL;
    t->ctx = NULL;
}

weft_err
store_commit(store_txn *t)
{
    bool     write = t->write;
    store   *s = t->s;
    weft_err err;
    int      rc;

    if (t->flush != NULL && (err = t->flush(t, t->ctx)) != WEFT_OK) {
        store_abort(t);
        return err;
    }
    unhook(t);
    rc = mdb_txn_commit(t->txn);
    free(t);
    if (rc == 0 && write)
        store_trim(s, s->mapped);
    return lmdb_err(rc);
}

void
store_abort(store_txn *t)
{
    if (t == NULL)
        return;
    unhook(t);
    mdb_txn_abort(t->txn);
    free(t);
}

weft_err
store_get(
    store_txn *t, store_table tab, const void *key, size_t klen, store_val *out)
{
    MDB_val k = { klen, (void *) key }, v;
    int     rc;

    if (t->s->absent[tab])
        return WEFT_ENOTFOUND;
    if (klen == 0 || klen > 511)
        return WEFT_EINVAL;
    if ((rc = mdb_get(t->txn, t->s->dbi[tab], &k, &v)) != 0)
        return lmdb_err(rc);
    out->p = v.mv_data;
    out->n = v.mv_size;
    return WEFT_OK;
}

weft_err
store_put(store_txn *t, store_table tab, const void *key, size_t klen,
    const void *val, size_t n)
{
    MDB_val k = { klen, (void *) key }, v = { n, (void *) val };

    /* LMDB's default maximum key size is 511 bytes. */
    if (klen == 0 || klen > 511)
        return WEFT_EINVAL;
    return lmdb_err(mdb_put(t->txn, t->s->dbi[tab], &k, &v, 0));
}

weft_err
store_put_new(store_txn *t, store_table tab, const void *key, size_t klen,
    const void *val, size_t n)
{
    MDB_val k = { klen, (void *) key }, v = { n, (void *) val };
    int     rc;

    if (klen == 0 || klen > 511 || dup_sizes[tab] != 0)
        return WEFT_EINVAL;
    rc = mdb_put(t->txn, t->s->dbi[tab], &k, &v, MDB_NOOVERWRITE);
    return rc == MDB_KEYEXIST ? WEFT_EEXIST : lmdb_err(rc);
}

weft_err
store_append(store_txn *t, store_table tab, const void *key, size_t klen,
    const void *val, size_t n)
{
    MDB_val k = { klen, (void *) key }, v = { n, (void *) val };
    int     rc;

    if (klen == 0 || klen > 511 || dup_sizes[tab] != 0)
        return WEFT_EINVAL;
    rc = mdb_put(t->txn, t->s->dbi[tab], &k, &v, MDB_APPEND);
    return rc == MDB_KEYEXIST ? WEFT_EEXIST : lmdb_err(rc);
}

weft_err
store_del(store_txn *t, store_table tab, const void *key, size_t klen)
{
    MDB_val k = { klen, (void *) key };

    if (klen == 0 || klen > 511)
        return WEFT_EINVAL;
    return lmdb_err(mdb_del(t->txn, t->s->dbi[tab], &k, NULL));
}

/* seek_last positions c on the last key starting with prefix. */
static int
seek_last(
    MDB_cursor *c, const void *prefix, size_t plen, MDB_val *k, MDB_val *v)
{
    uint8_t up[512];
    size_t  n = plen;
    int     rc;

    if (plen == 0)
        return mdb_cursor_get(c, k, v, MDB_LAST);
    /* The key just past every key with this prefix: prefix + 1 at its end. */
    memcpy(up, prefix, plen);
    while (n > 0 && up[n - 1] == 0xff)
        n--;
    if (n == 0)
        return mdb_cursor_get(c, k, v, MDB_LAST);
    up[n - 1]++;
    k->mv_data = up;
    k->mv_size = n;
    rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(c, k, v, MDB_LAST);
    if (rc != 0)
        return rc;
    return mdb_cursor_get(c, k, v, MDB_PREV);
}

weft_err
store_each(store_txn *t, store_table tab, const void *prefix, size_t plen,
    bool reverse, store_each_fn fn, void *ctx)
{
    MDB_cursor *c;
    MDB_val     k = { plen, (void *) prefix }, v;
    int         rc, stop = 0;

    if (plen > 511)
        return WEFT_EINVAL;
    if (t->s->absent[tab])
        return WEFT_OK;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    if (reverse)
        rc = seek_last(c, prefix, plen, &k, &v);
    else
        rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        store_val kv = { k.mv_data, k.mv_size }, vv = { v.mv_data, v.mv_size };

        if (plen > 0
            && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        if ((stop = fn(ctx, kv, vv)) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (stop != 0)
        return (weft_err) stop;
    return rc == 0 || rc == MDB_NOTFOUND ? WEFT_OK : lmdb_err(rc);
}

weft_err
store_range(store_txn *t, store_table tab, const void *prefix, size_t plen,
    const void *from, size_t flen, store_each_fn fn, void *ctx)
{
    if (plen == 0)
        return WEFT_EINVAL;
    return store_keys(t, tab, prefix, plen, from, flen, fn, ctx);
}

size_t
store_dup_size(store_table tab)
{
    return dup_sizes[tab];
}

weft_err
store_dup_add(store_txn *t, store_table tab, const void *key, size_t klen,
    const void *vals, size_t n, bool append)
{
    MDB_cursor *c;
    MDB_val     k = { klen, (void *) key }, v[2];
    int         rc;

    if (dup_sizes[tab] == 0 || klen == 0 || klen > 511)
        return WEFT_EINVAL;
    if (n == 0)
        return WEFT_OK;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    /* One call puts the whole run (MDB_MULTIPLE); appended ones go at
     * the end of the key's pages without a search for each. */
    v[0].mv_size = dup_sizes[tab];
    v[0].mv_data = (void *) vals;
    v[1].mv_size = n;
    v[1].mv_data = NULL;
    rc = mdb_cursor_put(c, &k, v, MDB_MULTIPLE | (append ? MDB_APPENDDUP : 0));
    mdb_cursor_close(c);
    return lmdb_err(rc);
}

weft_err
store_dup_del(store_txn *t, store_table tab, const void *key, size_t klen,
    const void *prefix, size_t plen)
{
    MDB_cursor *c;
    MDB_val     k = { klen, (void *) key }, v;
    uint8_t     from[64] = { 0 };
    int         rc;

    if (dup_sizes[tab] == 0 || klen == 0 || klen > 511 || plen > dup_sizes[tab])
        return WEFT_EINVAL;
    memcpy(from, prefix, plen);
    v.mv_size = dup_sizes[tab];
    v.mv_data = from;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH_RANGE);
    if (rc == 0 && memcmp(v.mv_data, prefix, plen) != 0)
        rc = MDB_NOTFOUND;
    if (rc == 0)
        rc = mdb_cursor_del(c, 0);
    mdb_cursor_close(c);
    return lmdb_err(rc);
}

weft_err
store_dup_count(
    store_txn *t, store_table tab, const void *key, size_t klen, uint64_t *n)
{
    MDB_cursor *c;
    MDB_val     k = { klen, (void *) key }, v;
    size_t      cnt = 0;
    int         rc;

    *n = 0;
    if (dup_sizes[tab] == 0 || klen == 0 || klen > 511)
        return WEFT_EINVAL;
    if (t->s->absent[tab])
        return WEFT_OK;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET)) == 0
        && (rc = mdb_cursor_count(c, &cnt)) == 0)
        *n = (uint64_t) cnt;
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? WEFT_OK : lmdb_err(rc);
}

weft_err
store_dup_each(store_txn *t, store_table tab, const void *key, size_t klen,
    store_dup_fn fn, void *ctx)
{
    MDB_cursor *c;
    MDB_val     k = { klen, (void *) key }, v;
    int         rc, stop = 0;

    if (dup_sizes[tab] == 0 || klen == 0 || klen > 511)
        return WEFT_EINVAL;
    if (t->s->absent[tab])
        return WEFT_OK;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET);
    if (rc == 0)
        rc = mdb_cursor_get(c, &k, &v, MDB_GET_MULTIPLE);
    while (rc == 0) {
        if ((stop = fn(ctx, v.mv_data, v.mv_size / dup_sizes[tab])) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_MULTIPLE);
    }
    mdb_cursor_close(c);
    if (stop != 0)
        return (weft_err) stop;
    return rc == 0 || rc == MDB_NOTFOUND ? WEFT_OK : lmdb_err(rc);
}

weft_err
store_dup_seek(store_txn *t, store_table tab, const void *key, size_t klen,
    const void *from, size_t plen, const uint8_t **vals, size_t *n, size_t *at)
{
    MDB_cursor    *c;
    MDB_val        k = { klen, (void *) key }, v, page;
    uint8_t        low[64] = { 0 };
    size_t         sz = dup_sizes[tab], lo, hi;
    const uint8_t *p;
    int            rc;

    if (sz == 0 || klen == 0 || klen > 511 || plen > sz)
        return WEFT_EINVAL;
    if (t->s->absent[tab])
        return WEFT_ENOTFOUND;
    memcpy(low, from, plen);
    v.mv_size = sz;
    v.mv_data = low;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    /* The cursor lands on the value; GET_MULTIPLE lends its whole page,
     * where the value is found again by bisection. A key with one value
     * has no page of duplicates: GET_MULTIPLE leaves page as it is, the
     * value found. */
    if ((rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH_RANGE)) == 0
        && (page = v, rc = mdb_cursor_get(c, &k, &page, MDB_GET_MULTIPLE))
            == 0) {
        p = page.mv_data;
        *vals = p;
        *n = page.mv_size / sz;
        lo = 0;
        hi = *n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (memcmp(p + mid * sz, low, sz) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        *at = lo;
        if (lo == *n)
            rc = MDB_NOTFOUND; /* cannot be: the cursor found one here */
    }
    mdb_cursor_close(c);
    return lmdb_err(rc);
}

weft_err
store_keys(store_txn *t, store_table tab, const void *prefix, size_t plen,
    const void *from, size_t flen, store_each_fn fn, void *ctx)
{
    MDB_cursor *c;
    MDB_val     k = { flen, (void *) from }, v;
    int         rc, stop = 0;

    if (plen > flen || flen > 511 || memcmp(prefix, from, plen) != 0)
        return WEFT_EINVAL;
    if (t->s->absent[tab])
        return WEFT_OK;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    rc = mdb_cursor_get(c, &k, &v, flen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        store_val kv = { k.mv_data, k.mv_size }, vv = { v.mv_data, v.mv_size };

        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if ((stop = fn(ctx, kv, vv)) != 0)
            break;
        rc = mdb_cursor_get(
            c, &k, &v, dup_sizes[tab] ? MDB_NEXT_NODUP : MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (stop != 0)
        return (weft_err) stop;
    return rc == 0 || rc == MDB_NOTFOUND ? WEFT_OK : lmdb_err(rc);
}

weft_err
store_del_prefix(store_txn *t, store_table tab, const void *prefix, size_t plen,
    size_t max, size_t *n)
{
    MDB_cursor *c;
    MDB_val     k = { plen, (void *) prefix }, v;
    int         rc;

    *n = 0;
    if (plen == 0 || plen > 511)
        return WEFT_EINVAL;
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != 0)
        return lmdb_err(rc);
    /* After mdb_cursor_del the cursor stands on the next entry, which
     * MDB_NEXT then returns (LMDB's C_DEL): no search per key. */
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && *n < max && k.mv_size >= plen
        && memcmp(k.mv_data, prefix, plen) == 0) {
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
        (*n)++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? WEFT_OK : lmdb_err(rc);
}

weft_err
store_drop(store_txn *t, store_table tab)
{
    return lmdb_err(mdb_drop(t->txn, t->s->dbi[tab], 0));
}

static uint64_t
pages_of(const MDB_stat *st)
{
    return st->ms_branch_pages + st->ms_leaf_pages + st->ms_overflow_pages;
}

weft_err
store_table_bytes(store_txn *t, store_table tab, uint64_t *out)
{
    MDB_stat st;
    int      rc;

    *out = 0;
    if (t->s->absent[tab])
        return WEFT_OK;
    if ((rc = mdb_stat(t->txn, t->s->dbi[tab], &st)) != 0)
        return lmdb_err(rc);
    *out = pages_of(&st) * st.ms_psize;
    return WEFT_OK;
}

weft_err
store_dup_bytes(store_txn *t, uint64_t *out)
{
    MDB_envinfo info;
    MDB_stat    st;
    MDB_cursor *c;
    MDB_val     k, v;
    uint64_t    pages, other = 2; /* the two meta pages */
    int         rc;

    *out = 0;
    if ((rc = mdb_env_info(t->s->env, &info)) != 0
        || (rc = mdb_stat(t->txn, 0, &st)) != 0) /* the free list's tree */
        return lmdb_err(rc);
    pages = info.me_last_pgno + 1;
    other += pages_of(&st);
    if ((rc = mdb_stat(t->txn, 1, &st)) != 0) /* the table of tables */
        return lmdb_err(rc);
    other += pages_of(&st);
    /* Free pages: each free-list record is a list whose first word is
     * its length (as mdb_stat -f counts them). */
    if ((rc = mdb_cursor_open(t->txn, 0, &c)) != 0)
        return lmdb_err(rc);
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0)
        other += *(const size_t *) v.mv_data;
    mdb_cursor_close(c);
    for (int i = 0; i < STORE_NTABLES; i++) {
        if (dup_sizes[i] != 0 || t->s->absent[i])
            continue;
        if ((rc = mdb_stat(t->txn, t->s->dbi[i], &st)) != 0)
            return lmdb_err(rc);
        other += pages_of(&st);
    }
    *out = pages > other ? (pages - other) * st.ms_psize : 0;
    return WEFT_OK;
}

weft_err
store_count(store_txn *t, store_table tab, uint64_t *out)
{
    MDB_stat st;
    int      rc;

    if (t->s->absent[tab]) {
        *out = 0;
        return WEFT_OK;
    }
    rc = mdb_stat(t->txn, t->s->dbi[tab], &st);
    if (rc != 0)
        return lmdb_err(rc);
    *out = st.ms_entries;
    return WEFT_OK;
}

weft_err
store_stats(store *s, uint64_t *file_bytes, uint64_t *used_bytes)
{
    MDB_envinfo info;
    MDB_stat    st;
    const char *path;
    char        file[4096];
    struct stat sb;

    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0
        || mdb_env_get_path(s->env, &path) != 0)
        return WEFT_ESTORE;
    *used_bytes = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
    snprintf(file, sizeof(file), "%s/data.mdb", path);
    *file_bytes = stat(file, &sb) == 0 ? (uint64_t) sb.st_size : 0;
    return WEFT_OK;
}

void
store_u64_be(uint8_t p[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

uint64_t
store_be_u64(const uint8_t p[8])
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
