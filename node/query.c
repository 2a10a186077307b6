/*
 * query.c: discovery over the node's current summaries, answered from
 * the search index (node/index.h). The query language (proto/query.h)
 * decides what matches: each part of the query's tree becomes a bitmap
 * of document numbers, read from the index's postings (words, prefixes,
 * filter values, quality ranges), and the bitmaps are combined by AND, OR
 * and NOT. A phrase is the documents holding all its words, each then
 * checked against its summary (query_node_match); parts of an AND are
 * read cheapest first, so a phrase is only checked where the rest holds.
 *
 * Matches are ranked by a BM25-style score over the name, tags, schema
 * names, field names and description, each with its weight (counts per
 * field from the postings, lengths from DOCS, averages and document
 * frequencies over the whole index); an exact name or id match always
 * ranks first; deprecated and retired products rank below the rest; ties
 * go by id. Only the best `limit` are picked, and only they are read
 * from the store and built into the reply.
 */
#include "proto/query.h"
#include "node/index.h"
#include "node/node.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TERMS_MAX 16 /* positive words, prefixes and phrases scored */
#define BM25_K1   1.2
#define BM25_B    0.75

static const double      weights[QF_COUNT] = { 4.0, 3.0, 2.0, 2.0, 1.0 };
static const char *const field_names[QF_COUNT]
    = { "name", "tags", "schemas", "fields", "description" };
static const char *const verdicts[]
    = { "accepted", "warned", "quarantined", "rejected" };

/* A term scored: a word, a prefix or a phrase of the query. */
typedef struct term {
    const qnode *node;
    uint64_t     df;      /* documents that hold it in any field */
    double       idf;     /* from df, once ranking starts */
    ix_list      list;    /* its postings (phrases: where it was found) */
    double (*bound)[256]; /* [field][tf]: part() at the least length */
} term;

/* A match: what ranks it. */
typedef struct cand {
    uint32_t doc;
    uint8_t  exact, low; /* exact name/id match; deprecated or retired */
    double   score;
    char    *id; /* read for the ones returned (and ties) only */
} cand;

/* A facet: counts per value, for the matching set. */
#define FACET_VALUES_MAX 256
typedef struct facet {
    char    *v[FACET_VALUES_MAX];
    uint64_t c[FACET_VALUES_MAX];
    int      n;
} facet;

enum { FA_DOMAIN, FA_CLASS, FA_STATUS, FA_IFACE, FA_COUNT };
static const char *const facet_names[FA_COUNT]
    = { "domain", "class", "status", "interface" };

typedef struct scan {
    node        *n;
    pv_arena    *w;  /* one document's work */
    pv_arena    *ra; /* the reply */
    store_txn   *t;
    const query *q;
    uint32_t     docs; /* docnos given */
    size_t       nw;   /* 64-bit words in a bitmap */
    uint64_t     total[QF_COUNT];
    double       avg[QF_COUNT]; /* mean length of each field */
    term         terms[TERMS_MAX];
    int          nterms;
    char         exact[QUERY_MAX + 1]; /* the positive words, joined */
    facet        fa[FA_COUNT];
    weft_err     err;
} scan;

static void
facet_add(void *ctx, const char *v, uint64_t c)
{
    facet *f = ctx;

    if (f->n < FACET_VALUES_MAX && (f->v[f->n] = strdup(v)) != NULL)
        f->c[f->n++] = c;
}

/* terms_of collects the positive text nodes (not under a NOT). */
static void
terms_of(scan *s, const qnode *n)
{
    if (n == NULL || n->kind == Q_NOT)
        return;
    if (n->kind == Q_AND || n->kind == Q_OR) {
        for (int i = 0; i < n->nkids; i++)
            terms_of(s, n->kids[i]);
        return;
    }
    if ((n->kind == Q_WORD || n->kind == Q_PREFIX || n->kind == Q_PHRASE)
        && s->nterms < TERMS_MAX) {
        memset(&s->terms[s->nterms], 0, sizeof(s->terms[0]));
        s->terms[s->nterms++].node = n;
        if (n->kind != Q_PREFIX) {
            size_t l = strlen(s->exact);

            snprintf(s->exact + l, sizeof(s->exact) - l, "%s%s", l ? " " : "",
                n->text);
        }
    }
}

