/*
 * store.h: the node's LMDB environment. A handful of named tables, each a
 * plain ordered key/value map; the node decides what keys mean (see
 * node/catalog.c for the layouts). Keeping this module generic keeps LMDB
 * in one place and the catalog logic out of it.
 *
 * Thread use: one store per process, used from the libuv loop thread only.
 * Lifetime: values returned through store_val are lent by LMDB and valid
 * only until their transaction ends; copy what must outlive it. A write
 * transaction's commit is synced to disk before store_commit returns.
 */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include "util/weft.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store     store;
typedef struct store_txn store_txn;

/* The tables. Numbers are not persisted; names are (see store.c). */
typedef enum store_table {
    STORE_META = 0, /* node metadata: domain, key, schema version */
    STORE_DKEY,     /* domain name -> 32-byte public key (first seen wins) */
    STORE_SEQ,      /* domain name -> highest seq held (8 bytes, BE) */
    STORE_DESC,     /* product id, 0, seq (BE) -> descriptor, every version */
    STORE_CUR,      /* product id -> seq (BE) of its current summary, in LOG */
    STORE_LOG,      /* domain, 0, seq (BE) -> signed summary envelope */
    STORE_REF,      /* small indexes kept by the node (contract links) */
    STORE_VERD,     /* product id -> governance verdict (canonical map) */
    /* The search index (node/index.c). */
    STORE_SEGN, /* segments written by commits: postings, appended */
    STORE_SEGM, /* segments made by merging others, appended */
    STORE_POST, /* sorted duplicates: kind + value -> docno (BE4) */
    STORE_DOCS, /* sorted duplicates: "d" -> docno (BE4), lengths, birth */
    STORE_DNO,  /* product id -> docno (BE4) */
    STORE_IDS,  /* docno (BE4) -> product id */
    STORE_NTABLES
} store_table;

/* store_val is a lent byte range; see the lifetime rule above. */
typedef struct store_val {
    const uint8_t *p;
    size_t         n;
} store_val;

/* The most bytes of mapped files (the store) a node keeps resident before
 * it lets the kernel's page cache hold them alone (see store_trim). After
 * a search or another CLI request the mark is higher: a search reads the
 * same index pages again and again, and each page mapped again costs a
 * page fault (tens of microseconds in a virtual machine). weftd
 * --search-cache sets both. */
#define STORE_MAPPED_MAX        ((uint64_t) 24 << 20)
#define STORE_MAPPED_SEARCH_MAX ((uint64_t) 64 << 20)

/* Default and largest LMDB map sizes (the file grows as used). */
#define STORE_MAPSIZE_DEFAULT ((uint64_t) 8 << 30)

/*
 * store_open opens or creates the store in directory dir (data.mdb and
 * lock.mdb inside it). With readonly, it opens an existing store without
 * touching any file (no lock file either: the caller must hold its own
 * lock on dir), for a look before deciding. d says what failed.
 */
weft_err store_open(const char *dir, uint64_t mapsize, bool readonly,
    store **out, weft_diag *d);

/* store_close closes the environment; NULL is a no-op. */
void store_close(store *s);

/* store_begin starts a transaction, read-write when write is true. */
weft_err store_begin(store *s, bool write, store_txn **out);

/* store_commit commits (synced) and frees t; on failure t is aborted. */
weft_err store_commit(store_txn *t);

/* store_abort abandons and frees t; NULL is a no-op. */
void store_abort(store_txn *t);

/* store_get looks key up in table tab; WEFT_ENOTFOUND if absent. */
weft_err store_get(store_txn *t, store_table tab, const void *key, size_t klen,
    store_val *out);

/* store_put sets key to the n bytes at val in table tab. */
weft_err store_put(store_txn *t, store_table tab, const void *key, size_t klen,
    const void *val, size_t n);

/* store_put_new puts key only if tab lacks it: WEFT_EEXIST (and nothing
 * written) if it holds it already. */
weft_err store_put_new(store_txn *t, store_table tab, const void *key,
    size_t klen, const void *val, size_t n);

/* store_append puts key, which must be above every key of tab, at its
 * end (MDB_APPEND: only the last page is written); WEFT_EEXIST if not. */
weft_err store_append(store_txn *t, store_table tab, const void *key,
    size_t klen, const void *val, size_t n);

/* store_del removes key; WEFT_ENOTFOUND if it was absent. */
weft_err store_del(store_txn *t, store_table tab, const void *key, size_t klen);

/*
 * store_each_fn is called per entry; a nonzero return stops the walk and
 * is passed back by store_each as-is (it should be a weft_err).
 */
typedef int (*store_each_fn)(void *ctx, store_val key, store_val val);

/*
 * store_each walks the entries of tab whose key starts with the plen bytes
 * at prefix (all entries when plen is 0), in key order, ascending or
 * descending (reverse).
 */
weft_err store_each(store_txn *t, store_table tab, const void *prefix,
    size_t plen, bool reverse, store_each_fn fn, void *ctx);

/*
 * store_range walks the entries of tab whose key starts with prefix, from
 * the first key >= from (which itself starts with prefix), ascending.
 */
weft_err store_range(store_txn *t, store_table tab, const void *prefix,
    size_t plen, const void *from, size_t flen, store_each_fn fn, void *ctx);

