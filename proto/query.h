/*
 * query.h: weft's query language (docs/query.md). A query is free words
 * (a trailing * makes a prefix), "quoted phrases", filters (domain:,
 * owner:, class:, tag:, status:, interface:, format:, field:), numeric
 * comparisons on quality (completeness>=99, accuracy>98, freshness<=1h),
 * OR, negation (-tag:legacy) and parentheses. Words side by side must all
 * match; AND binds tighter than OR.
 *
 * query_parse checks a query and builds its tree; query_match decides
 * whether a summary matches it. Both are pure functions. Text is compared
 * case-insensitively (ASCII); a word is a run of letters, digits and
 * bytes of UTF-8 sequences, so "customer_360" is the words "customer"
 * and "360" and is looked for as that phrase.
 */
#ifndef WEFT_QUERY_H
#define WEFT_QUERY_H

#include "proto/proto.h"

#define QUERY_MAX       1024 /* bytes in a query */
#define QUERY_NODES_MAX 128  /* words, filters and operators in one query */
#define QUERY_DEPTH_MAX 16   /* nested parentheses */
#define QUERY_WORD_MAX  64   /* bytes in one word */

typedef enum qkind {
    Q_AND,
    Q_OR,
    Q_NOT,
    Q_WORD,   /* text: one word */
    Q_PREFIX, /* text: the start of a word */
    Q_PHRASE, /* text: words joined by one space */
    Q_FILTER, /* key, text */
    Q_CMP     /* key (a metric), op, num */
} qkind;

/* The searchable fields of a summary, each with its own weight. */
typedef enum qfield {
    QF_NAME,
    QF_TAGS,
    QF_SCHEMAS,
    QF_FIELDS,
    QF_DESC,
    QF_COUNT
} qfield;

typedef struct qnode {
    qkind          kind;
    int            col; /* 1-based column where it starts */
    char           key[16];
    char           op[3];
    const char    *text;
    double         num;
    struct qnode **kids;
    int            nkids;
} qnode;

typedef struct query query;

/*
 * query_parse parses text into *out (malloc'd; query_free releases it).
 * An empty query (only spaces) is valid and matches everything. On an
 * error d says where: "column 14: unknown filter 'colour:' ...".
 */
weft_err query_parse(const char *text, query **out, weft_diag *d);

/* query_free releases q; NULL is a no-op. */
void query_free(query *q);

/* query_root is the tree of q (NULL for an empty query). */
const qnode *query_root(const query *q);

/* query_match reports whether summary sum matches q. */
bool query_match(const query *q, const pv *sum);

/* query_node_match reports whether summary sum matches the part n of a
 * query's tree (for a search index that checks some parts itself). */
bool query_node_match(const qnode *n, const pv *sum);

/*
 * query_tokens calls fn with each word of s (lowercased into a buffer of
 * at most QUERY_WORD_MAX bytes; longer words are cut there), in order.
 */
void query_tokens(
    const char *s, void (*fn)(void *ctx, const char *w), void *ctx);

/* query_field_text appends to list the texts of field f of summary sum
 * (one string for name and desc; one per tag, schema or field name). */
int query_field_texts(const pv *sum, qfield f, const char **out, int max);

#endif