static term *
term_of(scan *s, const qnode *n)
{
    for (int i = 0; i < s->nterms; i++)
        if (s->terms[i].node == n)
            return &s->terms[i];
    return NULL;
}

/* The words of one field, for counting a phrase. */
typedef struct words {
    char   buf[8192];
    size_t used;
    int    n;
    char  *w[1024];
} words;

static void
words_cb(void *ctx, const char *w)
{
    words *ws = ctx;
    size_t l = strlen(w);

    if (ws->n == 1024 || ws->used + l + 1 > sizeof(ws->buf))
        return;
    memcpy(ws->buf + ws->used, w, l + 1);
    ws->w[ws->n++] = ws->buf + ws->used;
    ws->used += l + 1;
}

/* phrase_count is how often phrase p occurs in the words of one field. */
static int
phrase_count(const char *phrase, const words *ws)
{
    int c = 0;

    for (int i = 0; i < ws->n; i++) {
        const char *p = phrase;
        int         j = i;

        while (j < ws->n) {
            size_t l = strlen(ws->w[j]);

            if (strncmp(p, ws->w[j], l) != 0 || (p[l] != ' ' && p[l] != 0))
                break;
            p += l;
            j++;
            if (*p == 0)
                break;
            p++;
        }
        c += *p == 0 && j > i;
    }
    return c;
}

/* ---- bitmaps ------------------------------------------------------------ */

static uint64_t
popcount(const uint64_t *b, size_t nw)
{
    uint64_t c = 0;

    for (size_t i = 0; i < nw; i++)
        c += (uint64_t) __builtin_popcountll(b[i]);
    return c;
}

static uint64_t *
bm_new(scan *s)
{
    uint64_t *b = calloc(s->nw ? s->nw : 1, sizeof(uint64_t));

    if (b == NULL)
        s->err = WEFT_ENOMEM;
    return b;
}

/* has_phrase reports whether the tree under n holds a phrase. */
static bool
has_phrase(const qnode *n)
{
    if (n->kind == Q_PHRASE)
        return true;
    for (int i = 0; i < n->nkids; i++)
        if (has_phrase(n->kids[i]))
            return true;
    return false;
}

/*
 * phrase sets in out the documents of mask that hold phrase n. The index
 * holds every pair of words in a row: a two-word phrase is its pair; a
 * longer one is the documents with all its pairs, each then checked
 * against its summary (and its counts taken there).
 */
static weft_err
phrase(scan *s, const qnode *n, const uint64_t *mask, uint64_t *out)
{
    term     *tm = term_of(s, n);
    uint64_t *w = NULL;
    char      buf[QUERY_MAX + 1], *wd[QUERY_MAX / 2 + 1], *save = NULL;
    int       nwords = 0;
    weft_err  err = WEFT_OK;

    snprintf(buf, sizeof(buf), "%s", n->text);
    for (char *p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save))
        wd[nwords++] = p;
    if (nwords < 2) /* the parser makes a word of these: cannot be */
        return ix_word(s->t, n->text, out, s->nw, tm ? &tm->list : NULL);
    if (nwords == 2) {
        err = ix_pair(s->t, wd[0], wd[1], out, s->nw, tm ? &tm->list : NULL);
        if (err == WEFT_OK && tm != NULL)
            tm->df = popcount(out, s->nw);
        return err == WEFT_EINVAL ? WEFT_OK : err; /* too long: no match */
    }
    for (int i = 0; i + 1 < nwords && err == WEFT_OK; i++) {
        if ((w = w ? w : bm_new(s)) == NULL)
            return WEFT_ENOMEM;
        memset(w, 0, s->nw * sizeof(uint64_t));
        if ((err = ix_pair(s->t, wd[i], wd[i + 1], i ? w : out, s->nw, NULL)))
            break;
        if (i > 0)
            for (size_t k = 0; k < s->nw; k++)
                out[k] &= w[k];
    }
    free(w);
    if (err == WEFT_EINVAL) { /* a word too long to be a pair: no match */
        memset(out, 0, s->nw * sizeof(uint64_t));
        return WEFT_OK;
    }
    if (err != WEFT_OK)
        return err;
    if (tm != NULL)
        tm->df = popcount(out, s->nw);
    for (size_t i = 0; i < s->nw; i++) {
        uint64_t bits = out[i] &= mask[i];

        while (bits) {
            uint32_t doc = (uint32_t) (i * 64 + (size_t) __builtin_ctzll(bits));
            char     id[WEFT_ID_MAX + 1];
            store_val v;
            pv       *sum;

            bits &= bits - 1;
            pv_arena_reset(s->w);
            if (ix_id(s->t, doc, id) != WEFT_OK
                || catalog_cur_get(s->t, id, &v) != WEFT_OK
                || proto_envelope_read(s->w, v.p, v.n, &sum, NULL) != WEFT_OK
                || !query_node_match(n, sum)) {
                out[i] &= ~((uint64_t) 1 << (doc % 64));
                continue;
            }
            if (tm != NULL) {    /* count it in each field, for the score */
                static words ws; /* loop thread only */
                ix_post      post = { doc, { 0 } };
                const char  *texts[256];

                for (int f = 0; f < QF_COUNT; f++) {
                    int c = query_field_texts(sum, (qfield) f, texts, 256), k;

                    ws.used = 0;
                    ws.n = 0;
                    for (int x = 0; x < c; x++)
                        query_tokens(texts[x], words_cb, &ws);
                    if (f == QF_NAME && strchr(id, '/'))
                        query_tokens(strchr(id, '/') + 1, words_cb, &ws);
                    k = phrase_count(n->text, &ws);
                    post.tf[f] = (uint8_t) (k > 255 ? 255 : k);
                }
                if (tm->list.n == tm->list.cap) {
                    size_t   cap = tm->list.cap ? tm->list.cap * 2 : 64;
                    ix_post *np = realloc(tm->list.p, cap * sizeof(*np));

                    if (np == NULL)
                        return WEFT_ENOMEM;
                    tm->list.p = np;
                    tm->list.cap = cap;
                }
                tm->list.p[tm->list.n++] = post;
            }
        }
    }
    return WEFT_OK;
}

