/*
 * store_test.c: the LMDB store. Put, get, delete, prefix walks in both
 * directions (including a prefix ending in 0xff), counts, an aborted
 * transaction leaves nothing, and committed data survives a reopen.
 * Tables of sorted duplicates: runs added (appended or not), out of
 * order appends refused, deleting by prefix, counts, runs read back,
 * seeking, key walks that skip duplicates; a commit hook whose error
 * aborts the commit.
 */
#include "store/store.h"
#include "tests/test.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct seen {
    char keys[16][16];
    int  n;
} seen;

static int
collect(void *ctx, store_val k, store_val v)
{
    seen *s = ctx;

    (void) v;
    if (s->n < 16 && k.n < 16) {
        memcpy(s->keys[s->n], k.p, k.n);
        s->keys[s->n][k.n] = 0;
    }
    s->n++;
    return 0;
}

static int
stop_at_two(void *ctx, store_val k, store_val v)
{
    return collect(ctx, k, v), ((seen *) ctx)->n == 2 ? 99 : 0;
}

static void
put(store *s, const char *k, const char *v)
{
    store_txn *t;

    CHECK(store_begin(s, true, &t) == WEFT_OK);
    CHECK(store_put(t, STORE_CUR, k, strlen(k), v, strlen(v)) == WEFT_OK);
    CHECK(store_commit(t) == WEFT_OK);
}

static void
test_walks(store *s)
{
    store_txn *t;
    seen       a = { 0 };

    put(s, "a/1", "x");
    put(s, "a/2", "y");
    put(s, "a/3", "z");
    put(s, "b/1", "w");
    put(s, "a\xff", "edge");
    put(s, "a\xff\xff", "edge2");
    CHECK(store_begin(s, false, &t) == WEFT_OK);
    CHECK(store_each(t, STORE_CUR, "a/", 2, false, collect, &a) == WEFT_OK);
    CHECK_EQ_INT(a.n, 3);
    CHECK(strcmp(a.keys[0], "a/1") == 0 && strcmp(a.keys[2], "a/3") == 0);
    memset(&a, 0, sizeof(a));
    CHECK(store_each(t, STORE_CUR, "a/", 2, true, collect, &a) == WEFT_OK);
    CHECK_EQ_INT(a.n, 3);
    CHECK(strcmp(a.keys[0], "a/3") == 0 && strcmp(a.keys[2], "a/1") == 0);
    memset(&a, 0, sizeof(a));
    CHECK(store_each(t, STORE_CUR, "a\xff", 2, true, collect, &a) == WEFT_OK);
    CHECK_EQ_INT(a.n, 2);
    memset(&a, 0, sizeof(a));
    CHECK(store_each(t, STORE_CUR, "b/", 2, true, collect, &a) == WEFT_OK);
    CHECK_EQ_INT(a.n, 1);
    memset(&a, 0, sizeof(a));
    CHECK(store_each(t, STORE_CUR, "c/", 2, false, collect, &a) == WEFT_OK);
    CHECK_EQ_INT(a.n, 0);
    memset(&a, 0, sizeof(a));
    CHECK(store_each(t, STORE_CUR, NULL, 0, false, stop_at_two, &a) == 99);
    CHECK_EQ_INT(a.n, 2);
    store_abort(t);
}

static void
test_abort_and_errors(store *s)
{
    store_txn *t;
    store_val  v;
    uint64_t   n;
    char       big[600];

    CHECK(store_begin(s, true, &t) == WEFT_OK);
    CHECK(store_put(t, STORE_META, "gone", 4, "1", 1) == WEFT_OK);
    store_abort(t);
    CHECK(store_begin(s, false, &t) == WEFT_OK);
    CHECK(store_get(t, STORE_META, "gone", 4, &v) == WEFT_ENOTFOUND);
    CHECK(store_count(t, STORE_CUR, &n) == WEFT_OK);
    CHECK_EQ_INT(n, 6);
    store_abort(t);
    memset(big, 'k', sizeof(big));
    CHECK(store_begin(s, true, &t) == WEFT_OK);
    CHECK(store_put(t, STORE_META, big, 511, "1", 1) == WEFT_OK);
    CHECK(store_put(t, STORE_META, big, 512, "1", 1) == WEFT_EINVAL);
    CHECK(store_put(t, STORE_META, big, 0, "1", 1) == WEFT_EINVAL);
    CHECK(store_del(t, STORE_META, "nope", 4) == WEFT_ENOTFOUND);
    CHECK(store_del(t, STORE_META, big, 511) == WEFT_OK);
    CHECK(store_commit(t) == WEFT_OK);
    store_abort(NULL);
}

