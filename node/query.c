/*
 * query.c: discovery over the node's current summaries. The query
 * language (proto/query.h) decides what matches; matches are ranked by a
 * BM25-style score over the name, tags, schema names, field names and
 * description, each with its weight, and an exact name or id match always
 * ranks first; deprecated and retired products rank below the rest.
 *
 * This walks every current summary for each query (it gathers the
 * corpus statistics BM25 needs on the way): correct at any size, linear
 * in the catalog. An inverted index kept in LMDB replaces the walk in a
 * later step, with the same answers.
 */
#include "proto/query.h"
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
    qkind       kind;
    const char *text;
    uint64_t    df; /* documents that hold it in any field */
} term;

typedef struct hit {
    char  *id;         /* malloc'd; the item is built for the top only */
    int    sev;        /* governance verdict, 0..2 */
    int    exact, low; /* exact name/id match; deprecated or retired */
    double score;
    int    tf[TERMS_MAX][QF_COUNT];
    int    len[QF_COUNT];
} hit;

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
    pv_arena    *w;  /* one document's work, reset per document */
    pv_arena    *ra; /* the reply */
    store_txn   *t;
    const query *q;
    bool         all, facets;
    term         terms[TERMS_MAX];
    int          nterms;
    char         exact[QUERY_MAX + 1]; /* the positive words, joined */
    hit         *hits;
    size_t       nhits, cap;
    uint64_t     docs, total[QF_COUNT];
    facet        fa[FA_COUNT];
    weft_err     err;
} scan;

static void
facet_add(facet *f, const char *v)
{
    if (v == NULL)
        v = "-";
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->v[i], v) == 0) {
            f->c[i]++;
            return;
        }
    if (f->n < FACET_VALUES_MAX && (f->v[f->n] = strdup(v)) != NULL)
        f->c[f->n++] = 1;
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
        s->terms[s->nterms].kind = n->kind;
        s->terms[s->nterms].text = n->text;
        s->terms[s->nterms++].df = 0;
        if (n->kind != Q_PREFIX) {
            size_t l = strlen(s->exact);

            snprintf(s->exact + l, sizeof(s->exact) - l, "%s%s", l ? " " : "",
                n->text);
        }
    }
}

/* The words of one field, for counting. */
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