/*
 * eval sets in out (zeroed) the documents that match n, exactly within
 * mask (outside it, bits may be wrong: every caller masks).
 */
static weft_err
eval(scan *s, const qnode *n, const uint64_t *mask, uint64_t *out)
{
    term     *tm = term_of(s, n);
    uint64_t *tmp;
    weft_err  err = WEFT_OK;

    switch (n->kind) {
    case Q_AND:
        memcpy(out, mask, s->nw * sizeof(uint64_t));
        if ((tmp = bm_new(s)) == NULL)
            return WEFT_ENOMEM;
        /* The cheap parts first; phrases only where those hold. */
        for (int pass = 0; pass < 2 && err == WEFT_OK; pass++)
            for (int i = 0; i < n->nkids && err == WEFT_OK; i++) {
                if (has_phrase(n->kids[i]) != (pass == 1))
                    continue;
                memset(tmp, 0, s->nw * sizeof(uint64_t));
                if ((err = eval(s, n->kids[i], out, tmp)) == WEFT_OK)
                    for (size_t k = 0; k < s->nw; k++)
                        out[k] &= tmp[k];
            }
        free(tmp);
        return err;
    case Q_OR:
        if ((tmp = bm_new(s)) == NULL)
            return WEFT_ENOMEM;
        for (int i = 0; i < n->nkids && err == WEFT_OK; i++) {
            memset(tmp, 0, s->nw * sizeof(uint64_t));
            if ((err = eval(s, n->kids[i], mask, tmp)) == WEFT_OK)
                for (size_t k = 0; k < s->nw; k++)
                    out[k] |= tmp[k];
        }
        free(tmp);
        return err;
    case Q_NOT:
        if ((tmp = bm_new(s)) == NULL)
            return WEFT_ENOMEM;
        if ((err = eval(s, n->kids[0], mask, tmp)) == WEFT_OK)
            for (size_t k = 0; k < s->nw; k++)
                out[k] = mask[k] & ~tmp[k];
        free(tmp);
        return err;
    case Q_WORD:
        err = ix_word(s->t, n->text, out, s->nw, tm ? &tm->list : NULL);
        break;
    case Q_PREFIX:
        err = ix_prefix(s->t, n->text, out, s->nw, tm ? &tm->list : NULL);
        break;
    case Q_PHRASE:
        return phrase(s, n, mask, out);
    case Q_FILTER:
        return ix_filter(s->t, n->key, n->text, out, s->nw);
    case Q_CMP:
        return ix_cmp(s->t, n->key, n->op, n->num, out, s->nw);
    }
    if (err == WEFT_OK && tm != NULL)
        tm->df = popcount(out, s->nw);
    return err;
}

