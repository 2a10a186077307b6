/*
 * index.h: the search index, kept in LMDB next to the summaries it
 * indexes and changed in the same write transaction (docs/query.md,
 * "The index"). Each current product has a document number (docno),
 * given in the order products first arrive and never reused:
 *
 *   SEGN  segments, one per commit that indexed products: for each word,
 *         pair of words and POST key, the docnos (and the counts per
 *         field of a word) in blocks of varints, appended
 *   SEGM  segments made by merging others, appended
 *   POST  'v' + verdict -> docnos; 'z' + segment -> its dead docnos
 *   DOCS  docno + each field's length in words + its segment (birth)
 *   DNO   product id -> docno;  IDS  docno -> product id
 *
 * Writers: index_put for each summary that becomes current and
 * index_sev for each verdict change. A transaction's postings are
 * gathered and written as one segment when it commits, through a store
 * hook, which then does some of the merging due; index_merge does the
 * rest when the node is idle. A search reads each segment's blocks of a
 * key into bitmaps of docnos, less the segment's dead ones.
 *
 * Thread use: the loop thread (like the store), but for index_doc_new.
 */
#ifndef WEFT_INDEX_H
#define WEFT_INDEX_H

#include "node/node.h"
#include "proto/query.h"

#define INDEX_VERSION  3           /* bumped when the layout changes: rebuilt */
#define INDEX_DOCS_MAX 0x7fffffffu /* docnos */

/* A summary's words, pairs of words and POST keys, found ahead. */
typedef struct ixdoc index_doc;

/*
 * index_doc_new finds the words, pairs and keys of summary sum, on any
 * thread (the helpers that open the summaries a peer sends do it while
 * the loop thread stores the ones before). NULL when out of memory.
 */
index_doc *index_doc_new(const pv *sum);

/* index_doc_free frees d (NULL is fine). */
void index_doc_free(index_doc *d);

/*
 * index_put indexes sum as the current summary of its id in t; old is
 * the summary it replaces (NULL when the id is new to the node). pre is
 * index_doc_new(sum), or NULL to have index_put find it.
 */
weft_err index_put(
    store_txn *t, const pv *old, const pv *sum, const index_doc *pre);

/* index_sev moves id between the verdict sets (quarantined, rejected)
 * when its verdict changes from was to sev (0..3). */
weft_err index_sev(store_txn *t, const char *id, int was, int sev);

/*
 * index_check builds the index from the current summaries and verdicts
 * when the store has none or one of another INDEX_VERSION (a store from
 * before the index, or an upgrade), or always with force, in one
 * transaction, and logs it.
 */
weft_err index_check(node *n, bool force);

/*
 * index_defer has t's commits write their segments without the merging
 * due (a bulk copy, which sends more at once: the idle merger does it
 * once the copy ends), while the index has fewer than IX_SEGS_DEFER
 * (index.c) segments.
 */
weft_err index_defer(store_txn *t);

/*
 * index_merge does a turn of the index's pending merging (see index.c,
 * "segments") in a write transaction of its own; *more says whether
 * some is left. Commits do some of it as they go; this is for a node
 * with nothing else to do.
 */
weft_err index_merge(node *n, bool *more);

/* ---- reading (a search) ---------------------------------------------- */

/* One document's counts of a term in the five fields (proto/query.h). */
typedef struct ix_post {
    uint32_t doc;
    uint8_t  tf[QF_COUNT];
} ix_post;

typedef struct ix_list {
    ix_post *p;
    size_t   n, cap;
} ix_list;

/* ix_info reads the number of docnos given and the fields' total
 * lengths in words (for BM25's averages). */
weft_err ix_info(store_txn *t, uint32_t *ndocs, uint64_t len[QF_COUNT]);

/* Bitmaps of docnos: nw 64-bit words. The readers below set bits in
 * bits (which may be NULL) and, given l, append the postings to it. */
weft_err ix_word(
    store_txn *t, const char *w, uint64_t *bits, size_t nw, ix_list *l);

/* ix_pair: the documents where word b follows word a in one text. */
weft_err ix_pair(store_txn *t, const char *a, const char *b, uint64_t *bits,
    size_t nw, ix_list *l);

/* ix_prefix: every word that starts with p; l gets one posting per
 * document (the counts summed over the words), in docno order. */
weft_err ix_prefix(
    store_txn *t, const char *p, uint64_t *bits, size_t nw, ix_list *l);

/* ix_filter: the documents whose filter key (domain, owner, class, tag,
 * status, interface, format, field) has value v (case-insensitive). */
weft_err ix_filter(
    store_txn *t, const char *key, const char *v, uint64_t *bits, size_t nw);

/* ix_cmp: the documents whose quality metric compares with num. */
weft_err ix_cmp(store_txn *t, const char *metric, const char *op, double num,
    uint64_t *bits, size_t nw);

/* ix_exact: the documents whose name, id or the id's name part is,
 * word for word, joined (words joined by one space). */
weft_err ix_exact(store_txn *t, const char *joined, uint64_t *bits, size_t nw);

/* ix_verdict: the documents whose verdict is sev (2 or 3). */
weft_err ix_verdict(store_txn *t, int sev, uint64_t *bits, size_t nw);

/* ix_segments counts the index's segments, and says whether a merge
 * or the drop of merged segments is under way. */
weft_err ix_segments(store_txn *t, size_t *n, bool *merging);

/* ix_id copies the product id of doc into id (WEFT_ID_MAX + 1 bytes). */
weft_err ix_id(store_txn *t, uint32_t doc, char *id);

/* ix_doc_lens reads each field's length of docs in ascending order: c
 * remembers the run of DOCS values last lent. Zero c before the first. */
typedef struct ix_docs {
    const uint8_t *v;
    size_t         n;
} ix_docs;
weft_err ix_doc_lens(
    store_txn *t, ix_docs *c, uint32_t doc, uint16_t len[QF_COUNT]);

/* ix_by_id calls fn with the docno of each product in id order until fn
 * returns nonzero. */
weft_err ix_by_id(store_txn *t, int (*fn)(void *ctx, uint32_t doc), void *ctx);

/* ix_facet calls fn with each value of filter kind (domain, class,
 * status, interface) and how many documents in match hold it. */
weft_err ix_facet(store_txn *t, const char *key, const uint64_t *match,
    size_t nw, void (*fn)(void *ctx, const char *v, uint64_t count), void *ctx);

#endif