/*
 * store_trim lets the kernel's page cache alone hold the store's pages
 * once more than max bytes (STORE_MAPPED_MAX) of files are mapped into this
 * process (reads map them back as needed). Cheap when under the mark;
 * store_commit calls it after each write (with store_set_mapped's mark),
 * the node after each request. Only for a store opened read-write, on the
 * thread that uses it.
 */
void store_trim(store *s, uint64_t max);

/* store_set_mapped sets the mark store_commit trims to and store_warm
 * fits under (STORE_MAPPED_MAX at open). */
void store_set_mapped(store *s, uint64_t max);

/*
 * store_warm maps in up to max bytes (a multiple of the page size) of the
 * store's pages in use, from *off on, and moves *off past them: the pages
 * of that range the kernel's page cache holds (mincore) are mapped
 * (MADV_POPULATE_READ) and cost no fault when read next; the others are
 * not read from the disk here. It does nothing unless the pages in use, plus an
 * eighth, plus STORE_WARM_SLACK, fit under store_set_mapped's mark (else they
 * would be let go again). Returns true while there is more to map.
 */
#define STORE_WARM_SLACK ((uint64_t) 8 << 20) /* the libraries' pages */
bool store_warm(store *s, size_t *off, size_t max);

/* store_txnid is the id of the last committed transaction: it moves with
 * every write. */
uint64_t store_txnid(store *s);

/*
 * Tables of sorted duplicates (POST, DOCS) keep, under each key, a
 * sorted set of values of one fixed size (store_dup_size). Values compare
 * as bytes, so big-endian numbers at their front sort by number.
 */
size_t store_dup_size(store_table tab);

/* store_dup_add adds the n values at vals (ascending) under key; with
 * append, every one of them is above all the values the key holds. */
weft_err store_dup_add(store_txn *t, store_table tab, const void *key,
    size_t klen, const void *vals, size_t n, bool append);

/* store_dup_del removes the first value under key that starts with the
 * plen bytes at prefix; WEFT_ENOTFOUND when there is none. */
weft_err store_dup_del(store_txn *t, store_table tab, const void *key,
    size_t klen, const void *prefix, size_t plen);

/* store_dup_count sets *n to the number of values under key (0 if none). */
weft_err store_dup_count(
    store_txn *t, store_table tab, const void *key, size_t klen, uint64_t *n);

/* store_dup_fn gets a run of n values (in order, lent like store_val). */
typedef int (*store_dup_fn)(void *ctx, const uint8_t *vals, size_t n);

/* store_dup_each passes every value under key to fn, a run at a time. */
weft_err store_dup_each(store_txn *t, store_table tab, const void *key,
    size_t klen, store_dup_fn fn, void *ctx);

/*
 * store_dup_seek finds the first value under key at or above the plen
 * bytes at from and lends the run of values it is in: *vals, *n, with *at
 * its position there. WEFT_ENOTFOUND when no value is that high.
 */
weft_err store_dup_seek(store_txn *t, store_table tab, const void *key,
    size_t klen, const void *from, size_t plen, const uint8_t **vals, size_t *n,
    size_t *at);

/*
 * store_keys calls fn with each distinct key of tab that starts with
 * prefix, from the first at or above from (which starts with prefix),
 * and the first value under it. A nonzero return stops the walk.
 */
weft_err store_keys(store_txn *t, store_table tab, const void *prefix,
    size_t plen, const void *from, size_t flen, store_each_fn fn, void *ctx);

/* store_del_prefix removes up to max entries of tab whose key starts
 * with prefix (the first ones), and sets *n to how many it removed. */
weft_err store_del_prefix(store_txn *t, store_table tab, const void *prefix,
    size_t plen, size_t max, size_t *n);

/* store_drop empties tab. */
weft_err store_drop(store_txn *t, store_table tab);

/*
 * store_table_bytes is the size of the pages of a plain table (not one of
 * sorted duplicates). store_dup_bytes is the size of the pages of all the
 * tables of sorted duplicates together: the pages in use less the free
 * ones and those of every other table (LMDB counts no pages of a key's
 * duplicates in the table's statistics).
 */
weft_err store_table_bytes(store_txn *t, store_table tab, uint64_t *out);
weft_err store_dup_bytes(store_txn *t, uint64_t *out);

/*
 * store_hook gives write transaction t a hook: flush runs first thing in
 * store_commit (an error from it aborts the commit and is returned), and
 * drop runs when t ends, committed or not. One hook per transaction;
 * store_hook_ctx returns its ctx (NULL when none was set).
 */
void  store_hook(store_txn *t, weft_err (*flush)(store_txn *t, void *ctx),
     void (*drop)(void *ctx), void *ctx);
void *store_hook_ctx(store_txn *t);

/* store_count returns the number of entries in tab. */
weft_err store_count(store_txn *t, store_table tab, uint64_t *out);

/* store_stats reports the data file's size and the bytes in use. */
weft_err store_stats(store *s, uint64_t *file_bytes, uint64_t *used_bytes);

/* store_u64_be writes v big-endian into 8 bytes at p (for keys). */
void store_u64_be(uint8_t p[8], uint64_t v);

/* store_be_u64 reads 8 big-endian bytes at p. */
uint64_t store_be_u64(const uint8_t p[8]);

#endif