/* idf is BM25's inverse document frequency of term t. */
static double
idf(const scan *s, const term *t)
{
    double n = (double) s->docs, df = (double) t->df;

    return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

/* part is one term's BM25 score in field f: tf occurrences in a field
 * len words long (len < 0: the least a length can weigh, for a bound). */
static double
part(const scan *s, const term *t, int f, double tf, double len)
{
    double norm = len < 0 ? 1 - BM25_B : 1 - BM25_B + BM25_B * len / s->avg[f];

    return t->idf * weights[f] * tf * (BM25_K1 + 1) / (tf + BM25_K1 * norm);
}

/* score sums, over terms and fields, BM25 with each field's weight and
 * length normalization; with explain, the parts go into parts. */
static double
score(const scan *s, const uint8_t (*tf)[QF_COUNT], const uint16_t *len,
    pv_arena *a, pv *parts)
{
    double total = 0;

    for (int t = 0; t < s->nterms; t++)
        for (int f = 0; f < QF_COUNT; f++) {
            double x;
            pv    *p;

            if (tf[t][f] == 0)
                continue;
            x = part(s, &s->terms[t], f, tf[t][f], len[f]);
            total += x;
            if (parts != NULL && (p = pv_map(a)) != NULL) {
                pv_setstr(a, p, "term", s->terms[t].node->text);
                pv_setstr(a, p, "field", field_names[f]);
                pv_setint(a, p, "tf", (int64_t) tf[t][f]);
                pv_set(a, p, "idf",
                    pv_float(a, round(s->terms[t].idf * 1000) / 1000));
                pv_set(a, p, "weight", pv_float(a, weights[f]));
                pv_set(a, p, "score", pv_float(a, round(x * 1000) / 1000));
                pv_push(a, parts, p);
            }
        }
    return total;
}

/* bound_score is score()'s bound over every length (part() at the least
 * length), from the terms' tables: it runs for every match, where the
 * divisions would cost more than the rest. */
static double
bound_score(const scan *s, const uint8_t (*tf)[QF_COUNT])
{
    double total = 0;

    /* No branch on tf: bound[f][0] is 0, and which fields hold the word
     * is too random for the branch predictor. */
    for (int t = 0; t < s->nterms; t++)
        for (int f = 0; f < QF_COUNT; f++)
            total += s->terms[t].bound[f][tf[t][f]];
    return total;
}

/* tf_of finds doc's counts of term t (postings in docno order, from
 * *at on; at is moved along). */
static void
tf_of(const term *t, size_t *at, uint32_t doc, uint8_t tf[QF_COUNT])
{
    const ix_list *l = &t->list;

    while (*at < l->n && l->p[*at].doc < doc)
        (*at)++;
    if (*at < l->n && l->p[*at].doc == doc)
        memcpy(tf, l->p[*at].tf, QF_COUNT);
    else
        memset(tf, 0, QF_COUNT);
}

/* rank_cmp orders by what ranks: exact first, lowered last, score. */
static int
rank_cmp(const cand *a, const cand *b)
{
    if (a->exact != b->exact)
        return a->exact ? -1 : 1;
    if (a->low != b->low)
        return a->low ? 1 : -1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return 0;
}

static int
cand_cmp(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    int         c = rank_cmp(a, b);

    return c ? c : strcmp(a->id ? a->id : "", b->id ? b->id : "");
}

/* select_kth moves the k-th best (0-based) of c[0..n) by rank to c[k],
 * the better or equal before it, the worse or equal after. */
static void
select_kth(cand *c, size_t n, size_t k)
{
    size_t   lo = 0, hi = n; /* the k-th is in c[lo..hi) */
    uint64_t seed = 0x9e3779b97f4a7c15u;

    while (hi - lo > 1) {
        size_t lt = lo, gt = hi, i = lo;
        cand   pivot, tmp;

        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        pivot = c[lo + seed % (hi - lo)];
        /* Three ways: better | equal | worse than the pivot. */
        while (i < gt) {
            int r = rank_cmp(&c[i], &pivot);

            if (r < 0) {
                tmp = c[lt];
                c[lt++] = c[i];
                c[i++] = tmp;
            } else if (r > 0) {
                tmp = c[--gt];
                c[gt] = c[i];
                c[i] = tmp;
            } else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
}

typedef struct walk {
    const uint64_t *bits;
    size_t          nw, need;
    uint32_t       *out;
    size_t          n;
} walk;

static int
walk_cb(void *ctx, uint32_t doc)
{
    walk *w = ctx;

    if (doc / 64 < w->nw && (w->bits[doc / 64] >> (doc % 64) & 1))
        w->out[w->n++] = doc;
    return w->n == w->need;
}

/*
 * first_by_id puts into c[*nc..] the need documents of set (count of
 * them) with the least ids, in id order, their ids read: by walking the
 * ids in order when set is dense, else by reading every one's id.
 */
static weft_err
first_by_id(scan *s, const uint64_t *set, uint64_t count, size_t need,
    uint8_t low, cand *c, size_t *nc)
{
    size_t   n0 = *nc, got = 0;
    weft_err err = WEFT_OK;

    if (need > count)
        need = (size_t) count;
    if (need == 0)
        return WEFT_OK;
    /* Reading an id costs about what ten steps of the walk do. */
    if (count * 10 > need * (s->docs / count + 1)) {
        walk w = { set, s->nw, need, NULL, 0 };

        if ((w.out = malloc(need * sizeof(*w.out))) == NULL)
            return WEFT_ENOMEM;
        err = ix_by_id(s->t, walk_cb, &w);
        for (size_t i = 0; i < w.n; i++)
            c[n0 + got++] = (cand) { w.out[i], 0, low, 0, NULL };
        free(w.out);
    } else
        for (size_t i = 0; i < s->nw; i++)
            for (uint64_t b = set[i]; b; b &= b - 1)
                c[n0 + got++] = (cand) { (uint32_t) (i * 64
                                             + (size_t) __builtin_ctzll(b)),
                    0, low, 0, NULL };
    for (size_t i = n0; err == WEFT_OK && i < n0 + got; i++) {
        char id[WEFT_ID_MAX + 1];

        if ((err = ix_id(s->t, c[i].doc, id)) == WEFT_OK
            && (c[i].id = strdup(id)) == NULL)
            err = WEFT_ENOMEM;
    }
    *nc = n0 + got; /* the caller frees the ids */
    if (err != WEFT_OK)
        return err == WEFT_ENOTFOUND ? WEFT_ESTORE : err;
    qsort(c + n0, got, sizeof(*c), cand_cmp);
    if (got > need) {
        for (size_t i = n0 + need; i < n0 + got; i++) {
            free(c[i].id);
            c[i].id = NULL;
        }
        *nc = n0 + need;
    }
    return WEFT_OK;
}

/*
 * top picks the best limit of c[0..n) (all with limit 0) into c[0..*m),
 * sorted, their ids read. Ties with the last one picked go by id
 * (first_by_id).
 */
static weft_err
top(scan *s, cand *c, size_t n, size_t limit, size_t *m)
{
    size_t   k = limit == 0 || limit > n ? n : limit, nb = 0;
    cand     kth;
    weft_err err;

    *m = 0;
    if (k == 0)
        return WEFT_OK;
    if (k < n) {
        uint64_t *tied = bm_new(s), ntied = 0;
        size_t    nc;

        if (tied == NULL)
            return WEFT_ENOMEM;
        select_kth(c, n, k - 1);
        kth = c[k - 1];
        /* c[0..nb): better than the k-th; the ones tied with it go by id. */
        for (size_t i = 0; i < n; i++) {
            int r = rank_cmp(&c[i], &kth);

            if (r < 0) {
                cand tmp = c[nb];

                c[nb++] = c[i];
                c[i] = tmp;
            }
        }
        for (size_t i = nb; i < n; i++)
            if (rank_cmp(&c[i], &kth) == 0) {
                tied[c[i].doc / 64] |= (uint64_t) 1 << (c[i].doc % 64);
                ntied++;
            }
        nc = nb;
        err = first_by_id(s, tied, ntied, k - nb, kth.low, c, &nc);
        free(tied);
        for (size_t i = nb; i < nc; i++) {
            c[i].exact = kth.exact;
            c[i].score = kth.score;
        }
        if (err != WEFT_OK)
            return err;
        n = nc;
    }
    for (size_t i = 0; i < n; i++) {
        char id[WEFT_ID_MAX + 1];

        if (c[i].id != NULL) /* read by first_by_id */
            continue;
        if ((err = ix_id(s->t, c[i].doc, id)) != WEFT_OK)
            return err == WEFT_ENOTFOUND ? WEFT_ESTORE : err;
        if ((c[i].id = strdup(id)) == NULL)
            return WEFT_ENOMEM;
    }
    qsort(c, n, sizeof(*c), cand_cmp);
    *m = n < k ? n : k;
    return WEFT_OK;
}

static weft_err
facets_out(scan *s, pv_arena *a, pv *out)
{
    for (int i = 0; i < FA_COUNT; i++) {
        pv *m = pv_map(a);

        if (m == NULL)
            return WEFT_ENOMEM;
        for (int j = 0; j < s->fa[i].n; j++)
            if (pv_setint(a, m, s->fa[i].v[j], (int64_t) s->fa[i].c[j]))
                return WEFT_ENOMEM;
        if (pv_set(a, out, facet_names[i], m))
            return WEFT_ENOMEM;
    }
    return WEFT_OK;
}

/* materialize builds match h's list item into the reply (its verdict,
 * staleness, flagged upstreams and, with QUERY_EXPLAIN, its score's
 * parts) and appends it to items. */
static weft_err
materialize(scan *s, const cand *h, unsigned flags, pv *items)
{
    pv_arena *a = s->ra;
    store_val v;
    pv       *sum, *item, *ups, *parts;
    int64_t   hts;
    uint64_t  hseq;
    int       sev = gov_stored(s->t, h->id, NULL);

    pv_arena_reset(s->w);
    if (catalog_cur_get(s->t, h->id, &v) != WEFT_OK
        || proto_envelope_read(s->w, v.p, v.n, &sum, NULL) != WEFT_OK)
        return WEFT_ESTORE; /* indexed in this same snapshot: cannot be */
    if ((item = catalog_item(s->w, sum)) == NULL
        || pv_setstr(s->w, item, "verdict", verdicts[sev])
        || pv_setint(s->w, item, "stale_s",
            catalog_head_held(s->t, pv_getstr(sum, "domain"), &hts, &hseq)
                ? (time(NULL) > hts ? (int64_t) time(NULL) - hts : 0)
                : -1)
        || (ups = pv_arr(s->w)) == NULL
        || lineage_flags(s->n, s->t, s->w, sum, ups) != WEFT_OK
        || pv_set(s->w, item, "upstream_flags", ups)
        || (item = pv_copy(a, item)) == NULL)
        return WEFT_ENOMEM;
    if (flags & QUERY_EXPLAIN) {
        pv      *e = pv_map(a);
        uint8_t  tf[TERMS_MAX][QF_COUNT];
        uint16_t len[QF_COUNT] = { 0 };
        ix_docs  dc = { NULL, 0 };

        for (int t = 0; t < s->nterms; t++) {
            size_t at = 0;

            tf_of(&s->terms[t], &at, h->doc, tf[t]);
        }
        if (s->nterms > 0)
            ix_doc_lens(s->t, &dc, h->doc, len);
        if ((parts = pv_arr(a)) == NULL || e == NULL)
            return WEFT_ENOMEM;
        score(s, (const uint8_t(*)[QF_COUNT]) tf, len, a, parts);
        if (pv_set(a, e, "score", pv_float(a, round(h->score * 1000) / 1000))
            || pv_set(a, e, "exact", pv_bool(a, h->exact))
            || pv_set(a, e, "lowered", pv_bool(a, h->low))
            || pv_set(a, e, "parts", parts) || pv_set(a, item, "explain", e))
            return WEFT_ENOMEM;
    }
    return pv_push(a, items, item);
}

/* heap_push keeps in h[0..*n) the best k seen (a heap, the worst on
 * top) with c. */
static void
heap_push(cand *h, size_t *n, size_t k, const cand *c)
{
    size_t i;

    if (*n < k) { /* sift up */
        for (i = (*n)++; i > 0 && rank_cmp(c, &h[(i - 1) / 2]) > 0;
             i = (i - 1) / 2)
            h[i] = h[(i - 1) / 2];
        h[i] = *c;
        return;
    }
    if (rank_cmp(c, &h[0]) >= 0)
        return;
    for (i = 0;;) { /* replace the top, sift down */
        size_t l = 2 * i + 1, w = i;

        if (l < *n && rank_cmp(&h[l], c) > 0)
            w = l;
        if (l + 1 < *n && rank_cmp(&h[l + 1], w == i ? c : &h[l]) > 0)
            w = l + 1;
        if (w == i)
            break;
        h[i] = h[w];
        i = w;
    }
    h[i] = *c;
}

/*
 * rank scores the matches in m and picks the best limit into the reply.
 * Documents are taken in docno order while a heap holds the best limit
 * so far: a document whose score cannot reach the worst of those (its
 * bound: its counts at the least length) is not scored at all, and one
 * that scores below it is dropped. What is kept (every document that may
 * be among the best or tie with them) goes to top().
 */
static weft_err
rank(scan *s, const uint64_t *m, uint64_t nm, unsigned flags, int64_t limit,
    pv *items)
{
    uint64_t *ex = NULL, *low = NULL;
    cand     *c = NULL, *heap = NULL;
    size_t    nc = 0, at[TERMS_MAX] = { 0 }, picked = 0, nh = 0;
    size_t    k = limit > 0 && (uint64_t) limit < nm ? (size_t) limit : 0;
    ix_docs   dc = { NULL, 0 };
    weft_err  err = WEFT_OK;

    if (nm == 0)
        return WEFT_OK;
    if ((ex = bm_new(s)) == NULL || (low = bm_new(s)) == NULL
        || (c = calloc(nm, sizeof(*c))) == NULL
        || (k > 0 && (heap = calloc(k, sizeof(*heap))) == NULL)) {
        err = WEFT_ENOMEM;
        goto done;
    }
    if ((s->exact[0] && (err = ix_exact(s->t, s->exact, ex, s->nw)))
        || (err = ix_filter(s->t, "status", "deprecated", low, s->nw))
        || (err = ix_filter(s->t, "status", "retired", low, s->nw)))
        goto done;
    for (int f = 0; f < QF_COUNT; f++)
        s->avg[f] = s->docs && s->total[f]
            ? (double) s->total[f] / (double) s->docs
            : 1;
    for (int t = 0; t < s->nterms; t++) {
        term *tm = &s->terms[t];

        tm->idf = idf(s, tm);
        if (k == 0)
            continue; /* every match is scored in full: no bound */
        if ((tm->bound = malloc(QF_COUNT * sizeof(*tm->bound))) == NULL) {
            err = WEFT_ENOMEM;
            goto done;
        }
        for (int f = 0; f < QF_COUNT; f++)
            for (int x = 0; x < 256; x++)
                tm->bound[f][x] = part(s, tm, f, x, -1);
    }
    if (s->nterms == 0 && k > 0) {
        /* Nothing to score: the active ones by id, then the lowered. */
        uint64_t *hi = ex, nhi; /* ex is unused without words */

        for (size_t i = 0; i < s->nw; i++) {
            hi[i] = m[i] & ~low[i];
            low[i] &= m[i];
        }
        nhi = popcount(hi, s->nw);
        if ((err = first_by_id(s, hi, nhi, k, 0, c, &nc)) == WEFT_OK && nc < k)
            err = first_by_id(s, low, nm - nhi, k - nc, 1, c, &nc);
        for (size_t i = 0; err == WEFT_OK && i < nc; i++)
            err = materialize(s, &c[i], flags, items);
        goto done;
    }
    for (size_t i = 0; i < s->nw; i++)
        for (uint64_t bits = m[i]; bits; bits &= bits - 1) {
            uint32_t doc = (uint32_t) (i * 64 + (size_t) __builtin_ctzll(bits));
            uint8_t  tf[TERMS_MAX][QF_COUNT];
            uint16_t len[QF_COUNT] = { 0 };
            cand h = { doc, ex[i] >> (doc % 64) & 1, low[i] >> (doc % 64) & 1,
                0, NULL };

            if (s->nterms > 0) {
                for (int t = 0; t < s->nterms; t++)
                    tf_of(&s->terms[t], &at[t], doc, tf[t]);
                if (nh == k && k > 0) {
                    h.score = bound_score(s, (const uint8_t(*)[QF_COUNT]) tf);
                    if (rank_cmp(&h, &heap[0]) > 0)
                        continue; /* even its bound is below the best k */
                }
                if ((err = ix_doc_lens(s->t, &dc, doc, len)) != WEFT_OK
                    && err != WEFT_ENOTFOUND)
                    goto done;
                err = WEFT_OK;
                h.score = score(
                    s, (const uint8_t(*)[QF_COUNT]) tf, len, NULL, NULL);
            }
            if (k > 0) {
                if (nh == k && rank_cmp(&h, &heap[0]) > 0)
                    continue;
                heap_push(heap, &nh, k, &h);
            }
            c[nc++] = h;
        }
    if ((err = top(s, c, nc, (size_t) limit, &picked)) != WEFT_OK)
        goto done;
    for (size_t i = 0; err == WEFT_OK && i < picked; i++)
        err = materialize(s, &c[i], flags, items);
done:
    for (size_t i = 0; c != NULL && i < nc; i++)
        free(c[i].id);
    for (int t = 0; t < s->nterms; t++) {
        free(s->terms[t].bound);
        s->terms[t].bound = NULL;
    }
    free(c);
    free(heap);
    free(ex);
    free(low);
    return err;
}

weft_err
query_search(node *n, pv_arena *a, const char *text, const char *domain,
    unsigned flags, int64_t limit, pv *items, int64_t *total, pv *facets,
    weft_diag *d)
{
    store_txn *t = NULL;
    scan       s;
    query     *q;
    uint64_t  *u = NULL, *m = NULL, *tmp = NULL, nm = 0;
    weft_err   err;

    memset(&s, 0, sizeof(s));
    if ((err = query_parse(text ? text : "", &q, d)) != WEFT_OK)
        return err;
    s.n = n;
    s.ra = a;
    s.q = q;
    terms_of(&s, query_root(q));
    if ((s.w = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL) {
        err = WEFT_ENOMEM;
        goto done;
    }
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK
        || (err = ix_info(t, &s.docs, s.total)) != WEFT_OK)
        goto done;
    s.t = t;
    s.nw = ((size_t) s.docs + 63) / 64;
    /* What may be served: every document less the rejected, and less the
     * quarantined unless all is asked for; one domain's if asked. */
    if ((u = bm_new(&s)) == NULL || (m = bm_new(&s)) == NULL
        || (tmp = bm_new(&s)) == NULL) {
        err = WEFT_ENOMEM;
        goto done;
    }
    memset(u, 0xff, s.docs / 64 * sizeof(uint64_t));
    if (s.docs % 64)
        u[s.docs / 64] = ((uint64_t) 1 << (s.docs % 64)) - 1;
    if ((err = ix_verdict(t, 3, tmp, s.nw)) != WEFT_OK
        || (!(flags & QUERY_ALL) && (err = ix_verdict(t, 2, tmp, s.nw))))
        goto done;
    for (size_t i = 0; i < s.nw; i++)
        u[i] &= ~tmp[i];
    if (domain != NULL) {
        memset(tmp, 0, s.nw * sizeof(uint64_t));
        if ((err = ix_filter(t, "domain", domain, tmp, s.nw)) != WEFT_OK)
            goto done;
        for (size_t i = 0; i < s.nw; i++)
            u[i] &= tmp[i];
    }
    if (query_root(q) == NULL)
        memcpy(m, u, s.nw * sizeof(uint64_t));
    else if ((err = eval(&s, query_root(q), u, m)) != WEFT_OK
        || (err = s.err) != WEFT_OK)
        goto done;
    for (size_t i = 0; i < s.nw; i++)
        m[i] &= u[i];
    nm = popcount(m, s.nw);
    if ((err = rank(&s, m, nm, flags, limit, items)) != WEFT_OK)
        goto done;
    for (int i = 0; facets != NULL && i < FA_COUNT && err == WEFT_OK; i++)
        err = ix_facet(t, facet_names[i], m, s.nw, facet_add, &s.fa[i]);
    if (err == WEFT_OK && facets != NULL)
        err = facets_out(&s, a, facets);
    if (total != NULL)
        *total = (int64_t) nm;
done:
    store_abort(t);
    for (int i = 0; i < FA_COUNT; i++)
        for (int j = 0; j < s.fa[i].n; j++)
            free(s.fa[i].v[j]);
    for (int i = 0; i < s.nterms; i++)
        free(s.terms[i].list.p);
    free(u);
    free(m);
    free(tmp);
    pv_arena_free(s.w);
    query_free(q);
    return err;
}
