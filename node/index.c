/*
 * index.c: the search index in LMDB (index.h has the tables). What a
 * summary puts in it:
 *
 *   TERM  each word of the name (and of the id's name part), tags, schema
 *         names, field names and description (query_tokens: lowercased,
 *         cut at QUERY_WORD_MAX), and each pair of words in a row in one
 *         text (byte 1 and "customer 360": a two-word phrase), with its
 *         count in
 *         each field (3 bytes:
 *         name, tags, schemas, fields in 4 bits each, description in 8;
 *         counts above those saturate);
 *   POST  'd' domain, 'o' owner, 'c' classification, 's' status, 't' tag,
 *         'i' interface, 'f' format, 'p' field: the value lowercased (a
 *         key over IX_KEY_PLAIN bytes is the kind in upper case and the
 *         value's BLAKE2b, 16 bytes); 'x' and the BLAKE2b of the words of
 *         the name, the id and the id's name part (exact matches); 'n', a
 *         metric's digit and the figure as 8 bytes that sort like the
 *         number; 'v' and a verdict's digit (2 quarantined, 3 rejected);
 *   DOCS  docno + the length in words of each field (BM25);
 *   META  "ix_version", "ix_next" (the next docno), "ix_len" (the total
 *         length of each field over every document).
 */
#include "node/index.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IX_KEY_PLAIN 200   /* longer POST keys are hashed */
#define IX_BATCH_MAX 65536 /* postings gathered before they are written */
#define IX_TEXTS_MAX 256   /* texts per field, as query_match reads them */
#define IX_DOCS_REC  16

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
    tok     *toks;
    size_t   ntoks, captoks;
    term    *terms;
    size_t   nterms;
    pkey    *keys;
    size_t   nkeys, capkeys;
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

static const char *tok_base; /* for tok_cmp: the loop thread's */

static int
tok_cmp(const void *x, const void *y)
{
    return strcmp(
        tok_base + ((const tok *) x)->off, tok_base + ((const tok *) y)->off);
}