static int
count_run(void *ctx, const uint8_t *vals, size_t n)
{
    size_t *total = ctx;

    (void) vals;
    *total += n;
    return 0;
}

static weft_err
failing_flush(store_txn *t, void *ctx)
{
    (void) ctx;
    return store_put(t, STORE_META, "hooked", 6, "1", 1) == WEFT_OK
        ? WEFT_EFULL
        : WEFT_ESTORE;
}

static int drops;

static void
count_drop(void *ctx)
{
    (void) ctx;
    drops++;
}

static void
test_dups(store *s)
{
    store_txn     *t;
    uint8_t        vals[3000 * 4];
    const uint8_t *run;
    size_t         n, at, total = 0;
    uint64_t       cnt;
    seen           a = { 0 };
    store_val      v;

    for (int i = 0; i < 3000; i++) { /* docnos 0, 2, 4, ... big-endian */
        vals[4 * i] = 0;
        vals[4 * i + 1] = 0;
        vals[4 * i + 2] = (uint8_t) ((2 * i) >> 8);
        vals[4 * i + 3] = (uint8_t) (2 * i);
    }
    CHECK_EQ_INT(store_dup_size(STORE_POST), 4);
    CHECK_EQ_INT(store_dup_size(STORE_CUR), 0);
    CHECK(store_begin(s, true, &t) == WEFT_OK);
    CHECK(
        store_dup_add(t, STORE_POST, "tgold", 5, vals, 2000, true) == WEFT_OK);
    CHECK(store_dup_add(t, STORE_POST, "tgold", 5, vals + 8000, 1000, true)
        == WEFT_OK);
    /* An append below what the key holds is refused; a plain add is not. */
    CHECK(store_dup_add(t, STORE_POST, "tgold", 5, vals, 1, true) != WEFT_OK);
    CHECK(store_dup_add(t, STORE_POST, "tsilver", 7, vals + 4, 1, false)
        == WEFT_OK);
    CHECK(store_dup_add(t, STORE_CUR, "x", 1, vals, 1, false) == WEFT_EINVAL);
    CHECK(store_dup_add(t, STORE_POST, "", 0, vals, 1, false) == WEFT_EINVAL);
    CHECK(store_dup_del(t, STORE_POST, "tgold", 5, "\0\0\0\2", 4) == WEFT_OK);
    CHECK(store_dup_del(t, STORE_POST, "tgold", 5, "\0\0\0\3", 4)
        == WEFT_ENOTFOUND);
    CHECK(store_dup_del(t, STORE_POST, "tnone", 5, "\0\0\0\0", 4)
        == WEFT_ENOTFOUND);
    CHECK(store_commit(t) == WEFT_OK);

    CHECK(store_begin(s, false, &t) == WEFT_OK);
    CHECK(store_dup_count(t, STORE_POST, "tgold", 5, &cnt) == WEFT_OK);
    CHECK_EQ_INT(cnt, 2999);
    CHECK(store_dup_count(t, STORE_POST, "tnone", 5, &cnt) == WEFT_OK);
    CHECK_EQ_INT(cnt, 0);
    CHECK(store_dup_each(t, STORE_POST, "tgold", 5, count_run, &total)
        == WEFT_OK);
    CHECK_EQ_INT(total, 2999);
    /* Seek: the first value at or above 5 is 6; none at or above 6000. */
    CHECK(
        store_dup_seek(t, STORE_POST, "tgold", 5, "\0\0\0\5", 4, &run, &n, &at)
        == WEFT_OK);
    CHECK(at < n && memcmp(run + 4 * at, "\0\0\0\6", 4) == 0);
    CHECK(store_dup_seek(
              t, STORE_POST, "tgold", 5, "\0\0\x17\x70", 4, &run, &n, &at)
        == WEFT_ENOTFOUND);
    /* A key with one value has no page of duplicates: the value itself. */
    CHECK(store_dup_seek(
              t, STORE_POST, "tsilver", 7, "\0\0\0\0", 4, &run, &n, &at)
        == WEFT_OK);
    CHECK(n == 1 && at == 0 && memcmp(run, vals + 4, 4) == 0);
    /* Keys once each, however many values they hold. */
    CHECK(store_keys(t, STORE_POST, "t", 1, "t", 1, collect, &a) == WEFT_OK);
    CHECK_EQ_INT(a.n, 2);
    CHECK(strcmp(a.keys[0], "tgold") == 0 && strcmp(a.keys[1], "tsilver") == 0);
    CHECK(store_dup_bytes(t, &cnt) == WEFT_OK && cnt > 0);
    store_abort(t);

    /* Appends: only above the table's last key; a prefix's entries go
     * at most max at a time. */
    CHECK(store_begin(s, true, &t) == WEFT_OK);
    for (int i = 0; i < 800; i++) { /* 500 "aa" then 300 "ap": pages */
        uint8_t k[6] = { 'a', i < 500 ? 'a' : 'p', 0, 0, (uint8_t) (i >> 8),
            (uint8_t) i };

        CHECK(store_append(t, STORE_SEGN, k, 6, "value", 5) == WEFT_OK);
    }
    CHECK(store_append(t, STORE_SEGN, "ap", 2, "v", 1) == WEFT_EEXIST);
    CHECK(store_append(t, STORE_SEGN, "b", 1, "v", 1) == WEFT_OK);
    CHECK(store_append(t, STORE_POST, "z", 1, "vvvv", 4) == WEFT_EINVAL);
    /* A put that must not overwrite: the value held stays. */
    CHECK(store_put_new(t, STORE_SEGN, "b", 1, "w", 1) == WEFT_EEXIST);
    CHECK(store_get(t, STORE_SEGN, "b", 1, &v) == WEFT_OK && v.n == 1
        && memcmp(v.p, "v", 1) == 0);
    CHECK(store_put_new(t, STORE_SEGN, "c", 1, "w", 1) == WEFT_OK);
    CHECK(store_del(t, STORE_SEGN, "c", 1) == WEFT_OK);
    CHECK(store_put_new(t, STORE_POST, "z", 1, "vvvv", 4) == WEFT_EINVAL);
    CHECK(store_del_prefix(t, STORE_SEGN, "ap", 2, 120, &n) == WEFT_OK);
    CHECK_EQ_INT(n, 120);
    CHECK(store_del_prefix(t, STORE_SEGN, "ap", 2, 1000, &n) == WEFT_OK);
    CHECK_EQ_INT(n, 180);
    CHECK(store_del_prefix(t, STORE_SEGN, "ap", 2, 1000, &n) == WEFT_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(store_get(t, STORE_SEGN, "b", 1, &v) == WEFT_OK);
    CHECK(store_count(t, STORE_SEGN, &cnt) == WEFT_OK);
    CHECK_EQ_INT(cnt, 501); /* the "aa" ones and "b" */
    store_abort(t);

    /* A hook's error aborts the commit: nothing it or the txn did stays. */
    drops = 0;
    CHECK(store_begin(s, true, &t) == WEFT_OK);
    CHECK(store_put(t, STORE_META, "before", 6, "1", 1) == WEFT_OK);
    store_hook(t, failing_flush, count_drop, NULL);
    CHECK(store_commit(t) == WEFT_EFULL);
    CHECK_EQ_INT(drops, 1);
    CHECK(store_begin(s, false, &t) == WEFT_OK);
    CHECK(store_get(t, STORE_META, "before", 6, &v) == WEFT_ENOTFOUND);
    CHECK(store_get(t, STORE_META, "hooked", 6, &v) == WEFT_ENOTFOUND);
    store_abort(t);
    CHECK(store_begin(s, true, &t) == WEFT_OK);
    store_hook(t, NULL, count_drop, NULL);
    store_abort(t);
    CHECK_EQ_INT(drops, 2);
}

/* A read-only look reads what is there and changes no file. */
static void
test_readonly(const char *dir)
{
    char        lock[256], sum0[64], sum1[64], cmd[300];
    store      *s;
    store_txn  *t;
    store_val   v;
    struct stat a, b;
    FILE       *f;

    snprintf(lock, sizeof(lock), "%s/lock.mdb", dir);
    snprintf(cmd, sizeof(cmd), "cat %s/*.mdb | md5sum", dir);
    CHECK(stat(lock, &a) == 0);
    f = popen(cmd, "r");
    CHECK(f && fgets(sum0, sizeof(sum0), f) != NULL);
    pclose(f);
    CHECK(store_open(dir, 64u << 20, true, &s, NULL) == WEFT_OK);
    CHECK(store_begin(s, false, &t) == WEFT_OK);
    CHECK(store_get(t, STORE_CUR, "a/1", 3, &v) == WEFT_OK);
    store_abort(t);
    CHECK(store_begin(s, true, &t) != WEFT_OK);
    store_close(s);
    CHECK(stat(lock, &b) == 0);
    CHECK(a.st_mtime == b.st_mtime && a.st_size == b.st_size);
    f = popen(cmd, "r");
    CHECK(f && fgets(sum1, sizeof(sum1), f) != NULL);
    pclose(f);
    CHECK(strcmp(sum0, sum1) == 0);
    CHECK(store_open("/nonexistent/weft", 1u << 20, true, &s, NULL) != WEFT_OK);
}

/* shared_bytes is this process's mapped file bytes (statm's third). */
static uint64_t
shared_bytes(void)
{
    unsigned long size, res, shared = 0;
    FILE         *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%lu %lu %lu", &size, &res, &shared) != 3)
            shared = 0;
        fclose(f);
    }
    return (uint64_t) shared * (uint64_t) sysconf(_SC_PAGESIZE);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* can_populate: whether this kernel knows MADV_POPULATE_READ (5.14). */
static bool
can_populate(void)
{
    long  pg = sysconf(_SC_PAGESIZE);
    void *m = mmap(
        NULL, (size_t) pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool ok;

    if (m == MAP_FAILED)
        return false;
    ok = madvise(m, (size_t) pg, MADV_POPULATE_READ) == 0;
    munmap(m, (size_t) pg);
    return ok;
}

/*
 * test_warm: store_trim lets go of the mapping past the mark, store_warm
 * maps the pages in use back in when they fit under 7/8 of it, and does
 * nothing when they do not.
 */
static void
test_warm(store *s)
{
    store_txn *t;
    uint8_t    v[3000] = { 0 };
    size_t     off = 0;
    uint64_t   low, high;
    int        slices = 0;

    /* About 12 MB of values (overflow pages). */
    CHECK(store_begin(s, true, &t) == WEFT_OK);
    for (uint32_t i = 0; i < 4000; i++) {
        uint8_t k[4] = { (uint8_t) (i >> 24), (uint8_t) (i >> 16),
            (uint8_t) (i >> 8), (uint8_t) i };

        v[0] = (uint8_t) i;
        CHECK(store_put(t, STORE_DESC, k, 4, v, sizeof(v)) == WEFT_OK);
    }
    CHECK(store_commit(t) == WEFT_OK);
    if (!can_populate()) {
        printf("store_test: no MADV_POPULATE_READ here: warming skipped\n");
        return;
    }
    store_set_mapped(s, 1u << 20); /* 1 MiB: trim drops the mapping */
    store_trim(s, 1u << 20);
    low = shared_bytes();
    CHECK(!store_warm(s, &off, 1u << 20)); /* does not fit: nothing */
    CHECK_EQ_INT(off, 0);
    CHECK(shared_bytes() < low + (2u << 20));
    store_set_mapped(s, 1u << 30);
    while (store_warm(s, &off, 1u << 20) && slices < 1000)
        slices++;
    high = shared_bytes();
    CHECK(off >= 12u << 20); /* it went through the pages in use */
    CHECK(slices >= 11);     /* a slice at a time */
    CHECK(high >= low + (10u << 20));
    CHECK(!store_warm(s, &off, 1u << 20)); /* done: nothing more */
    store_set_mapped(s, 1u << 20);
    store_trim(s, 1u << 20);
    CHECK(shared_bytes() < high - (10u << 20));
    store_set_mapped(s, STORE_MAPPED_MAX);
    CHECK(store_txnid(s) > 0);
}

int
main(void)
{
    char       dir[] = "/tmp/weft-store-test-XXXXXX";
    store     *s;
    store_txn *t;
    store_val  v;
    uint8_t    be[8];
    uint64_t   fb, ub;

    CHECK(mkdtemp(dir) != NULL);
    CHECK(store_open(dir, 64u << 20, false, &s, NULL) == WEFT_OK);
    test_walks(s);
    test_abort_and_errors(s);
    test_dups(s);
    test_warm(s);
    CHECK(store_stats(s, &fb, &ub) == WEFT_OK && fb > 0 && ub > 0);
    store_close(s);
    /* Reopen: what was committed is there. */
    CHECK(store_open(dir, 64u << 20, false, &s, NULL) == WEFT_OK);
    CHECK(store_begin(s, false, &t) == WEFT_OK);
    CHECK(store_get(t, STORE_CUR, "a/2", 3, &v) == WEFT_OK && v.n == 1
        && v.p[0] == 'y');
    store_abort(t);
    store_close(s);
    test_readonly(dir);
    store_close(NULL);
    store_u64_be(be, 0x0102030405060708ULL);
    CHECK(be[0] == 1 && be[7] == 8);
    CHECK(store_be_u64(be) == 0x0102030405060708ULL);
    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
    return test_done("store_test");
}
