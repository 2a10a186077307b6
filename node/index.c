/*
 * index.c: the search index in LMDB (index.h has the tables;
 * docs/query.md, "The index", the design). What a summary puts in it,
 * under logical keys:
 *
 *   't'   each word of the name (and of the id's name part), tags, schema
 *         names, field names and description (query_tokens: lowercased,
 *         cut at QUERY_WORD_MAX), and each pair of words in a row in one
 *         text (byte 1 and "customer 360": a two-word phrase), with its
 *         count in each field (name, tags, schemas, fields up to 15,
 *         description up to 255; more saturate);
 *   'p'   'd' domain, 'o' owner, 'c' classification, 's' status, 't' tag,
 *         'i' interface, 'f' format, 'p' field: the value lowercased (a
 *         key over IX_KEY_PLAIN bytes is the kind in upper case and the
 *         value's BLAKE2b, 16 bytes); 'x' and the BLAKE2b of the words of
 *         the name, the id and the id's name part (exact matches); 'n', a
 *         metric's digit and the figure as 8 bytes that sort like the
 *         number;
 *
 * both kept in segments (below); and, in POST, 'v' and a verdict's digit
 * (2 quarantined, 3 rejected);
 *   DOCS  docno, the length in words of each field (BM25), its birth;
 *   META  "ix_version", "ix_next" (the next docno), "ix_len" (the total
 *         length of each field over every document), "ix_segs".
 */
#include "node/index.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IX_KEY_PLAIN 200 /* longer POST keys are hashed */
#define IX_TEXTS_MAX 256 /* texts per field, as query_match reads them */
#define IX_DOCS_REC  20  /* docno, 5 lengths, birth, 2 spare bytes */
/* Segments listed at most: a commit at the bound first finishes the
 * merging due. */
#define IX_SEGS_MAX 256
#define IX_FANIN    4          /* segments of one size class merged in one */
#define IX_STEP_MAX (1u << 18) /* postings read in one turn of a merge */

/* Sizes a test build (tests/index_test) makes small, to see many blocks,
 * segments and merges under way. */
#ifndef IX_BATCH_MAX
#define IX_BATCH_MAX 131072 /* postings gathered before they are written */
#endif
#ifndef IX_BLOCK
#define IX_BLOCK 960 /* bytes of postings in one value */
#endif
#ifndef IX_SEGS_SOFT
#define IX_SEGS_SOFT 24 /* more: the smallest neighbours are merged */
#endif
#ifndef IX_SEGS_DEFER
#define IX_SEGS_DEFER 128 /* segments a deferring commit leaves unmerged */
#endif
#ifndef IX_SEGS_IDLE
#define IX_SEGS_IDLE 4 /* the same, when idle */
#endif
#ifndef IX_LEVEL0
#define IX_LEVEL0 4096 /* postings of the smallest size class */
#endif
#ifndef IX_MERGE_STEP
#define IX_MERGE_STEP 65536 /* merge work per commit, besides 2 per posting */
#endif
#ifndef IX_DROP_COST
#define IX_DROP_COST 16 /* a key of a merged segment deleted, in postings */
#endif
#ifndef IX_IDLE_STEP
#define IX_IDLE_STEP 32768 /* merge work per index_merge call */
#endif

/* grow makes room for need items of size bytes at *pp (whose room is
 * *cap items), doubling from first; false, and nothing changed, when
 * out of memory. */
static bool
grow(void *pp, size_t *cap, size_t need, size_t size, size_t first)
{
    void  *p;
    size_t c = *cap ? *cap : first;

    if (need <= *cap)
        return true;
    while (c < need)
        c *= 2;
    memcpy(&p, pp, sizeof(p));
    if ((p = realloc(p, c * size)) == NULL)
        return false;
    memcpy(pp, &p, sizeof(p));
    *cap = c;
    return true;
}

static const char *const filter_keys[] = { "domain", "owner", "class", "tag",
    "status", "interface", "format", "field" };
static const char        filter_kinds[] = "doctsifp";
static const char *const metric_keys[]
    = { "completeness", "accuracy", "freshness_s" };
static const char *const metric_names[]
    = { "completeness", "accuracy", "freshness" };

static void
be32(uint8_t p[4], uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8
        | p[3];
}

static void
setbit(uint64_t *bits, size_t nw, uint32_t doc)
{
    if (bits != NULL && doc / 64 < nw)
        bits[doc / 64] |= (uint64_t) 1 << (doc % 64);
}

/* ---- what a summary puts in the index -------------------------------- */

/* A word, or two words in a row of one text: byte 1, the two joined by
 * a space (no word starts with byte 1, so pairs sort apart from words and
 * a prefix's walk over words never meets one). */
#define IX_TERM_MAX (2 * QUERY_WORD_MAX + 2)

/* A word or a pair, in the document's buffer of words. */
typedef struct tok {
    uint32_t off; /* in ixdoc.buf */
    uint8_t  f;
} tok;

typedef struct term {
    uint32_t off; /* the word or pair, in ixdoc.buf */
    uint8_t  tf[QF_COUNT];
} term;

/* A POST key: kind + value, at most 1 + IX_KEY_PLAIN bytes. */
typedef struct pkey {
    uint8_t k[IX_KEY_PLAIN + 1];
    uint8_t n;
} pkey;

typedef struct ixdoc {
    char    *buf; /* the words and pairs, each NUL-terminated */
    size_t   used, cap;
    tok     *toks; /* while analyze runs */
    size_t   ntoks, captoks;
    term    *terms;
    size_t   nterms;
    pkey    *keys; /* while analyze runs */
    size_t   nkeys, capkeys;
    uint8_t *kpack; /* then the nkeys keys, each a length byte and bytes */
    uint16_t len[QF_COUNT];
    uint8_t  field;
    int64_t  prev; /* the offset of the text's word before; -1: none */
    weft_err err;
} ixdoc;

#define TW(d, i) ((d)->buf + (d)->terms[i].off)

static void
ixdoc_free(ixdoc *d)
{
    free(d->buf);
    free(d->toks);
    free(d->terms);
    free(d->keys);
    free(d->kpack);
}

/* tok_add puts a (byte 1, a, space) b into d's buffer as a word of the
 * current field; returns its offset, -1 when out of memory. */
static int64_t
tok_add(ixdoc *d, const char *a, size_t al, const char *b, size_t bl)
{
    size_t need = (a ? al + 2 : 0) + bl + 1, off = d->used;
    char  *p;

    if (d->err)
        return -1;
    if (!grow(&d->buf, &d->cap, d->used + need, 1, 4096)
        || !grow(&d->toks, &d->captoks, d->ntoks + 1, sizeof(*d->toks), 256)) {
        d->err = WEFT_ENOMEM;
        return -1;
    }
    p = d->buf + off;
    if (a != NULL) {
        *p++ = '\001';
        memcpy(p, a, al);
        p += al;
        *p++ = ' ';
    }
    memcpy(p, b, bl + 1);
    d->used += need;
    d->toks[d->ntoks].off = (uint32_t) off;
    d->toks[d->ntoks++].f = d->field;
    return (int64_t) off;
}

/* tok_cb takes a word of the current text, and the pair it makes with
 * the word before it (a two-word phrase is looked up as that pair). */
static void
tok_cb(void *ctx, const char *w)
{
    ixdoc  *d = ctx;
    size_t  wl = strlen(w);
    int64_t off;

    if (d->len[d->field] < UINT16_MAX)
        d->len[d->field]++;
    if ((off = tok_add(d, NULL, 0, w, wl)) < 0)
        return;
    if (d->prev >= 0) {
        /* the buffer may move: copy the word before out of it first */
        char   pw[QUERY_WORD_MAX + 1];
        size_t pl = strlen(d->buf + d->prev);

        memcpy(pw, d->buf + d->prev, pl + 1);
        tok_add(d, pw, pl, w, wl);
    }
    d->prev = off;
}

/* text tokenizes one text s into d's words and pairs. */
static void
text(ixdoc *d, const char *s)
{
    d->prev = -1;
    query_tokens(s, tok_cb, d);
}

static uint32_t
str_hash(const char *w)
{
    uint32_t h = 2166136261u;

    for (; *w; w++)
        h = (h ^ (uint8_t) *w) * 16777619u;
    return h;
}

static pkey *
key_new(ixdoc *d)
{
    if (!grow(&d->keys, &d->capkeys, d->nkeys + 1, sizeof(*d->keys), 32)) {
        d->err = WEFT_ENOMEM;
        return NULL;
    }
    return &d->keys[d->nkeys++];
}

/* make_key writes kind + v (lowercased), or the hashed form, into k. */
static void
make_key(pkey *k, char kind, const char *v)
{
    size_t n = strlen(v);

    if (n <= IX_KEY_PLAIN - 1) {
        k->k[0] = (uint8_t) kind;
        for (size_t i = 0; i < n; i++)
            k->k[1 + i] = (uint8_t) tolower((unsigned char) v[i]);
        k->n = (uint8_t) (n + 1);
    } else {
        uint8_t h[CRYPTO_HASH_BYTES];
        char   *low = malloc(n + 1);

        for (size_t i = 0; low && i <= n; i++)
            low[i] = (char) tolower((unsigned char) v[i]);
        crypto_blake2b((const uint8_t *) (low ? low : v), n, h);
        free(low);
        k->k[0] = (uint8_t) toupper((unsigned char) kind);
        memcpy(k->k + 1, h, 16);
        k->n = 17;
    }
}

static void
add_key(ixdoc *d, char kind, const char *v)
{
    pkey *k;

    if (v != NULL && (k = key_new(d)) != NULL)
        make_key(k, kind, v);
}

/* The words of s joined by one space (malloc'd). */
typedef struct joinbuf {
    char  *p;
    size_t n, cap;
    bool   bad;
} joinbuf;

static void
join_cb(void *ctx, const char *w)
{
    joinbuf *j = ctx;
    size_t   l = strlen(w);

    if (!grow(&j->p, &j->cap, j->n + l + 2, 1, 256)) {
        j->bad = true;
        return;
    }
    if (j->n > 0)
        j->p[j->n++] = ' ';
    memcpy(j->p + j->n, w, l + 1);
    j->n += l;
}

static void
exact_key(pkey *k, const char *joined, size_t n)
{
    uint8_t h[CRYPTO_HASH_BYTES];

    crypto_blake2b((const uint8_t *) joined, n, h);
    k->k[0] = 'x';
    memcpy(k->k + 1, h, 16);
    k->n = 17;
}

static void
add_exact(ixdoc *d, const char *s)
{
    joinbuf j = { NULL, 0, 0, false };
    pkey   *k;

    if (s == NULL)
        return;
    query_tokens(s, join_cb, &j);
    if (j.bad)
        d->err = WEFT_ENOMEM;
    else if (j.n > 0 && (k = key_new(d)) != NULL)
        exact_key(k, j.p, j.n);
    free(j.p);
}