static pkey *
key_new(ixdoc *d)
{
    if (!grow(&d->keys, &d->capkeys, d->nkeys + 1, sizeof(*d->keys), 64)) {
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

/* analyze fills d with the words, counts and keys of summary sum. */
static weft_err
analyze(ixdoc *d, const pv *sum)
{
    static const char *const lists[]
        = { "tags", "ifaces", "formats", "fields" };
    static const char kinds[] = "tifp";
    const char       *texts[IX_TEXTS_MAX], *id = pv_getstr(sum, "id"), *slash;
    const pv         *q;
    size_t            i, j, n;

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
    /* Words: sorted, one term each with its count per field. */
    tok_base = d->buf;
    qsort(d->toks, d->ntoks, sizeof(*d->toks), tok_cmp);
    if (d->ntoks && (d->terms = calloc(d->ntoks, sizeof(*d->terms))) == NULL)
        return d->err = WEFT_ENOMEM;
    for (i = 0; i < d->ntoks; i = j) {
        term       *t = &d->terms[d->nterms++];
        const char *w = d->buf + d->toks[i].off;

        t->off = d->toks[i].off;
        for (j = i; j < d->ntoks && strcmp(d->buf + d->toks[j].off, w) == 0;
             j++)
            if (t->tf[d->toks[j].f] < 255)
                t->tf[d->toks[j].f]++;
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
    return WEFT_OK;
}

static void
term_val(uint8_t v[7], uint32_t doc, const uint8_t tf[QF_COUNT])
{
    uint8_t c[QF_COUNT];

    for (int f = 0; f < QF_COUNT; f++)
        c[f] = tf[f] > (f == QF_DESC ? 255 : 15) ? (f == QF_DESC ? 255 : 15)
                                                 : tf[f];
    be32(v, doc);
    v[4] = (uint8_t) (c[QF_NAME] << 4 | c[QF_TAGS]);
    v[5] = (uint8_t) (c[QF_SCHEMAS] << 4 | c[QF_FIELDS]);
    v[6] = c[QF_DESC];
}

static void
term_unval(const uint8_t *v, ix_post *p)
{
    p->doc = rd32(v);
    p->tf[QF_NAME] = v[4] >> 4;
    p->tf[QF_TAGS] = v[4] & 15;
    p->tf[QF_SCHEMAS] = v[5] >> 4;
    p->tf[QF_FIELDS] = v[5] & 15;
    p->tf[QF_DESC] = v[6];
}

static void
docs_val(uint8_t v[IX_DOCS_REC], uint32_t doc, const uint16_t len[QF_COUNT])
{
    memset(v, 0, IX_DOCS_REC);
    be32(v, doc);
    for (int f = 0; f < QF_COUNT; f++) {
        v[4 + 2 * f] = (uint8_t) (len[f] >> 8);
        v[5 + 2 * f] = (uint8_t) len[f];
    }
}

/* ---- the transaction's batch ----------------------------------------- */

/*
 * The batch keeps each distinct key once (a hash table of its keys) with
 * the list of its postings in the order they came, which is docno order:
 * at commit only the keys are sorted, and each key's postings go to
 * LMDB as one run.
 */
typedef struct ixent {
    uint32_t next; /* the key's next posting; UINT32_MAX: none */
    uint8_t  v[7];
} ixent;

typedef struct ixkey {
    uint32_t koff; /* in the batch's key buffer */
    uint16_t klen;
    uint8_t  tab; /* 0: TERM, 1: POST */
    uint32_t head, tail, n;
} ixkey;

typedef struct ixbatch {
    uint32_t  first, next; /* docnos: the first not yet written; the next */
    int64_t   len[QF_COUNT];
    ixent    *e;
    size_t    n, cap;
    ixkey    *k;
    size_t    nk, capk;
    uint32_t *slots; /* open addressing: key index + 1; 0 free */
    size_t    nslots;
    uint8_t  *keys;
    size_t    kused, kcap;
    uint8_t  *docs;
    size_t    ndocs, dcap;
    uint8_t  *run; /* the values of one key, for MDB_MULTIPLE */
    size_t    runcap;
} ixbatch;

static const ixbatch *sort_b; /* for key_cmp: the loop thread's */

static int
key_cmp(const void *x, const void *y)
{
    const ixkey *a = &sort_b->k[*(const uint32_t *) x];
    const ixkey *b = &sort_b->k[*(const uint32_t *) y];
    int          c;

    if (a->tab != b->tab)
        return a->tab < b->tab ? -1 : 1;
    c = memcmp(sort_b->keys + a->koff, sort_b->keys + b->koff,
        a->klen < b->klen ? a->klen : b->klen);
    if (c == 0 && a->klen != b->klen)
        c = a->klen < b->klen ? -1 : 1;
    return c;
}

static uint32_t
key_hash(int tab, const uint8_t *k, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t) tab;

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

/* flush writes the batch's postings (sorted, appended: every docno in
 * it is above every docno written before), documents and totals. */
static weft_err
flush(store_txn *t, void *ctx)
{
    ixbatch *b = ctx;
    uint8_t  nx[4];
    weft_err err = WEFT_OK;
    size_t   i, j;

    uint32_t *order = NULL;

    if (b->first == b->next && b->n == 0)
        return WEFT_OK;
    if (b->nk > 0 && (order = malloc(b->nk * sizeof(*order))) == NULL)
        return WEFT_ENOMEM;
    for (i = 0; i < b->nk; i++)
        order[i] = (uint32_t) i;
    sort_b = b;
    qsort(order, b->nk, sizeof(*order), key_cmp);
    for (i = 0; err == WEFT_OK && i < b->nk; i++) {
        const ixkey *k = &b->k[order[i]];
        store_table  tab = k->tab ? STORE_POST : STORE_TERM;
        size_t       sz = store_dup_size(tab);

        if (k->n * sz > b->runcap) {
            uint8_t *p = realloc(b->run, k->n * sz);

            if (p == NULL) {
                free(order);
                return WEFT_ENOMEM;
            }
            b->run = p;
            b->runcap = k->n * sz;
        }
        j = 0;
        for (uint32_t e = k->head; e != UINT32_MAX; e = b->e[e].next)
            memcpy(b->run + j++ * sz, b->e[e].v, sz);
        err = store_dup_add(
            t, tab, b->keys + k->koff, k->klen, b->run, k->n, true);
    }
    free(order);
    if (err == WEFT_OK && b->ndocs > 0)
        err = store_dup_add(t, STORE_DOCS, "d", 1, b->docs, b->ndocs, true);
    be32(nx, b->next);
    if (err == WEFT_OK
        && (err = store_put(t, STORE_META, "ix_next", 7, nx, 4)) == WEFT_OK)
        err = meta_lens(t, b->len);
    b->n = 0;
    b->nk = 0;
    if (b->slots != NULL)
        memset(b->slots, 0, b->nslots * sizeof(*b->slots));
    b->kused = 0;
    b->ndocs = 0;
    memset(b->len, 0, sizeof(b->len));
    b->first = b->next;
    return err;
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
    if (store_get(t, STORE_META, "ix_next", 7, &v) == WEFT_OK && v.n == 4)
        b->first = b->next = rd32(v.p);
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
        size_t h = key_hash(b->k[i].tab, b->keys + b->k[i].koff, b->k[i].klen)
            & (n - 1);

        while (s[h] != 0)
            h = (h + 1) & (n - 1);
        s[h] = (uint32_t) i + 1;
    }
    free(b->slots);
    b->slots = s;
    b->nslots = n;
    return WEFT_OK;
}

static weft_err
batch_add(ixbatch *b, int tab, const void *key, size_t klen, const uint8_t v[7])
{
    ixkey   *k = NULL;
    size_t   h;
    weft_err err;

    if (b->nk * 2 >= b->nslots && (err = grow_slots(b)) != WEFT_OK)
        return err;
    h = key_hash(tab, key, klen) & (b->nslots - 1);
    for (; b->slots[h] != 0; h = (h + 1) & (b->nslots - 1)) {
        ixkey *c = &b->k[b->slots[h] - 1];

        if (c->tab == tab && c->klen == klen
            && memcmp(b->keys + c->koff, key, klen) == 0) {
            k = c;
            break;
        }
    }
    if (!grow(&b->e, &b->cap, b->n + 1, sizeof(*b->e), 4096))
        return WEFT_ENOMEM;
    if (k == NULL) { /* a new key */
        if (!grow(&b->k, &b->capk, b->nk + 1, sizeof(*b->k), 1024)
            || !grow(&b->keys, &b->kcap, b->kused + klen, 1, 65536))
            return WEFT_ENOMEM;
        k = &b->k[b->nk];
        k->koff = (uint32_t) b->kused;
        k->klen = (uint16_t) klen;
        k->tab = (uint8_t) tab;
        k->head = k->tail = UINT32_MAX;
        k->n = 0;
        memcpy(b->keys + b->kused, key, klen);
        b->kused += klen;
        b->slots[h] = (uint32_t) ++b->nk;
    }
    b->e[b->n].next = UINT32_MAX;
    memcpy(b->e[b->n].v, v, 7);
    if (k->tail == UINT32_MAX)
        k->head = (uint32_t) b->n;
    else
        b->e[k->tail].next = (uint32_t) b->n;
    k->tail = (uint32_t) b->n++;
    k->n++;
    return WEFT_OK;
}

/* add_new gathers the postings of a new document doc. */
static weft_err
add_new(store_txn *t, ixbatch *b, uint32_t doc, const ixdoc *d)
{
    uint8_t  v[7] = { 0 };
    weft_err err = WEFT_OK;

    for (size_t i = 0; err == WEFT_OK && i < d->nterms; i++) {
        term_val(v, doc, d->terms[i].tf);
        err = batch_add(b, 0, TW(d, i), strlen(TW(d, i)), v);
    }
    be32(v, doc);
    for (size_t i = 0; err == WEFT_OK && i < d->nkeys; i++)
        err = batch_add(b, 1, d->keys[i].k, d->keys[i].n, v);
    if (err != WEFT_OK)
        return err;
    if (!grow(&b->docs, &b->dcap, b->ndocs + 1, IX_DOCS_REC, 256))
        return WEFT_ENOMEM;
    docs_val(b->docs + b->ndocs++ * IX_DOCS_REC, doc, d->len);
    for (int f = 0; f < QF_COUNT; f++)
        b->len[f] += d->len[f];
    if (b->n >= IX_BATCH_MAX)
        return flush(t, b);
    return WEFT_OK;
}

/* term_cmp orders term i of o against term j of d: word, then counts. */
static int
term_cmp(const ixdoc *o, size_t i, const ixdoc *d, size_t j)
{
    int c = strcmp(TW(o, i), TW(d, j));

    return c ? c : memcmp(o->terms[i].tf, d->terms[j].tf, QF_COUNT);
}

/* update changes document doc from what old put in to what d puts in:
 * only the postings that differ are written. */
static weft_err
update(store_txn *t, uint32_t doc, const ixdoc *o, const ixdoc *d)
{
    uint8_t  v[7], dv[IX_DOCS_REC];
    int64_t  delta[QF_COUNT];
    size_t   i = 0, j = 0;
    weft_err err = WEFT_OK;

    be32(v, doc);
    while (err == WEFT_OK && (i < o->nterms || j < d->nterms)) {
        int c = i == o->nterms ? 1 : j == d->nterms ? -1 : term_cmp(o, i, d, j);

        if (c < 0) {
            err = store_dup_del(
                t, STORE_TERM, TW(o, i), strlen(TW(o, i)), v, 4);
            i++;
        } else if (c > 0) {
            term_val(v, doc, d->terms[j].tf);
            err = store_dup_add(
                t, STORE_TERM, TW(d, j), strlen(TW(d, j)), v, 1, false);
            j++;
        } else {
            i++;
            j++;
        }
        if (err == WEFT_ENOTFOUND)
            err = WEFT_OK; /* not there: nothing to take out */
    }
    i = j = 0;
    while (err == WEFT_OK && (i < o->nkeys || j < d->nkeys)) {
        int c = i == o->nkeys ? 1
            : j == d->nkeys   ? -1
                              : pkey_cmp(&o->keys[i], &d->keys[j]);

        if (c < 0) {
            err = store_dup_del(
                t, STORE_POST, o->keys[i].k, o->keys[i].n, v, 4);
            i++;
        } else if (c > 0) {
            err = store_dup_add(
                t, STORE_POST, d->keys[j].k, d->keys[j].n, v, 1, false);
            j++;
        } else {
            i++;
            j++;
        }
        if (err == WEFT_ENOTFOUND)
            err = WEFT_OK;
    }
    if (err != WEFT_OK || memcmp(o->len, d->len, sizeof(d->len)) == 0)
        return err;
    if ((err = store_dup_del(t, STORE_DOCS, "d", 1, v, 4)) != WEFT_OK
        && err != WEFT_ENOTFOUND)
        return err;
    docs_val(dv, doc, d->len);
    if ((err = store_dup_add(t, STORE_DOCS, "d", 1, dv, 1, false)))
        return err;
    for (int f = 0; f < QF_COUNT; f++)
        delta[f] = (int64_t) d->len[f] - (int64_t) o->len[f];
    return meta_lens(t, delta);
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

weft_err
index_put(store_txn *t, const pv *old, const pv *sum)
{
    const char *id = pv_getstr(sum, "id");
    ixbatch    *b;
    ixdoc       d, o;
    uint32_t    doc;
    uint8_t     k[4];
    weft_err    err = WEFT_OK;

    if (id == NULL)
        return WEFT_EINVAL;
    if ((b = batch_of(t, &err)) == NULL)
        return err;
    if ((err = analyze(&d, sum)) != WEFT_OK)
        goto done;
    err = docno_of(t, id, &doc);
    if (err == WEFT_OK) {
        /* Known: change its postings in place (written ones only). */
        if (doc >= b->first && doc < b->next && (err = flush(t, b)))
            goto done;
        if (old == NULL) {
            err = WEFT_ESTORE; /* the index and the summaries disagree */
            goto done;
        }
        if ((err = analyze(&o, old)) == WEFT_OK)
            err = update(t, doc, &o, &d);
        ixdoc_free(&o);
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
    err = add_new(t, b, doc, &d);
done:
    ixdoc_free(&d);
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

    (void) k;
    pv_arena_reset(r->a);
    if (proto_envelope_read(r->a, v.p, v.n, &sum, NULL) != WEFT_OK)
        return 0; /* checked when it was stored */
    if (++r->docs % 4096 == 0)
        store_trim(r->n->st, r->n->mapped_keep);
    return (int) index_put(r->t, NULL, sum);
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
    static const store_table tabs[]
        = { STORE_TERM, STORE_POST, STORE_DOCS, STORE_DNO, STORE_IDS };
    rebuild         r = { n, NULL, NULL, 0, WEFT_OK };
    store_val       v;
    uint8_t         ver[4];
    struct timespec t0, t1;
    weft_err        err;

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
    if ((r.a = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL) {
        err = WEFT_ENOMEM;
        goto fail;
    }
    be32(ver, INDEX_VERSION);
    if ((err = store_each(r.t, STORE_CUR, NULL, 0, false, rebuild_cur, &r))
        || (err = flush(r.t, batch_of(r.t, &err)))
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

typedef struct gather {
    uint64_t *bits;
    size_t    nw;
    ix_list  *l;
    size_t    sz; /* 7: TERM values, 4: POST */
} gather;

static int
list_grow(ix_list *l, size_t more)
{
    return grow(&l->p, &l->cap, l->n + more, sizeof(*l->p), 64) ? 0
                                                                : WEFT_ENOMEM;
}

static int
gather_cb(void *ctx, const uint8_t *vals, size_t n)
{
    gather *g = ctx;

    if (g->l != NULL && list_grow(g->l, n))
        return WEFT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *v = vals + i * g->sz;

        setbit(g->bits, g->nw, rd32(v));
        if (g->l != NULL)
            term_unval(v, &g->l->p[g->l->n++]);
    }
    return 0;
}

weft_err
ix_word(store_txn *t, const char *w, uint64_t *bits, size_t nw, ix_list *l)
{
    gather g = { bits, nw, l, 7 };

    if (*w == 0)
        return WEFT_OK;
    return store_dup_each(t, STORE_TERM, w, strlen(w), gather_cb, &g);
}

weft_err
ix_pair(store_txn *t, const char *a, const char *b, uint64_t *bits, size_t nw,
    ix_list *l)
{
    char   k[IX_TERM_MAX + 1];
    gather g = { bits, nw, l, 7 };
    int    n = snprintf(k, sizeof(k), "\001%s %s", a, b);

    if (n < 0 || (size_t) n >= sizeof(k))
        return WEFT_EINVAL;
    return store_dup_each(t, STORE_TERM, k, (size_t) n, gather_cb, &g);
}

typedef struct pgather {
    store_txn *t;
    gather     g;
    size_t    *runs; /* where each key's postings end in g.l */
    size_t     nruns, caprun;
} pgather;

static int
prefix_cb(void *ctx, store_val k, store_val v)
{
    pgather *p = ctx;
    int      rc;

    (void) v;
    if ((rc = (int) store_dup_each(
             p->t, STORE_TERM, k.p, k.n, gather_cb, &p->g))
        != 0)
        return rc;
    if (p->g.l != NULL
        && !grow(&p->runs, &p->caprun, p->nruns + 1, sizeof(*p->runs), 16))
        return WEFT_ENOMEM;
    if (p->g.l != NULL)
        p->runs[p->nruns++] = p->g.l->n;
    return 0;
}

/*
 * merge_runs orders p[0..n) by doc, where runs[0..nr) are where its
 * sorted runs end (each key's postings are in docno order): runs are
 * merged two by two, log2(nr) passes over the list rather than a sort.
 */
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
    pgather  pg = { t, { bits, nw, l, 7 }, NULL, 0, 0 };
    size_t   start = l ? l->n : 0, n = start;
    weft_err err;

    if (*p == 0)
        return WEFT_OK;
    err = store_keys(t, STORE_TERM, p, strlen(p), p, strlen(p), prefix_cb, &pg);
    if (err == WEFT_OK && l != NULL && pg.nruns >= 2) {
        for (size_t r = 0; r < pg.nruns; r++)
            pg.runs[r] -= start;
        err = merge_runs(l->p + start, l->n - start, pg.runs, pg.nruns);
    }
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
    gather g = { bits, nw, NULL, 4 };

    return store_dup_each(t, STORE_POST, k->k, k->n, gather_cb, &g);
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
    store_txn *t;
    gather     g;
    pkey       at;
    int        op; /* '>' '<' 'G' (>=) 'L' (<=) '=' */
} range;

static int
range_cb(void *ctx, store_val k, store_val v)
{
    range *r = ctx;
    int    c;

    (void) v;
    if (k.n != r->at.n)
        return 0;
    c = memcmp(k.p, r->at.k, k.n);
    if ((r->op == '<' && c >= 0) || (r->op == 'L' && c > 0)
        || (r->op == '=' && c > 0))
        return -1; /* past the range: stop */
    if ((r->op == '>' && c <= 0) || (r->op == '=' && c != 0))
        return 0;
    return (int) store_dup_each(r->t, STORE_POST, k.p, k.n, gather_cb, &r->g);
}

weft_err
ix_cmp(store_txn *t, const char *metric, const char *op, double num,
    uint64_t *bits, size_t nw)
{
    range    r = { t, { bits, nw, NULL, 4 }, { { 0 }, 0 }, 0 };
    int      m = -1;
    uint8_t  pre[2] = { 'n', 0 };
    weft_err err;

    for (int i = 0; i < 3; i++)
        if (strcmp(metric, metric_names[i]) == 0)
            m = i;
    if (m < 0)
        return WEFT_EINVAL;
    if (isnan(num))
        return WEFT_OK; /* nothing compares with it */
    num_key(&r.at, m, num);
    pre[1] = r.at.k[1];
    r.op = strcmp(op, ">=") == 0 ? 'G' : strcmp(op, "<=") == 0 ? 'L' : op[0];
    /* Upward comparisons start at the figure, the others at the least. */
    if (r.op == 'G' || r.op == '>' || r.op == '=')
        err = store_keys(t, STORE_POST, pre, 2, r.at.k, r.at.n, range_cb, &r);
    else
        err = store_keys(t, STORE_POST, pre, 2, pre, 2, range_cb, &r);
    return (int) err == -1 ? WEFT_OK : err;
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

weft_err
ix_verdict(store_txn *t, int sev, uint64_t *bits, size_t nw)
{
    pkey k = { { 'v', (uint8_t) ('0' + sev) }, 2 };

    return post_bits(t, &k, bits, nw);
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

typedef struct facetw {
    store_txn      *t;
    const uint64_t *match;
    size_t          nw;
    uint64_t        count;
    void (*fn)(void *ctx, const char *v, uint64_t count);
    void *ctx;
} facetw;

static int
facet_count_cb(void *ctx, const uint8_t *vals, size_t n)
{
    facetw *f = ctx;

    for (size_t i = 0; i < n; i++) {
        uint32_t doc = rd32(vals + 4 * i);

        if (doc / 64 < f->nw && (f->match[doc / 64] >> (doc % 64) & 1))
            f->count++;
    }
    return 0;
}

static int
facet_cb(void *ctx, store_val k, store_val v)
{
    facetw  *f = ctx;
    char     val[IX_KEY_PLAIN + 1];
    weft_err err;

    (void) v;
    f->count = 0;
    if ((err = store_dup_each(f->t, STORE_POST, k.p, k.n, facet_count_cb, f))
        != WEFT_OK)
        return (int) err;
    if (f->count > 0) {
        memcpy(val, k.p + 1, k.n - 1);
        val[k.n - 1] = 0;
        f->fn(f->ctx, val, f->count);
    }
    return 0;
}

weft_err
ix_facet(store_txn *t, const char *key, const uint64_t *match, size_t nw,
    void (*fn)(void *ctx, const char *v, uint64_t count), void *ctx)
{
    facetw f = { t, match, nw, 0, fn, ctx };

    for (size_t i = 0; i < sizeof(filter_keys) / sizeof(filter_keys[0]); i++)
        if (strcmp(key, filter_keys[i]) == 0) {
            uint8_t pre[1] = { (uint8_t) filter_kinds[i] };

            return store_keys(t, STORE_POST, pre, 1, pre, 1, facet_cb, &f);
        }
    return WEFT_EINVAL;
}