/* count is how often term t occurs in the words of one field. */
static int
count(const term *t, const words *ws)
{
    int c = 0;

    for (int i = 0; i < ws->n; i++) {
        if (t->kind == Q_WORD)
            c += strcmp(ws->w[i], t->text) == 0;
        else if (t->kind == Q_PREFIX)
            c += strncmp(ws->w[i], t->text, strlen(t->text)) == 0;
        else { /* a phrase: its words in a row from here */
            const char *p = t->text;
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
    }
    return c;
}

/* exact_of reports whether the query's words are, word for word, the
 * product's name, its id, or the name part of its id. */
static bool
exact_of(const scan *s, const pv *sum)
{
    const char *cand[3]
        = { pv_getstr(sum, "name"), pv_getstr(sum, "id"), NULL };
    static words ws; /* loop thread only */

    if (s->exact[0] == 0)
        return false;
    if (cand[1] && strchr(cand[1], '/'))
        cand[2] = strchr(cand[1], '/') + 1;
    for (int i = 0; i < 3; i++) {
        char   joined[QUERY_MAX + 1] = "";
        size_t l = 0;

        if (cand[i] == NULL)
            continue;
        ws.used = 0;
        ws.n = 0;
        query_tokens(cand[i], words_cb, &ws);
        for (int j = 0; j < ws.n && l < sizeof(joined); j++)
            l += (size_t) snprintf(
                joined + l, sizeof(joined) - l, "%s%s", j ? " " : "", ws.w[j]);
        if (strcmp(joined, s->exact) == 0)
            return true;
    }
    return false;
}

static int
scan_cb(void *ctx, store_val k, store_val v)
{
    scan        *s = ctx;
    pv          *sum;
    int          sev, tf[TERMS_MAX][QF_COUNT] = { { 0 } }, len[QF_COUNT];
    int64_t      version = 0;
    char         id[WEFT_ID_MAX + 1];
    bool         in[TERMS_MAX] = { false };
    const char  *st;
    static words ws; /* loop thread only */
    hit         *h;

    if (k.n > WEFT_ID_MAX)
        return 0;
    memcpy(id, k.p, k.n);
    id[k.n] = 0;
    /* Governance: a rejected product is served to no query; a
     * quarantined one only when asked for (--all). */
    sev = gov_stored(s->t, id, &version);
    if (sev == 3 || (sev == 2 && !s->all))
        return 0;
    pv_arena_reset(s->w);
    if ((s->err = proto_envelope_read(s->w, v.p, v.n, &sum, NULL)))
        return s->err;
    /* Corpus statistics over every visible document. */
    if (++s->docs % 4096 == 0)
        store_trim(s->n->st); /* the walk maps the store in: let it go */
    for (int f = 0; f < QF_COUNT; f++) {
        const char *texts[256];
        int         c = query_field_texts(sum, (qfield) f, texts, 256);

        ws.used = 0;
        ws.n = 0;
        for (int i = 0; i < c; i++)
            query_tokens(texts[i], words_cb, &ws);
        if (f == QF_NAME) /* the name part of the id counts as name */
            query_tokens(
                strchr(id, '/') ? strchr(id, '/') + 1 : id, words_cb, &ws);
        len[f] = ws.n;
        s->total[f] += (uint64_t) ws.n;
        for (int t = 0; t < s->nterms; t++)
            if ((tf[t][f] = count(&s->terms[t], &ws)) > 0)
                in[t] = true;
    }
    for (int t = 0; t < s->nterms; t++)
        s->terms[t].df += in[t];
    if (!query_match(s->q, sum))
        return 0;
    if (s->nhits == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;

        if ((h = realloc(s->hits, cap * sizeof(*h))) == NULL)
            return s->err = WEFT_ENOMEM;
        s->hits = h;
        s->cap = cap;
    }
    h = &s->hits[s->nhits];
    memset(h, 0, sizeof(*h));
    if ((h->id = strdup(id)) == NULL)
        return s->err = WEFT_ENOMEM;
    s->nhits++;
    h->sev = sev;
    h->exact = exact_of(s, sum);
    st = pv_getstr(sum, "status");
    h->low
        = st && (strcmp(st, "deprecated") == 0 || strcmp(st, "retired") == 0);
    memcpy(h->tf, tf, sizeof(tf));
    memcpy(h->len, len, sizeof(len));
    if (s->facets) {
        const pv *ifs = pv_get(sum, "ifaces");

        facet_add(&s->fa[FA_DOMAIN], pv_getstr(sum, "domain"));
        facet_add(&s->fa[FA_CLASS], pv_getstr(sum, "class"));
        facet_add(&s->fa[FA_STATUS], st);
        for (uint32_t i = 0; ifs && ifs->type == PV_ARR && i < ifs->u.a.n; i++)
            if (ifs->u.a.v[i]->type == PV_STR)
                facet_add(&s->fa[FA_IFACE], ifs->u.a.v[i]->u.s.p);
    }
    return 0;
}

/* idf is BM25's inverse document frequency of term t. */
static double
idf(const scan *s, const term *t)
{
    double n = (double) s->docs, df = (double) t->df;

    return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

/* score sums, over terms and fields, BM25 with each field's weight and
 * length normalization; with explain, the parts go into parts. */
static double
score(const scan *s, const hit *h, pv_arena *a, pv *parts)
{
    double total = 0;

    for (int t = 0; t < s->nterms; t++) {
        double w = idf(s, &s->terms[t]);

        for (int f = 0; f < QF_COUNT; f++) {
            double avg = s->docs ? (double) s->total[f] / (double) s->docs : 1;
            double tf = h->tf[t][f], part;
            pv    *p;

            if (tf == 0)
                continue;
            if (avg <= 0)
                avg = 1;
            part = w * weights[f] * tf * (BM25_K1 + 1)
                / (tf
                    + BM25_K1
                        * (1 - BM25_B + BM25_B * (double) h->len[f] / avg));
            total += part;
            if (parts != NULL && (p = pv_map(a)) != NULL) {
                pv_setstr(a, p, "term", s->terms[t].text);
                pv_setstr(a, p, "field", field_names[f]);
                pv_setint(a, p, "tf", (int64_t) tf);
                pv_set(a, p, "idf", pv_float(a, round(w * 1000) / 1000));
                pv_set(a, p, "weight", pv_float(a, weights[f]));
                pv_set(a, p, "score", pv_float(a, round(part * 1000) / 1000));
                pv_push(a, parts, p);
            }
        }
    }
    return total;
}

static int
hit_cmp(const void *x, const void *y)
{
    const hit *a = x, *b = y;

    if (a->exact != b->exact)
        return a->exact ? -1 : 1;
    if (a->low != b->low)
        return a->low ? 1 : -1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return strcmp(a->id, b->id);
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

/* materialize builds hit h's list item into the reply (its verdict,
 * staleness, flagged upstreams and, with QUERY_EXPLAIN, its score's
 * parts) and appends it to items. */
static weft_err
materialize(scan *s, hit *h, unsigned flags, pv *items)
{
    pv_arena *a = s->ra;
    store_val v;
    pv       *sum, *item, *ups, *parts;
    int64_t   hts;
    uint64_t  hseq;

    pv_arena_reset(s->w);
    if (store_get(s->t, STORE_CUR, h->id, strlen(h->id), &v) != WEFT_OK
        || proto_envelope_read(s->w, v.p, v.n, &sum, NULL) != WEFT_OK)
        return WEFT_OK; /* read in this same transaction: cannot be */
    if ((item = catalog_item(s->w, sum)) == NULL
        || pv_setstr(s->w, item, "verdict", verdicts[h->sev])
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
        pv *e = pv_map(a);

        if ((parts = pv_arr(a)) == NULL || e == NULL)
            return WEFT_ENOMEM;
        score(s, h, a, parts);
        if (pv_set(a, e, "score", pv_float(a, round(h->score * 1000) / 1000))
            || pv_set(a, e, "exact", pv_bool(a, h->exact))
            || pv_set(a, e, "lowered", pv_bool(a, h->low))
            || pv_set(a, e, "parts", parts) || pv_set(a, item, "explain", e))
            return WEFT_ENOMEM;
    }
    return pv_push(a, items, item);
}

weft_err
query_search(node *n, pv_arena *a, const char *text, const char *domain,
    unsigned flags, int64_t limit, pv *items, int64_t *total, pv *facets,
    weft_diag *d)
{
    store_txn *t;
    scan       s;
    char       prefix[WEFT_DOMAIN_MAX + 2];
    size_t     plen = 0;
    query     *q;
    weft_err   err;

    memset(&s, 0, sizeof(s));
    if ((err = query_parse(text ? text : "", &q, d)) != WEFT_OK)
        return err;
    s.n = n;
    s.ra = a;
    s.q = q;
    s.all = flags & QUERY_ALL;
    s.facets = facets != NULL;
    terms_of(&s, query_root(q));
    if (domain != NULL) {
        plen = (size_t) snprintf(prefix, sizeof(prefix), "%s/", domain);
        if (plen >= sizeof(prefix)) {
            query_free(q);
            return WEFT_OK; /* no domain has such a long name */
        }
    }
    if ((s.w = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL
        || (err = store_begin(n->st, false, &t)) != WEFT_OK) {
        pv_arena_free(s.w);
        query_free(q);
        return s.w ? err : WEFT_ENOMEM;
    }
    s.t = t;
    err = store_each(t, STORE_CUR, prefix, plen, false, scan_cb, &s);
    if (err == WEFT_OK)
        err = s.err;
    for (size_t i = 0; err == WEFT_OK && i < s.nhits; i++)
        s.hits[i].score = score(&s, &s.hits[i], a, NULL);
    if (err == WEFT_OK && s.nhits > 1)
        qsort(s.hits, s.nhits, sizeof(*s.hits), hit_cmp);
    /* Only the results returned are built into the reply. */
    for (size_t i = 0;
         err == WEFT_OK && i < s.nhits && (limit == 0 || i < (size_t) limit);
         i++)
        err = materialize(&s, &s.hits[i], flags, items);
    if (total != NULL)
        *total = (int64_t) s.nhits;
    store_abort(t);
    if (err == WEFT_OK && facets != NULL)
        err = facets_out(&s, a, facets);
    for (int i = 0; i < FA_COUNT; i++)
        for (int j = 0; j < s.fa[i].n; j++)
            free(s.fa[i].v[j]);
    for (size_t i = 0; i < s.nhits; i++)
        free(s.hits[i].id);
    free(s.hits);
    pv_arena_free(s.w);
    query_free(q);
    return err;
}