/* num_key encodes metric m's figure x so that keys sort like numbers. */
static void
num_key(pkey *k, int m, double x)
{
    uint64_t u;

    if (x == 0)
        x = 0; /* -0 is 0 */
    memcpy(&u, &x, 8);
    u = (u >> 63) ? ~u : u | (uint64_t) 1 << 63;
    k->k[0] = 'n';
    k->k[1] = (uint8_t) ('0' + m);
    for (int i = 0; i < 8; i++)
        k->k[2 + i] = (uint8_t) (u >> (56 - 8 * i));
    k->n = 10;
}

static int
pkey_cmp(const void *x, const void *y)
{
    const pkey *a = x, *b = y;
    int         c = memcmp(a->k, b->k, a->n < b->n ? a->n : b->n);

    return c ? c : (int) a->n - (int) b->n;
}

/* pack keeps what the index takes of d in as little memory as it fits
 * (helpers hold a sync reply's worth of documents ahead of the loop):
 * the keys packed, the words' buffer and terms cut to size, the tokens
 * gone. */
static weft_err
pack(ixdoc *d)
{
    size_t   n = 0;
    uint8_t *p;
    void    *q;

    for (size_t i = 0; i < d->nkeys; i++)
        n += 1 + (size_t) d->keys[i].n;
    if ((d->kpack = p = malloc(n ? n : 1)) == NULL)
        return d->err = WEFT_ENOMEM;
    for (size_t i = 0; i < d->nkeys; i++) {
        *p++ = d->keys[i].n;
        memcpy(p, d->keys[i].k, d->keys[i].n);
        p += d->keys[i].n;
    }
    free(d->keys);
    free(d->toks);
    d->keys = NULL;
    d->toks = NULL;
    d->capkeys = d->ntoks = d->captoks = 0;
    if (d->used > 0 && (q = realloc(d->buf, d->used)) != NULL) {
        d->buf = q;
        d->cap = d->used;
    }
    if (d->nterms > 0
        && (q = realloc(d->terms, d->nterms * sizeof(*d->terms))) != NULL)
        d->terms = q;
    return WEFT_OK;
}

/* analyze fills d with the words, counts and keys of summary sum. */
static weft_err
analyze(ixdoc *d, const pv *sum)
{
    static const char *const lists[]
        = { "tags", "ifaces", "formats", "fields" };
    static const char kinds[] = "tifp";
    const char       *texts[IX_TEXTS_MAX], *id = pv_getstr(sum, "id"), *slash;
    const pv         *q;
    size_t            i, n;

    memset(d, 0, sizeof(*d));
    slash = id ? strchr(id, '/') : NULL;
    for (int f = 0; f < QF_COUNT; f++) {
        int c = query_field_texts(sum, (qfield) f, texts, IX_TEXTS_MAX);

        d->field = (uint8_t) f;
        for (int k = 0; k < c; k++)
            text(d, texts[k]);
        if (f == QF_NAME && slash != NULL) /* the id's name part: name */
            text(d, slash + 1);
    }
    if (d->err)
        return d->err;
    /* Words: one term each with its count per field, found again through
     * a table of the document's words (their order does not matter: the
     * batch sorts its keys once for all documents). */
    if (d->ntoks > 0) {
        size_t    cap = 64;
        uint32_t *slot;

        while (cap < 2 * d->ntoks)
            cap *= 2;
        if ((d->terms = calloc(d->ntoks, sizeof(*d->terms))) == NULL
            || (slot = calloc(cap, sizeof(*slot))) == NULL)
            return d->err = WEFT_ENOMEM;
        for (i = 0; i < d->ntoks; i++) {
            const char *w = d->buf + d->toks[i].off;
            size_t      h = str_hash(w) & (cap - 1);
            term       *t;

            while (slot[h] != 0 && strcmp(TW(d, slot[h] - 1), w) != 0)
                h = (h + 1) & (cap - 1);
            if (slot[h] == 0) {
                d->terms[d->nterms].off = d->toks[i].off;
                slot[h] = (uint32_t) ++d->nterms;
            }
            t = &d->terms[slot[h] - 1];
            if (t->tf[d->toks[i].f] < 255)
                t->tf[d->toks[i].f]++;
        }
        free(slot);
    }
    /* Filter values, exact names, quality figures. */
    add_key(d, 'd', pv_getstr(sum, "domain"));
    add_key(d, 'o', pv_getstr(sum, "owner"));
    add_key(d, 'c', pv_getstr(sum, "class"));
    add_key(d, 's', pv_getstr(sum, "status"));
    for (int l = 0; l < 4; l++) {
        const pv *a = pv_get(sum, lists[l]);

        for (uint32_t k = 0; a && a->type == PV_ARR && k < a->u.a.n; k++)
            if (a->u.a.v[k]->type == PV_STR)
                add_key(d, kinds[l], a->u.a.v[k]->u.s.p);
    }
    add_exact(d, pv_getstr(sum, "name"));
    add_exact(d, id);
    if (slash != NULL)
        add_exact(d, slash + 1);
    q = pv_get(sum, "quality");
    for (int m = 0; m < 3; m++) {
        const pv *x = pv_get(q, metric_keys[m]);
        double    v;
        pkey     *k;

        if (x == NULL || (x->type != PV_INT && x->type != PV_FLOAT))
            continue;
        v = x->type == PV_INT ? (double) x->u.i : x->u.f;
        if (!isnan(v) && (k = key_new(d)) != NULL)
            num_key(k, m, v);
    }
    if (d->err)
        return d->err;
    qsort(d->keys, d->nkeys, sizeof(*d->keys), pkey_cmp);
    for (i = n = 0; i < d->nkeys; i++)
        if (n == 0 || pkey_cmp(&d->keys[n - 1], &d->keys[i]) != 0)
            d->keys[n++] = d->keys[i];
    d->nkeys = n;
    return pack(d);
}

/* ---- postings as bytes ------------------------------------------------- */

/*
 * A key's postings in one segment are cut into blocks of at most
 * IX_BLOCK bytes, each one LMDB value (inline on its page: no overflow
 * pages), under the key
 *
 *   segment number (BE4) | logical key | 0 | first docno of the block (BE4)
 *
 * where the logical key is 't' + a word or pair, or 'p' + a POST key.
 * A block is the docnos in ascending order as varints (the first whole,
 * then the gaps), each followed in 't' blocks by the counts per field
 * packed into one varint (tf_pack).
 */
#define IX_LKEY_MAX (2 + IX_KEY_PLAIN) /* 't' + a term, 'p' + a POST key */
_Static_assert(IX_TERM_MAX <= IX_KEY_PLAIN + 1, "a term fits a logical key");
#define IX_PKEY_MAX (4 + IX_LKEY_MAX + 1 + 4)

static size_t
put_var(uint8_t *p, uint32_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t) v;
    return n;
}

/* get_var reads a varint at *p (before end); false when cut or too long. */
static bool
get_var(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    uint32_t x = 0;

    for (int s = 0; s < 35 && *p < end; s += 7) {
        uint8_t b = *(*p)++;

        x |= (uint32_t) (b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* The counts per field in one number: small when a word is in one or two
 * of the commoner fields (description, field names). */
static uint32_t
tf_pack(const uint8_t tf[QF_COUNT])
{
    uint32_t c[QF_COUNT];

    for (int f = 0; f < QF_COUNT; f++)
        c[f] = tf[f] > (f == QF_DESC ? 255 : 15) ? (f == QF_DESC ? 255u : 15u)
                                                 : tf[f];
    return c[QF_DESC] | c[QF_FIELDS] << 8 | c[QF_SCHEMAS] << 12
        | c[QF_TAGS] << 16 | c[QF_NAME] << 20;
}

static void
tf_unpack(uint32_t x, uint8_t tf[QF_COUNT])
{
    tf[QF_DESC] = (uint8_t) (x & 255);
    tf[QF_FIELDS] = (uint8_t) (x >> 8 & 15);
    tf[QF_SCHEMAS] = (uint8_t) (x >> 12 & 15);
    tf[QF_TAGS] = (uint8_t) (x >> 16 & 15);
    tf[QF_NAME] = (uint8_t) (x >> 20 & 15);
}

/* pkey_of writes the physical key of segment num, logical key L, block
 * starting at doc; returns its length. */
static size_t
pkey_of(uint8_t *k, uint32_t num, const uint8_t *L, size_t nl, uint32_t doc)
{
    be32(k, num);
    memcpy(k + 4, L, nl);
    k[4 + nl] = 0;
    be32(k + 5 + nl, doc);
    return 9 + nl;
}

/* lkey_cmp orders logical keys as their blocks are ordered. */
static int
lkey_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);

    return c ? c : na < nb ? -1 : na > nb;
}

/* lkey_of finds the logical key L (at least min bytes) in a block's key
 * k: 1; 0 when k has another shape; -1 when it is longer than a logical
 * key can be (a damaged store). */
static int
lkey_of(store_val k, size_t min, const uint8_t **L, size_t *nl)
{
    if (k.n < 9 + min || k.p[k.n - 5] != 0)
        return 0;
    if (k.n - 9 > IX_LKEY_MAX)
        return -1;
    *L = k.p + 4;
    *nl = k.n - 9;
    return 1;
}

/* put_list writes the n postings p (ascending docnos) of logical key L
 * as blocks of segment num at the end of table tab. */
static weft_err
put_list(store_txn *t, store_table tab, uint32_t num, const uint8_t *L,
    size_t nl, const ix_post *p, size_t n)
{
    uint8_t  k[IX_PKEY_MAX], v[IX_BLOCK + 16];
    bool     tf = L[0] == 't';
    size_t   i = 0;
    weft_err err = WEFT_OK;

    while (err == WEFT_OK && i < n) {
        uint32_t first = p[i].doc, prev = 0;
        size_t   used = 0;

        for (; i < n && used + 10 <= IX_BLOCK; i++) {
            used += put_var(v + used, used ? p[i].doc - prev : p[i].doc);
            if (tf)
                used += put_var(v + used, tf_pack(p[i].tf));
            prev = p[i].doc;
        }
        err = store_append(t, tab, k, pkey_of(k, num, L, nl, first), v, used);
    }
    return err;
}

/* A list of postings being read: into bits (nw words) and/or the list
 * l; or counted, those in match (nw words). */
typedef struct gather {
    uint64_t       *bits;
    size_t          nw;
    ix_list        *l;
    const uint32_t *dead; /* the segment's dead docnos, ascending */
    size_t          ndead;
    const uint64_t *match;
    uint64_t        count;
} gather;

static int
list_grow(ix_list *l, size_t more)
{
    return grow(&l->p, &l->cap, l->n + more, sizeof(*l->p), 64) ? 0
                                                                : WEFT_ENOMEM;
}

static bool
is_dead(const gather *g, uint32_t doc)
{
    size_t lo = 0, hi = g->ndead;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (g->dead[mid] < doc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->ndead && g->dead[lo] == doc;
}

/* decode takes in one block v of a 't' (tf) or 'p' key. The hot loop
 * of every search: one-byte varints (most gaps, most counts) are read
 * inline, and the list gets room for the whole block at once (a posting
 * takes at least one byte, two with counts). */
static weft_err
decode(gather *g, const uint8_t *v, size_t n, bool tf)
{
    const uint8_t *p = v, *end = v + n;
    uint32_t       doc = 0, x, pack = 0;
    ix_post       *out = NULL;

    if (g->l != NULL) {
        if (list_grow(g->l, tf ? n / 2 + 1 : n))
            return WEFT_ENOMEM;
        out = g->l->p + g->l->n;
    }
    for (bool first = true; p < end; first = false) {
        if (*p < 0x80)
            x = *p++;
        else if (!get_var(&p, end, &x))
            return WEFT_ESTORE;
        if (tf) {
            if (p < end && *p < 0x80)
                pack = *p++;
            else if (!get_var(&p, end, &pack))
                return WEFT_ESTORE;
        }
        doc = first ? x : doc + x;
        if (g->ndead && is_dead(g, doc))
            continue;
        if (g->bits != NULL && doc / 64 < g->nw)
            g->bits[doc / 64] |= (uint64_t) 1 << (doc % 64);
        if (g->match != NULL && doc / 64 < g->nw
            && (g->match[doc / 64] >> (doc % 64) & 1))
            g->count++;
        if (out != NULL) {
            out->doc = doc;
            if (tf)
                tf_unpack(pack, out->tf);
            else
                memset(out->tf, 0, QF_COUNT);
            out++;
        }
    }
    if (out != NULL)
        g->l->n = (size_t) (out - g->l->p);
    return WEFT_OK;
}

/* ---- segments ---------------------------------------------------------- */

/*
 * META "ix_segs": the next segment number (BE4), whether a merge has a
 * last key merged (1 byte), that key's length (1 byte) and bytes, then
 * a record of IX_SEG_REC bytes per segment, oldest documents first.
 *
 * Each commit that indexes documents writes one new segment (STORE_SEGN)
 * and gives those documents its number as their birth (kept in DOCS).
 * A segment holds the documents born in its range [lo, hi]; a document
 * indexed again has its old postings left where they are, and its docno
 * put in the dead list of each segment holding its old birth (POST "z" +
 * the segment's number), which readers skip and merges drop.
 *
 * A merge reads IX_FANIN (or fewer) neighbouring segments (SEG_SRC) into
 * one new segment (SEG_DST, in STORE_SEGM) in turns, in logical key
 * order; readers take a key from the new segment up to the last key
 * merged, and from the old ones after it. Merged segments are then
 * SEG_GONE and their keys deleted in turns.
 */
#define IX_SEG_REC  32
#define IX_SEG_HEAD (4 + 2 + IX_LKEY_MAX)

enum { SEG_LIVE, SEG_SRC, SEG_DST, SEG_GONE };

typedef struct ixseg {
    uint32_t num, lo, hi, docs, dead;
    uint8_t  tab, role; /* tab 0: STORE_SEGN, 1: STORE_SEGM */
    uint64_t posts;
} ixseg;

typedef struct ixsegs {
    uint32_t next;
    bool     has_prog;
    uint8_t  prog[IX_LKEY_MAX]; /* the last logical key merged */
    size_t   nprog;
    ixseg    s[IX_SEGS_MAX];
    size_t   n;
} ixsegs;

static store_table
seg_table(const ixseg *s)
{
    return s->tab ? STORE_SEGM : STORE_SEGN;
}

static weft_err
segs_load(store_txn *t, ixsegs *sg)
{
    store_val v;
    weft_err  err;

    memset(sg, 0, sizeof(*sg));
    sg->next = 1;
    if ((err = store_get(t, STORE_META, "ix_segs", 7, &v)) == WEFT_ENOTFOUND)
        return WEFT_OK;
    if (err != WEFT_OK)
        return err;
    if (v.n < IX_SEG_HEAD || (v.n - IX_SEG_HEAD) % IX_SEG_REC != 0
        || (v.n - IX_SEG_HEAD) / IX_SEG_REC > IX_SEGS_MAX
        || v.p[5] > IX_LKEY_MAX)
        return WEFT_ESTORE;
    sg->next = rd32(v.p);
    sg->has_prog = v.p[4] != 0;
    sg->nprog = v.p[5];
    memcpy(sg->prog, v.p + 6, sg->nprog);
    sg->n = (v.n - IX_SEG_HEAD) / IX_SEG_REC;
    for (size_t i = 0; i < sg->n; i++) {
        const uint8_t *r = v.p + IX_SEG_HEAD + i * IX_SEG_REC;
        ixseg         *s = &sg->s[i];

        s->num = rd32(r);
        s->tab = r[4];
        s->role = r[5];
        s->lo = rd32(r + 8);
        s->hi = rd32(r + 12);
        s->posts = store_be_u64(r + 16);
        s->docs = rd32(r + 24);
        s->dead = rd32(r + 28);
        if (s->tab > 1 || s->role > SEG_GONE)
            return WEFT_ESTORE;
    }
    return WEFT_OK;
}

static weft_err
segs_save(store_txn *t, const ixsegs *sg)
{
    uint8_t v[IX_SEG_HEAD + IX_SEGS_MAX * IX_SEG_REC] = { 0 };

    be32(v, sg->next);
    v[4] = sg->has_prog;
    v[5] = (uint8_t) sg->nprog;
    memcpy(v + 6, sg->prog, sg->nprog);
    for (size_t i = 0; i < sg->n; i++) {
        uint8_t     *r = v + IX_SEG_HEAD + i * IX_SEG_REC;
        const ixseg *s = &sg->s[i];

        be32(r, s->num);
        r[4] = s->tab;
        r[5] = s->role;
        be32(r + 8, s->lo);
        be32(r + 12, s->hi);
        store_u64_be(r + 16, s->posts);
        be32(r + 24, s->docs);
        be32(r + 28, s->dead);
    }
    return store_put(
        t, STORE_META, "ix_segs", 7, v, IX_SEG_HEAD + sg->n * IX_SEG_REC);
}

/* visible: whether readers take logical key L from segment i. */
static bool
visible(const ixsegs *sg, size_t i, const uint8_t *L, size_t nl)
{
    switch (sg->s[i].role) {
    case SEG_LIVE:
        return true;
    case SEG_SRC:
        return !sg->has_prog || lkey_cmp(L, nl, sg->prog, sg->nprog) > 0;
    case SEG_DST:
        return sg->has_prog && lkey_cmp(L, nl, sg->prog, sg->nprog) <= 0;
    default:
        return false;
    }
}

static void
dead_key(uint8_t k[5], uint32_t num)
{
    k[0] = 'z';
    be32(k + 1, num);
}

/* The docnos of a dead list, read into one growing array. */
typedef struct deadl {
    uint32_t *d;
    size_t    n, cap;
} deadl;

static int
dead_cb(void *ctx, const uint8_t *vals, size_t n)
{
    deadl *l = ctx;

    if (!grow(&l->d, &l->cap, l->n + n, sizeof(*l->d), 64))
        return WEFT_ENOMEM;
    for (size_t i = 0; i < n; i++)
        l->d[l->n++] = rd32(vals + 4 * i);
    return 0;
}

/* dead_load reads segment s's dead docnos into *out (ascending). */
static weft_err
dead_load(store_txn *t, const ixseg *s, uint32_t **out, size_t *n)
{
    deadl    l = { NULL, 0, 0 };
    uint8_t  k[5];
    weft_err err = WEFT_OK;

    if (s->dead > 0) {
        dead_key(k, s->num);
        if ((err = store_dup_each(t, STORE_POST, k, 5, dead_cb, &l)))
            l.n = 0;
    }
    if (l.n == 0) {
        free(l.d);
        l.d = NULL;
    }
    *out = l.d;
    *n = l.n;
    return err;
}

/* ---- the transaction's batch ------------------------------------------- */

/*
 * The batch keeps each distinct logical key once (a hash table of its
 * keys) with the list of its postings in the order they came; at flush
 * the keys are sorted, each key's postings sorted by docno (new
 * documents come in docno order; one indexed again may not), and the
 * whole written as one new segment at the end of STORE_SEGN.
 */
typedef struct ixent {
    uint32_t next; /* the key's next posting; UINT32_MAX: none */
    uint32_t doc;
    uint8_t  tf[QF_COUNT];
} ixent;

typedef struct ixkey {
    uint32_t koff; /* in the batch's key buffer: the logical key */
    uint16_t klen;
    bool     unsorted;
    uint32_t head, tail, n, last;
} ixkey;

typedef struct redo {
    uint32_t doc, birth; /* indexed again; where its postings were */
} redo;

typedef struct ixbatch {
    uint32_t  first, next; /* docnos: the first not yet written; the next */
    uint32_t  gen;         /* the number the batch's segment will have */
    ixsegs    sg;          /* as of the transaction, with its changes */
    bool      loaded;
    int64_t   len[QF_COUNT];
    uint32_t  ndocs_all; /* documents in the batch, new or again */
    ixent    *e;
    size_t    n, cap;
    ixkey    *k;
    size_t    nk, capk;
    uint32_t *slots; /* open addressing: key index + 1; 0 free */
    size_t    nslots;
    uint8_t  *keys;
    size_t    kused, kcap;
    uint8_t  *docs; /* DOCS records of the new documents */
    size_t    ndocs, dcap;
    redo     *redo;
    size_t    nredo, capredo;
    ix_post  *run; /* one key's postings, sorted */
    size_t    runcap;
    bool      defer; /* index_defer: no merging but what a full list needs */
} ixbatch;

static int
key_cmp(const void *x, const void *y, void *ctx)
{
    const ixbatch *sort_b = ctx;
    const ixkey   *a = &sort_b->k[*(const uint32_t *) x];
    const ixkey   *b = &sort_b->k[*(const uint32_t *) y];

    return lkey_cmp(
        sort_b->keys + a->koff, a->klen, sort_b->keys + b->koff, b->klen);
}

static int
post_cmp(const void *x, const void *y)
{
    uint32_t a = ((const ix_post *) x)->doc, b = ((const ix_post *) y)->doc;

    return a < b ? -1 : a > b;
}

static uint32_t
key_hash(const uint8_t *k, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 16777619u;
    return h;
}

static void
batch_free(void *ctx)
{
    ixbatch *b = ctx;

    if (b == NULL)
        return;
    free(b->e);
    free(b->k);
    free(b->slots);
    free(b->keys);
    free(b->docs);
    free(b->redo);
    free(b->run);
    free(b);
}

static weft_err
meta_lens(store_txn *t, int64_t add[QF_COUNT])
{
    uint8_t   v[8 * QF_COUNT] = { 0 };
    store_val old;

    if (store_get(t, STORE_META, "ix_len", 6, &old) == WEFT_OK
        && old.n == sizeof(v))
        memcpy(v, old.p, sizeof(v));
    for (int f = 0; f < QF_COUNT; f++) {
        int64_t x = (int64_t) store_be_u64(v + 8 * f) + add[f];

        store_u64_be(v + 8 * f, (uint64_t) (x < 0 ? 0 : x));
    }
    return store_put(t, STORE_META, "ix_len", 6, v, sizeof(v));
}

static void
docs_val(uint8_t v[IX_DOCS_REC], uint32_t doc, const uint16_t len[QF_COUNT],
    uint32_t birth)
{
    memset(v, 0, IX_DOCS_REC);
    be32(v, doc);
    for (int f = 0; f < QF_COUNT; f++) {
        v[4 + 2 * f] = (uint8_t) (len[f] >> 8);
        v[5 + 2 * f] = (uint8_t) len[f];
    }
    be32(v + 14, birth);
}

static weft_err merge_work(
    store_txn *t, ixsegs *sg, uint64_t budget, bool idle);

/* mark_dead puts doc in the dead list of each segment that holds its
 * postings of birth. */
static weft_err
mark_dead(store_txn *t, ixsegs *sg, uint32_t doc, uint32_t birth)
{
    uint8_t  k[5], v[4];
    weft_err err = WEFT_OK;

    be32(v, doc);
    for (size_t i = 0; err == WEFT_OK && i < sg->n; i++) {
        ixseg *s = &sg->s[i];

        if (s->role == SEG_GONE || birth < s->lo || birth > s->hi)
            continue;
        dead_key(k, s->num);
        if ((err = store_dup_add(t, STORE_POST, k, 5, v, 1, false)) == WEFT_OK)
            s->dead++;
        else if (err == WEFT_EEXIST)
            err = WEFT_OK;
    }
    return err;
}

/*
 * merge_budget: the merge work a commit that wrote posts postings does.
 * Each posting is merged again once per size class it climbs (a few
 * times); the more segments there are, the more a commit does, so that
 * a long run of commits (a replica's first copy) does not pile them up.
 */
static uint64_t
merge_budget(const ixsegs *sg, uint64_t posts)
{
    return posts * (2 + sg->n / 2) + IX_MERGE_STEP;
}

/* flush writes the batch as a new segment, the new documents' records
 * and the totals, then does some of the merging due. */
static weft_err
flush(store_txn *t, void *ctx)
{
    ixbatch  *b = ctx;
    uint8_t   nx[4];
    uint32_t *order = NULL;
    uint64_t  posts = 0;
    weft_err  err = WEFT_OK;
    size_t    i;

    if (b->first == b->next && b->n == 0 && b->nredo == 0)
        return WEFT_OK;
    if (b->sg.next <= b->gen) /* the batch's number: no merge takes it */
        b->sg.next = b->gen + 1;
    /* A full list: finish the merge under way (and start one) first. */
    if (b->sg.n + 1 >= IX_SEGS_MAX
        && (err = merge_work(t, &b->sg, UINT64_MAX, false)) != WEFT_OK)
        return err;
    if (b->sg.n >= IX_SEGS_MAX)
        return WEFT_ESTORE;
    for (i = 0; err == WEFT_OK && i < b->nredo; i++)
        err = mark_dead(t, &b->sg, b->redo[i].doc, b->redo[i].birth);
    if (err == WEFT_OK && b->nk > 0
        && (order = malloc(b->nk * sizeof(*order))) == NULL)
        err = WEFT_ENOMEM;
    for (i = 0; err == WEFT_OK && i < b->nk; i++)
        order[i] = (uint32_t) i;
    if (err == WEFT_OK && b->nk > 1)
        qsort_r(order, b->nk, sizeof(*order), key_cmp, b);
    for (i = 0; err == WEFT_OK && i < b->nk; i++) {
        const ixkey *k = &b->k[order[i]];
        size_t       j = 0;

        if (!grow(&b->run, &b->runcap, k->n, sizeof(*b->run), 1024)) {
            err = WEFT_ENOMEM;
            break;
        }
        for (uint32_t e = k->head; e != UINT32_MAX; e = b->e[e].next) {
            b->run[j].doc = b->e[e].doc;
            memcpy(b->run[j++].tf, b->e[e].tf, QF_COUNT);
        }
        if (k->unsorted)
            qsort(b->run, j, sizeof(*b->run), post_cmp);
        err = put_list(
            t, STORE_SEGN, b->gen, b->keys + k->koff, k->klen, b->run, j);
        posts += j;
    }
    free(order);
    if (err == WEFT_OK && b->ndocs > 0)
        err = store_dup_add(t, STORE_DOCS, "d", 1, b->docs, b->ndocs, true);
    if (err == WEFT_OK && b->nk > 0) {
        ixseg *s = &b->sg.s[b->sg.n++];

        memset(s, 0, sizeof(*s));
        s->num = s->lo = s->hi = b->gen;
        s->posts = posts;
        s->docs = b->ndocs_all;
    }
    be32(nx, b->next);
    if (err == WEFT_OK
        && (err = store_put(t, STORE_META, "ix_next", 7, nx, 4)) == WEFT_OK
        && (err = meta_lens(t, b->len)) == WEFT_OK
        && (err = merge_work(t, &b->sg,
                b->defer && b->sg.n < IX_SEGS_DEFER
                    ? 0
                    : merge_budget(&b->sg, posts),
                false))
            == WEFT_OK)
        err = segs_save(t, &b->sg);
    b->n = 0;
    b->nk = 0;
    if (b->slots != NULL)
        memset(b->slots, 0, b->nslots * sizeof(*b->slots));
    b->kused = 0;
    b->ndocs = 0;
    b->ndocs_all = 0;
    b->nredo = 0;
    memset(b->len, 0, sizeof(b->len));
    b->first = b->next;
    b->gen = b->sg.next;
    return err;
}

static ixbatch *batch_of(store_txn *t, weft_err *err);

/* flush_new writes t's batch (made if it has none: a rebuild of an empty
 * catalog still writes the index's totals). */
static weft_err
flush_new(store_txn *t)
{
    weft_err err = WEFT_OK;
    ixbatch *b = batch_of(t, &err);

    return b == NULL ? err : flush(t, b);
}

static ixbatch *
batch_of(store_txn *t, weft_err *err)
{
    ixbatch  *b = store_hook_ctx(t);
    store_val v;

    if (b != NULL)
        return b;
    if ((b = calloc(1, sizeof(*b))) == NULL) {
        *err = WEFT_ENOMEM;
        return NULL;
    }
    if ((*err = segs_load(t, &b->sg)) != WEFT_OK) {
        free(b);
        return NULL;
    }
    if (store_get(t, STORE_META, "ix_next", 7, &v) == WEFT_OK && v.n == 4)
        b->first = b->next = rd32(v.p);
    b->gen = b->sg.next;
    store_hook(t, flush, batch_free, b);
    return b;
}

/* grow_slots doubles the hash table and puts every key in again. */
static weft_err
grow_slots(ixbatch *b)
{
    size_t    n = b->nslots ? b->nslots * 2 : 4096;
    uint32_t *s = calloc(n, sizeof(*s));

    if (s == NULL)
        return WEFT_ENOMEM;
    for (size_t i = 0; i < b->nk; i++) {
        size_t h = key_hash(b->keys + b->k[i].koff, b->k[i].klen) & (n - 1);

        while (s[h] != 0)
            h = (h + 1) & (n - 1);
        s[h] = (uint32_t) i + 1;
    }
    free(b->slots);
    b->slots = s;
    b->nslots = n;
    return WEFT_OK;
}

/* batch_add adds doc (with counts tf, or none) under logical key tab +
 * key. */
static weft_err
batch_add(ixbatch *b, char tab, const void *key, size_t klen, uint32_t doc,
    const uint8_t *tf)
{
    ixkey   *k = NULL;
    uint8_t  L[IX_LKEY_MAX];
    size_t   h, nl = klen + 1;
    weft_err err;

    if (nl > IX_LKEY_MAX)
        return WEFT_ETOOBIG;
    L[0] = (uint8_t) tab;
    memcpy(L + 1, key, klen);
    if (b->nk * 2 >= b->nslots && (err = grow_slots(b)) != WEFT_OK)
        return err;
    h = key_hash(L, nl) & (b->nslots - 1);
    for (; b->slots[h] != 0; h = (h + 1) & (b->nslots - 1)) {
        ixkey *c = &b->k[b->slots[h] - 1];

        if (c->klen == nl && memcmp(b->keys + c->koff, L, nl) == 0) {
            k = c;
            break;
        }
    }
    if (!grow(&b->e, &b->cap, b->n + 1, sizeof(*b->e), 4096))
        return WEFT_ENOMEM;
    if (k == NULL) { /* a new key */
        if (!grow(&b->k, &b->capk, b->nk + 1, sizeof(*b->k), 1024)
            || !grow(&b->keys, &b->kcap, b->kused + nl, 1, 65536))
            return WEFT_ENOMEM;
        k = &b->k[b->nk];
        memset(k, 0, sizeof(*k));
        k->koff = (uint32_t) b->kused;
        k->klen = (uint16_t) nl;
        k->head = k->tail = UINT32_MAX;
        memcpy(b->keys + b->kused, L, nl);
        b->kused += nl;
        b->slots[h] = (uint32_t) ++b->nk;
    }
    b->e[b->n].next = UINT32_MAX;
    b->e[b->n].doc = doc;
    if (tf != NULL)
        memcpy(b->e[b->n].tf, tf, QF_COUNT);
    else
        memset(b->e[b->n].tf, 0, QF_COUNT);
    if (k->tail == UINT32_MAX)
        k->head = (uint32_t) b->n;
    else {
        b->e[k->tail].next = (uint32_t) b->n;
        if (doc < k->last)
            k->unsorted = true;
    }
    k->last = doc;
    k->tail = (uint32_t) b->n++;
    k->n++;
    return WEFT_OK;
}

/* add_doc gathers the postings of document doc. */
static weft_err
add_doc(ixbatch *b, uint32_t doc, const ixdoc *d)
{
    const uint8_t *p = d->kpack;
    weft_err       err = WEFT_OK;

    for (size_t i = 0; err == WEFT_OK && i < d->nterms; i++)
        err = batch_add(
            b, 't', TW(d, i), strlen(TW(d, i)), doc, d->terms[i].tf);
    for (size_t i = 0; err == WEFT_OK && i < d->nkeys; i++, p += 1 + p[0])
        err = batch_add(b, 'p', p + 1, p[0], doc, NULL);
    if (err == WEFT_OK) {
        b->ndocs_all++;
        for (int f = 0; f < QF_COUNT; f++)
            b->len[f] += d->len[f];
    }
    return err;
}

static weft_err
docno_of(store_txn *t, const char *id, uint32_t *doc)
{
    store_val v;
    weft_err  err = store_get(t, STORE_DNO, id, strlen(id), &v);

    if (err == WEFT_OK && v.n != 4)
        err = WEFT_ESTORE;
    if (err == WEFT_OK)
        *doc = rd32(v.p);
    return err;
}

/* doc_rec reads document doc's record: its lengths and birth. */
static weft_err
doc_rec(store_txn *t, uint32_t doc, uint16_t len[QF_COUNT], uint32_t *birth)
{
    const uint8_t *vals, *r;
    uint8_t        k[4];
    size_t         n, at;
    weft_err       err;

    be32(k, doc);
    if ((err = store_dup_seek(t, STORE_DOCS, "d", 1, k, 4, &vals, &n, &at)))
        return err == WEFT_ENOTFOUND ? WEFT_ESTORE : err;
    r = vals + at * IX_DOCS_REC;
    if (rd32(r) != doc)
        return WEFT_ESTORE; /* the index and the summaries disagree */
    for (int f = 0; f < QF_COUNT; f++)
        len[f] = (uint16_t) (r[4 + 2 * f] << 8 | r[5 + 2 * f]);
    *birth = rd32(r + 14);
    return WEFT_OK;
}

/* again indexes known document doc anew: its old postings stay where
 * they are, dead from the flush on. */
static weft_err
again(store_txn *t, ixbatch *b, uint32_t doc, const ixdoc *d)
{
    uint16_t old[QF_COUNT];
    uint32_t birth;
    uint8_t  rec[IX_DOCS_REC], k[4];
    weft_err err;

    /* In the batch already (new, or again): write it out first. */
    if (doc >= b->first && doc < b->next && (err = flush(t, b)))
        return err;
    if ((err = doc_rec(t, doc, old, &birth)) != WEFT_OK)
        return err;
    if (birth == b->gen && (err = flush(t, b)))
        return err;
    if (!grow(&b->redo, &b->capredo, b->nredo + 1, sizeof(*b->redo), 64))
        return WEFT_ENOMEM;
    b->redo[b->nredo].doc = doc;
    b->redo[b->nredo++].birth = birth;
    be32(k, doc);
    if ((err = store_dup_del(t, STORE_DOCS, "d", 1, k, 4)) != WEFT_OK)
        return err;
    docs_val(rec, doc, d->len, b->gen);
    if ((err = store_dup_add(t, STORE_DOCS, "d", 1, rec, 1, false)))
        return err;
    if ((err = add_doc(b, doc, d)) != WEFT_OK)
        return err;
    for (int f = 0; f < QF_COUNT; f++)
        b->len[f] -= old[f];
    return WEFT_OK;
}

index_doc *
index_doc_new(const pv *sum)
{
    ixdoc *d = malloc(sizeof(*d));

    if (d != NULL && analyze(d, sum) != WEFT_OK) {
        ixdoc_free(d);
        free(d);
        d = NULL;
    }
    return d;
}

void
index_doc_free(index_doc *d)
{
    if (d != NULL) {
        ixdoc_free(d);
        free(d);
    }
}

weft_err
index_put(store_txn *t, const pv *old, const pv *sum, const index_doc *pre)
{
    const char  *id = pv_getstr(sum, "id");
    ixbatch     *b;
    ixdoc        mine = { 0 };
    const ixdoc *d = pre;
    uint32_t     doc;
    uint8_t      k[4];
    weft_err     err = WEFT_OK;

    if (id == NULL)
        return WEFT_EINVAL;
    if ((b = batch_of(t, &err)) == NULL)
        return err;
    if (d == NULL && (err = analyze(&mine, sum)) != WEFT_OK)
        goto done;
    if (d == NULL)
        d = &mine;
    err = docno_of(t, id, &doc);
    if (err == WEFT_OK) {
        err = old == NULL ? WEFT_ESTORE /* index and summaries disagree */
                          : again(t, b, doc, d);
        goto done;
    }
    if (err != WEFT_ENOTFOUND)
        goto done;
    if (b->next >= INDEX_DOCS_MAX) {
        err = WEFT_EFULL;
        goto done;
    }
    doc = b->next++;
    be32(k, doc);
    if ((err = store_put(t, STORE_DNO, id, strlen(id), k, 4))
        || (err = store_put(t, STORE_IDS, k, 4, id, strlen(id))))
        goto done;
    if (!grow(&b->docs, &b->dcap, b->ndocs + 1, IX_DOCS_REC, 256)) {
        err = WEFT_ENOMEM;
        goto done;
    }
    docs_val(b->docs + b->ndocs++ * IX_DOCS_REC, doc, d->len, b->gen);
    err = add_doc(b, doc, d);
done:
    ixdoc_free(&mine);
    if (err == WEFT_OK && b->n >= IX_BATCH_MAX)
        err = flush(t, b);
    return err;
}

weft_err
index_defer(store_txn *t)
{
    weft_err err = WEFT_OK;
    ixbatch *b = batch_of(t, &err);

    if (b != NULL)
        b->defer = true;
    return err;
}

weft_err
index_sev(store_txn *t, const char *id, int was, int sev)
{
    uint8_t  key[2] = { 'v', 0 }, v[4];
    uint32_t doc;
    weft_err err;

    if (was == sev || (was < 2 && sev < 2))
        return WEFT_OK;
    if ((err = docno_of(t, id, &doc)) != WEFT_OK)
        return err == WEFT_ENOTFOUND ? WEFT_OK : err; /* not indexed yet */
    be32(v, doc);
    if (was >= 2) {
        key[1] = (uint8_t) ('0' + was);
        err = store_dup_del(t, STORE_POST, key, 2, v, 4);
        if (err != WEFT_OK && err != WEFT_ENOTFOUND)
            return err;
    }
    if (sev >= 2) {
        key[1] = (uint8_t) ('0' + sev);
        return store_dup_add(t, STORE_POST, key, 2, v, 1, false);
    }
    return WEFT_OK;
}

/* ---- merging ----------------------------------------------------------- */

static weft_err merge_runs(ix_post *p, size_t n, size_t *runs, size_t nr);

/* One key of a source read in a turn: its postings are l.p[p0, p1). */
typedef struct mentry {
    uint32_t koff;
    uint16_t klen;
    size_t   p0, p1;
} mentry;

typedef struct msrc {
    const ixseg *s;
    uint32_t    *dead;
    size_t       ndead;
    uint8_t     *keys;
    size_t       kused, kcap;
    mentry      *e;
    size_t       ne, cape, at;
    ix_list      l;
    size_t       quota;
    bool         stopped; /* at a key's start: more after */
} msrc;

#define ME_KEY(m, i) ((m)->keys + (m)->e[i].koff)
#define MSRC_STOP                                                              \
    (-1) /* msrc_cb: at a key's start, enough read (no                         \
          * weft_err is negative) */

static int
msrc_cb(void *ctx, store_val k, store_val v)
{
    msrc          *m = ctx;
    const uint8_t *L;
    size_t         nl;
    gather         g = { NULL, 0, &m->l, m->dead, m->ndead, NULL, 0 };
    weft_err       err;

    if (lkey_of(k, 2, &L, &nl) != 1)
        return WEFT_ESTORE;
    if (m->ne == 0 || m->e[m->ne - 1].klen != nl
        || memcmp(ME_KEY(m, m->ne - 1), L, nl) != 0) {
        if (m->ne > 0 && m->l.n >= m->quota) {
            m->stopped = true;
            return MSRC_STOP;
        }
        if (!grow(&m->e, &m->cape, m->ne + 1, sizeof(*m->e), 256)
            || !grow(&m->keys, &m->kcap, m->kused + nl, 1, 16384))
            return WEFT_ENOMEM;
        m->e[m->ne].koff = (uint32_t) m->kused;
        m->e[m->ne].klen = (uint16_t) nl;
        m->e[m->ne].p0 = m->e[m->ne].p1 = m->l.n;
        memcpy(m->keys + m->kused, L, nl);
        m->kused += nl;
        m->ne++;
    }
    if ((err = decode(&g, v.p, v.n, L[0] == 't')) != WEFT_OK)
        return (int) err;
    m->e[m->ne - 1].p1 = m->l.n;
    return 0;
}

/* merge_step merges the next keys of the sources into the new segment:
 * about budget postings (at least one key). *used: the postings read;
 * *done once every source has been read to its end. */
static weft_err
merge_step(
    store_txn *t, ixsegs *sg, uint64_t budget, uint64_t *used, bool *done)
{
    msrc     src[IX_FANIN];
    size_t   ns = 0, dst = SIZE_MAX, nruns, *runs = NULL;
    uint8_t  from[4 + IX_LKEY_MAX + 1];
    uint8_t  last[IX_LKEY_MAX];
    size_t   nlast = 0;
    ix_list  out = { NULL, 0, 0 };
    uint64_t quota = budget < IX_STEP_MAX ? budget : IX_STEP_MAX;
    weft_err err = WEFT_OK;

    *used = 0;
    *done = false;
    memset(src, 0, sizeof(src));
    for (size_t i = 0; i < sg->n; i++) {
        if (sg->s[i].role == SEG_DST)
            dst = i;
        else if (sg->s[i].role == SEG_SRC && ns < IX_FANIN)
            src[ns++].s = &sg->s[i];
    }
    if (dst == SIZE_MAX || ns == 0) {
        *done = true;
        return WEFT_OK;
    }
    quota = quota / ns ? quota / ns : 1;
    for (size_t i = 0; err == WEFT_OK && i < ns; i++) {
        msrc  *m = &src[i];
        size_t fl = 4;
        int    rc;

        m->quota = (size_t) quota;
        if ((err = dead_load(t, m->s, &m->dead, &m->ndead)) != WEFT_OK)
            break;
        be32(from, m->s->num);
        if (sg->has_prog) { /* just past the last key merged */
            memcpy(from + 4, sg->prog, sg->nprog);
            from[4 + sg->nprog] = 1;
            fl = 5 + sg->nprog;
        }
        rc = (int) store_range(
            t, seg_table(m->s), from, 4, from, fl, msrc_cb, m);
        if (rc != 0 && rc != MSRC_STOP)
            err = (weft_err) rc;
    }
    if (err == WEFT_OK && (runs = malloc(ns * sizeof(*runs))) == NULL)
        err = WEFT_ENOMEM;
    /* Merge the keys every source has read whole: up to the least of
     * the last keys of those that stopped. */
    while (err == WEFT_OK) {
        const uint8_t *L = NULL;
        size_t         nl = 0;
        bool           past = false;

        for (size_t i = 0; i < ns; i++) {
            msrc *m = &src[i];

            if (m->at < m->ne
                && (L == NULL
                    || lkey_cmp(ME_KEY(m, m->at), m->e[m->at].klen, L, nl)
                        < 0)) {
                L = ME_KEY(m, m->at);
                nl = m->e[m->at].klen;
            }
        }
        for (size_t i = 0; L != NULL && i < ns; i++)
            if (src[i].stopped
                && lkey_cmp(L, nl, ME_KEY(&src[i], src[i].ne - 1),
                       src[i].e[src[i].ne - 1].klen)
                    > 0)
                past = true;
        if (L == NULL || past)
            break;
        out.n = 0;
        nruns = 0;
        for (size_t i = 0; i < ns; i++) {
            msrc         *m = &src[i];
            const mentry *e = &m->e[m->at];
            size_t        n;

            if (m->at >= m->ne || e->klen != nl
                || memcmp(ME_KEY(m, m->at), L, nl) != 0)
                continue;
            n = e->p1 - e->p0;
            if (n > 0) {
                if (list_grow(&out, n)) {
                    err = WEFT_ENOMEM;
                    break;
                }
                memcpy(out.p + out.n, m->l.p + e->p0, n * sizeof(*out.p));
                out.n += n;
                runs[nruns++] = out.n;
            }
            m->at++;
        }
        if (err == WEFT_OK && nruns > 1)
            err = merge_runs(out.p, out.n, runs, nruns);
        if (err == WEFT_OK && out.n > 0
            && (err = put_list(
                    t, STORE_SEGM, sg->s[dst].num, L, nl, out.p, out.n))
                == WEFT_OK)
            sg->s[dst].posts += out.n;
        memcpy(last, L, nl);
        nlast = nl;
        *used += out.n + 1;
    }
    if (err == WEFT_OK && nlast > 0) {
        sg->has_prog = true;
        memcpy(sg->prog, last, nlast);
        sg->nprog = nlast;
    }
    *done = err == WEFT_OK;
    for (size_t i = 0; i < ns; i++) {
        if (src[i].stopped || src[i].at < src[i].ne)
            *done = false;
        free(src[i].dead);
        free(src[i].keys);
        free(src[i].e);
        free(src[i].l.p);
    }
    free(runs);
    free(out.p);
    return err;
}

/* level: a segment's size class, by its live postings. */
static int
level(const ixseg *s)
{
    uint64_t live = 0, x;
    int      l = 0;

    if (s->docs > 0 && s->dead < s->docs)
        live = s->posts / s->docs * (s->docs - s->dead)
            + s->posts % s->docs * (s->docs - s->dead) / s->docs;
    for (x = live / IX_LEVEL0; x >= IX_FANIN; x /= IX_FANIN)
        l++;
    return l;
}

/*
 * choose picks the segments to merge next, [*first, *first + *count):
 * none while a merge is under way; one mostly dead, alone; else the
 * youngest IX_FANIN neighbours of one size class; else, with more than
 * IX_SEGS_SOFT segments, the IX_FANIN neighbours with the fewest postings;
 * and when idle, with more than IX_SEGS_IDLE (fewer segments, faster
 * searches), the same among neighbours of like sizes.
 */
static bool
choose(const ixsegs *sg, bool idle, size_t *first, size_t *count)
{
    size_t   n = sg->n, best = SIZE_MAX;
    uint64_t least = UINT64_MAX;
    bool     must;

    if (n >= IX_SEGS_MAX) /* no room for the new one */
        return false;
    for (size_t i = 0; i < n; i++)
        if (sg->s[i].role != SEG_LIVE)
            return false;
    for (size_t i = 0; i < n; i++)
        if (sg->s[i].docs > 0 && sg->s[i].dead > sg->s[i].docs / 2) {
            *first = i;
            *count = 1;
            return true;
        }
    if (n < IX_FANIN)
        return false;
    *count = IX_FANIN;
    for (size_t i = n - IX_FANIN + 1; i-- > 0;) {
        size_t j = i + 1;

        while (j < i + IX_FANIN && level(&sg->s[j]) == level(&sg->s[i]))
            j++;
        if (j == i + IX_FANIN) {
            *first = i;
            return true;
        }
    }
    if (n <= (idle ? IX_SEGS_IDLE : IX_SEGS_SOFT))
        return false;
    /* Past IX_SEGS_SOFT, the neighbours with the fewest postings. Idle
     * (past IX_SEGS_IDLE), the same among neighbours of like sizes: none
     * more than IX_FANIN times the others together, or a big segment
     * would be merged again with every few small ones. */
    must = n > IX_SEGS_SOFT;
    for (size_t i = 0; i + IX_FANIN <= n; i++) {
        uint64_t sum = 0, most = 0;

        for (size_t j = i; j < i + IX_FANIN; j++) {
            sum += sg->s[j].posts;
            most = sg->s[j].posts > most ? sg->s[j].posts : most;
        }
        if (!must && most > IX_FANIN * (sum - most))
            continue;
        if (sum < least) {
            least = sum;
            best = i;
        }
    }
    *first = best;
    return best != SIZE_MAX;
}

/* start makes segments [first, first + count) the sources of a merge
 * into a new segment put before them. */
static void
start(ixsegs *sg, size_t first, size_t count)
{
    ixseg d = { 0 };

    d.num = sg->next++;
    d.tab = 1;
    d.role = SEG_DST;
    d.lo = sg->s[first].lo;
    d.hi = sg->s[first + count - 1].hi;
    for (size_t i = first; i < first + count; i++) {
        sg->s[i].role = SEG_SRC;
        d.docs += sg->s[i].docs
            - (sg->s[i].dead < sg->s[i].docs ? sg->s[i].dead : sg->s[i].docs);
    }
    memmove(&sg->s[first + 1], &sg->s[first], (sg->n - first) * sizeof(d));
    sg->s[first] = d;
    sg->n++;
    sg->has_prog = false;
    sg->nprog = 0;
}

/* finish: the sources are gone, the new segment is read whole (unless
 * it came out empty: then it goes too). */
static void
finish(ixsegs *sg)
{
    for (size_t i = 0; i < sg->n; i++) {
        ixseg *s = &sg->s[i];

        if (s->role == SEG_SRC)
            s->role = SEG_GONE;
        else if (s->role == SEG_DST)
            s->role = s->posts > 0 ? SEG_LIVE : SEG_GONE;
    }
    sg->has_prog = false;
    sg->nprog = 0;
}

/* drop deletes up to max keys of gone segment i; *n: how many. Once it
 * has none left it leaves the list, with its dead list. */
static weft_err
drop(store_txn *t, ixsegs *sg, size_t i, uint64_t max, size_t *n)
{
    uint8_t  pre[4], k[5];
    size_t   cap = max < IX_STEP_MAX ? (size_t) max : IX_STEP_MAX;
    weft_err err;

    be32(pre, sg->s[i].num);
    if ((err = store_del_prefix(t, seg_table(&sg->s[i]), pre, 4, cap, n))
        != WEFT_OK)
        return err;
    if (*n >= cap)
        return WEFT_OK; /* maybe more */
    dead_key(k, sg->s[i].num);
    if ((err = store_del(t, STORE_POST, k, 5)) != WEFT_OK
        && err != WEFT_ENOTFOUND)
        return err;
    memmove(&sg->s[i], &sg->s[i + 1], (sg->n - i - 1) * sizeof(sg->s[0]));
    sg->n--;
    return WEFT_OK;
}

static bool
pending(const ixsegs *sg, bool idle)
{
    size_t first, count;

    for (size_t i = 0; i < sg->n; i++)
        if (sg->s[i].role != SEG_LIVE)
            return true;
    return choose(sg, idle, &first, &count);
}

/* merge_work does about budget postings' (or keys') worth of dropping
 * and merging in t, starting merges as they are due. */
static weft_err
merge_work(store_txn *t, ixsegs *sg, uint64_t budget, bool idle)
{
    weft_err err = WEFT_OK;

    while (err == WEFT_OK && budget > 0) {
        size_t   gone = SIZE_MAX, merging = SIZE_MAX, first, count, n = 0;
        uint64_t used = 0;
        bool     done;

        for (size_t i = 0; i < sg->n; i++)
            if (sg->s[i].role == SEG_GONE)
                gone = i;
            else if (sg->s[i].role == SEG_DST)
                merging = i;
        if (gone != SIZE_MAX) {
            /* A key deleted costs as IX_DROP_COST postings merged: it
             * copies its page into the transaction (LMDB keeps that
             * memory), as many deleted keys share a page as merged
             * postings fill one. */
            err = drop(t, sg, gone, budget / IX_DROP_COST + 1, &n);
            used = (uint64_t) n * IX_DROP_COST;
        } else if (merging != SIZE_MAX) {
            if ((err = merge_step(t, sg, budget, &used, &done)) == WEFT_OK
                && done)
                finish(sg);
        } else if (choose(sg, idle, &first, &count))
            start(sg, first, count);
        else
            break;
        budget -= used + 1 < budget ? used + 1 : budget;
    }
    return err;
}

weft_err
index_merge(node *n, bool *more)
{
    store_txn *t;
    ixsegs     sg;
    weft_err   err;

    *more = false;
    /* A look in a read transaction first: a node with nothing to merge
     * takes no writer's lock every tick. */
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    err = segs_load(t, &sg);
    store_abort(t);
    if (err != WEFT_OK || !pending(&sg, true))
        return err;
    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        return err;
    if ((err = segs_load(t, &sg)) != WEFT_OK || !pending(&sg, true)) {
        store_abort(t);
        return err;
    }
    if ((err = merge_work(t, &sg, IX_IDLE_STEP, true)) != WEFT_OK
        || (err = segs_save(t, &sg)) != WEFT_OK) {
        store_abort(t);
        return err;
    }
    if ((err = store_commit(t)) == WEFT_OK)
        *more = pending(&sg, true);
    return err;
}
/* ---- building the index of a store that has none ----------------------- */

typedef struct rebuild {
    node      *n;
    store_txn *t;
    pv_arena  *a;
    uint64_t   docs;
    weft_err   err;
} rebuild;

static int
rebuild_cur(void *ctx, store_val k, store_val v)
{
    rebuild *r = ctx;
    pv      *sum;

    pv_arena_reset(r->a);
    if (catalog_cur_env(r->t, k, v, &v) != WEFT_OK
        || proto_envelope_read(r->a, v.p, v.n, &sum, NULL) != WEFT_OK)
        return 0; /* checked when it was stored */
    if (++r->docs % 4096 == 0)
        store_trim(r->n->st, r->n->mapped_keep);
    return (int) index_put(r->t, NULL, sum, NULL);
}

static int
rebuild_verd(void *ctx, store_val k, store_val v)
{
    rebuild *r = ctx;
    char     id[WEFT_ID_MAX + 1];

    if (k.n > WEFT_ID_MAX || v.n < 1)
        return 0;
    memcpy(id, k.p, k.n);
    id[k.n] = 0;
    return (int) index_sev(r->t, id, 0, v.p[0] <= 3 ? v.p[0] : 3);
}

weft_err
index_check(node *n, bool force)
{
    static const store_table tabs[] = { STORE_SEGN, STORE_SEGM, STORE_POST,
        STORE_DOCS, STORE_DNO, STORE_IDS };
    rebuild                  r = { n, NULL, NULL, 0, WEFT_OK };
    store_val                v;
    uint8_t                  ver[4];
    struct timespec          t0, t1;
    weft_err                 err;

    if ((err = store_begin(n->st, true, &r.t)) != WEFT_OK)
        return err;
    if (!force && store_get(r.t, STORE_META, "ix_version", 10, &v) == WEFT_OK
        && v.n == 4 && rd32(v.p) == INDEX_VERSION) {
        store_abort(r.t);
        return WEFT_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
        if ((err = store_drop(r.t, tabs[i])) != WEFT_OK)
            goto fail;
    store_del(r.t, STORE_META, "ix_next", 7);
    store_del(r.t, STORE_META, "ix_len", 6);
    store_del(r.t, STORE_META, "ix_segs", 7);
    if ((r.a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL) {
        err = WEFT_ENOMEM;
        goto fail;
    }
    be32(ver, INDEX_VERSION);
    if ((err = store_each(r.t, STORE_CUR, NULL, 0, false, rebuild_cur, &r))
        || (err = flush_new(r.t))
        || (err = store_each(r.t, STORE_VERD, NULL, 0, false, rebuild_verd, &r))
        || (err = store_put(r.t, STORE_META, "ix_version", 10, ver, 4)))
        goto fail;
    pv_arena_free(r.a);
    if ((err = store_commit(r.t)) != WEFT_OK)
        return err;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r.docs > 0 || force) /* a new store has nothing to tell */
        log_msg(LOG_INFO, "search index built: %llu products (%lld ms)",
            (unsigned long long) r.docs,
            (long long) ((t1.tv_sec - t0.tv_sec) * 1000
                + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    return WEFT_OK;
fail:
    pv_arena_free(r.a);
    store_abort(r.t);
    return err;
}

/* ---- reading ----------------------------------------------------------- */

weft_err
ix_info(store_txn *t, uint32_t *ndocs, uint64_t len[QF_COUNT])
{
    store_val v;

    *ndocs = 0;
    memset(len, 0, sizeof(uint64_t) * QF_COUNT);
    if (store_get(t, STORE_META, "ix_next", 7, &v) == WEFT_OK && v.n == 4)
        *ndocs = rd32(v.p);
    if (store_get(t, STORE_META, "ix_len", 6, &v) == WEFT_OK
        && v.n == 8 * QF_COUNT)
        for (int f = 0; f < QF_COUNT; f++)
            len[f] = store_be_u64(v.p + 8 * f);
    return WEFT_OK;
}

/* The segments as a reader's transaction sees them, with the dead lists
 * it has needed so far. */
typedef struct ixview {
    store_txn *t;
    ixsegs     sg;
    uint32_t  *dead[IX_SEGS_MAX];
    size_t     ndead[IX_SEGS_MAX];
    bool       loaded[IX_SEGS_MAX];
} ixview;

static weft_err
view_open(store_txn *t, ixview *v)
{
    memset(v->loaded, 0, sizeof(v->loaded));
    v->t = t;
    return segs_load(t, &v->sg);
}

static void
view_close(ixview *v)
{
    for (size_t i = 0; i < v->sg.n; i++)
        if (v->loaded[i])
            free(v->dead[i]);
}

/* view_gather readies g for segment i: its dead list. */
static weft_err
view_gather(ixview *v, size_t i, gather *g)
{
    weft_err err;

    if (!v->loaded[i]) {
        if ((err = dead_load(v->t, &v->sg.s[i], &v->dead[i], &v->ndead[i])))
            return err;
        v->loaded[i] = true;
    }
    g->dead = v->dead[i];
    g->ndead = v->ndead[i];
    return WEFT_OK;
}

/* The blocks of one logical key in one segment. */
typedef struct blocks {
    gather *g;
    size_t  plen; /* the key's blocks are plen + 4 bytes long */
    bool    tf;
} blocks;

static int
blocks_cb(void *ctx, store_val k, store_val v)
{
    blocks *b = ctx;

    if (k.n != b->plen + 4)
        return 0;
    return (int) decode(b->g, v.p, v.n, b->tf);
}

/* read_key gathers logical key L from every segment that shows it; with
 * l, the postings in docno order. */
static weft_err
read_key(store_txn *t, const uint8_t *L, size_t nl, uint64_t *bits, size_t nw,
    ix_list *l)
{
    ixview   v;
    uint8_t  pre[4 + IX_LKEY_MAX + 1];
    size_t   start = l ? l->n : 0, runs[IX_SEGS_MAX], nr = 0;
    weft_err err;

    if ((err = view_open(t, &v)) != WEFT_OK)
        return err;
    for (size_t i = 0; err == WEFT_OK && i < v.sg.n; i++) {
        gather g = { bits, nw, l, NULL, 0, NULL, 0 };
        blocks b = { &g, 5 + nl, L[0] == 't' };

        if (!visible(&v.sg, i, L, nl)
            || (err = view_gather(&v, i, &g)) != WEFT_OK)
            continue;
        be32(pre, v.sg.s[i].num);
        memcpy(pre + 4, L, nl);
        pre[4 + nl] = 0;
        err = store_range(
            t, seg_table(&v.sg.s[i]), pre, 5 + nl, pre, 5 + nl, blocks_cb, &b);
        if (err == WEFT_OK && l != NULL
            && l->n > start + (nr ? runs[nr - 1] : 0))
            runs[nr++] = l->n - start;
    }
    if (err == WEFT_OK && nr >= 2)
        err = merge_runs(l->p + start, l->n - start, runs, nr);
    view_close(&v);
    return err;
}

weft_err
ix_word(store_txn *t, const char *w, uint64_t *bits, size_t nw, ix_list *l)
{
    uint8_t L[IX_LKEY_MAX];
    size_t  n = strlen(w);

    if (n == 0)
        return WEFT_OK;
    if (n > IX_TERM_MAX)
        return WEFT_EINVAL;
    L[0] = 't';
    memcpy(L + 1, w, n);
    return read_key(t, L, n + 1, bits, nw, l);
}

weft_err
ix_pair(store_txn *t, const char *a, const char *b, uint64_t *bits, size_t nw,
    ix_list *l)
{
    char k[IX_TERM_MAX + 2];
    int  n = snprintf(k, sizeof(k), "t\001%s %s", a, b);

    if (n < 0 || (size_t) n >= sizeof(k))
        return WEFT_EINVAL;
    return read_key(t, (const uint8_t *) k, (size_t) n, bits, nw, l);
}

/* The words of a prefix, each segment's blocks in key order. */
typedef struct pgather {
    ixview *v;
    size_t  seg;
    gather  g;
    size_t  start;
    uint8_t last[IX_LKEY_MAX];
    size_t  nlast;
    size_t *runs; /* where each run of one key in one segment ends */
    size_t  nruns, caprun;
} pgather;

/* run_end ends the run of postings in progress, if it holds any. */
static weft_err
run_end(pgather *p)
{
    size_t at = p->g.l->n - p->start;

    if (at == 0 || (p->nruns > 0 && p->runs[p->nruns - 1] == at))
        return WEFT_OK;
    if (!grow(&p->runs, &p->caprun, p->nruns + 1, sizeof(*p->runs), 16))
        return WEFT_ENOMEM;
    p->runs[p->nruns++] = at;
    return WEFT_OK;
}

static int
prefix_cb(void *ctx, store_val k, store_val v)
{
    pgather       *p = ctx;
    const uint8_t *L;
    size_t         nl;
    weft_err       err;
    int            shape = lkey_of(k, 2, &L, &nl);

    if (shape <= 0)
        return shape < 0 ? WEFT_ESTORE : 0;
    if (!visible(&p->v->sg, p->seg, L, nl))
        return 0;
    if (p->g.l != NULL && (nl != p->nlast || memcmp(L, p->last, nl) != 0)) {
        if ((err = run_end(p)) != WEFT_OK) /* a new key */
            return (int) err;
        memcpy(p->last, L, nl);
        p->nlast = nl;
    }
    if ((err = decode(&p->g, v.p, v.n, true)) != WEFT_OK)
        return (int) err;
    return 0;
}

static weft_err
merge_runs(ix_post *p, size_t n, size_t *runs, size_t nr)
{
    ix_post *tmp, *src = p, *dst;

    if (n == 0)
        return WEFT_OK;
    if ((tmp = dst = malloc(n * sizeof(*tmp))) == NULL)
        return WEFT_ENOMEM;
    while (nr > 1) {
        size_t out = 0, lo = 0;

        for (size_t r = 0; r < nr; r += 2) {
            size_t mid = runs[r], hi = r + 1 < nr ? runs[r + 1] : mid;
            size_t a = lo, b = mid, o = lo;

            while (a < mid && b < hi)
                dst[o++] = src[b].doc < src[a].doc ? src[b++] : src[a++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < hi)
                dst[o++] = src[b++];
            runs[out++] = hi;
            lo = hi;
        }
        nr = out;
        src = src == p ? tmp : p;
        dst = dst == p ? tmp : p;
    }
    if (src != p)
        memcpy(p, src, n * sizeof(*p));
    free(tmp);
    return WEFT_OK;
}

weft_err
ix_prefix(store_txn *t, const char *p, uint64_t *bits, size_t nw, ix_list *l)
{
    ixview   v;
    pgather  pg;
    uint8_t  pre[4 + 1 + QUERY_WORD_MAX + 1];
    size_t   pl = strlen(p), start = l ? l->n : 0, n = start;
    weft_err err;

    if (pl == 0)
        return WEFT_OK;
    if (pl > QUERY_WORD_MAX)
        return WEFT_EINVAL;
    if ((err = view_open(t, &v)) != WEFT_OK)
        return err;
    memset(&pg, 0, sizeof(pg));
    pg.v = &v;
    pg.start = start;
    for (size_t i = 0; err == WEFT_OK && i < v.sg.n; i++) {
        if (v.sg.s[i].role == SEG_GONE)
            continue;
        pg.seg = i;
        pg.g = (gather) { bits, nw, l, NULL, 0, NULL, 0 };
        pg.nlast = 0;
        if ((err = view_gather(&v, i, &pg.g)) != WEFT_OK)
            break;
        be32(pre, v.sg.s[i].num);
        pre[4] = 't';
        memcpy(pre + 5, p, pl);
        err = store_range(
            t, seg_table(&v.sg.s[i]), pre, 5 + pl, pre, 5 + pl, prefix_cb, &pg);
        if (err == WEFT_OK && l != NULL) /* the segment's last run */
            err = run_end(&pg);
    }
    view_close(&v);
    if (err == WEFT_OK && l != NULL && pg.nruns >= 2)
        err = merge_runs(l->p + start, l->n - start, pg.runs, pg.nruns);
    free(pg.runs);
    if (err != WEFT_OK || l == NULL || pg.nruns < 2)
        return err;
    /* One posting per document: the counts of its words summed. */
    for (size_t i = start; i < l->n; i++) {
        if (n > start && l->p[n - 1].doc == l->p[i].doc) {
            for (int f = 0; f < QF_COUNT; f++) {
                unsigned s = (unsigned) l->p[n - 1].tf[f] + l->p[i].tf[f];

                l->p[n - 1].tf[f] = (uint8_t) (s > 255 ? 255 : s);
            }
        } else
            l->p[n++] = l->p[i];
    }
    l->n = n;
    return WEFT_OK;
}

static weft_err
post_bits(store_txn *t, const pkey *k, uint64_t *bits, size_t nw)
{
    uint8_t L[IX_LKEY_MAX];

    L[0] = 'p';
    memcpy(L + 1, k->k, k->n);
    return read_key(t, L, (size_t) k->n + 1, bits, nw, NULL);
}

weft_err
ix_filter(
    store_txn *t, const char *key, const char *v, uint64_t *bits, size_t nw)
{
    pkey k;

    for (size_t i = 0; i < sizeof(filter_keys) / sizeof(filter_keys[0]); i++)
        if (strcmp(key, filter_keys[i]) == 0) {
            make_key(&k, filter_kinds[i], v);
            return post_bits(t, &k, bits, nw);
        }
    return WEFT_EINVAL;
}

typedef struct range {
    ixview *v;
    size_t  seg;
    gather  g;
    pkey    at;
    int     op; /* '>' '<' 'G' (>=) 'L' (<=) '=' */
} range;

static int
range_cb(void *ctx, store_val k, store_val v)
{
    range *r = ctx;
    int    c;

    /* num | 'p' | the 10-byte figure key | 0 | docno */
    if (k.n != (size_t) 4 + 1 + r->at.n + 5 || k.p[k.n - 5] != 0)
        return 0;
    c = memcmp(k.p + 5, r->at.k, r->at.n);
    if ((r->op == '<' && c >= 0) || (r->op == 'L' && c > 0)
        || (r->op == '=' && c > 0))
        return -1; /* past the range: stop */
    if ((r->op == '>' && c <= 0) || (r->op == '=' && c != 0))
        return 0;
    if (!visible(&r->v->sg, r->seg, k.p + 4, k.n - 9))
        return 0;
    return (int) decode(&r->g, v.p, v.n, false);
}

weft_err
ix_cmp(store_txn *t, const char *metric, const char *op, double num,
    uint64_t *bits, size_t nw)
{
    ixview   v;
    range    r;
    int      m = -1;
    uint8_t  pre[7], from[4 + 1 + 10];
    weft_err err;

    for (int i = 0; i < 3; i++)
        if (strcmp(metric, metric_names[i]) == 0)
            m = i;
    if (m < 0)
        return WEFT_EINVAL;
    if (isnan(num))
        return WEFT_OK; /* nothing compares with it */
    memset(&r, 0, sizeof(r));
    num_key(&r.at, m, num);
    r.op = strcmp(op, ">=") == 0 ? 'G' : strcmp(op, "<=") == 0 ? 'L' : op[0];
    if ((err = view_open(t, &v)) != WEFT_OK)
        return err;
    r.v = &v;
    for (size_t i = 0; err == WEFT_OK && i < v.sg.n; i++) {
        if (v.sg.s[i].role == SEG_GONE)
            continue;
        r.seg = i;
        r.g = (gather) { bits, nw, NULL, NULL, 0, NULL, 0 };
        if ((err = view_gather(&v, i, &r.g)) != WEFT_OK)
            break;
        be32(pre, v.sg.s[i].num);
        pre[4] = 'p';
        pre[5] = 'n';
        pre[6] = r.at.k[1];
        memcpy(from, pre, 5);
        memcpy(from + 5, r.at.k, 10);
        /* Upward comparisons start at the figure, the others at the least. */
        if (r.op == 'G' || r.op == '>' || r.op == '=')
            err = store_range(
                t, seg_table(&v.sg.s[i]), pre, 7, from, 15, range_cb, &r);
        else
            err = store_range(
                t, seg_table(&v.sg.s[i]), pre, 7, pre, 7, range_cb, &r);
        if ((int) err == -1)
            err = WEFT_OK;
    }
    view_close(&v);
    return err;
}

weft_err
ix_exact(store_txn *t, const char *joined, uint64_t *bits, size_t nw)
{
    pkey k;

    if (*joined == 0)
        return WEFT_OK;
    exact_key(&k, joined, strlen(joined));
    return post_bits(t, &k, bits, nw);
}

static int
dup_bits_cb(void *ctx, const uint8_t *vals, size_t n)
{
    gather *g = ctx;

    for (size_t i = 0; i < n; i++)
        setbit(g->bits, g->nw, rd32(vals + 4 * i));
    return 0;
}

weft_err
ix_verdict(store_txn *t, int sev, uint64_t *bits, size_t nw)
{
    uint8_t k[2] = { 'v', (uint8_t) ('0' + sev) };
    gather  g = { bits, nw, NULL, NULL, 0, NULL, 0 };

    return store_dup_each(t, STORE_POST, k, 2, dup_bits_cb, &g);
}

weft_err
ix_segments(store_txn *t, size_t *n, bool *merging)
{
    ixsegs   sg;
    weft_err err = segs_load(t, &sg);

    *n = 0;
    *merging = false;
    for (size_t i = 0; err == WEFT_OK && i < sg.n; i++) {
        if (sg.s[i].role != SEG_GONE)
            (*n)++;
        if (sg.s[i].role != SEG_LIVE)
            *merging = true;
    }
    return err;
}

weft_err
ix_id(store_txn *t, uint32_t doc, char *id)
{
    uint8_t   k[4];
    store_val v;
    weft_err  err;

    be32(k, doc);
    if ((err = store_get(t, STORE_IDS, k, 4, &v)) != WEFT_OK)
        return err;
    if (v.n > WEFT_ID_MAX)
        return WEFT_ESTORE;
    memcpy(id, v.p, v.n);
    id[v.n] = 0;
    return WEFT_OK;
}

weft_err
ix_doc_lens(store_txn *t, ix_docs *c, uint32_t doc, uint16_t len[QF_COUNT])
{
    const uint8_t *r = NULL;

    /* In the run last lent? Bisect it; else seek the run that holds it. */
    if (c->v == NULL || c->n == 0 || doc < rd32(c->v)
        || doc > rd32(c->v + (c->n - 1) * IX_DOCS_REC)) {
        uint8_t  k[4];
        size_t   at;
        weft_err err;

        be32(k, doc);
        if ((err = store_dup_seek(
                 t, STORE_DOCS, "d", 1, k, 4, &c->v, &c->n, &at)))
            return err;
        r = c->v + at * IX_DOCS_REC;
    } else {
        size_t lo = 0, hi = c->n;

        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (rd32(c->v + mid * IX_DOCS_REC) < doc)
                lo = mid + 1;
            else
                hi = mid;
        }
        r = c->v + lo * IX_DOCS_REC;
    }
    if (rd32(r) != doc)
        return WEFT_ENOTFOUND;
    for (int f = 0; f < QF_COUNT; f++)
        len[f] = (uint16_t) (r[4 + 2 * f] << 8 | r[5 + 2 * f]);
    return WEFT_OK;
}

typedef struct byid {
    int (*fn)(void *ctx, uint32_t doc);
    void *ctx;
    bool  stopped;
} byid;

static int
byid_cb(void *ctx, store_val k, store_val v)
{
    byid *b = ctx;

    (void) k;
    if (v.n == 4 && b->fn(b->ctx, rd32(v.p)) != 0) {
        b->stopped = true;
        return -1;
    }
    return 0;
}

weft_err
ix_by_id(store_txn *t, int (*fn)(void *ctx, uint32_t doc), void *ctx)
{
    byid     b = { fn, ctx, false };
    weft_err err = store_each(t, STORE_DNO, NULL, 0, false, byid_cb, &b);

    return b.stopped ? WEFT_OK : err;
}

typedef struct fcount {
    char    *v;
    uint64_t c;
} fcount;

typedef struct facetw {
    ixview         *v;
    size_t          seg;
    const uint64_t *match;
    size_t          nw;
    fcount         *f;
    size_t          n, cap;
    uint8_t         last[IX_LKEY_MAX];
    size_t          nlast;
    const uint32_t *dead;
    size_t          ndead;
} facetw;

static int
facet_cb(void *ctx, store_val k, store_val v)
{
    facetw        *f = ctx;
    const uint8_t *L;
    size_t         nl;
    gather         g = { NULL, f->nw, NULL, f->dead, f->ndead, f->match, 0 };
    weft_err       err;
    int            shape = lkey_of(k, 3, &L, &nl);

    if (shape <= 0)
        return shape < 0 ? WEFT_ESTORE : 0;
    if (!visible(&f->v->sg, f->seg, L, nl))
        return 0;
    if (nl != f->nlast || memcmp(L, f->last, nl) != 0) { /* a new value */
        if (!grow(&f->f, &f->cap, f->n + 1, sizeof(*f->f), 16)
            || (f->f[f->n].v = malloc(nl - 1)) == NULL)
            return WEFT_ENOMEM;
        memcpy(f->f[f->n].v, L + 2, nl - 2);
        f->f[f->n].v[nl - 2] = 0;
        f->f[f->n++].c = 0;
        memcpy(f->last, L, nl);
        f->nlast = nl;
    }
    if ((err = decode(&g, v.p, v.n, false)) != WEFT_OK)
        return (int) err;
    f->f[f->n - 1].c += g.count;
    return 0;
}

static int
fcount_cmp(const void *x, const void *y)
{
    return strcmp(((const fcount *) x)->v, ((const fcount *) y)->v);
}

weft_err
ix_facet(store_txn *t, const char *key, const uint64_t *match, size_t nw,
    void (*fn)(void *ctx, const char *v, uint64_t count), void *ctx)
{
    ixview   v;
    facetw   f;
    uint8_t  pre[6];
    int      kind = -1;
    weft_err err;

    for (size_t i = 0; i < sizeof(filter_keys) / sizeof(filter_keys[0]); i++)
        if (strcmp(key, filter_keys[i]) == 0)
            kind = filter_kinds[i];
    if (kind < 0)
        return WEFT_EINVAL;
    if ((err = view_open(t, &v)) != WEFT_OK)
        return err;
    memset(&f, 0, sizeof(f));
    f.v = &v;
    f.match = match;
    f.nw = nw;
    for (size_t i = 0; err == WEFT_OK && i < v.sg.n; i++) {
        gather g = { NULL, 0, NULL, NULL, 0, NULL, 0 };

        if (v.sg.s[i].role == SEG_GONE)
            continue;
        if ((err = view_gather(&v, i, &g)) != WEFT_OK)
            break;
        f.seg = i;
        f.dead = g.dead;
        f.ndead = g.ndead;
        f.nlast = 0;
        be32(pre, v.sg.s[i].num);
        pre[4] = 'p';
        pre[5] = (uint8_t) kind;
        err = store_range(
            t, seg_table(&v.sg.s[i]), pre, 6, pre, 6, facet_cb, &f);
    }
    view_close(&v);
    /* A value may be in several segments: counts summed, in value order. */
    if (f.n > 1)
        qsort(f.f, f.n, sizeof(*f.f), fcount_cmp);
    for (size_t i = 0; i < f.n; i++) {
        uint64_t c = f.f[i].c;

        while (i + 1 < f.n && strcmp(f.f[i].v, f.f[i + 1].v) == 0) {
            free(f.f[i].v);
            c += f.f[++i].c;
        }
        if (err == WEFT_OK && c > 0)
            fn(ctx, f.f[i].v, c);
        free(f.f[i].v);
    }
    free(f.f);
    return err;
}
